#include "server/admin/admin_api.hpp"

#include "core/http/server.hpp"
#include "server/admin/detail/handlers.hpp"
#include "storage/storage_errc.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>
#include <vector>

namespace parley::server::admin {

namespace asio = boost::asio;
using detail::Call;
using detail::Handlers;
using detail::json;
using detail::Response;

namespace {

/// A query parameter as documented.
struct QueryDoc {
  std::string_view name;
  std::string_view description;
  std::string_view schema = R"j({"type":"string"})j";
};

/// One operation: the single place that says what a route is, who may call it, which handler
/// serves it and how the OpenAPI document describes it.
struct RouteSpec {
  std::string_view method;
  std::string_view path;
  std::string_view scope; ///< "read" or "admin"
  std::string_view tag;
  std::string_view operation;
  std::string_view summary;
  Handlers::Result (Handlers::*handler)(Call&);
  unsigned success = 200;
  std::string_view success_description = "OK";
  /// JSON Schema of the request body, or empty for none.
  std::string_view request = {};
  std::vector<QueryDoc> query = {};
  /// Problem statuses besides the 400/401/403/503 every route can give.
  std::vector<unsigned> errors = {};
};

const std::vector<QueryDoc> paging = {
    {"limit", "Items per page, 1 to 1000 (default 100).", R"j({"type":"integer","minimum":1,"maximum":1000})j"},
    {"cursor", "The next_cursor of the previous page."},
};

std::vector<QueryDoc> with_paging(std::vector<QueryDoc> more) {
  more.insert(more.end(), paging.begin(), paging.end());
  return more;
}

const std::vector<RouteSpec>& table() {
  static const std::vector<RouteSpec> routes = {
      // ---- users
      {"GET", "/api/v1/users", "read", "users", "listUsers", "List users", &Handlers::list_users, 200, "A page of users",
       {}, paging},
      {"POST", "/api/v1/users", "admin", "users", "createUser", "Create a user", &Handlers::create_user, 201,
       "Created",
       R"j({"type":"object","required":["username","password"],"properties":{"username":{"type":"string","description":"localpart, or user@host"},"password":{"type":"string"}}})j",
       {}, {404, 409}},
      {"GET", "/api/v1/users/{user}", "read", "users", "getUser", "Show a user", &Handlers::get_user, 200, "The user",
       {}, {}, {404}},
      {"DELETE", "/api/v1/users/{user}", "admin", "users", "deleteUser",
       "Delete a user, with roster, offline messages and registrations; online sessions are closed",
       &Handlers::delete_user, 204, "Deleted", {}, {}, {404}},
      {"PUT", "/api/v1/users/{user}/password", "admin", "users", "setPassword", "Set a user's password",
       &Handlers::set_password, 204, "Changed",
       R"j({"type":"object","required":["password"],"properties":{"password":{"type":"string"}}})j", {}, {404, 409}},
      // ---- sessions
      {"GET", "/api/v1/sessions", "read", "sessions", "listSessions", "List every connected resource",
       &Handlers::list_sessions, 200, "A page of sessions", {}, paging},
      {"GET", "/api/v1/users/{user}/sessions", "read", "sessions", "listUserSessions",
       "List a user's connected resources", &Handlers::user_sessions, 200, "The sessions", {}, {}, {404}},
      {"DELETE", "/api/v1/users/{user}/sessions", "admin", "sessions", "kickUser",
       "Disconnect every resource of a user", &Handlers::kick_user, 200, "How many were disconnected", {}, {}, {404}},
      {"DELETE", "/api/v1/users/{user}/sessions/{resource}", "admin", "sessions", "kickResource",
       "Disconnect one resource", &Handlers::kick_resource, 204, "Disconnected", {}, {}, {404}},
      // ---- roster
      {"GET", "/api/v1/users/{user}/roster", "read", "roster", "getRoster", "A user's roster", &Handlers::get_roster,
       200, "The roster", {}, {}, {404}},
      {"PUT", "/api/v1/users/{user}/roster/{contact}", "admin", "roster", "putRosterItem",
       "Add or change a roster item (pushed to the user's online resources)", &Handlers::put_roster_item, 200,
       "The item as stored",
       R"j({"type":"object","properties":{"name":{"type":"string"},"groups":{"type":"array","items":{"type":"string"}},"subscription":{"enum":["none","to","from","both"]}}})j",
       {}, {404}},
      {"DELETE", "/api/v1/users/{user}/roster/{contact}", "admin", "roster", "deleteRosterItem",
       "Remove a roster item", &Handlers::delete_roster_item, 204, "Removed", {}, {}, {404}},
      // ---- messages
      {"POST", "/api/v1/messages", "admin", "messages", "sendMessage",
       "Send a message or headline from any local or gateway JID (honours Idempotency-Key)",
       &Handlers::send_message, 202, "Delivered or stored",
       R"j({"type":"object","required":["from","to"],"properties":{"from":{"type":"string"},"to":{"type":"string"},"type":{"enum":["chat","normal","headline","groupchat"]},"body":{"type":"string"},"subject":{"type":"string"},"thread":{"type":"string"}}})j",
       {}, {404, 422}},
      // ---- offline
      {"GET", "/api/v1/users/{user}/offline", "read", "offline", "listOffline", "Messages held for a user",
       &Handlers::offline_list, 200, "A page of messages", {}, paging, {404}},
      {"GET", "/api/v1/users/{user}/offline/count", "read", "offline", "countOffline",
       "How many messages are held for a user", &Handlers::offline_count, 200, "The count", {}, {}, {404}},
      {"DELETE", "/api/v1/users/{user}/offline", "admin", "offline", "purgeOffline",
       "Delete every message held for a user", &Handlers::offline_purge, 200, "How many went", {}, {}, {404}},
      // ---- gateways and registrations
      {"GET", "/api/v1/gateways", "read", "gateways", "listGateways", "Every gateway and its outbox",
       &Handlers::list_gateways, 200, "The gateways"},
      {"GET", "/api/v1/gateways/{gateway}", "read", "gateways", "getGateway", "One gateway's status",
       &Handlers::get_gateway, 200, "The gateway", {}, {}, {404}},
      {"GET", "/api/v1/gateways/{gateway}/registrations", "read", "registrations", "listGatewayRegistrations",
       "Addresses (numbers) assigned on a gateway", &Handlers::gateway_registrations, 200,
       "A page of registrations", {}, paging, {404}},
      {"GET", "/api/v1/users/{user}/registrations", "read", "registrations", "listUserRegistrations",
       "A user's gateway addresses", &Handlers::user_registrations, 200, "The registrations", {}, {}, {404}},
      {"POST", "/api/v1/users/{user}/registrations", "admin", "registrations", "assignRegistration",
       "Assign a gateway address (a number) to a user", &Handlers::assign_registration, 201, "Assigned",
       R"j({"type":"object","required":["gateway","address"],"properties":{"gateway":{"type":"string"},"address":{"type":"string"}}})j",
       {}, {404, 409}},
      {"DELETE", "/api/v1/users/{user}/registrations/{gateway}/{address}", "admin", "registrations",
       "unassignRegistration", "Take a gateway address from a user", &Handlers::unassign_registration, 204,
       "Unassigned", {}, {}, {404}},
      // ---- outbox
      {"GET", "/api/v1/gateways/{gateway}/outbox", "read", "outbox", "listOutbox",
       "Outbox messages in one state", &Handlers::list_outbox, 200, "A page of outbox items", {},
       with_paging({{"state", "pending, claimed, done or dead (default dead)",
                     R"j({"enum":["pending","claimed","done","dead"]})j"}}),
       {404}},
      {"DELETE", "/api/v1/gateways/{gateway}/outbox", "admin", "outbox", "purgeOutbox",
       "Delete done or dead outbox messages", &Handlers::purge_outbox, 200, "How many went", {},
       {{"state", "done or dead", R"j({"enum":["done","dead"]})j"},
        {"before", "Only those last changed before this RFC 3339 time (default: now)", R"j({"type":"string","format":"date-time"})j"}},
       {404}},
      {"GET", "/api/v1/gateways/{gateway}/outbox/{id}", "read", "outbox", "getOutboxItem",
       "One outbox message with its timeline", &Handlers::get_outbox_item, 200, "The item", {}, {}, {404}},
      {"POST", "/api/v1/gateways/{gateway}/outbox/{id}/retry", "admin", "outbox", "retryOutboxItem",
       "Retry a dead letter", &Handlers::retry_outbox_item, 200, "Pending again", {}, {}, {404, 409}},
      // ---- webhooks
      {"GET", "/api/v1/gateways/{gateway}/hooks", "read", "webhooks", "listHooks",
       "The hooks of a webhook gateway (secrets are not shown)", &Handlers::list_hooks, 200, "The hooks", {}, {},
       {404}},
      {"POST", "/api/v1/gateways/{gateway}/hooks", "admin", "webhooks", "createHook",
       "Create a hook; its secrets are shown once", &Handlers::create_hook, 201, "Created",
       R"j({"type":"object","required":["name"],"properties":{"name":{"type":"string"},"url":{"type":"string"},"recipient":{"type":"string"},"template":{"enum":["auto","github","alertmanager","grafana","json","text"]},"github_signature":{"type":"boolean"},"inbound":{"type":"boolean","description":"create an inbound secret (default true)"}}})j",
       {}, {404, 409}},
      {"DELETE", "/api/v1/gateways/{gateway}/hooks/{name}", "admin", "webhooks", "deleteHook", "Delete a hook",
       &Handlers::delete_hook, 204, "Deleted", {}, {}, {404, 409}},
      {"POST", "/api/v1/gateways/{gateway}/hooks/{name}/rotate", "admin", "webhooks", "rotateHook",
       "Replace a hook's secrets; the new ones are shown once", &Handlers::rotate_hook, 200, "The new secrets", {},
       {}, {404, 409}},
      // ---- tokens
      {"GET", "/api/v1/tokens", "admin", "tokens", "listTokens", "API tokens (without secrets)",
       &Handlers::list_tokens, 200, "The tokens"},
      {"POST", "/api/v1/tokens", "admin", "tokens", "createToken", "Create a token; it is shown once",
       &Handlers::create_token, 201, "Created",
       R"j({"type":"object","required":["scope"],"properties":{"scope":{"enum":["admin","read"]},"description":{"type":"string"}}})j"},
      {"DELETE", "/api/v1/tokens/{id}", "admin", "tokens", "revokeToken", "Revoke a token", &Handlers::revoke_token,
       204, "Revoked", {}, {}, {404}},
      // ---- rooms
      {"GET", "/api/v1/rooms", "read", "rooms", "listRooms", "Every chat room of every chat service",
       &Handlers::list_rooms, 200, "The rooms"},
      {"POST", "/api/v1/rooms", "admin", "rooms", "createRoom",
       "Create a room (open at once, no owner configuration step needed)", &Handlers::create_room, 201, "Created",
       R"j({"type":"object","required":["room","owner"],"properties":{"room":{"type":"string","description":"room@service"},"owner":{"type":"string"},"name":{"type":"string"},"description":{"type":"string"},"persistent":{"type":"boolean"},"public":{"type":"boolean"},"members_only":{"type":"boolean"},"moderated":{"type":"boolean"},"password":{"type":"string"}}})j",
       {}, {404, 409}},
      {"DELETE", "/api/v1/rooms/{room}", "admin", "rooms", "destroyRoom",
       "Destroy a room; its occupants are told the reason and the alternate venue", &Handlers::destroy_room, 204,
       "Destroyed", {},
       {{"reason", "Told to the occupants"}, {"alternate", "Another room to go to (a JID)"}}, {404}},
      {"PUT", "/api/v1/rooms/{room}/affiliations/{jid}", "admin", "rooms", "setRoomAffiliation",
       "Set an affiliation (owner, admin, member, outcast, none)", &Handlers::set_room_affiliation, 204, "Set",
       R"j({"type":"object","required":["affiliation"],"properties":{"affiliation":{"enum":["owner","admin","member","outcast","none"]},"reason":{"type":"string"}}})j",
       {}, {404, 409}},
      // ---- stats
      {"GET", "/api/v1/stats", "read", "stats", "getStats", "Connected users, stanzas routed, queue depths",
       &Handlers::stats, 200, "The figures"},
  };
  return routes;
}

constexpr std::string_view openapi_path = "/api/v1/openapi.json";

std::string_view status_text(unsigned status) {
  switch (status) {
  case 400: return "Bad request (problem type invalid-request, invalid-json, invalid-field)";
  case 401: return "No token, or not a valid one";
  case 403: return "The token's scope does not allow this";
  case 404: return "No such thing";
  case 409: return "Conflicts with what exists";
  case 422: return "Understood, but refused";
  case 503: return "Storage unavailable; retry later";
  default: return "Error";
  }
}

json build_openapi() {
  json doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = {{"title", "Parley admin API"},
                 {"version", PARLEY_VERSION},
                 {"description", "Administration of a Parley XMPP server. Errors are RFC 9457 problem details "
                                 "whose `type` is a stable urn:parley:problem:* URI."}};
  doc["components"]["securitySchemes"]["bearer"] = {{"type", "http"}, {"scheme", "bearer"}};
  doc["components"]["schemas"]["Problem"] = {
      {"type", "object"},
      {"required", {"type", "title", "status"}},
      {"properties",
       {{"type", {{"type", "string"}}},
        {"title", {{"type", "string"}}},
        {"status", {{"type", "integer"}}},
        {"detail", {{"type", "string"}}}}}};
  doc["security"] = json::array({{{"bearer", json::array()}}});
  json& paths = doc["paths"];
  for (const auto& route : table()) {
    json op;
    op["operationId"] = route.operation;
    op["summary"] = route.summary;
    op["tags"] = {route.tag};
    op["x-parley-scope"] = route.scope;
    json parameters = json::array();
    std::string_view rest = route.path;
    while (true) {
      const auto open = rest.find('{');
      if (open == std::string_view::npos) {
        break;
      }
      const auto close = rest.find('}', open);
      parameters.push_back({{"name", rest.substr(open + 1, close - open - 1)},
                            {"in", "path"},
                            {"required", true},
                            {"schema", {{"type", "string"}}}});
      rest = rest.substr(close + 1);
    }
    for (const auto& q : route.query) {
      parameters.push_back({{"name", q.name},
                            {"in", "query"},
                            {"required", false},
                            {"description", q.description},
                            {"schema", json::parse(q.schema)}});
    }
    if (route.method == "POST" && route.operation == "sendMessage") {
      parameters.push_back({{"name", "Idempotency-Key"},
                            {"in", "header"},
                            {"required", false},
                            {"description", "A repeat with the same key returns the first answer and sends nothing."},
                            {"schema", {{"type", "string"}}}});
    }
    if (!parameters.empty()) {
      op["parameters"] = std::move(parameters);
    }
    if (!route.request.empty()) {
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", json::parse(route.request)}}}}}};
    }
    json responses;
    json success = {{"description", route.success_description}};
    if (route.success != 204) {
      success["content"]["application/json"]["schema"] = {{"type", "object"}};
    }
    responses[std::to_string(route.success)] = std::move(success);
    std::vector<unsigned> errors = {400, 401, 503};
    if (route.scope == "admin") {
      errors.push_back(403);
    }
    errors.insert(errors.end(), route.errors.begin(), route.errors.end());
    for (unsigned status : errors) {
      responses[std::to_string(status)] = {
          {"description", status_text(status)},
          {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
    }
    op["responses"] = std::move(responses);
    std::string method(route.method);
    for (auto& c : method) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    paths[std::string(route.path)][method] = std::move(op);
  }
  paths[std::string(openapi_path)]["get"] = {
      {"operationId", "getOpenApi"},
      {"summary", "This document"},
      {"tags", {"meta"}},
      {"security", json::array()},
      {"responses", {{"200", {{"description", "The OpenAPI document"}}}}}};
  return doc;
}

} // namespace

struct AdminApi::Impl : std::enable_shared_from_this<AdminApi::Impl> {
  explicit Impl(Context c) : ctx(c), handlers(c) {}

  asio::awaitable<void> dispatch(const RouteSpec& route, core::http::Request request,
                                 std::shared_ptr<core::http::Responder> respond) {
    auto self = shared_from_this();
    const auto started = std::chrono::steady_clock::now();
    Call call;
    call.request = std::move(request);
    Response response = co_await run(route, call);
    if (route.method != "GET") {
      // The audit line: who (token id), what (method, path, what the handler changed), when
      // (the log's own time stamp), and how it ended.
      spdlog::info("audit: token={} {} {} status={}{}{} ({} ms)", call.who.empty() ? "-" : call.who, route.method,
                   call.request.path, response.status, call.audit.empty() ? "" : " changed=", call.audit,
                   std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                       .count());
    }
    (*respond)(std::move(response));
  }

  asio::awaitable<Response> run(const RouteSpec& route, Call& call) {
    auto query = core::http::parse_form(call.request.query);
    if (!query) {
      co_return detail::problem(400, "invalid-request", "Bad Request", "the query string is malformed");
    }
    call.query = std::move(*query);
    const auto authorization = call.request.header("authorization");
    if (!authorization) {
      auto r = detail::problem(401, "unauthorized", "Unauthorized", "send Authorization: Bearer <token>");
      r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="parley")");
      co_return r;
    }
    auto who = co_await handlers.authenticate(*authorization);
    if (!who) {
      auto r = who.error();
      if (r.status == 401) {
        r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="parley", error="invalid_token")");
      }
      co_return r;
    }
    call.who = who->first;
    call.scope = who->second;
    if (route.scope == "admin" && call.scope != "admin") {
      co_return detail::problem(403, "forbidden", "Forbidden",
                                "this needs a token with scope admin; this token has scope " + call.scope);
    }
    co_return co_await (handlers.*route.handler)(call);
  }

  Context ctx;
  Handlers handlers;
};

AdminApi::AdminApi(Context context) : impl_(std::make_shared<Impl>(context)) {}

AdminApi::~AdminApi() = default;

void AdminApi::install(core::http::Server& server) {
  for (const auto& route : table()) {
    std::weak_ptr<Impl> weak = impl_;
    const RouteSpec* spec = &route;
    server.add_route(std::string(route.method), std::string(route.path),
                     [weak, spec](core::http::Request request, core::http::Responder respond) {
                       auto impl = weak.lock();
                       if (!impl) {
                         respond(detail::problem(503, "shutting-down", "Service Unavailable", "the server is stopping"));
                         return;
                       }
                       auto shared = std::make_shared<core::http::Responder>(std::move(respond));
                       asio::co_spawn(impl->ctx.io, impl->dispatch(*spec, std::move(request), shared), asio::detached);
                     });
  }
  static const std::string document = build_openapi().dump(2);
  server.add_route("GET", std::string(openapi_path), [](core::http::Request, core::http::Responder respond) {
    respond(Response::json(200, document));
  });
}

std::vector<RouteInfo> AdminApi::routes() {
  std::vector<RouteInfo> out;
  for (const auto& route : table()) {
    out.push_back({std::string(route.method), std::string(route.path), std::string(route.scope)});
  }
  out.push_back({"GET", std::string(openapi_path), ""});
  return out;
}

std::string AdminApi::openapi() { return build_openapi().dump(2); }

} // namespace parley::server::admin
