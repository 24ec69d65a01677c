#include "router/muc/muc_service.hpp"

#include "router/modules/archive.hpp"

#include "core/async/worker_pool.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"
#include "router/router.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <mutex>

namespace parley::router::muc {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::jid::Jid;
using core::stanza::stanza_errc;
using core::xml::Element;
using storage::storage_errc;

namespace {

constexpr std::string_view stable_id_feature = "http://jabber.org/protocol/muc#stable_id";
/// A room whose write failed is written again after this long.
constexpr auto retry_save_after = std::chrono::seconds(5);

storage::Timestamp now_stamp() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

std::string_view type_of(const Element& stanza) {
  return stanza.attribute("type").value_or("");
}

boost::system::result<void> failure(storage_errc e) {
  return boost::system::result<void>(boost::system::in_place_error, make_error_code(e));
}

bool is_ip_literal(std::string_view host) {
  return host.starts_with('[') ||
         std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

} // namespace

std::vector<std::string> service_domains(const config::Config& config) {
  std::vector<std::string> domains;
  if (!config.muc.enabled) {
    return domains;
  }
  if (!config.muc.domain.empty()) {
    domains.push_back(config.muc.domain);
    return domains;
  }
  for (const auto& host : config.hosts) {
    if (!is_ip_literal(host)) {
      domains.push_back("conference." + host);
    }
  }
  return domains;
}

struct MucService::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, Router& r, std::string d, const config::MucConfig& config)
      : strand(asio::make_strand(io)), saved(strand), router(r), domain(std::move(d)),
        name(config.name), limits{config.max_occupants, config.max_history, r.archive().rooms_enabled()},
        max_rooms(config.max_rooms) {
    saved.expires_at(std::chrono::steady_clock::time_point::max());
  }

  asio::strand<asio::io_context::executor_type> strand;
  /// Never expires: cancelled whenever a write finishes, which wakes every wait_saved.
  asio::steady_timer saved;
  Router& router;
  const std::string domain;
  const std::string name;
  const Limits limits;
  const std::uint32_t max_rooms;

  /// A room and where its stored state stands.
  struct Entry {
    /// Null once the room is gone, until storage has forgotten it too.
    std::unique_ptr<Room> room;
    std::uint64_t changed = 0; ///< generation of the latest change to the stored state
    std::uint64_t saved = 0;   ///< generation that storage holds
    std::uint64_t failed = 0;  ///< generation whose write failed last
    bool saving = false;       ///< a save_loop runs for this room
    bool stored = false;       ///< storage holds (a version of) the room
  };

  // Guards `rooms` and `stopped`. Strand code holds it only between co_awaits (never across
  // one); stop() takes it from outside the strand.
  std::mutex mutex;
  std::map<std::string, Entry, std::less<>> rooms; // by localpart
  bool stopped = false;

  std::size_t live_rooms() const {
    return static_cast<std::size_t>(
        std::count_if(rooms.begin(), rooms.end(), [](const auto& entry) { return entry.second.room != nullptr; }));
  }

  Room* find(std::string_view room) {
    const auto found = rooms.find(room);
    return found == rooms.end() ? nullptr : found->second.room.get();
  }

  // ---- stanzas --------------------------------------------------------------------------------

  asio::awaitable<Disposition> handle(Element stanza) {
    auto to = Jid::parse(stanza.attribute("to").value_or(""));
    auto from = Jid::parse(stanza.attribute("from").value_or(""));
    if (!to || !from) {
      co_return Disposition::handled;
    }
    const std::string room(to->local());
    if (limits.archive && is_archive_iq(stanza, *to)) {
      co_await archive_iq(std::move(stanza), *from, *to);
      co_return Disposition::handled;
    }
    Effects fx;
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(mutex);
      if (stopped) {
        co_return Disposition::handled;
      }
      if (room.empty()) {
        service_stanza(stanza, fx);
      } else if (is_gateway_post(stanza, *from, *to)) {
        gateway_post(stanza, *from, *to, fx);
      } else {
        room_stanza(stanza, *from, *to, fx);
      }
      generation = commit(room, fx);
    }
    if (fx.refused) {
      // Reported outward by the gateway (HTTP 4xx), not as a stanza error to it.
      spdlog::warn("muc {}: refused a message from {}: {}", to->bare_string(), from->full(), *fx.refused);
      co_return Disposition::refused;
    }
    co_await deliver(stanza, room, generation, std::move(fx));
    co_return Disposition::handled;
  }

  // ---- archives (XEP-0313 §5.1.2) ----------------------------------------------------------

  static bool is_archive_iq(const Element& stanza, const Jid& to) {
    const Element* payload = stanza.first_child();
    return stanza.name() == "iq" && !to.local().empty() && to.resource().empty() && payload != nullptr &&
           payload->ns() == ns::mam;
  }

  /// A query of a room's archive: answered by the archive, for those the room lets read it.
  asio::awaitable<void> archive_iq(Element iq, Jid from, Jid to) {
    bool exists = false;
    bool allowed = false;
    {
      std::lock_guard lock(mutex);
      if (stopped) {
        co_return;
      }
      if (const Room* room = find(to.local())) {
        exists = true;
        allowed = room->may_read_archive(from);
      }
    }
    std::vector<Element> answers;
    if (!exists) {
      answers.push_back(core::stanza::make_error(iq, stanza_errc::item_not_found, "no such room"));
    } else if (!allowed) {
      answers.push_back(core::stanza::make_error(iq, stanza_errc::forbidden, "only occupants and members may read this room's archive"));
    } else {
      const std::string room_jid(to.bare_string());
      answers = co_await router.archive().answer(std::move(iq), room_jid, room_jid, true);
    }
    for (auto& answer : answers) {
      co_await router.route(std::move(answer));
    }
  }

  /// A room that is gone takes its archive along.
  static asio::awaitable<void> forget_archive(std::shared_ptr<Impl> self, std::string room_jid) {
    co_await self->router.archive().remove_owner(std::move(room_jid));
  }

  /// A groupchat message to a room from a gateway of this server (an inbound webhook): its
  /// domain has a handler of its own in the router, and the router stamps 'from' on what
  /// clients send, so only the gateway itself can have sent it.
  bool is_gateway_post(const Element& stanza, const Jid& from, const Jid& to) const {
    if (stanza.name() != "message" || type_of(stanza) != "groupchat" || !to.resource().empty() ||
        from.domain() == domain) {
      return false;
    }
    const DomainHandler* handler = router.domain_handler(from.domain());
    return handler != nullptr && dynamic_cast<const MucService*>(handler) == nullptr;
  }

  /// Posts under the XEP-0172 nick the gateway gave (else the sender's localpart).
  void gateway_post(const Element& stanza, const Jid& from, const Jid& to, Effects& fx) {
    Room* target = find(to.local());
    if (target == nullptr) {
      fx.refused = "there is no such room";
      return;
    }
    std::string nick(from.local());
    if (const Element* given = stanza.child("nick", nick_ns); given != nullptr && !given->text().empty()) {
      nick = given->text();
    }
    Element message = stanza;
    message.remove_children("nick", nick_ns);
    target->post(message, from, nick, now_stamp(), fx);
  }

  /// A stanza to the service itself (XEP-0045 §6.1 to §6.3).
  void service_stanza(const Element& stanza, Effects& fx) {
    const std::string_view type = type_of(stanza);
    if (stanza.name() == "presence" || type == "error" || type == "result") {
      return;
    }
    if (stanza.name() == "message") {
      if (type != "headline") {
        fx.out.push_back(core::stanza::make_error(stanza, stanza_errc::service_unavailable));
      }
      return;
    }
    const Element* payload = stanza.first_child();
    if (payload != nullptr && type == "get" && payload->name() == "query" && payload->ns() == ns::disco_info) {
      Element result = core::stanza::make_result(stanza);
      Element& info = result.add_child(Element("query", std::string(ns::disco_info)));
      if (auto node = payload->attribute("node")) {
        info.set_attribute("node", std::string(*node));
      }
      Element& identity = info.add_child(Element("identity", std::string(ns::disco_info)));
      identity.set_attribute("category", "conference");
      identity.set_attribute("type", "text");
      identity.set_attribute("name", name);
      for (const std::string_view feature : {ns::disco_info, ns::disco_items, ns::muc, stable_id_feature, ns::ping}) {
        info.add_child(Element("feature", std::string(ns::disco_info))).set_attribute("var", std::string(feature));
      }
      fx.out.push_back(std::move(result));
      return;
    }
    if (payload != nullptr && type == "get" && payload->name() == "query" && payload->ns() == ns::disco_items) {
      // §6.3: the public rooms; hidden and unconfigured ones are left out.
      Element result = core::stanza::make_result(stanza);
      Element& items = result.add_child(Element("query", std::string(ns::disco_items)));
      for (const auto& [localpart, entry] : rooms) {
        if (entry.room && entry.room->listed()) {
          Element& item = items.add_child(Element("item", std::string(ns::disco_items)));
          item.set_attribute("jid", entry.room->jid().full());
          item.set_attribute("name", entry.room->display_name());
        }
      }
      fx.out.push_back(std::move(result));
      return;
    }
    if (payload != nullptr && type == "get" && payload->ns() == ns::ping) {
      fx.out.push_back(core::stanza::make_result(stanza));
      return;
    }
    fx.out.push_back(core::stanza::make_error(stanza, stanza_errc::service_unavailable));
  }

  /// A stanza to a room or an occupant.
  void room_stanza(const Element& stanza, const Jid& from, const Jid& to, Effects& fx) {
    const storage::Timestamp now = now_stamp();
    auto entry = rooms.find(to.local());
    if (entry != rooms.end() && entry->second.room) {
      entry->second.room->handle(stanza, from, to, now, fx);
      return;
    }
    const std::string_view type = type_of(stanza);
    if (stanza.name() == "presence") {
      if (!type.empty()) {
        return; // leaving a room that is not there
      }
      if (to.resource().empty()) {
        fx.out.push_back(core::stanza::make_error(stanza, stanza_errc::jid_malformed, "a nickname is needed"));
        return;
      }
      if (stanza.child("x", ns::muc) == nullptr) {
        fx.out.push_back(not_in_room(stanza));
        return;
      }
      // §10.1.1: entering a room that does not exist creates it, locked until configured.
      if (live_rooms() >= max_rooms) {
        Element echo("presence", std::string(ns::client));
        echo.set_attribute("from", std::string(stanza.attribute("from").value_or("")));
        echo.set_attribute("to", std::string(stanza.attribute("to").value_or("")));
        if (auto id = stanza.attribute("id")) {
          echo.set_attribute("id", std::string(*id));
        }
        echo.add_child(Element("x", std::string(ns::muc)));
        fx.out.push_back(
            core::stanza::make_error(echo, stanza_errc::not_allowed, "this service holds as many rooms as it may"));
        return;
      }
      const Jid room_jid = to.bare();
      auto state = Room::initial_state(room_jid, from.bare(), limits, now);
      Entry& created = rooms[std::string(to.local())];
      created.room = std::make_unique<Room>(room_jid, std::move(state), limits, /*locked=*/true);
      created.room->create(stanza, from, to, now, fx);
      spdlog::debug("muc: {} created {}", from.bare_string(), room_jid.full());
      return;
    }
    if (type == "error" || (stanza.name() == "iq" && type == "result")) {
      return;
    }
    fx.out.push_back(core::stanza::make_error(stanza, stanza_errc::item_not_found, "no such room"));
  }

  /// Records what `fx` means for the stored state of `room` and starts writing it; returns the
  /// generation an acknowledgement has to wait for. Under the mutex.
  std::uint64_t commit(const std::string& room, Effects& fx) {
    if (room.empty()) {
      return 0;
    }
    const auto found = rooms.find(room);
    if (found == rooms.end()) {
      return 0;
    }
    Entry& entry = found->second;
    if (fx.destroyed) {
      spdlog::debug("muc: {}@{} is gone", room, domain);
      if (limits.archive) {
        asio::co_spawn(strand, forget_archive(shared_from_this(), room + "@" + domain), asio::detached);
      }
      entry.room.reset();
    }
    if (fx.stored_changed || fx.destroyed) {
      ++entry.changed;
      const bool keep = entry.room && entry.room->config().persistent && !entry.room->locked();
      if (!keep && !entry.stored && !entry.saving) {
        entry.saved = entry.changed; // nothing stored, nothing to store
      } else if (!entry.saving) {
        entry.saving = true;
        asio::co_spawn(strand, save_loop(shared_from_this(), room), asio::detached);
      }
    }
    const std::uint64_t generation = entry.changed;
    if (!entry.room && !entry.saving && !entry.stored) {
      rooms.erase(found);
    }
    return generation;
  }

  /// Routes what a room said, then the acknowledgement once the change is stored.
  asio::awaitable<void> deliver(const Element& request, std::string room, std::uint64_t generation, Effects fx) {
    if (fx.archive) {
      // In the archive before anyone sees it (with its <stanza-id/>).
      auto& record = *fx.archive;
      router.archive().record(std::move(record.owner), std::move(record.id), std::move(record.with), record.message);
      co_await router.archive().flush();
    }
    for (auto& stanza : fx.out) {
      co_await router.route(std::move(stanza));
    }
    if (!fx.ack) {
      co_return;
    }
    if (co_await wait_saved(std::move(room), generation)) {
      co_await router.route(std::move(*fx.ack));
    } else if (core::stanza::may_answer_with_error(request)) {
      Element error = core::stanza::make_error(request, stanza_errc::internal_server_error,
                                               "the change is made but could not be stored yet");
      co_await router.route(std::move(error));
    }
  }

  // ---- storage --------------------------------------------------------------------------------

  /// Writes the room's latest state until storage has it (or removes it, once the room is
  /// gone or no longer persistent). One loop per room at a time, so writes never overtake
  /// each other.
  asio::awaitable<void> save_loop(std::shared_ptr<Impl> self, std::string room) {
    (void)self; // keeps the service alive while the loop runs
    // co_spawn from the strand runs a coroutine inline up to its first suspension, and commit()
    // spawns this one under the mutex: first let it go.
    co_await asio::post(strand, asio::use_awaitable);
    for (;;) {
      std::optional<storage::StoredRoom> snapshot;
      std::uint64_t generation = 0;
      {
        std::lock_guard lock(mutex);
        const auto found = rooms.find(room);
        if (found == rooms.end()) {
          co_return;
        }
        Entry& entry = found->second;
        if (entry.saved >= entry.changed) {
          entry.saving = false;
          if (!entry.room && !entry.stored) {
            rooms.erase(found);
          }
          co_return;
        }
        generation = entry.changed;
        if (entry.room && entry.room->config().persistent && !entry.room->locked()) {
          snapshot = entry.room->snapshot();
        } else if (!entry.stored) {
          entry.saved = generation;
          saved.cancel();
          continue;
        }
      }
      boost::system::result<void> outcome;
      if (snapshot) {
        auto put = [this, stored = std::move(*snapshot)] { return router.storage().rooms().put(stored); };
        outcome = co_await router.workers().run(std::move(put));
      } else {
        auto remove = [this, room]() -> boost::system::result<void> {
          auto removed = router.storage().rooms().remove(domain, room);
          if (!removed && removed.error() == storage_errc::not_found) {
            return {};
          }
          return removed;
        };
        outcome = co_await router.workers().run(std::move(remove));
      }
      bool retry = false;
      {
        std::lock_guard lock(mutex);
        Entry& entry = rooms.find(room)->second; // an entry that is saving stays
        if (outcome) {
          entry.saved = generation;
          entry.stored = snapshot.has_value();
        } else {
          entry.failed = generation;
          retry = !stopped;
          spdlog::warn("muc: cannot store {}@{}: {}; trying again in {} s", room, domain, outcome.error().message(),
                       retry_save_after.count());
        }
        if (!retry && !outcome) {
          entry.saving = false;
        }
      }
      saved.cancel();
      if (!outcome) {
        if (!retry) {
          co_return;
        }
        asio::steady_timer pause(strand, retry_save_after);
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
  }

  /// True once storage holds generation `generation` of the room (or the room needs no
  /// storing); false when writing it failed.
  asio::awaitable<bool> wait_saved(std::string room, std::uint64_t generation) {
    for (;;) {
      {
        std::lock_guard lock(mutex);
        const auto found = rooms.find(room);
        if (found == rooms.end() || found->second.saved >= generation) {
          co_return true;
        }
        if (found->second.failed >= generation) {
          co_return false;
        }
      }
      // No suspension between the check and the wait: save_loop runs on this strand too.
      co_await saved.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // ---- admin ----------------------------------------------------------------------------------

  asio::awaitable<std::vector<RoomSummary>> list_rooms() {
    std::vector<RoomSummary> out;
    std::lock_guard lock(mutex);
    for (const auto& [localpart, entry] : rooms) {
      if (entry.room) {
        out.push_back(entry.room->summary());
      }
    }
    co_return out;
  }

  asio::awaitable<boost::system::result<void>> create_room(std::string room, std::string owner,
                                                           storage::RoomConfig config) {
    auto jid = Jid::make(room, domain);
    auto owner_jid = Jid::parse(owner);
    if (!jid || !owner_jid || jid->local().empty()) {
      co_return failure(storage_errc::invalid_argument);
    }
    const std::string localpart(jid->local());
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(mutex);
      if (stopped) {
        co_return failure(storage_errc::unavailable);
      }
      if (find(localpart) != nullptr) {
        co_return failure(storage_errc::conflict);
      }
      if (live_rooms() >= max_rooms) {
        co_return failure(storage_errc::quota_exceeded);
      }
      auto state = Room::initial_state(*jid, owner_jid->bare(), limits, now_stamp());
      state.config = config;
      Entry& entry = rooms[localpart];
      entry.room = std::make_unique<Room>(*jid, std::move(state), limits, /*locked=*/false);
      Effects fx;
      fx.stored_changed = true;
      generation = commit(localpart, fx);
    }
    if (!co_await wait_saved(localpart, generation)) {
      co_return failure(storage_errc::unavailable);
    }
    co_return boost::system::result<void>{};
  }

  asio::awaitable<boost::system::result<void>> destroy_room(std::string room, std::string reason,
                                                            std::string alternate) {
    Effects fx;
    std::uint64_t generation = 0;
    std::string localpart;
    {
      std::lock_guard lock(mutex);
      auto jid = Jid::make(room, domain);
      Room* found = jid ? find(jid->local()) : nullptr;
      if (found == nullptr) {
        co_return failure(storage_errc::not_found);
      }
      localpart = std::string(jid->local());
      found->destroy(reason, alternate, fx);
      generation = commit(localpart, fx);
    }
    for (auto& stanza : fx.out) {
      co_await router.route(std::move(stanza));
    }
    if (!co_await wait_saved(localpart, generation)) {
      co_return failure(storage_errc::unavailable);
    }
    co_return boost::system::result<void>{};
  }

  asio::awaitable<boost::system::result<void>> set_affiliation(std::string room, std::string jid,
                                                               storage::Affiliation affiliation, std::string reason) {
    auto target = Jid::parse(jid);
    auto room_jid = Jid::make(room, domain);
    if (!target || !room_jid) {
      co_return failure(storage_errc::invalid_argument);
    }
    const std::string localpart(room_jid->local());
    Effects fx;
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(mutex);
      Room* found = find(localpart);
      if (found == nullptr) {
        co_return failure(storage_errc::not_found);
      }
      // XEP-0045 §10.7: a room keeps at least one owner.
      const std::string key(target->bare().bare_string());
      const auto state = found->snapshot();
      const bool other_owner =
          std::any_of(state.affiliations.begin(), state.affiliations.end(), [&](const storage::RoomAffiliation& a) {
            return a.affiliation == storage::Affiliation::owner && a.jid != key;
          });
      if (affiliation != storage::Affiliation::owner && !other_owner) {
        co_return failure(storage_errc::conflict);
      }
      found->set_affiliation(target->bare(), affiliation, reason, fx);
      generation = commit(localpart, fx);
    }
    for (auto& stanza : fx.out) {
      co_await router.route(std::move(stanza));
    }
    if (!co_await wait_saved(localpart, generation)) {
      co_return failure(storage_errc::unavailable);
    }
    co_return boost::system::result<void>{};
  }
};

MucService::MucService(asio::io_context& io, Router& router, std::string domain, const config::MucConfig& config)
    : impl_(std::make_shared<Impl>(io, router, std::move(domain), config)) {}

MucService::~MucService() = default;

const std::string& MucService::domain() const noexcept {
  return impl_->domain;
}

boost::system::result<std::size_t> MucService::load() {
  auto stored = impl_->router.storage().rooms().list(impl_->domain);
  if (!stored) {
    return stored.error();
  }
  std::lock_guard lock(impl_->mutex);
  std::size_t loaded = 0;
  for (auto& state : *stored) {
    auto jid = Jid::make(state.room, impl_->domain);
    if (!jid) {
      spdlog::warn("muc: stored room '{}' of {} is not a valid JID; skipping it", state.room, impl_->domain);
      continue;
    }
    auto& entry = impl_->rooms[std::string(jid->local())];
    entry.stored = true;
    entry.room = std::make_unique<Room>(*jid, std::move(state), impl_->limits, /*locked=*/false);
    ++loaded;
  }
  return loaded;
}

asio::awaitable<Disposition> MucService::on_stanza(Element stanza) {
  auto impl = impl_;
  co_return co_await asio::co_spawn(impl->strand, impl->handle(std::move(stanza)), asio::use_awaitable);
}

void MucService::stop() {
  std::vector<Element> out;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopped) {
      return;
    }
    impl_->stopped = true;
    for (auto& [localpart, entry] : impl_->rooms) {
      if (entry.room) {
        Effects fx;
        entry.room->shutdown(fx);
        std::move(fx.out.begin(), fx.out.end(), std::back_inserter(out));
      }
    }
  }
  // Straight to the sessions (every one of these goes to a full JID): the router's coroutines
  // would run too late, after the sessions have closed.
  for (auto& presence : out) {
    auto to = Jid::parse(presence.attribute("to").value_or(""));
    if (!to) {
      continue;
    }
    if (auto session = impl_->router.sessions().find(*to)) {
      session->deliver(std::move(presence));
    }
  }
}

asio::awaitable<std::vector<RoomSummary>> MucService::list_rooms() {
  auto impl = impl_;
  co_return co_await asio::co_spawn(impl->strand, impl->list_rooms(), asio::use_awaitable);
}

asio::awaitable<boost::system::result<void>> MucService::create_room(std::string room, std::string owner,
                                                                     storage::RoomConfig config) {
  auto impl = impl_;
  co_return co_await asio::co_spawn(
      impl->strand, impl->create_room(std::move(room), std::move(owner), std::move(config)), asio::use_awaitable);
}

asio::awaitable<boost::system::result<void>> MucService::destroy_room(std::string room, std::string reason,
                                                                      std::string alternate) {
  auto impl = impl_;
  co_return co_await asio::co_spawn(
      impl->strand, impl->destroy_room(std::move(room), std::move(reason), std::move(alternate)), asio::use_awaitable);
}

asio::awaitable<boost::system::result<void>>
MucService::set_affiliation(std::string room, std::string jid, storage::Affiliation affiliation, std::string reason) {
  auto impl = impl_;
  co_return co_await asio::co_spawn(
      impl->strand, impl->set_affiliation(std::move(room), std::move(jid), affiliation, std::move(reason)),
      asio::use_awaitable);
}

} // namespace parley::router::muc
