// Admin API: chat rooms (XEP-0045), through the chat services' own admin calls.

#include "router/muc/muc_service.hpp"
#include "router/muc/room.hpp"
#include "server/admin/detail/handlers.hpp"
#include "storage/room_store.hpp"
#include "storage/storage_errc.hpp"

namespace parley::server::admin::detail {

namespace asio = boost::asio;
using core::jid::Jid;
using storage::storage_errc;

namespace {

/// A room's JID split into the service that hosts it and its localpart.
struct RoomTarget {
  router::muc::MucService* service = nullptr;
  std::string room;
  std::string jid;
};

Checked<RoomTarget> room_target(const std::vector<std::shared_ptr<router::muc::MucService>>& services,
                                std::string_view text) {
  auto jid = Jid::parse(text);
  if (!jid || jid->local().empty() || !jid->is_bare()) {
    return problem(400, "invalid-field", "Bad Request", "'" + std::string(text) + "' is not a room JID (room@service)");
  }
  for (const auto& service : services) {
    if (service->domain() == jid->domain()) {
      return RoomTarget{service.get(), std::string(jid->local()), jid->full()};
    }
  }
  return problem(404, "not-found", "Not Found", std::string(jid->domain()) + " is not a chat service of this server");
}

Response room_problem(const boost::system::error_code& ec, const std::string& room) {
  if (ec == storage_errc::not_found) {
    return problem(404, "not-found", "Not Found", "room " + room + " does not exist");
  }
  if (ec == storage_errc::conflict) {
    return problem(409, "conflict", "Conflict", "room " + room + ": " + ec.message());
  }
  if (ec == storage_errc::quota_exceeded) {
    return problem(409, "room-limit", "Conflict", "the chat service holds as many rooms as it may");
  }
  return storage_problem(ec, "room " + room);
}

/// An optional boolean member: absent keeps `out`.
Checked<void> bool_member(const json& body, std::string_view name, bool& out) {
  const auto found = body.find(name);
  if (found == body.end() || found->is_null()) {
    return {};
  }
  if (!found->is_boolean()) {
    return problem(400, "invalid-field", "Bad Request", "'" + std::string(name) + "' must be true or false");
  }
  out = found->get<bool>();
  return {};
}

} // namespace

asio::awaitable<Response> Handlers::list_rooms(Call&) {
  json items = json::array();
  for (const auto& service : ctx_.rooms) {
    for (const auto& room : co_await service->list_rooms()) {
      items.push_back({{"jid", room.jid},
                       {"name", room.name},
                       {"persistent", room.persistent},
                       {"public", room.public_room},
                       {"members_only", room.members_only},
                       {"password_protected", room.password_protected},
                       {"locked", room.locked},
                       {"occupants", room.occupants}});
    }
  }
  co_return json_response(200, {{"items", std::move(items)}});
}

asio::awaitable<Response> Handlers::create_room(Call& call) {
  auto body = call.body();
  if (!body) {
    co_return body.error();
  }
  auto room_text = string_member(*body, "room", true);
  auto owner_text = string_member(*body, "owner", true);
  auto name = string_member(*body, "name", false);
  auto description = string_member(*body, "description", false);
  auto password = string_member(*body, "password", false);
  for (const auto* member : {&room_text, &owner_text, &name, &description, &password}) {
    if (!*member) {
      co_return member->error();
    }
  }
  auto target = room_target(ctx_.rooms, *room_text);
  if (!target) {
    co_return target.error();
  }
  auto owner = Jid::parse(*owner_text);
  if (!owner || owner->local().empty()) {
    co_return problem(400, "invalid-field", "Bad Request", "'owner' must be a bare JID");
  }
  storage::RoomConfig config;
  config.name = *name;
  config.description = *description;
  config.password = *password;
  config.persistent = true;
  for (auto [key, out] : {std::pair<std::string_view, bool*>{"persistent", &config.persistent},
                          {"public", &config.public_room},
                          {"members_only", &config.members_only},
                          {"moderated", &config.moderated}}) {
    if (auto ok = bool_member(*body, key, *out); !ok) {
      co_return ok.error();
    }
  }
  auto created = co_await target->service->create_room(target->room, owner->bare().full(), config);
  if (!created) {
    co_return room_problem(created.error(), target->jid);
  }
  call.audit = "created room " + target->jid + " owned by " + owner->bare().full();
  co_return json_response(201, {{"jid", target->jid}, {"owner", owner->bare().full()}, {"persistent", config.persistent}});
}

asio::awaitable<Response> Handlers::destroy_room(Call& call) {
  auto target = room_target(ctx_.rooms, call.param("room"));
  if (!target) {
    co_return target.error();
  }
  const std::string reason(call.query_value("reason").value_or(""));
  const std::string alternate(call.query_value("alternate").value_or(""));
  if (!alternate.empty() && !Jid::parse(alternate)) {
    co_return problem(400, "invalid-field", "Bad Request", "'alternate' must be a JID");
  }
  auto destroyed = co_await target->service->destroy_room(target->room, reason, alternate);
  if (!destroyed) {
    co_return room_problem(destroyed.error(), target->jid);
  }
  call.audit = "destroyed room " + target->jid;
  co_return no_content();
}

asio::awaitable<Response> Handlers::set_room_affiliation(Call& call) {
  auto target = room_target(ctx_.rooms, call.param("room"));
  if (!target) {
    co_return target.error();
  }
  auto who = Jid::parse(call.param("jid"));
  if (!who || !who->is_bare()) {
    co_return problem(400, "invalid-field", "Bad Request", "the affiliated JID must be a bare JID or a domain");
  }
  auto body = call.body();
  if (!body) {
    co_return body.error();
  }
  auto affiliation_text = string_member(*body, "affiliation", true);
  auto reason = string_member(*body, "reason", false);
  if (!affiliation_text) {
    co_return affiliation_text.error();
  }
  if (!reason) {
    co_return reason.error();
  }
  const auto affiliation = storage::parse_affiliation(*affiliation_text);
  if (!affiliation) {
    co_return problem(400, "invalid-field", "Bad Request", "'affiliation' must be owner, admin, member, outcast or none");
  }
  auto set = co_await target->service->set_affiliation(target->room, who->full(), *affiliation, *reason);
  if (!set) {
    co_return room_problem(set.error(), target->jid);
  }
  call.audit = "affiliation of " + who->full() + " in " + target->jid + " set to " + *affiliation_text;
  co_return no_content();
}

} // namespace parley::server::admin::detail
