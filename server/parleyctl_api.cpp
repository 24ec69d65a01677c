#include "server/parleyctl_api.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <variant>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace parley::server::ctl {

using json = nlohmann::json;

namespace {

constexpr std::string_view usage_text = R"(commands through the running server's admin API (token: $PARLEY_API_TOKEN or
[admin] token_file; URL: $PARLEY_API_URL, [admin] url, or the configured listener):
  users list [--limit N] [--cursor C]        users show USER          users create USER [--password PW]
  users delete USER                          users passwd USER [--password PW]
  sessions list [USER]                       sessions kick USER [RESOURCE]
  roster show USER                           roster remove USER CONTACT
  roster set USER CONTACT [--name N] [--group G]... [--subscription none|to|from|both]
  message send --from JID --to JID [--type chat|normal|headline] [--subject S]
               [--thread T] [--idempotency-key K] BODY
  offline count USER    offline list USER    offline purge USER
  gateways list         gateways show GATEWAY
  registrations list USER | --gateway GATEWAY
  registrations add USER GATEWAY ADDRESS     registrations remove USER GATEWAY ADDRESS
  outbox list GATEWAY [--state pending|claimed|done|dead]   outbox show GATEWAY ID
  outbox retry GATEWAY ID                    outbox purge GATEWAY --state done|dead [--before TIME]
  hooks list GATEWAY                         hooks delete GATEWAY NAME    hooks rotate GATEWAY NAME
  hooks create GATEWAY NAME [--url URL] [--recipient JID] [--template T] [--github-signature]
               [--no-inbound]
  rooms list                                 rooms destroy ROOM [--reason R] [--alternate JID]
  rooms create ROOM OWNER [--name N] [--temporary]  rooms affiliation ROOM JID AFFILIATION
  tokens list (through the API; `token create` works on storage)   tokens revoke ID
  stats
Add --json for the raw answer.
)";

constexpr std::array<std::string_view, 13> commands = {"users",   "sessions", "roster",        "message",
                                                       "offline", "gateways", "registrations", "outbox",
                                                       "hooks",   "rooms",    "tokens",        "stats",
                                                       "api"};

/// Percent-encodes one path segment (RFC 3986 unreserved characters stay; '@' and '+' too,
/// which are allowed in a segment and read better).
std::string segment(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '@' || c == '+') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string query_value(std::string_view text) {
  std::string out = segment(text);
  // '+' means a space in a query string.
  std::string escaped;
  for (char c : out) {
    escaped += c == '+' ? std::string("%2B") : std::string(1, c);
  }
  return escaped;
}

/// Positional arguments and --options of one command line.
struct Args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> options;
  std::vector<std::string> flags;

  std::optional<std::string> option(const std::string& name) const {
    const auto found = options.find(name);
    return found == options.end() ? std::nullopt : std::optional<std::string>(found->second);
  }
  bool flag(std::string_view name) const { return std::find(flags.begin(), flags.end(), name) != flags.end(); }
};

Args parse_args(const std::vector<std::string>& raw) {
  static constexpr std::array<std::string_view, 5> flag_names = {"--github-signature", "--no-inbound", "--json", "--all",
                                                                "--temporary"};
  Args args;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::string& a = raw[i];
    if (a.starts_with("--")) {
      if (std::find(flag_names.begin(), flag_names.end(), a) != flag_names.end()) {
        args.flags.push_back(a);
      } else if (i + 1 < raw.size()) {
        args.options.emplace(a.substr(2), raw[i + 1]);
        ++i;
      } else {
        args.flags.push_back(a);
      }
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct Answer {
  long status = 0;
  std::string body;
};

std::optional<Answer> request(const ApiTarget& target, const std::string& method, const std::string& path,
                              const std::optional<json>& body, const std::vector<std::string>& extra_headers,
                              std::string& error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    error = "cannot start libcurl";
    return std::nullopt;
  }
  Answer answer;
  const std::string url = target.url + path;
  const std::string payload = body ? body->dump() : std::string();
  curl_slist* headers = nullptr;
  const std::string authorization = "Authorization: Bearer " + target.token;
  headers = curl_slist_append(headers, authorization.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  if (body) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
  }
  for (const auto& h : extra_headers) {
    headers = curl_slist_append(headers, h.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  } else {
    error = "cannot reach " + target.url + ": " + curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return std::nullopt;
  }
  return answer;
}

std::string quote_free(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

std::string cell(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_null()) {
    return "-";
  }
  if (value.is_array()) {
    std::string out;
    for (const auto& v : value) {
      out += (out.empty() ? "" : ",") + cell(v);
    }
    return out;
  }
  return value.dump();
}

/// A table of the scalar members of `items` (the first item's members name the columns).
void print_table(const json& items) {
  if (!items.is_array() || items.empty()) {
    std::cout << "(none)\n";
    return;
  }
  std::vector<std::string> columns;
  for (const auto& [key, value] : items.front().items()) {
    if (!value.is_object() && key != "stanza" && key != "key") {
      columns.push_back(key);
    }
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> widths;
  for (const auto& c : columns) {
    widths.push_back(c.size());
  }
  for (const auto& item : items) {
    std::vector<std::string> row;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      std::string text = item.contains(columns[i]) ? cell(item[columns[i]]) : "-";
      if (text.size() > 60) {
        text = text.substr(0, 57) + "...";
      }
      widths[i] = std::max(widths[i], text.size());
      row.push_back(std::move(text));
    }
    rows.push_back(std::move(row));
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::cout << row[i];
      if (i + 1 < row.size()) {
        std::cout << std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    std::cout << '\n';
  };
  std::vector<std::string> header;
  for (const auto& c : columns) {
    std::string upper = c;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) { return std::toupper(ch); });
    header.push_back(upper);
  }
  print_row(header);
  for (const auto& row : rows) {
    print_row(row);
  }
}

void print_object(const json& object, const std::string& indent = "") {
  for (const auto& [key, value] : object.items()) {
    if (key == "items" || key == "timeline") {
      std::cout << indent << key << ":\n";
      print_table(value);
    } else if (value.is_object()) {
      std::cout << indent << key << ":\n";
      print_object(value, indent + "  ");
    } else if (key == "next_cursor") {
      if (!value.is_null()) {
        std::cerr << "more: --cursor " << quote_free(value) << '\n';
      }
    } else {
      std::cout << indent << key << ": " << cell(value) << '\n';
    }
  }
}

/// One request to make.
struct Call {
  std::string method;
  std::string path;
  std::optional<json> body;
  std::vector<std::string> headers;
};

std::optional<std::string> password_of(const Args& args) {
  if (auto pw = args.option("password")) {
    return pw;
  }
  std::string line;
  if (!std::getline(std::cin, line) || line.empty()) {
    return std::nullopt;
  }
  return line;
}

/// The request for a command line, or an error message for bad usage.
std::variant<Call, std::string> build(const Args& a) {
  const auto& p = a.positional;
  const auto need = [&](std::size_t n) { return p.size() >= n; };
  const std::string noun = p.empty() ? "" : p[0];
  const std::string verb = p.size() > 1 ? p[1] : "";
  auto paged = [&](std::string path) {
    std::string sep = path.find('?') == std::string::npos ? "?" : "&";
    if (auto limit = a.option("limit")) {
      path += sep + "limit=" + query_value(*limit);
      sep = "&";
    }
    if (auto cursor = a.option("cursor")) {
      path += sep + "cursor=" + query_value(*cursor);
    }
    return path;
  };
  const std::string v1 = "/api/v1";
  if (noun == "users") {
    if (verb == "list") return Call{"GET", paged(v1 + "/users"), {}, {}};
    if (!need(3)) return std::string("users " + verb + " needs a USER");
    const std::string user = segment(p[2]);
    if (verb == "show") return Call{"GET", v1 + "/users/" + user, {}, {}};
    if (verb == "delete") return Call{"DELETE", v1 + "/users/" + user, {}, {}};
    if (verb == "create" || verb == "passwd") {
      auto pw = password_of(a);
      if (!pw) return std::string("no password given (use --password or write it on stdin)");
      if (verb == "create") return Call{"POST", v1 + "/users", json{{"username", p[2]}, {"password", *pw}}, {}};
      return Call{"PUT", v1 + "/users/" + user + "/password", json{{"password", *pw}}, {}};
    }
  } else if (noun == "sessions") {
    if (verb == "list") {
      if (need(3)) return Call{"GET", v1 + "/users/" + segment(p[2]) + "/sessions", {}, {}};
      return Call{"GET", paged(v1 + "/sessions"), {}, {}};
    }
    if (verb == "kick" && need(3)) {
      if (need(4)) return Call{"DELETE", v1 + "/users/" + segment(p[2]) + "/sessions/" + segment(p[3]), {}, {}};
      return Call{"DELETE", v1 + "/users/" + segment(p[2]) + "/sessions", {}, {}};
    }
  } else if (noun == "roster") {
    if (verb == "show" && need(3)) return Call{"GET", v1 + "/users/" + segment(p[2]) + "/roster", {}, {}};
    if (verb == "remove" && need(4))
      return Call{"DELETE", v1 + "/users/" + segment(p[2]) + "/roster/" + segment(p[3]), {}, {}};
    if (verb == "set" && need(4)) {
      json body = json::object();
      if (auto name = a.option("name")) body["name"] = *name;
      if (auto sub = a.option("subscription")) body["subscription"] = *sub;
      const auto groups = a.options.equal_range("group");
      if (groups.first != groups.second) {
        body["groups"] = json::array();
        for (auto it = groups.first; it != groups.second; ++it) body["groups"].push_back(it->second);
      }
      return Call{"PUT", v1 + "/users/" + segment(p[2]) + "/roster/" + segment(p[3]), body, {}};
    }
  } else if (noun == "message") {
    if (verb == "send") {
      auto from = a.option("from");
      auto to = a.option("to");
      if (!from || !to || !need(3)) return std::string("message send needs --from, --to and a BODY");
      json body = {{"from", *from}, {"to", *to}, {"body", p[2]}, {"type", a.option("type").value_or("chat")}};
      if (auto s = a.option("subject")) body["subject"] = *s;
      if (auto t = a.option("thread")) body["thread"] = *t;
      std::vector<std::string> headers;
      if (auto k = a.option("idempotency-key")) headers.push_back("Idempotency-Key: " + *k);
      return Call{"POST", v1 + "/messages", body, headers};
    }
  } else if (noun == "offline" && need(3)) {
    const std::string base = v1 + "/users/" + segment(p[2]) + "/offline";
    if (verb == "count") return Call{"GET", base + "/count", {}, {}};
    if (verb == "list") return Call{"GET", paged(base), {}, {}};
    if (verb == "purge") return Call{"DELETE", base, {}, {}};
  } else if (noun == "gateways") {
    if (verb == "list") return Call{"GET", v1 + "/gateways", {}, {}};
    if (verb == "show" && need(3)) return Call{"GET", v1 + "/gateways/" + segment(p[2]), {}, {}};
  } else if (noun == "registrations") {
    if (verb == "list") {
      if (auto gw = a.option("gateway")) return Call{"GET", paged(v1 + "/gateways/" + segment(*gw) + "/registrations"), {}, {}};
      if (need(3)) return Call{"GET", v1 + "/users/" + segment(p[2]) + "/registrations", {}, {}};
    }
    if (verb == "add" && need(5))
      return Call{"POST", v1 + "/users/" + segment(p[2]) + "/registrations", json{{"gateway", p[3]}, {"address", p[4]}}, {}};
    if (verb == "remove" && need(5))
      return Call{"DELETE", v1 + "/users/" + segment(p[2]) + "/registrations/" + segment(p[3]) + "/" + segment(p[4]), {}, {}};
  } else if (noun == "outbox" && need(3)) {
    const std::string base = v1 + "/gateways/" + segment(p[2]) + "/outbox";
    if (verb == "list") return Call{"GET", paged(base + "?state=" + query_value(a.option("state").value_or("dead"))), {}, {}};
    if (verb == "show" && need(4)) return Call{"GET", base + "/" + segment(p[3]), {}, {}};
    if (verb == "retry" && need(4)) return Call{"POST", base + "/" + segment(p[3]) + "/retry", {}, {}};
    if (verb == "purge") {
      auto state = a.option("state");
      if (!state) return std::string("outbox purge needs --state done|dead");
      std::string path = base + "?state=" + query_value(*state);
      if (auto before = a.option("before")) path += "&before=" + query_value(*before);
      return Call{"DELETE", path, {}, {}};
    }
  } else if (noun == "hooks" && need(3)) {
    const std::string base = v1 + "/gateways/" + segment(p[2]) + "/hooks";
    if (verb == "list") return Call{"GET", base, {}, {}};
    if (verb == "delete" && need(4)) return Call{"DELETE", base + "/" + segment(p[3]), {}, {}};
    if (verb == "rotate" && need(4)) return Call{"POST", base + "/" + segment(p[3]) + "/rotate", {}, {}};
    if (verb == "create" && need(4)) {
      json body = {{"name", p[3]}, {"github_signature", a.flag("--github-signature")}, {"inbound", !a.flag("--no-inbound")}};
      if (auto url = a.option("url")) body["url"] = *url;
      if (auto r = a.option("recipient")) body["recipient"] = *r;
      if (auto t = a.option("template")) body["template"] = *t;
      return Call{"POST", base, body, {}};
    }
  } else if (noun == "rooms") {
    if (verb == "list") return Call{"GET", v1 + "/rooms", {}, {}};
    if (verb == "create" && need(4)) {
      json body = {{"room", p[2]}, {"owner", p[3]}, {"persistent", !a.flag("--temporary")}};
      if (auto name = a.option("name")) body["name"] = *name;
      return Call{"POST", v1 + "/rooms", body, {}};
    }
    if (verb == "destroy" && need(3)) {
      std::string path = v1 + "/rooms/" + segment(p[2]) + "?reason=" + query_value(a.option("reason").value_or(""));
      if (auto alt = a.option("alternate")) path += "&alternate=" + query_value(*alt);
      return Call{"DELETE", path, {}, {}};
    }
    if (verb == "affiliation" && need(5))
      return Call{"PUT", v1 + "/rooms/" + segment(p[2]) + "/affiliations/" + segment(p[3]),
                  json{{"affiliation", p[4]}}, {}};
  } else if (noun == "tokens") {
    if (verb == "list") return Call{"GET", v1 + "/tokens", {}, {}};
    if (verb == "revoke" && need(3)) return Call{"DELETE", v1 + "/tokens/" + segment(p[2]), {}, {}};
  } else if (noun == "stats") {
    return Call{"GET", v1 + "/stats", {}, {}};
  } else if (noun == "api" && need(3)) {
    // A raw call for what has no command yet: api METHOD PATH [JSON]
    std::optional<json> body;
    if (need(4)) {
      json parsed = json::parse(p[3], nullptr, false);
      if (parsed.is_discarded()) return std::string("api: the body is not JSON");
      body = parsed;
    }
    return Call{p[1], p[2], body, {}};
  }
  return std::string("unknown or incomplete command; see parleyctl --help");
}

} // namespace

ApiTarget api_target(const config::Config& config) {
  ApiTarget target;
  if (const char* url = std::getenv("PARLEY_API_URL"); url != nullptr && *url != '\0') {
    target.url = url;
  } else if (!config.admin.url.empty()) {
    target.url = config.admin.url;
  } else {
    const bool separate = config.admin.port != 0;
    std::string address = separate ? config.admin.address : config.http.address;
    if (address == "0.0.0.0" || address.empty()) {
      address = "127.0.0.1";
    } else if (address == "::") {
      address = "::1";
    }
    if (address.find(':') != std::string::npos) {
      address = "[" + address + "]";
    }
    target.url = "http://" + address + ":" + std::to_string(separate ? config.admin.port : config.http.port);
  }
  while (!target.url.empty() && target.url.back() == '/') {
    target.url.pop_back();
  }
  if (const char* token = std::getenv("PARLEY_API_TOKEN"); token != nullptr && *token != '\0') {
    target.token = token;
  } else if (!config.admin.token_file.empty()) {
    std::ifstream in(config.admin.token_file);
    std::getline(in, target.token);
  }
  return target;
}

bool is_api_command(std::string_view command) {
  return std::find(commands.begin(), commands.end(), command) != commands.end();
}

std::string_view api_usage() { return usage_text; }

int run_api_command(const config::Config& config, const std::vector<std::string>& raw, bool json_output) {
  const Args args = parse_args(raw);
  auto built = build(args);
  if (auto* message = std::get_if<std::string>(&built)) {
    std::cerr << "parleyctl: " << *message << '\n';
    return 2;
  }
  const auto& call = std::get<Call>(built);
  const ApiTarget target = api_target(config);
  if (target.token.empty()) {
    std::cerr << "parleyctl: no API token: set PARLEY_API_TOKEN or [admin] token_file "
                 "(create one with `parleyctl token create --scope admin`)\n";
    return 1;
  }
  std::string error;
  auto answer = request(target, call.method, call.path, call.body, call.headers, error);
  if (!answer) {
    std::cerr << "parleyctl: " << error << '\n';
    return 1;
  }
  json parsed = answer->body.empty() ? json(nullptr) : json::parse(answer->body, nullptr, false);
  if (answer->status >= 400) {
    if (json_output) {
      std::cout << answer->body << '\n';
    } else if (parsed.is_object()) {
      std::cerr << "parleyctl: " << answer->status << " " << parsed.value("title", "") << ": "
                << parsed.value("detail", "") << " (" << parsed.value("type", "") << ")\n";
    } else {
      std::cerr << "parleyctl: " << call.method << " " << call.path << " answered " << answer->status << '\n';
    }
    return 1;
  }
  if (json_output) {
    std::cout << (parsed.is_discarded() ? answer->body : parsed.dump(2)) << '\n';
  } else if (answer->status == 204 || parsed.is_null()) {
    std::cout << "done\n";
  } else if (parsed.is_object()) {
    if (parsed.contains("items") && parsed.size() <= 2) {
      print_table(parsed["items"]);
      if (parsed.contains("next_cursor") && !parsed["next_cursor"].is_null()) {
        std::cerr << "more: --cursor " << quote_free(parsed["next_cursor"]) << '\n';
      }
    } else {
      print_object(parsed);
    }
  } else {
    std::cout << answer->body << '\n';
  }
  return 0;
}

} // namespace parley::server::ctl
