// What every admin API handler shares: problems, paging, parameters, authentication.

#include "config/config.hpp"
#include "core/async/worker_pool.hpp"
#include "router/modules/time_format.hpp"
#include "server/admin/detail/handlers.hpp"
#include "server/admin/detail/blocking.hpp"
#include "server/admin/tokens.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <charconv>

namespace parley::server::admin::detail {

namespace asio = boost::asio;
using core::jid::Jid;
using storage::storage_errc;

Response problem(unsigned status, std::string_view type, std::string_view title, std::string_view detail) {
  return Response::problem(status, "urn:parley:problem:" + std::string(type), title, detail);
}

Response storage_problem(const boost::system::error_code& ec, std::string_view what) {
  if (ec == storage_errc::not_found) {
    return problem(404, "not-found", "Not Found", std::string(what) + " does not exist");
  }
  if (ec == storage_errc::conflict) {
    return problem(409, "conflict", "Conflict", std::string(what) + " exists already");
  }
  if (ec == storage_errc::invalid_argument) {
    return problem(400, "invalid-field", "Bad Request", std::string(what) + ": " + ec.message());
  }
  if (ec == storage_errc::unavailable) {
    auto r = problem(503, "storage-unavailable", "Service Unavailable", "storage is unavailable: " + ec.message());
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  return problem(500, "internal", "Internal Server Error", std::string(what) + ": " + ec.message());
}

Response json_response(unsigned status, const json& body) {
  return Response::json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

std::string timestamp(storage::Timestamp t) { return router::modules::format_timestamp(t); }

storage::Timestamp now() { return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now()); }

std::string_view Call::param(std::string_view name) const {
  const auto found = request.params.find(name);
  return found == request.params.end() ? std::string_view() : std::string_view(found->second);
}

std::optional<std::string_view> Call::query_value(std::string_view name) const {
  return core::http::form_field(query, name);
}

Checked<json> Call::body() const {
  json j = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return problem(400, "invalid-json", "Bad Request", "the body is not valid JSON");
  }
  if (!j.is_object()) {
    return problem(400, "invalid-json", "Bad Request", "the body must be a JSON object");
  }
  return Checked<json>(boost::system::in_place_value, std::move(j));
}

Checked<Page> page_of(const Call& call) {
  Page page;
  if (auto limit = call.query_value("limit")) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || end != limit->data() + limit->size() || n < 1 || n > 1000) {
      return problem(400, "invalid-field", "Bad Request", "limit must be an integer from 1 to 1000");
    }
    page.limit = n;
  }
  if (auto cursor = call.query_value("cursor")) {
    page.cursor = std::string(*cursor);
  }
  return page;
}

json page_json(json items, const std::optional<std::string>& next_cursor) {
  json out;
  out["items"] = std::move(items);
  out["next_cursor"] = next_cursor ? json(*next_cursor) : json(nullptr);
  return out;
}

Checked<std::string> string_member(const json& body, std::string_view name, bool required, std::string_view fallback) {
  const auto found = body.find(name);
  if (found == body.end() || found->is_null()) {
    if (required) {
      return problem(400, "invalid-field", "Bad Request", "'" + std::string(name) + "' is required");
    }
    return std::string(fallback);
  }
  if (!found->is_string()) {
    return problem(400, "invalid-field", "Bad Request", "'" + std::string(name) + "' must be a string");
  }
  return found->get<std::string>();
}

asio::awaitable<Checked<std::pair<std::string, std::string>>> Handlers::authenticate(std::string_view authorization) {
  constexpr std::string_view scheme = "Bearer ";
  const auto unauthorized = [](std::string_view why) {
    return problem(401, "unauthorized", "Unauthorized", why);
  };
  if (authorization.size() <= scheme.size() ||
      !std::equal(scheme.begin(), scheme.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); })) {
    co_return unauthorized("send Authorization: Bearer <token>");
  }
  auto presented = split_token(authorization.substr(scheme.size()));
  if (!presented) {
    co_return unauthorized("this is not a Parley API token");
  }
  const std::string id = presented->id;
  auto lookup = [this, id] { return ctx_.storage.tokens().get(id); };
  auto stored = co_await blocking(std::move(lookup));
  if (!stored) {
    if (stored.error() == storage_errc::not_found) {
      co_return unauthorized("unknown or revoked token");
    }
    co_return storage_problem(stored.error(), "token");
  }
  if (!token_matches(*stored, presented->secret)) {
    co_return unauthorized("unknown or revoked token");
  }
  co_return std::pair<std::string, std::string>(stored->id, stored->scope);
}

Checked<Jid> Handlers::user_param(const Call& call, std::string_view name) const {
  const std::string text(call.param(name));
  auto jid = text.find('@') == std::string::npos ? Jid::make(text, ctx_.config.hosts.front()) : Jid::parse(text);
  if (!jid || jid->local().empty() || !jid->is_bare()) {
    return problem(400, "invalid-field", "Bad Request", "'" + text + "' is not a user name or bare JID");
  }
  for (const auto& host : ctx_.config.hosts) {
    if (host == jid->domain()) {
      return *jid;
    }
  }
  return problem(404, "not-found", "Not Found", std::string(jid->domain()) + " is not a host of this server");
}

asio::awaitable<Checked<void>> Handlers::require_user(const Jid& user) {
  const std::string username(user.local());
  auto exists = [this, username] { return ctx_.storage.users().user_exists(username); };
  auto found = co_await blocking(std::move(exists));
  if (!found) {
    co_return storage_problem(found.error(), "user");
  }
  if (!*found) {
    co_return problem(404, "not-found", "Not Found", "user " + std::string(user.bare().full()) + " does not exist");
  }
  co_return Checked<void>{};
}

} // namespace parley::server::admin::detail
