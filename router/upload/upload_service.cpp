#include "router/upload/upload_service.hpp"

#include "core/async/worker_pool.hpp"
#include "core/http/server.hpp"
#include "core/jid/jid.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"
#include "router/modules/data_form.hpp"
#include "router/router.hpp"
#include "router/upload/slot_token.hpp"

#include <boost/asio/ip/address.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

namespace parley::router::upload {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace ns = core::xml::ns;
namespace http = core::http;
using core::stanza::stanza_errc;
using core::xml::Element;

namespace {

bool is_ip_literal(std::string_view host) {
  boost::system::error_code ec;
  (void)asio::ip::make_address(std::string(host), ec);
  return !ec;
}

/// 32 lower-case hex digits: the random part of a slot's path.
bool valid_slot(std::string_view slot) {
  return slot.size() == 32 && std::all_of(slot.begin(), slot.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 20) {
    return std::nullopt;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string percent_encode(std::string_view text) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0x0f];
    }
  }
  return out;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

http::Response problem(unsigned status, std::string_view type, std::string_view title, std::string_view detail) {
  return http::Response::problem(status, "urn:parley:problem:upload:" + std::string(type), title, detail);
}

/// Types a browser may show inline; anything else is offered as a download.
bool shown_inline(std::string_view type) {
  return type.starts_with("image/") || type.starts_with("audio/") || type.starts_with("video/") || type == "text/plain";
}

bool allowed(const std::vector<std::string>& types, std::string_view type) {
  if (types.empty()) {
    return true;
  }
  return std::any_of(types.begin(), types.end(), [&](const std::string& pattern) {
    if (pattern.ends_with("/*")) {
      return type.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1));
    }
    return pattern == type;
  });
}

/// Writes `text` to `file` through a temporary file, flushed, then renamed.
bool write_atomically(const fs::path& file, std::string_view text) {
  const fs::path temp = file.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    return false;
  }
  bool ok = true;
  while (ok && !text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    ok = n > 0;
    if (ok) {
      text.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  return ok && ::rename(temp.c_str(), file.c_str()) == 0;
}

bool fsync_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

} // namespace

std::string service_domain(const config::Config& config) {
  if (!config.upload.enabled) {
    return {};
  }
  if (!config.upload.domain.empty()) {
    return config.upload.domain;
  }
  for (const auto& host : config.hosts) {
    if (!is_ip_literal(host)) {
      return "upload." + host;
    }
  }
  return {};
}

std::string public_base_url(const config::Config& config) {
  if (!config.upload.public_url.empty()) {
    return config.upload.public_url;
  }
  std::string host = config.http.address;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec && address.is_unspecified()) {
    host = config.hosts.empty() ? "localhost" : config.hosts.front();
  } else if (!ec && address.is_v6()) {
    host = "[" + host + "]";
  }
  return "http://" + host + ":" + std::to_string(config.http.port);
}

struct UploadService::Impl {
  Router& router;
  std::string domain;
  config::UploadConfig config;
  std::string base_url;
  fs::path files; ///< <data_dir>/upload/files
  std::string secret;

  /// The slot's directory and the file in it, when both parts are well-formed; nullopt for
  /// anything else, so that no request names a path outside `files`.
  std::optional<fs::path> slot_dir(const http::Request& req) const {
    const auto slot = req.params.find("slot");
    const auto name = req.params.find("name");
    if (slot == req.params.end() || name == req.params.end() || !valid_slot(slot->second) ||
        sanitize_filename(name->second) != name->second) {
      return std::nullopt;
    }
    return files / slot->second;
  }

  /// The grant a PUT's query claims; nullopt when a field is missing or malformed.
  static std::optional<std::pair<SlotGrant, std::string>> claimed_grant(const http::Request& req) {
    const auto fields = http::parse_form(req.query);
    if (!fields) {
      return std::nullopt;
    }
    const auto expires = http::form_field(*fields, "expires");
    const auto size = http::form_field(*fields, "size");
    const auto type = http::form_field(*fields, "type");
    const auto token = http::form_field(*fields, "token");
    if (!expires || !size || !type || !token) {
      return std::nullopt;
    }
    const auto expires_at = parse_u64(*expires);
    const auto bytes = parse_u64(*size);
    const auto media = media_type(*type);
    if (!expires_at || !bytes || !media || *media != *type) {
      return std::nullopt;
    }
    SlotGrant grant;
    grant.path = "/upload/" + req.params.at("slot") + "/" + req.params.at("name");
    grant.size = *bytes;
    grant.content_type = *media;
    grant.expires = static_cast<std::int64_t>(*expires_at);
    return std::pair(std::move(grant), std::string(*token));
  }

  /// PUT, once its header is read: the token, the expiry, the length and type the slot was
  /// given for; then the slot's directory is made (exclusively: a second PUT gets 409).
  std::variant<std::string, http::Response> accept_put(const http::Request& req) const {
    const auto dir = slot_dir(req);
    if (!dir) {
      return problem(404, "no-slot", "Not Found", "no upload slot at " + req.path);
    }
    const auto claimed = claimed_grant(req);
    if (!claimed || !verify(secret, claimed->first, claimed->second)) {
      return problem(403, "bad-token", "Forbidden", "the upload URL is not valid; request a slot");
    }
    const SlotGrant& grant = claimed->first;
    if (unix_now() > grant.expires) {
      return problem(403, "slot-expired", "Forbidden", "the upload slot has expired; request a new one");
    }
    const auto length_header = req.header("content-length");
    if (!length_header) {
      return problem(411, "length-required", "Length Required", "send the file with a Content-Length");
    }
    const auto length = parse_u64(*length_header);
    if (!length || *length != grant.size) {
      return problem(400, "wrong-size", "Bad Request",
                     "the slot is for " + std::to_string(grant.size) + " bytes, not " + std::string(*length_header));
    }
    if (const auto type_header = req.header("content-type")) {
      const auto type = media_type(*type_header);
      if (!type || *type != grant.content_type) {
        return problem(400, "wrong-type", "Bad Request",
                       "the slot is for Content-Type " + grant.content_type + ", not " + std::string(*type_header));
      }
    }
    std::error_code ec;
    if (!fs::create_directory(*dir, ec)) {
      if (!ec) {
        return problem(409, "slot-used", "Conflict", "this slot has been uploaded to already");
      }
      spdlog::warn("upload: cannot create {}: {}", dir->string(), ec.message());
      return problem(500, "storage", "Internal Server Error", "cannot store the file");
    }
    return (*dir / ".part").string();
  }

  /// A PUT whose body did not arrive in full: the slot may be tried again.
  void abandon_put(const http::Request& req) const {
    if (const auto dir = slot_dir(req)) {
      std::error_code ec;
      fs::remove_all(*dir, ec);
    }
  }

  /// PUT, with the body in SLOT/.part (worker pool): the type beside it, then the file under
  /// its name, so that a GET sees a whole file or none.
  http::Response finish_put(const http::Request& req) const {
    const auto dir = slot_dir(req);
    const auto claimed = claimed_grant(req);
    std::error_code ec;
    const auto size = fs::file_size(req.body_file, ec);
    if (!dir || !claimed || ec || size != claimed->first.size) {
      fs::remove_all(dir ? *dir : fs::path(req.body_file).parent_path(), ec);
      return problem(400, "wrong-size", "Bad Request", "the body is not the size the slot is for");
    }
    const fs::path target = *dir / req.params.at("name");
    if (!fsync_file(req.body_file) || !write_atomically(*dir / ".type", claimed->first.content_type + "\n") ||
        ::rename(req.body_file.c_str(), target.c_str()) != 0) {
      spdlog::warn("upload: cannot store {}", target.string());
      fs::remove_all(*dir, ec);
      return problem(500, "storage", "Internal Server Error", "cannot store the file");
    }
    spdlog::info("upload: stored {} ({} bytes)", target.string(), size);
    http::Response res;
    res.status = 201;
    res.content_type = "text/plain";
    return res;
  }

  boost::system::result<std::string, std::string> store(std::string_view bytes, std::string_view filename,
                                                       std::string_view content_type, std::string_view key) const {
    const std::string name = sanitize_filename(filename);
    if (name.empty()) {
      return {boost::system::in_place_error, "no usable file name"};
    }
    const auto type = media_type(content_type);
    if (!type) {
      return {boost::system::in_place_error, "'" + std::string(content_type) + "' is not a MIME type"};
    }
    if (bytes.size() > config.max_file_size) {
      return {boost::system::in_place_error, "larger than [upload] max_file_size (" +
                                                 std::to_string(config.max_file_size) + " bytes)"};
    }
    if (!allowed(config.allowed_types, *type)) {
      return {boost::system::in_place_error, "files of type " + *type + " are not accepted ([upload] allowed_types)"};
    }
    const std::string slot = key.empty() ? random_hex(16) : keyed_slot(secret, key);
    const fs::path dir = files / slot;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return {boost::system::in_place_error, "cannot create " + dir.string() + ": " + ec.message()};
    }
    // Another name stored under this key before (a different type): it goes, so that the
    // slot holds one file, as expire_now() and serve() expect.
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string entry_name = entry.path().filename().string();
      if (!entry_name.starts_with('.') && entry_name != name) {
        std::error_code remove_ec;
        fs::remove(entry.path(), remove_ec);
      }
    }
    const fs::path target = dir / name;
    if (!write_atomically(dir / ".type", *type + "\n") || !write_atomically(target, bytes)) {
      return {boost::system::in_place_error, "cannot write " + target.string()};
    }
    spdlog::info("upload: stored {} ({} bytes, {})", target.string(), bytes.size(), *type);
    return {boost::system::in_place_value, base_url + "/upload/" + slot + "/" + name};
  }

  /// GET and HEAD (worker pool).
  http::Response serve(const http::Request& req) const {
    const auto dir = slot_dir(req);
    std::error_code ec;
    if (!dir || !fs::is_regular_file(*dir / req.params.at("name"), ec)) {
      return problem(404, "not-found", "Not Found", "no file at " + req.path);
    }
    std::ifstream in(*dir / ".type");
    std::string type;
    std::getline(in, type);
    if (!media_type(type)) {
      type = "application/octet-stream";
    }
    http::Response res;
    res.content_type = type;
    res.body_file = (*dir / req.params.at("name")).string();
    res.headers.emplace_back("Content-Disposition", std::string(shown_inline(type) ? "inline" : "attachment") +
                                                        "; filename=\"" + req.params.at("name") + "\"");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    // Whatever a user uploaded must not run as a page of this origin (the admin API's).
    res.headers.emplace_back("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox");
    res.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
    return res;
  }

  /// XEP-0363 §4: a slot, or the error that says why not.
  Element slot_answer(const Element& iq, const Element& request) const {
    const auto from = core::jid::Jid::parse(iq.attribute("from").value_or(""));
    if (!from || !router.is_local_host(from->domain())) {
      return core::stanza::make_error(iq, stanza_errc::forbidden, "only users of this server may upload");
    }
    const std::string given = std::string(request.attribute("filename").value_or(""));
    if (given.find_first_not_of("./\\ ") == std::string::npos) {
      return core::stanza::make_error(iq, stanza_errc::bad_request, "a filename is required");
    }
    std::string name = sanitize_filename(given);
    // A name with nothing usable in a URL ("фото.jpg", "写真"): a generic one, keeping the
    // extension when there is one.
    const auto dot = name.rfind('.');
    if (name.substr(0, dot).find_first_not_of('_') == std::string::npos) {
      name = dot == std::string::npos ? "file" : "file" + name.substr(dot);
    }
    const auto size = parse_u64(request.attribute("size").value_or(""));
    if (!size || *size == 0) {
      return core::stanza::make_error(iq, stanza_errc::bad_request, "a size (a positive number of bytes) is required");
    }
    if (*size > config.max_file_size) {
      // §5, example 5: the limit goes with the error.
      Element error = core::stanza::make_error(iq, stanza_errc::not_acceptable, core::stanza::ErrorType::modify,
                                               "the file is larger than the largest allowed (" +
                                                   std::to_string(config.max_file_size) + " bytes)");
      for (Element& e : error.children()) {
        if (e.name() == "error") {
          Element& too_large = e.add_child(Element("file-too-large", std::string(ns::http_upload)));
          too_large.add_child(Element("max-file-size", std::string(ns::http_upload)))
              .add_text(std::to_string(config.max_file_size));
        }
      }
      return error;
    }
    std::string type = "application/octet-stream";
    if (const auto given_type = request.attribute("content-type"); given_type && !given_type->empty()) {
      const auto parsed = media_type(*given_type);
      if (!parsed) {
        return core::stanza::make_error(iq, stanza_errc::bad_request, "the content-type is not a MIME type");
      }
      type = *parsed;
    }
    if (!allowed(config.allowed_types, type)) {
      return core::stanza::make_error(iq, stanza_errc::not_acceptable, core::stanza::ErrorType::modify,
                                      "files of type " + type + " are not accepted here");
    }
    SlotGrant grant;
    grant.path = "/upload/" + random_hex(16) + "/" + name;
    grant.size = *size;
    grant.content_type = type;
    grant.expires = unix_now() + slot_lifetime.count();
    const std::string token = sign(secret, grant);
    const std::string put_url = base_url + grant.path + "?expires=" + std::to_string(grant.expires) +
                                "&size=" + std::to_string(grant.size) + "&type=" + percent_encode(type) +
                                "&token=" + token;
    Element result = core::stanza::make_result(iq);
    Element& slot = result.add_child(Element("slot", std::string(ns::http_upload)));
    // §4: the client sends the Content-Type it asked for; it is checked against the URL, so no
    // <header/> is needed (and Content-Type is not one a client would copy).
    slot.add_child(Element("put", std::string(ns::http_upload))).set_attribute("url", put_url);
    slot.add_child(Element("get", std::string(ns::http_upload))).set_attribute("url", base_url + grant.path);
    return result;
  }

  Element disco_info(const Element& iq, const Element& query) const {
    Element result = core::stanza::make_result(iq);
    Element& info = result.add_child(Element("query", std::string(ns::disco_info)));
    if (auto node = query.attribute("node")) {
      info.set_attribute("node", std::string(*node));
    }
    Element& identity = info.add_child(Element("identity", std::string(ns::disco_info)));
    identity.set_attribute("category", "store");
    identity.set_attribute("type", "file");
    identity.set_attribute("name", "HTTP File Upload");
    for (const std::string_view feature : {ns::disco_info, ns::disco_items, ns::http_upload, ns::ping}) {
      info.add_child(Element("feature", std::string(ns::disco_info))).set_attribute("var", std::string(feature));
    }
    // §2: the largest file, as an XEP-0128 extended information form.
    Element form = modules::make_form("result");
    modules::add_field(form, "FORM_TYPE", "hidden", {}, {std::string(ns::http_upload)});
    modules::add_field(form, "max-file-size", {}, {}, {std::to_string(config.max_file_size)});
    info.add_child(std::move(form));
    return result;
  }

  /// The answer to a stanza for the service, if it gets one.
  std::optional<Element> answer(const Element& stanza) const {
    const std::string_view type = stanza.attribute("type").value_or("");
    if (stanza.name() != "iq") {
      if (stanza.name() == "message" && type != "error" && type != "headline") {
        return core::stanza::make_error(stanza, stanza_errc::service_unavailable);
      }
      return std::nullopt;
    }
    if (type == "result" || type == "error") {
      return std::nullopt;
    }
    const auto to = core::jid::Jid::parse(stanza.attribute("to").value_or(""));
    if (!to || !to->local().empty() || !to->resource().empty()) {
      return core::stanza::make_error(stanza, stanza_errc::item_not_found);
    }
    const Element* payload = stanza.first_child();
    if (payload != nullptr && type == "get") {
      if (payload->name() == "request" && payload->ns() == ns::http_upload) {
        return slot_answer(stanza, *payload);
      }
      if (payload->name() == "query" && payload->ns() == ns::disco_info) {
        return disco_info(stanza, *payload);
      }
      if (payload->name() == "query" && payload->ns() == ns::disco_items) {
        Element result = core::stanza::make_result(stanza);
        result.add_child(Element("query", std::string(ns::disco_items)));
        return result;
      }
      if (payload->name() == "ping" && payload->ns() == ns::ping) {
        return core::stanza::make_result(stanza);
      }
    }
    return core::stanza::make_error(stanza, stanza_errc::service_unavailable);
  }

  std::size_t expire_now() const {
    std::size_t removed = 0;
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    const auto keep = std::chrono::hours(24) * config.expire_after_days;
    for (const auto& entry : fs::directory_iterator(files, ec)) {
      std::error_code entry_ec;
      if (!entry.is_directory(entry_ec)) {
        continue;
      }
      // The stored file (any name not starting with '.'), or none when an upload broke off or
      // is still under way (then its .part, written to as the body arrives, tells how recent).
      std::optional<fs::file_time_type> stored;
      auto touched = entry.last_write_time(entry_ec);
      for (const auto& inner : fs::directory_iterator(entry.path(), entry_ec)) {
        std::error_code time_ec;
        const auto written = inner.last_write_time(time_ec);
        if (!inner.path().filename().string().starts_with('.')) {
          stored = written;
        } else if (!time_ec && written > touched) {
          touched = written;
        }
      }
      const bool expired = stored ? config.expire_after_days != 0 && now - *stored > keep
                                  : now - touched > std::chrono::hours(1);
      if (expired && !entry_ec) {
        fs::remove_all(entry.path(), entry_ec);
        removed += entry_ec ? 0 : 1;
      }
    }
    return removed;
  }
};

UploadService::UploadService(Router& router, std::string domain, const config::UploadConfig& config, std::string base_url,
                             fs::path root, std::string secret)
    : impl_(std::make_shared<Impl>(Impl{router, std::move(domain), config, std::move(base_url), root / "files",
                                        std::move(secret)})) {}

UploadService::~UploadService() = default;

boost::system::result<std::shared_ptr<UploadService>> UploadService::open(Router& router, const config::Config& config,
                                                                          const fs::path& data_dir) {
  const fs::path root = data_dir / "upload";
  std::error_code ec;
  fs::create_directories(root / "files", ec);
  if (ec) {
    return boost::system::error_code(ec.value(), boost::system::generic_category());
  }
  auto secret = load_or_create_secret(root / "secret");
  if (!secret) {
    return secret.error();
  }
  return std::make_shared<UploadService>(router, service_domain(config), config.upload, public_base_url(config), root,
                                         std::move(*secret));
}

asio::awaitable<Disposition> UploadService::on_stanza(Element stanza) {
  auto reply = impl_->answer(stanza);
  if (reply) {
    Element out = std::move(*reply);
    co_await impl_->router.route(std::move(out));
  }
  co_return Disposition::handled;
}

void UploadService::install(http::Server& server) {
  auto impl = impl_;
  http::RouteOptions put;
  put.max_body_bytes = impl->config.max_file_size;
  put.body_to_file = [impl](const http::Request& head) { return impl->accept_put(head); };
  put.body_abandoned = [impl](const http::Request& head, const std::string&) { impl->abandon_put(head); };
  server.add_route(
      "PUT", "/upload/{slot}/{name}",
      [impl](http::Request req, http::Responder respond) {
        impl->router.workers().post([impl, req = std::move(req), respond = std::move(respond)]() mutable {
          respond(impl->finish_put(req));
        });
      },
      std::move(put));
  server.add_route("GET", "/upload/{slot}/{name}", [impl](http::Request req, http::Responder respond) {
    impl->router.workers().post(
        [impl, req = std::move(req), respond = std::move(respond)]() mutable { respond(impl->serve(req)); });
  });
}

boost::system::result<std::string, std::string> UploadService::store(std::string_view bytes, std::string_view filename,
                                                                    std::string_view content_type, std::string_view key) {
  return impl_->store(bytes, filename, content_type, key);
}

std::uint64_t UploadService::max_file_size() const noexcept { return impl_->config.max_file_size; }

std::size_t UploadService::expire_now() { return impl_->expire_now(); }

const std::string& UploadService::domain() const noexcept { return impl_->domain; }

} // namespace parley::router::upload
