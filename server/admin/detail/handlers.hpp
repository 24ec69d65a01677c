#pragma once
// Inside the admin API: what a handler gets (Call), the helpers every handler shares, and the
// handlers themselves, one member function per operation.

#include "core/http/message.hpp"
#include "core/jid/jid.hpp"
#include "server/admin/admin_api.hpp"
#include "storage/offline_message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley::gateways {
class GatewayService;
}
namespace parley::config {
struct GatewayConfig;
}

namespace parley::server::admin::detail {

using core::http::Response;
using json = nlohmann::json;

/// A step that either yields a value or already knows the problem response to send.
template <class T> using Checked = boost::system::result<T, Response>;

/// A problem+json response whose `type` is "urn:parley:problem:" + `type`.
Response problem(unsigned status, std::string_view type, std::string_view title, std::string_view detail = {});
/// The problem for a failed storage call: not_found 404, conflict 409, unavailable 503, ...
/// `what` names the thing ("user alice@example.com").
Response storage_problem(const boost::system::error_code& ec, std::string_view what);
Response json_response(unsigned status, const json& body);
Response no_content();

/// XEP-0082 / RFC 3339 UTC time with milliseconds.
std::string timestamp(storage::Timestamp t);
storage::Timestamp now();

/// One API request on its way through a handler.
struct Call {
  core::http::Request request;
  core::http::FormFields query;
  /// The id of the token that made the request.
  std::string who;
  std::string scope;
  /// Set by a handler that changed something: what it changed ("user alice@example.com").
  /// The dispatcher writes the audit line.
  std::string audit;

  std::string_view param(std::string_view name) const;
  std::optional<std::string_view> query_value(std::string_view name) const;
  /// The body as a JSON object (400 for anything else).
  Checked<json> body() const;
};

/// ?limit=&cursor=: limit 1..1000, default 100; the cursor is opaque to clients.
struct Page {
  std::size_t limit = 100;
  std::string cursor;
};
Checked<Page> page_of(const Call& call);
/// {"items": [...], "next_cursor": "..."}; next_cursor is null on the last page.
json page_json(json items, const std::optional<std::string>& next_cursor);

/// A string member of a JSON object: absent gives `fallback` (or 400 when `required`), a
/// non-string 400.
Checked<std::string> string_member(const json& body, std::string_view name, bool required,
                                   std::string_view fallback = {});

class Handlers {
public:
  explicit Handlers(Context context) : ctx_(std::move(context)) {}

  using Result = boost::asio::awaitable<Response>;

  // users
  Result list_users(Call& call);
  Result create_user(Call& call);
  Result get_user(Call& call);
  Result delete_user(Call& call);
  Result set_password(Call& call);
  // sessions
  Result list_sessions(Call& call);
  Result user_sessions(Call& call);
  Result kick_resource(Call& call);
  Result kick_user(Call& call);
  // roster
  Result get_roster(Call& call);
  Result put_roster_item(Call& call);
  Result delete_roster_item(Call& call);
  // messages
  Result send_message(Call& call);
  // offline
  Result offline_count(Call& call);
  Result offline_list(Call& call);
  Result offline_purge(Call& call);
  // gateways and registrations
  Result list_gateways(Call& call);
  Result get_gateway(Call& call);
  Result gateway_registrations(Call& call);
  Result user_registrations(Call& call);
  Result assign_registration(Call& call);
  Result unassign_registration(Call& call);
  // outbox
  Result list_outbox(Call& call);
  Result get_outbox_item(Call& call);
  Result retry_outbox_item(Call& call);
  Result purge_outbox(Call& call);
  // webhooks
  Result list_hooks(Call& call);
  Result create_hook(Call& call);
  Result delete_hook(Call& call);
  Result rotate_hook(Call& call);
  // tokens
  Result list_tokens(Call& call);
  Result create_token(Call& call);
  Result revoke_token(Call& call);
  // rooms
  Result list_rooms(Call& call);
  Result create_room(Call& call);
  Result destroy_room(Call& call);
  Result set_room_affiliation(Call& call);
  // stats
  Result stats(Call& call);

  /// The token check of the dispatcher: the token's scope, or the 401 to send.
  boost::asio::awaitable<Checked<std::pair<std::string, std::string>>> authenticate(std::string_view authorization);

private:
  /// {user} as a local bare JID: "alice" (first host) or "alice@host".
  Checked<core::jid::Jid> user_param(const Call& call, std::string_view name = "user") const;
  /// 404 no-such-user unless the user exists.
  boost::asio::awaitable<Checked<void>> require_user(const core::jid::Jid& user);
  /// The gateway serving {domain}, or 404.
  Checked<gateways::GatewayService*> gateway_param(const Call& call) const;
  /// The webhook gateway's configuration for {domain}: 404 unless it is a webhook gateway.
  Checked<std::size_t> webhook_gateway_index(const Call& call) const;

  /// A hook of a webhook gateway that the API may change: {gateway} is a webhook gateway and
  /// {name} is not a hook of the configuration file (409 `defined-in-config`, with `why`).
  struct StoredHookTarget {
    gateways::GatewayService* service = nullptr;
    const config::GatewayConfig* settings = nullptr;
    std::string name;
  };
  Checked<StoredHookTarget> stored_hook_param(const Call& call, std::string_view why) const;

  template <class Fn> auto blocking(Fn fn);

  Context ctx_;
};

} // namespace parley::server::admin::detail
