#include "router/router.hpp"

#include "core/async/worker_pool.hpp"
#include "core/metrics/registry.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
#include "router/modules/archive.hpp"
#include "router/modules/pep.hpp"
#include "router/modules/pep_rules.hpp"
#include "router/modules/private_xml.hpp"
#include "router/modules/push.hpp"
#include "router/modules/registration.hpp"
#include "router/modules/time_format.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

#include "core/sasl/crypto.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <atomic>
#include <chrono>

namespace parley::router {

namespace asio = boost::asio;
using core::jid::Jid;
using core::stanza::stanza_errc;
using core::xml::Element;
namespace ns = core::xml::ns;
using storage::RosterItem;
using storage::Subscription;

namespace {

std::string_view type_of(const Element& stanza) { return stanza.attribute("type").value_or(""); }

Element with_to(Element stanza, std::string_view to) {
  stanza.set_attribute("to", std::string(to));
  return stanza;
}

/// The router's metrics, registered by the first Router (at start-up, so that they show as 0).
struct RouterMetrics {
  struct ByType {
    core::metrics::Counter& message;
    core::metrics::Counter& presence;
    core::metrics::Counter& iq;
    explicit ByType(core::metrics::CounterFamily& family)
        : message(family.with({"message"})), presence(family.with({"presence"})), iq(family.with({"iq"})) {}
    void count(std::string_view name) noexcept {
      if (name == "message") {
        message.inc();
      } else if (name == "presence") {
        presence.inc();
      } else if (name == "iq") {
        iq.inc();
      }
    }
  };
  ByType in{core::metrics::registry().counter_family("parley_stanzas_in_total",
                                                     "Stanzas received from client sessions, by type.", {"type"})};
  ByType out{core::metrics::registry().counter_family("parley_stanzas_out_total",
                                                      "Stanzas delivered to client sessions, by type.", {"type"})};
  core::metrics::Histogram& route_duration = core::metrics::registry().histogram(
      "parley_route_duration_seconds",
      "Time from a stanza entering the router to its disposition (delivered, stored, answered or refused).",
      core::metrics::latency_buckets());
};

RouterMetrics& router_metrics() {
  static RouterMetrics instance;
  return instance;
}

void deliver(const std::shared_ptr<Session>& session, Element stanza) {
  if (session) {
    router_metrics().out.count(stanza.name());
    session->deliver(std::move(stanza));
  }
}

/// Answers `stanza` with an error to its sender, unless the stanza is itself an error.
void reply_error(const std::shared_ptr<Session>& sender, const Element& stanza, stanza_errc condition,
                 std::string_view text = {}) {
  if (core::stanza::may_answer_with_error(stanza)) {
    deliver(sender, core::stanza::make_error(stanza, condition, text));
  }
}

/// Block lists the router keeps in memory at most (see block_list()).
constexpr std::size_t max_cached_block_lists = 100'000;

/// XEP-0191 blocking, and the application error of a stanza to a blocked JID (§3.4).
constexpr std::string_view blocking_ns = "urn:xmpp:blocking";
constexpr std::string_view blocking_errors_ns = "urn:xmpp:blocking:errors";

/// XEP-0191 §3.6 (the JID matching of XEP-0016 §2.1): an item blocks `jid` when it is the
/// full JID, the bare JID, the domain, or domain/resource.
bool list_blocks(const std::vector<std::string>& list, const Jid& jid) {
  if (list.empty()) {
    return false;
  }
  const std::string_view bare = jid.bare_string();
  const std::string_view domain = jid.domain();
  const std::string domain_resource =
      jid.resource().empty() ? std::string() : std::string(domain) + "/" + std::string(jid.resource());
  return std::any_of(list.begin(), list.end(), [&](const std::string& item) {
    return item == jid.full() || item == bare || item == domain ||
           (!domain_resource.empty() && item == domain_resource);
  });
}

/// The server's disco#info identity: category, type, name.
constexpr std::array<std::string_view, 3> server_identity = {"server", "im", "Parley"};

/// XEP-0334 hints; only <no-copy/> matters here.
constexpr std::string_view hints_ns = "urn:xmpp:hints";

/// XEP-0280 §6: whether the account's other resources get a copy of `msg`: chat messages, and
/// normal messages with a body; never what the sender marked <private/> (§7) or <no-copy/>
/// (XEP-0334), nor a carbon itself.
bool carbon_eligible(const Element& msg) {
  if (msg.child("private", ns::carbons) != nullptr || msg.child("no-copy", hints_ns) != nullptr ||
      msg.child("received", ns::carbons) != nullptr || msg.child("sent", ns::carbons) != nullptr) {
    return false;
  }
  const std::string_view type = msg.attribute("type").value_or("normal");
  if (type == "chat") {
    return true;
  }
  return type == "normal" && msg.child("body", msg.ns()) != nullptr;
}

/// The XEP-0280 copy of `msg` for `to` (a resource of `bare`): <received/> or <sent/> around a
/// XEP-0297 <forwarded/> holding the message, from the account's bare JID (§6, §9: clients
/// must accept carbons only from their own bare JID).
Element carbon_copy(const Element& msg, std::string_view direction, std::string_view bare, std::string_view to) {
  Element copy("message", std::string(ns::client));
  copy.set_attribute("from", std::string(bare));
  copy.set_attribute("to", std::string(to));
  copy.set_attribute("type", std::string(msg.attribute("type").value_or("normal")));
  Element wrapper{std::string(direction), std::string(ns::carbons)};
  Element forwarded("forwarded", std::string(ns::forward));
  Element inner = msg;
  inner.remove_children("private", ns::carbons);
  forwarded.add_child(std::move(inner));
  wrapper.add_child(std::move(forwarded));
  copy.add_child(std::move(wrapper));
  return copy;
}

/// The text of the `wait` error for a stanza that had to be stored while storage was down.
constexpr std::string_view not_stored_text = "storage is unavailable; the message was not stored, try again later";

stanza_errc storage_condition(const boost::system::error_code& ec) {
  if (ec == storage::storage_errc::quota_exceeded) {
    return stanza_errc::service_unavailable;
  }
  return stanza_errc::internal_server_error;
}

Element roster_item_element(const RosterItem& item, bool removed = false) {
  Element el("item", std::string(ns::roster));
  el.set_attribute("jid", item.jid);
  if (removed) {
    el.set_attribute("subscription", "remove");
    return el;
  }
  if (!item.name.empty()) {
    el.set_attribute("name", item.name);
  }
  el.set_attribute("subscription", std::string(storage::to_string(item.subscription)));
  if (item.ask_subscribe) {
    el.set_attribute("ask", "subscribe");
  }
  if (item.approved) {
    el.set_attribute("approved", "true");
  }
  for (const auto& group : item.groups) {
    el.add_child(Element("group", std::string(ns::roster))).add_text(group);
  }
  return el;
}

/// An item that only records an unanswered inbound request is not part of the user's roster
/// yet (RFC 6121 §3.1.3: the server does not add an item before the user approves).
bool visible(const RosterItem& item) {
  return item.subscription != Subscription::none || item.ask_subscribe || item.approved || !item.name.empty() ||
         !item.groups.empty() || !item.pending_in;
}

std::atomic<std::uint64_t> push_counter{0};

Element presence(std::string_view from, std::string_view to, std::string_view type) {
  Element p("presence", std::string(ns::client));
  p.set_attribute("from", std::string(from));
  p.set_attribute("to", std::string(to));
  if (!type.empty()) {
    p.set_attribute("type", std::string(type));
  }
  return p;
}

/// The disco#info of an account's bare JID (XEP-0030) into `query`: the account and PEP
/// identities (XEP-0163 §1: every account is a PEP service) and PEP's features; for the owner
/// also push (XEP-0357 §4: on the account) and, with an archive, MAM (XEP-0313 §7: the user's
/// archive is at the bare JID).
void add_account_info(Element& query, bool owner, bool archive) {
  for (auto [category, itype] : {std::pair{"account", "registered"}, std::pair{"pubsub", "pep"}}) {
    auto& id = query.add_child(Element("identity", std::string(ns::disco_info)));
    id.set_attribute("category", category);
    id.set_attribute("type", itype);
  }
  std::vector<std::string_view> features = {ns::disco_info, ns::disco_items};
  const auto pep = modules::pep_features();
  features.insert(features.end(), pep.begin(), pep.end());
  if (owner) {
    features.push_back(modules::push_ns);
    if (archive) {
      features.insert(features.end(), {ns::mam, modules::mam_extended_feature, ns::stanza_id});
    }
  }
  for (auto f : features) {
    query.add_child(Element("feature", std::string(ns::disco_info))).set_attribute("var", std::string(f));
  }
}

} // namespace

/// Lives as long as the router; every Impl (one per routed stanza) shares it.
struct Router::Shared {
  Shared(Router& router, const config::Config& config, storage::Storage& storage, core::async::WorkerPool& workers)
      : archive(config.archive, storage, workers), pep(router), push(router) {}

  /// Each user's XEP-0191 block list, read from storage on first use and replaced on every change.
  std::mutex block_lists_mutex;
  std::unordered_map<std::string, std::shared_ptr<const std::vector<std::string>>> block_lists;
  std::atomic<std::uint64_t> block_pushes{0};
  /// Users whose offline messages are being handed to a session right now, and whether
  /// someone asked for another pass meanwhile (see Impl::deliver_offline).
  std::mutex drains_mutex;
  std::unordered_map<std::string, bool> drains;
  modules::MessageArchive archive;
  modules::PepService pep;
  modules::PushService push;
};

struct Router::Impl {
  explicit Impl(Router& router)
      : r(router), block_lists_mutex(router.shared_->block_lists_mutex), block_lists(router.shared_->block_lists),
        block_pushes(router.shared_->block_pushes), archive(router.shared_->archive), shared(*router.shared_) {}
  Router& r;

  /// Inside coroutines, closures are named before they go into a co_await expression: GCC 12
  /// copies closure temporaries of a co_await full-expression bitwise, breaking their strings.
  template <class Fn> auto blocking(Fn fn) { return r.workers().run(std::move(fn)); }

  storage::Storage& db() { return r.storage(); }

  // ---- XEP-0191 block lists -----------------------------------------------------------------

  using BlockList = std::shared_ptr<const std::vector<std::string>>;
  std::mutex& block_lists_mutex;
  std::unordered_map<std::string, BlockList>& block_lists;
  std::atomic<std::uint64_t>& block_pushes;
  modules::MessageArchive& archive;
  Router::Shared& shared;

  asio::awaitable<BlockList> block_list(Jid user) {
    std::string key(user.bare_string());
    {
      std::lock_guard lock(block_lists_mutex);
      if (auto it = block_lists.find(key); it != block_lists.end()) {
        co_return it->second;
      }
    }
    auto job = [this, key] { return db().blocks().blocked(key); };
    auto loaded = co_await blocking(std::move(job));
    if (!loaded) {
      // Fails open: storage down must not stop routing; the next stanza tries again.
      spdlog::warn("blocking: cannot read the block list of {}: {}", key, loaded.error().message());
      co_return std::make_shared<const std::vector<std::string>>();
    }
    auto list = std::make_shared<const std::vector<std::string>>(std::move(*loaded));
    std::lock_guard lock(block_lists_mutex);
    if (block_lists.size() >= max_cached_block_lists) {
      // Anyone can address any number of local JIDs: the cache is bounded, and simply starts
      // over when full (lists are read again on use).
      block_lists.clear();
    }
    co_return block_lists.try_emplace(std::move(key), std::move(list)).first->second;
  }

  /// Whether `user` (a local account) blocks `other`.
  asio::awaitable<bool> blocks(Jid user, Jid other) {
    if (user.bare_string() == other.bare_string()) {
      co_return false;
    }
    const BlockList list = co_await block_list(user);
    co_return list_blocks(*list, other);
  }

  /// XEP-0191 §3.2-§3.4: the block list iq of a user's own account.
  asio::awaitable<void> blocking_iq(std::shared_ptr<Session> sender, Element iq, const Element& payload) {
    const std::string_view type = type_of(iq);
    const Jid user = sender->jid().bare();
    const std::string key(user.bare_string());
    if (type == "get" && payload.name() == "blocklist") {
      const BlockList list = co_await block_list(user);
      auto result = core::stanza::make_result(iq);
      auto& out = result.add_child(Element("blocklist", std::string(blocking_ns)));
      for (const auto& item : *list) {
        out.add_child(Element("item", std::string(blocking_ns))).set_attribute("jid", item);
      }
      deliver(sender, std::move(result));
      co_return;
    }
    if (type != "set" || (payload.name() != "block" && payload.name() != "unblock")) {
      reply_error(sender, iq, stanza_errc::bad_request);
      co_return;
    }
    const bool block = payload.name() == "block";
    // An unblock without items lifts every block: which ones, for the presence of §3.4.
    const BlockList before = co_await block_list(user);
    std::vector<std::string> items;
    for (const Element& item : payload.children("item", blocking_ns)) {
      auto jid = Jid::parse(item.attribute("jid").value_or(""));
      if (!jid) {
        reply_error(sender, iq, stanza_errc::jid_malformed, "not a JID: " + std::string(item.attribute("jid").value_or("")));
        co_return;
      }
      items.push_back(jid->full());
    }
    if (block && items.empty()) {
      // §3.3: a block without items is a bad request; an unblock without items clears the list.
      reply_error(sender, iq, stanza_errc::bad_request, "a block needs at least one item");
      co_return;
    }
    auto change = [this, key, items, block]() -> boost::system::result<std::vector<std::string>> {
      auto& store = db().blocks();
      if (!block && items.empty()) {
        if (auto cleared = store.unblock_all(key); !cleared) {
          return cleared.error();
        }
      }
      const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
      for (const auto& item : items) {
        if (block) {
          if (auto added = store.block(key, item, now); !added) {
            return added.error();
          }
        } else if (auto removed = store.unblock(key, item); !removed) {
          return removed.error();
        }
      }
      return store.blocked(key);
    };
    auto changed = co_await blocking(std::move(change));
    if (!changed) {
      reply_error(sender, iq, storage_condition(changed.error()), "storage is unavailable");
      co_return;
    }
    {
      std::lock_guard lock(block_lists_mutex);
      block_lists[key] = std::make_shared<const std::vector<std::string>>(std::move(*changed));
    }
    deliver(sender, core::stanza::make_result(iq));
    // §3.3, §3.4: every resource of the account learns of the change (a push).
    for (const auto& res : r.sessions().resources(user)) {
      auto session = res.session.lock();
      if (!session) {
        continue;
      }
      Element push("iq", std::string(ns::client));
      push.set_attribute("type", "set");
      push.set_attribute("to", session->jid().full());
      push.set_attribute("id", "block-push-" + std::to_string(++block_pushes));
      Element& what = push.add_child(Element(std::string(payload.name()), std::string(blocking_ns)));
      for (const auto& item : items) {
        what.add_child(Element("item", std::string(blocking_ns))).set_attribute("jid", item);
      }
      deliver(session, std::move(push));
    }
    std::vector<std::string> concerned = items.empty() ? *before : items;
    co_await presence_on_block(user, std::move(concerned), block);
  }

  /// XEP-0191 §3.3, §3.4: blocking a contact withdraws presence both ways (unavailable from
  /// each side's available resources, where a subscription let them see it); unblocking
  /// restores it. For bare JIDs of accounts (local users and gateway contacts); a blocked
  /// domain or full JID gets no presence here.
  asio::awaitable<void> presence_on_block(Jid user, std::vector<std::string> items, bool block) {
    for (const auto& item : items) {
      auto contact = Jid::parse(item);
      if (!contact || !contact->is_bare() || contact->local().empty()) {
        continue;
      }
      if (!block && co_await blocks(*contact, user)) {
        continue; // §3.5: the contact blocks the user in turn; nothing is restored
      }
      auto relation = co_await get_item(std::string(user.local()), item);
      if (!relation) {
        continue;
      }
      const auto sub = relation->subscription;
      const bool they_see_me = sub == Subscription::from || sub == Subscription::both;
      const bool i_see_them = sub == Subscription::to || sub == Subscription::both;
      if (r.is_local_host(contact->domain())) {
        if (they_see_me) {
          if (block) {
            co_await unavailable_to(user, *contact);
          } else {
            current_presence_to(user, *contact);
          }
        }
        if (i_see_them) {
          for (const auto& res : r.sessions().resources(*contact)) {
            auto s = res.session.lock();
            if (!res.available || !s) {
              continue;
            }
            if (block) {
              presence_to_bare(presence(s->jid().full(), user.bare_string(), "unavailable"), user);
            } else if (res.presence) {
              presence_to_bare(with_to(*res.presence, std::string(user.bare_string())), user);
            }
          }
        }
      } else if (r.domain_handler(contact->domain()) != nullptr && i_see_them) {
        if (block) {
          presence_to_bare(presence(contact->bare_string(), user.bare_string(), "unavailable"), user);
        } else {
          gateway_presence_to(*contact, user);
        }
      }
    }
  }

  // ---- XEP-0313 archives ------------------------------------------------------------------

  /// A message to the local user `bare`, about to be delivered or stored: forged stanza ids go
  /// (XEP-0359 §5); when the user's archive keeps it, it gets its archive id as a <stanza-id/>
  /// and is committed to the archive before anyone sees it.
  asio::awaitable<void> archive_incoming(Element& msg, Jid bare) {
    const std::string owner(bare.bare_string());
    // What clients send has lost every <stanza-id/> (from_client), so an id of this archive
    // on the message is genuine: the message was archived already and is being routed again
    // (unacknowledged when its session ended, XEP-0198).
    for (const Element& id : msg.children("stanza-id", ns::stanza_id)) {
      if (id.attribute("by").value_or("") == owner) {
        co_return;
      }
    }
    if (!archive.enabled() || !modules::archivable(msg)) {
      co_return;
    }
    auto from = Jid::parse(msg.attribute("from").value_or(""));
    if (!from || !co_await archive.wanted(bare, *from)) {
      co_return;
    }
    std::string id = modules::new_archive_id();
    modules::add_stanza_id(msg, owner, id);
    archive.record(owner, std::move(id), std::string(from->bare_string()), msg);
    co_await archive.flush();
  }

  /// A message the local user `sender` sends to `to`: kept in the sender's archive. Returns
  /// whether it was recorded (not yet committed).
  asio::awaitable<bool> archive_outgoing(const Element& msg, Jid sender, Jid to) {
    if (!archive.enabled() || !modules::archivable(msg) || to.local().empty() ||
        (!r.is_local_host(to.domain()) && r.domain_handler(to.domain()) == nullptr)) {
      co_return false; // nothing is archived that cannot be delivered
    }
    const Jid own = sender.bare();
    if (!co_await archive.wanted(own, to)) {
      co_return false;
    }
    archive.record(std::string(own.bare_string()), modules::new_archive_id(), std::string(to.bare_string()), msg);
    co_return true;
  }

  // ---- users ----------------------------------------------------------------------------

  asio::awaitable<bool> user_exists(const Jid& bare) {
    auto exists = co_await user_exists_checked(bare);
    co_return exists.has_value() && *exists;
  }

  /// Like user_exists, but tells "no such user" from "storage cannot say".
  asio::awaitable<boost::system::result<bool>> user_exists_checked(const Jid& bare) {
    if (!r.is_local_host(bare.domain()) || bare.local().empty()) {
      co_return false;
    }
    if (r.sessions().has_resources(bare)) {
      co_return true;
    }
    // The directory decides: storage, or the external authentication service.
    std::string user(bare.local());
    std::string domain(bare.domain());
    const auto answer = co_await r.users().user_exists(std::move(user), std::move(domain));
    if (answer == auth::Answer::unavailable) {
      co_return boost::system::result<bool>(boost::system::in_place_error,
                                            make_error_code(storage::storage_errc::unavailable));
    }
    co_return answer == auth::Answer::yes;
  }

  // ---- messages -------------------------------------------------------------------------

  /// RFC 6121 §8.5.2: a message to a local bare JID (or to a full JID whose resource is gone).
  asio::awaitable<Disposition> message_to_bare(std::shared_ptr<Session> sender, Element msg, Jid bare) {
    const std::string_view type = type_of(msg);
    if (type == "groupchat") {
      reply_error(sender, msg, stanza_errc::service_unavailable);
      co_return Disposition::handled;
    }
    auto resources = r.sessions().resources(bare);
    const auto most_available = [](const std::vector<ResourceState>& all) {
      int best = -1;
      for (const auto& res : all) {
        if (res.available && res.priority >= 0) {
          best = std::max(best, static_cast<int>(res.priority));
        }
      }
      return best;
    };
    int best = most_available(resources);
    if (best >= 0) {
      co_await archive_incoming(msg, bare);
      // The commit took a moment: resources may have come or gone meanwhile.
      resources = r.sessions().resources(bare);
      best = most_available(resources);
    }
    if (best >= 0) {
      for (const auto& res : resources) {
        // headline: every available resource with non-negative priority (§8.5.2.1.2);
        // chat and normal: the most available ones (§8.5.2.1.1).
        const bool chosen = type == "headline" ? (res.available && res.priority >= 0)
                                               : (res.available && res.priority == best);
        if (chosen) {
          deliver(res.session.lock(), msg);
        }
      }
      if (type != "headline") {
        send_carbons(msg, "received", bare, resources, [&](const ResourceState& res) {
          return res.available && res.priority == best;
        });
      }
      co_return Disposition::handled;
    }
    if (type == "error" || type == "headline") {
      co_return Disposition::handled; // §8.5.2.2.1/§8.5.2.2.2: silently ignored
    }
    auto exists = co_await user_exists_checked(bare);
    if (!exists) {
      // Storage cannot even say whether the user exists: nothing can be stored either.
      reply_error(sender, msg, stanza_errc::internal_server_error, not_stored_text);
      co_return Disposition::not_stored;
    }
    if (!*exists) {
      reply_error(sender, msg, stanza_errc::service_unavailable);
      co_return Disposition::refused;
    }
    // XEP-0313: kept in the archive even when offline storage is full.
    co_await archive_incoming(msg, bare);
    std::optional<Element> pushed;
    if (msg.child("body", ns::client) != nullptr) {
      pushed = msg;
    }
    const Disposition stored = co_await store_offline(sender, std::move(msg), bare);
    if (stored == Disposition::handled && pushed) {
      // XEP-0357 §5, off the delivery path: the sender's acknowledgement (SMTP 250, HTTP 2xx,
      // XEP-0198) does not wait for the app servers.
      auto executor = co_await asio::this_coro::executor;
      asio::co_spawn(executor, r.push().message_stored(bare, std::move(*pushed)), asio::detached);
    }
    co_return stored;
  }

  /// XEP-0280: a copy of `msg` to each resource of `bare` with carbons enabled that did not
  /// get the message itself (`got`).
  template <class Got>
  void send_carbons(const Element& msg, std::string_view direction, const Jid& bare,
                    const std::vector<ResourceState>& resources, Got got) {
    if (!carbon_eligible(msg)) {
      return;
    }
    for (const auto& res : resources) {
      if (res.carbons && !got(res)) {
        if (auto session = res.session.lock()) {
          deliver(session, carbon_copy(msg, direction, bare.bare_string(), session->jid().full()));
        }
      }
    }
  }

  /// RFC 6121 §8.5.2.2.1 / XEP-0160: keep the message until the user comes back.
  asio::awaitable<Disposition> store_offline(std::shared_ptr<Session> sender, Element msg, Jid bare) {
    if (msg.child("body", ns::client) == nullptr && msg.child("subject", ns::client) == nullptr) {
      // Chat states, receipts and other body-less notifications are not worth storing;
      // XEP-0160 §3 lets the server discard them.
      co_return Disposition::handled;
    }
    const std::string user(bare.local());
    const std::string serialized = core::xml::serialize(msg, ns::client);
    const auto quota = r.config().storage.offline_quota;
    const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
    auto job2 = [this, user, serialized, now, quota, key = once] {
      return db().offline().push(user, serialized, now, quota, key);
    };
    auto stored = co_await blocking(std::move(job2));
    if (!stored && stored.error() == storage::storage_errc::conflict && once != nullptr) {
      // Stored by an earlier attempt of the same delivery (its key is recorded): done.
      spdlog::info("offline: {} for {} was stored before; not again", once->value, bare.bare_string());
      co_return Disposition::handled;
    }
    if (!stored) {
      spdlog::warn("offline: cannot store a message for {}: {}", bare.bare_string(), stored.error().message());
      if (stored.error() == storage::storage_errc::quota_exceeded) {
        reply_error(sender, msg, storage_condition(stored.error()), "offline storage is full");
        co_return Disposition::refused; // a final answer
      }
      reply_error(sender, msg, storage_condition(stored.error()), not_stored_text);
      co_return Disposition::not_stored;
    }
    co_await drain_if_available(std::move(bare));
    co_return Disposition::handled;
  }

  /// Hands the user's offline messages to `session` and removes them from storage. One pass
  /// per user at a time: a pass asked for while one runs makes the running one read again
  /// once it has removed what it delivered, so no message is handed out twice.
  asio::awaitable<void> deliver_offline(std::shared_ptr<Session> session) {
    const std::string user(session->jid().local());
    if (!begin_drain(user)) {
      co_return;
    }
    try {
      co_await drain_offline_once(session, user);
      co_await finish_drain(std::move(session), user);
    } catch (...) {
      release_drain(user); // a slot left taken would hold back this user's messages for good
      throw;
    }
  }

  void release_drain(const std::string& user) {
    std::lock_guard lock(shared.drains_mutex);
    shared.drains.erase(user);
  }

  /// Takes the user's drain slot; false if a pass runs already (it is told to read again).
  bool begin_drain(const std::string& user) {
    std::lock_guard lock(shared.drains_mutex);
    auto [it, first] = shared.drains.try_emplace(user, false);
    if (!first) {
      it->second = true;
    }
    return first;
  }

  /// Reads and delivers again for as long as someone asked for another pass, then frees the slot.
  asio::awaitable<void> finish_drain(std::shared_ptr<Session> session, std::string user) {
    for (;;) {
      {
        std::lock_guard lock(shared.drains_mutex);
        auto it = shared.drains.find(user);
        if (it == shared.drains.end() || !it->second) {
          shared.drains.erase(user);
          co_return;
        }
        it->second = false;
      }
      co_await drain_offline_once(session, user);
    }
  }

  /// The message just stored offline for `bare` may have missed the user's coming online: a
  /// session that became available after the routing decision read the offline list before
  /// this commit. RFC 6121 §8.5.2.2.1 wants it delivered now that a resource is available,
  /// not at the next login: hand the stored messages to the most available resource.
  asio::awaitable<void> drain_if_available(Jid bare) {
    std::shared_ptr<Session> target;
    int best = -1;
    for (const auto& res : r.sessions().resources(bare)) {
      if (res.available && res.priority >= 0 && res.priority > best) {
        if (auto s = res.session.lock()) {
          best = res.priority;
          target = std::move(s);
        }
      }
    }
    if (target) {
      co_await deliver_offline(std::move(target));
    }
  }

  asio::awaitable<void> drain_offline_once(std::shared_ptr<Session> session, std::string user) {
    auto job3 = [this, user] { return db().offline().list(user); };
    auto messages = co_await blocking(std::move(job3));
    co_await hand_over_offline(std::move(session), std::move(user), std::move(messages));
  }

  /// Delivers `messages` (read while holding the user's drain slot) to `session`, then removes
  /// them from storage.
  asio::awaitable<void> hand_over_offline(std::shared_ptr<Session> session, std::string user,
                                          boost::system::result<std::vector<storage::OfflineMessage>> messages) {
    if (!messages || messages->empty()) {
      co_return;
    }
    const std::string domain(session->jid().domain());
    storage::OfflineMessageId last = 0;
    for (const auto& m : *messages) {
      auto parsed = core::xml::parse_element(m.stanza, ns::client);
      if (parsed) {
        // XEP-0203: say when the server first received it.
        Element delay("delay", std::string(ns::delay));
        delay.set_attribute("from", domain);
        delay.set_attribute("stamp", modules::format_timestamp(m.timestamp));
        delay.add_text("Offline Storage");
        parsed->add_child(std::move(delay));
        deliver(session, std::move(*parsed));
      } else {
        spdlog::error("offline: message {} of {} cannot be parsed; dropping it", m.id, user);
      }
      last = m.id;
    }
    // Acknowledged means durable: delete only what has been handed to the session.
    auto job4 = [this, user, last] { return db().offline().remove(user, last); };
    auto removed = co_await blocking(std::move(job4));
    if (!removed) {
      spdlog::warn("offline: cannot remove delivered messages of {}: {}", user, removed.error().message());
    }
  }

  // ---- presence -------------------------------------------------------------------------

  /// Delivers a presence to every available resource of a local bare JID.
  void presence_to_bare(const Element& p, const Jid& bare) {
    for (const auto& res : r.sessions().resources(bare)) {
      if (res.available) {
        deliver(res.session.lock(), p);
      }
    }
  }

  /// Delivers a subscription-related presence to every resource (available or not yet) of a
  /// local bare JID; returns whether any resource received it.
  bool subscription_to_bare(const Element& p, const Jid& bare) {
    bool any = false;
    for (const auto& res : r.sessions().resources(bare)) {
      if (res.available) {
        deliver(res.session.lock(), p);
        any = true;
      }
    }
    return any;
  }

  /// What an initial presence's broadcast needs from storage, read in one worker job rather
  /// than three: each hop to the worker pool and back costs two context switches, which made
  /// up a quarter of a login's CPU time.
  struct ComingOnline {
    boost::system::result<storage::Roster> roster = make_error_code(storage::storage_errc::unavailable);
    boost::system::result<std::vector<storage::OfflineMessage>> offline = std::vector<storage::OfflineMessage>{};
  };

  /// The JIDs of `roster`'s items that `keep` selects (in the roster's order, ascending).
  template <class Pred>
  static boost::system::result<std::vector<std::string>> roster_jids(const boost::system::result<storage::Roster>& roster,
                                                                     Pred keep) {
    if (!roster) {
      return roster.error();
    }
    std::vector<std::string> jids;
    for (const auto& item : roster->items) {
      if (keep(item)) {
        jids.push_back(item.jid);
      }
    }
    return jids;
  }
  static bool sends_to_contact(const storage::RosterItem& i) {
    return i.subscription == storage::Subscription::from || i.subscription == storage::Subscription::both;
  }
  static bool receives_from_contact(const storage::RosterItem& i) {
    return i.subscription == storage::Subscription::to || i.subscription == storage::Subscription::both;
  }

  /// Broadcasts `p`. `coming` holds the roster read for an initial presence; without it
  /// (a later presence or unavailable), only the subscribers are read.
  asio::awaitable<void> broadcast(std::shared_ptr<Session> sender, Element p, bool initial,
                                  const ComingOnline* coming = nullptr) {
    const Jid& me = sender->jid();
    const std::string user(me.local());
    boost::system::result<std::vector<std::string>> subscribers = std::vector<std::string>{};
    if (coming != nullptr) {
      subscribers = roster_jids(coming->roster, &sends_to_contact);
    } else {
      auto job5 = [this, user] { return db().roster().subscribers(user); };
      subscribers = co_await blocking(std::move(job5));
    }
    if (subscribers) {
      for (const auto& contact : *subscribers) {
        auto jid = Jid::parse(contact);
        // XEP-0191 §3.5: no presence between the user and a contact either of them blocks.
        if (jid && r.is_local_host(jid->domain()) && !co_await blocks(me.bare(), *jid) &&
            !co_await blocks(*jid, me)) {
          presence_to_bare(with_to(p, contact), *jid);
        }
      }
    }
    // RFC 6121 §4.2.2 / §4.4.2: also to all of the user's available resources, the sender included.
    for (const auto& res : r.sessions().resources(me.bare())) {
      auto s = res.session.lock();
      if (s && (res.available || s == sender)) {
        deliver(s, with_to(p, s->jid().full()));
      }
    }
    if (!initial) {
      co_return;
    }
    // RFC 6121 §4.2.2: probe the contacts the user is subscribed to; local ones are answered
    // directly from the session manager.
    boost::system::result<std::vector<std::string>> subscriptions = std::vector<std::string>{};
    if (coming != nullptr) {
      subscriptions = roster_jids(coming->roster, &receives_from_contact);
    } else {
      auto job6 = [this, user] { return db().roster().subscriptions(user); };
      subscriptions = co_await blocking(std::move(job6));
    }
    if (subscriptions) {
      for (const auto& contact : *subscriptions) {
        auto jid = Jid::parse(contact);
        if (jid && r.domain_handler(jid->domain()) != nullptr) {
          Element available("presence", std::string(ns::client));
          available.set_attribute("from", contact);
          deliver(sender, with_to(available, std::string(me.full())));
          continue;
        }
        if (!jid || !r.is_local_host(jid->domain()) || co_await blocks(me.bare(), *jid) ||
            co_await blocks(*jid, me)) {
          continue;
        }
        for (const auto& res : r.sessions().resources(*jid)) {
          if (res.available && res.presence) {
            deliver(sender, with_to(*res.presence, std::string(me.full())));
          }
        }
      }
    }
    // RFC 6121 §3.1.3: unanswered subscription requests are presented again.
    boost::system::result<std::vector<std::string>> pending = std::vector<std::string>{};
    if (coming != nullptr) {
      pending = roster_jids(coming->roster, [](const storage::RosterItem& i) { return i.pending_in; });
    } else {
      auto job7 = [this, user] { return db().roster().pending_in(user); };
      pending = co_await blocking(std::move(job7));
    }
    if (pending) {
      for (const auto& contact : *pending) {
        deliver(sender, presence(contact, me.bare_string(), "subscribe"));
      }
    }
  }

  asio::awaitable<void> presence_from_client(std::shared_ptr<Session> sender, Element p) {
    const std::string_view type = type_of(p);
    if (type.empty()) {
      // XEP-0398 §4: the avatar hash in every available presence, directed ones too.
      Jid own = sender->jid().bare();
      co_await r.pep().stamp_presence(p, std::move(own));
    }
    const auto to_attr = p.attribute("to");
    if (!to_attr || to_attr->empty() || *to_attr == sender->jid().bare_string()) {
      if (type.empty()) {
        std::int8_t priority = 0;
        if (const Element* prio = p.child("priority", ns::client)) {
          // RFC 6121 §4.7.2.3: an integer from -128 to +127.
          try {
            const int value = std::stoi(std::string(prio->text()));
            priority = static_cast<std::int8_t>(std::clamp(value, -128, 127));
          } catch (...) {
            reply_error(sender, p, stanza_errc::bad_request, "priority must be an integer from -128 to 127");
            co_return;
          }
        }
        p.remove_attribute("to");
        bool initial = true;
        std::string old_caps;
        for (const auto& res : r.sessions().resources(sender->jid().bare())) {
          if (res.session.lock() == sender) {
            initial = !res.available;
            if (const Element* c = res.presence ? res.presence->child("c", ns::caps) : nullptr) {
              old_caps = std::string(c->attribute("ver").value_or(""));
            }
          }
        }
        r.sessions().set_presence(*sender, p, priority);
        if (initial) {
          // Read after set_presence(): a message routed from now on reaches the session live.
          // One that found no available resource just before and is stored after this read is
          // handed over by its own router call (drain_if_available), or by this pass reading
          // again if that call finds the drain slot taken.
          const std::string user(sender->jid().local());
          const bool draining = priority >= 0 && begin_drain(user); // RFC 6121 §8.5.2.2.1: not to a negative priority
          auto job = [this, user, draining] {
            ComingOnline c;
            c.roster = db().roster().get_roster(user);
            if (draining) {
              c.offline = db().offline().list(user);
            }
            return c;
          };
          ComingOnline coming;
          try {
            coming = co_await blocking(std::move(job));
            co_await broadcast(sender, p, true, &coming);
          } catch (...) {
            if (draining) {
              release_drain(user);
            }
            throw;
          }
          if (draining) {
            auto offline = std::move(coming.offline);
            try {
              co_await hand_over_offline(sender, user, std::move(offline));
              co_await finish_drain(sender, user);
            } catch (...) {
              release_drain(user);
              throw;
            }
          }
        } else {
          co_await broadcast(sender, p, false);
        }
        // XEP-0163 §4.3.2: the last items of the nodes it is interested in, when it comes
        // online or its interests (capabilities) change.
        const Element* caps = p.child("c", ns::caps);
        const bool caps_changed = caps != nullptr && caps->attribute("ver").value_or("") != old_caps;
        co_await r.pep().available(sender, p, initial || caps_changed);
      } else if (type == "unavailable") {
        p.remove_attribute("to");
        auto directed = r.sessions().take_directed(*sender);
        r.sessions().set_presence(*sender, std::nullopt, 0);
        co_await broadcast(sender, p, false);
        co_await unavailable_to_directed(p, directed);
      } else if (type == "subscribe" || type == "subscribed" || type == "unsubscribe" || type == "unsubscribed") {
        reply_error(sender, p, stanza_errc::bad_request, "a subscription request needs a 'to'");
      }
      // probe and error presence without 'to' are ignored
      co_return;
    }
    auto to = Jid::parse(*to_attr);
    if (!to) {
      reply_error(sender, p, stanza_errc::jid_malformed);
      co_return;
    }
    if (type == "subscribe" || type == "subscribed" || type == "unsubscribe" || type == "unsubscribed") {
      co_await subscription_out(sender, type, to->bare(), p);
      co_return;
    }
    if (type == "probe") {
      co_return; // RFC 6121 §4.3: probes are the server's business
    }
    // Directed presence (RFC 6121 §4.6).
    if (DomainHandler* handler = r.domain_handler(to->domain()); handler != nullptr && handler->takes_presence()) {
      // A chat room: joining, presence updates and leaving (XEP-0045 §7.2, §7.7, §7.14).
      if (type.empty() || type == "unavailable") {
        r.sessions().note_directed(*sender, to->full(), type.empty());
      }
      co_await handler->on_stanza(std::move(p));
      co_return;
    }
    if (!r.is_local_host(to->domain())) {
      co_return;
    }
    if (type.empty() || type == "unavailable") {
      // §4.6.3: remember who saw us, so they learn when we go.
      r.sessions().note_directed(*sender, to->full(), type.empty());
    }
    if (to->is_bare()) {
      presence_to_bare(p, *to);
    } else if (auto target = r.sessions().find(*to)) {
      deliver(target, std::move(p));
    }
  }

  /// RFC 6121 §4.6.3: the unavailable presence also goes to everyone who got directed
  /// available presence from the resource (and to the chat rooms it is in, XEP-0045 §7.14).
  asio::awaitable<void> unavailable_to_directed(const Element& p, const std::vector<std::string>& directed) {
    for (const auto& target : directed) {
      auto jid = Jid::parse(target);
      if (!jid) {
        continue;
      }
      if (DomainHandler* handler = r.domain_handler(jid->domain());
          handler != nullptr && handler->takes_presence()) {
        co_await handler->on_stanza(with_to(p, target));
      } else if (jid->is_bare()) {
        presence_to_bare(with_to(p, target), *jid);
      } else if (auto s = r.sessions().find(*jid)) {
        deliver(s, with_to(p, target));
      }
    }
  }

  // ---- roster ---------------------------------------------------------------------------

  void push(const Jid& owner, const RosterItem& item, bool removed) {
    for (const auto& res : r.sessions().resources(owner.bare())) {
      auto s = res.session.lock();
      if (!res.interested || !s) {
        continue;
      }
      Element iq("iq", std::string(ns::client));
      iq.set_attribute("type", "set");
      iq.set_attribute("id", "push" + std::to_string(push_counter.fetch_add(1) + 1));
      iq.set_attribute("to", std::string(s->jid().full()));
      auto& query = iq.add_child(Element("query", std::string(ns::roster)));
      if (version_for_push) {
        query.set_attribute("ver", std::to_string(*version_for_push));
      }
      query.add_child(roster_item_element(item, removed));
      deliver(s, std::move(iq));
    }
  }
  std::optional<storage::RosterVersion> version_for_push;
  /// route(stanza, once): the key recorded with the message if it goes to offline storage.
  const storage::DeliveryKey* once = nullptr;

  asio::awaitable<std::optional<RosterItem>> get_item(const std::string& user, const std::string& contact) {
    auto job8 = [this, user, contact] { return db().roster().get_item(user, contact); };
    auto item = co_await blocking(std::move(job8));
    if (!item) {
      co_return std::nullopt;
    }
    co_return *item;
  }

  /// Saves `item` for the local user `owner` and pushes it to their interested resources.
  asio::awaitable<bool> save(const Jid& owner, RosterItem item) {
    const std::string user(owner.local());
    auto job9 = [this, user, item] { return db().roster().upsert_item(user, item); };
    auto version = co_await blocking(std::move(job9));
    if (!version) {
      spdlog::warn("roster: cannot save {} for {}: {}", item.jid, user, version.error().message());
      co_return false;
    }
    version_for_push = *version;
    if (visible(item)) {
      push(owner, item, false);
    }
    co_return true;
  }

  asio::awaitable<void> roster_iq(std::shared_ptr<Session> sender, Element iq, const Element& query) {
    const Jid& me = sender->jid();
    const std::string user(me.local());
    const std::string_view type = type_of(iq);
    if (type == "get") {
      r.sessions().set_interested(*sender);
      auto job10 = [this, user] { return db().roster().get_roster(user); };
      auto roster = co_await blocking(std::move(job10));
      if (!roster) {
        reply_error(sender, iq, stanza_errc::internal_server_error);
        co_return;
      }
      auto result = core::stanza::make_result(iq);
      const std::string ver = std::to_string(roster->version);
      // XEP-0237 §5.2: the client's version is current, so an empty result suffices and the
      // changes (none) would come as pushes.
      if (auto client_ver = query.attribute("ver"); client_ver && *client_ver == ver) {
        deliver(sender, std::move(result));
        co_return;
      }
      auto& out = result.add_child(Element("query", std::string(ns::roster)));
      out.set_attribute("ver", ver);
      for (const auto& item : roster->items) {
        if (visible(item)) {
          out.add_child(roster_item_element(item));
        }
      }
      deliver(sender, std::move(result));
      co_return;
    }
    if (type != "set") {
      reply_error(sender, iq, stanza_errc::bad_request);
      co_return;
    }
    // RFC 6121 §2.3.3: exactly one item.
    std::vector<const Element*> items;
    for (const auto& child : query.children()) {
      if (child.name() == "item" && child.ns() == ns::roster) {
        items.push_back(&child);
      }
    }
    if (items.size() != 1) {
      reply_error(sender, iq, stanza_errc::bad_request, "a roster set carries exactly one item");
      co_return;
    }
    const Element& el = *items.front();
    auto contact = Jid::parse(el.attribute("jid").value_or(""));
    if (!contact || !contact->is_bare()) {
      reply_error(sender, iq, contact ? stanza_errc::bad_request : stanza_errc::jid_malformed);
      co_return;
    }
    const std::string cjid(contact->bare_string());
    auto existing = co_await get_item(user, cjid);
    if (el.attribute("subscription").value_or("") == "remove") {
      if (!existing) {
        reply_error(sender, iq, stanza_errc::item_not_found);
        co_return;
      }
      // RFC 6121 §2.5.2: cancel the subscriptions in both directions first.
      const bool had_to = existing->subscription == Subscription::to || existing->subscription == Subscription::both ||
                          existing->ask_subscribe;
      const bool had_from = existing->subscription == Subscription::from ||
                            existing->subscription == Subscription::both || existing->pending_in;
      auto job11 = [this, user, cjid] { return db().roster().remove_item(user, cjid); };
      auto version = co_await blocking(std::move(job11));
      if (!version) {
        reply_error(sender, iq, stanza_errc::internal_server_error);
        co_return;
      }
      deliver(sender, core::stanza::make_result(iq));
      version_for_push = *version;
      push(me, *existing, true);
      if (had_to) {
        co_await subscription_in("unsubscribe", me.bare(), *contact);
      }
      if (had_from) {
        co_await unavailable_to(me, *contact);
        co_await subscription_in("unsubscribed", me.bare(), *contact);
      }
      co_return;
    }
    RosterItem item = existing.value_or(RosterItem{});
    item.jid = cjid;
    item.name = std::string(el.attribute("name").value_or(""));
    item.groups.clear();
    for (const auto& g : el.children()) {
      if (g.name() == "group" && g.ns() == ns::roster) {
        const std::string group(g.text());
        if (group.empty()) {
          reply_error(sender, iq, stanza_errc::not_acceptable, "empty group name");
          co_return;
        }
        if (std::find(item.groups.begin(), item.groups.end(), group) != item.groups.end()) {
          reply_error(sender, iq, stanza_errc::bad_request, "duplicate group");
          co_return;
        }
        item.groups.push_back(group);
      }
    }
    if (!co_await save(me, item)) {
      reply_error(sender, iq, stanza_errc::internal_server_error);
      co_return;
    }
    deliver(sender, core::stanza::make_result(iq));
  }

  // ---- subscriptions (RFC 6121 §3) ------------------------------------------------------

  /// The user sends unavailable presence from each available resource to `contact`.
  asio::awaitable<void> unavailable_to(const Jid& user, const Jid& contact) {
    if (!r.is_local_host(contact.domain())) {
      co_return;
    }
    for (const auto& res : r.sessions().resources(user.bare())) {
      if (res.available) {
        auto s = res.session.lock();
        if (s) {
          presence_to_bare(presence(s->jid().full(), contact.bare_string(), "unavailable"), contact);
        }
      }
    }
  }

  /// A gateway contact shows as available to every available resource of `user`.
  void gateway_presence_to(const Jid& contact, const Jid& user) {
    Element p("presence", std::string(ns::client));
    p.set_attribute("from", std::string(contact.bare_string()));
    for (const auto& res : r.sessions().resources(user.bare())) {
      if (res.available) {
        if (auto s = res.session.lock()) {
          deliver(s, with_to(p, s->jid().full()));
        }
      }
    }
  }

  /// Sends the current presence of every available resource of `user` to `contact`.
  void current_presence_to(const Jid& user, const Jid& contact) {
    if (!r.is_local_host(contact.domain())) {
      return;
    }
    for (const auto& res : r.sessions().resources(user.bare())) {
      if (res.available && res.presence) {
        presence_to_bare(with_to(*res.presence, contact.bare_string()), contact);
      }
    }
  }

  asio::awaitable<void> subscription_out(std::shared_ptr<Session> sender, std::string_view type, Jid contact,
                                         Element p) {
    const Jid me = sender->jid().bare();
    const std::string user(me.local());
    const std::string cjid(contact.bare_string());
    auto existing = co_await get_item(user, cjid);
    RosterItem item = existing.value_or(RosterItem{});
    item.jid = cjid;
    const auto sub = item.subscription;
    if (type == "subscribe") {
      if (sub != Subscription::to && sub != Subscription::both && !item.ask_subscribe) {
        item.ask_subscribe = true;
        if (!co_await save(me, item)) {
          reply_error(sender, p, stanza_errc::internal_server_error);
          co_return;
        }
      }
    } else if (type == "subscribed") {
      if (item.pending_in) {
        item.pending_in = false;
        item.subscription = sub == Subscription::to ? Subscription::both : Subscription::from;
        if (!co_await save(me, item)) {
          reply_error(sender, p, stanza_errc::internal_server_error);
          co_return;
        }
      } else if (sub == Subscription::none || sub == Subscription::to) {
        // RFC 6121 §3.4: pre-approval; nothing goes to the contact yet.
        if (!item.approved) {
          item.approved = true;
          co_await save(me, item);
        }
        co_return;
      } else {
        co_return; // already approved: §3.1.5 says do not route it
      }
    } else if (type == "unsubscribe") {
      if (existing) {
        item.ask_subscribe = false;
        item.subscription = sub == Subscription::both ? Subscription::from
                            : sub == Subscription::to ? Subscription::none
                                                      : sub;
        co_await save(me, item);
      }
    } else if (type == "unsubscribed") {
      if (existing) {
        item.pending_in = false;
        item.approved = false;
        item.subscription = sub == Subscription::both ? Subscription::to
                            : sub == Subscription::from ? Subscription::none
                                                        : sub;
        co_await save(me, item);
      }
    }
    co_await subscription_in(type, me, contact);
    if (type == "subscribed") {
      current_presence_to(me, contact);
    } else if (type == "unsubscribed") {
      co_await unavailable_to(me, contact);
    }
  }

  /// A subscription stanza from `from` (a bare JID) arriving for `contact` (RFC 6121 §3).
  asio::awaitable<void> subscription_in(std::string_view type, Jid from, Jid contact) {
    if (const DomainHandler* handler = r.domain_handler(contact.domain()); handler != nullptr) {
      if (handler->takes_presence()) {
        co_return; // a chat room is joined, not subscribed to (XEP-0045)
      }
      // A gateway contact approves every subscription at once and is available from then on
      // (XEP-0100 §4.1.1 has the gateway do the same), so it sits in rosters like any contact.
      if (type == "subscribe" && r.is_local_host(from.domain())) {
        co_await subscription_in("subscribed", contact, from);
        gateway_presence_to(contact, from);
      }
      co_return;
    }
    if (!r.is_local_host(contact.domain())) {
      co_return; // remote domains need s2s, which this server does not speak yet
    }
    const Element p = presence(from.bare_string(), contact.bare_string(), type);
    if (!co_await user_exists(contact)) {
      if (type == "subscribe") {
        // §3.1.3: an unknown contact answers unsubscribed.
        co_await subscription_in("unsubscribed", contact, from);
      }
      co_return;
    }
    const std::string user(contact.local());
    const std::string fjid(from.bare_string());
    auto existing = co_await get_item(user, fjid);
    RosterItem item = existing.value_or(RosterItem{});
    item.jid = fjid;
    const auto sub = item.subscription;
    if (type == "subscribe") {
      if (sub == Subscription::from || sub == Subscription::both) {
        co_await subscription_in("subscribed", contact, from); // §3.1.3: already approved
        current_presence_to(contact, from);
        co_return;
      }
      if (item.approved) {
        item.approved = false;
        item.pending_in = false;
        item.subscription = sub == Subscription::to ? Subscription::both : Subscription::from;
        co_await save(contact, item);
        co_await subscription_in("subscribed", contact, from);
        current_presence_to(contact, from);
        co_return;
      }
      if (!item.pending_in) {
        item.pending_in = true;
        co_await save(contact, item);
      }
      subscription_to_bare(p, contact);
    } else if (type == "subscribed") {
      if (!existing || !item.ask_subscribe) {
        co_return; // §3.1.6: not requested, ignore
      }
      item.ask_subscribe = false;
      item.subscription = sub == Subscription::from ? Subscription::both : Subscription::to;
      co_await save(contact, item);
      subscription_to_bare(p, contact);
    } else if (type == "unsubscribe") {
      if (!existing || !(sub == Subscription::from || sub == Subscription::both || item.pending_in)) {
        co_return;
      }
      item.pending_in = false;
      item.subscription = sub == Subscription::both ? Subscription::to
                          : sub == Subscription::from ? Subscription::none
                                                      : sub;
      co_await save(contact, item);
      subscription_to_bare(p, contact);
      co_await unavailable_to(contact, from);
    } else if (type == "unsubscribed") {
      if (!existing || !(sub == Subscription::to || sub == Subscription::both || item.ask_subscribe)) {
        co_return;
      }
      item.ask_subscribe = false;
      item.subscription = sub == Subscription::both ? Subscription::from
                          : sub == Subscription::to ? Subscription::none
                                                    : sub;
      co_await save(contact, item);
      subscription_to_bare(p, contact);
    }
  }

  // ---- iq -------------------------------------------------------------------------------

  /// An iq the server answers itself: to the server, or to the user's own bare JID.
  asio::awaitable<void> local_iq(std::shared_ptr<Session> sender, Element iq, bool to_self) {
    const std::string_view type = type_of(iq);
    if (type == "result" || type == "error") {
      if (!to_self) {
        co_await r.pep().iq_answer(std::move(iq)); // the answer to a capabilities query
      }
      co_return;
    }
    const Element* payload = nullptr;
    for (const auto& child : iq.children()) {
      if (payload != nullptr) {
        // RFC 6120 §8.2.3: a get or set carries exactly one payload.
        reply_error(sender, iq, stanza_errc::bad_request, "an iq carries exactly one payload");
        co_return;
      }
      payload = &child;
    }
    if (payload == nullptr) {
      reply_error(sender, iq, stanza_errc::bad_request, "an iq get or set needs a payload");
      co_return;
    }
    const std::string_view pns = payload->ns();
    if (pns == ns::roster && payload->name() == "query" && to_self) {
      co_await roster_iq(sender, iq, *payload);
    } else if (pns == ns::register_ && payload->name() == "query") {
      co_await register_iq(sender, iq, *payload);
    } else if (pns == ns::session && type == "set") {
      deliver(sender, core::stanza::make_result(iq)); // RFC 3921 §3, kept for old clients
    } else if (pns == blocking_ns && to_self) {
      co_await blocking_iq(sender, iq, *payload);
    } else if (pns == ns::private_storage && payload->name() == "query" && to_self) {
      deliver(sender, co_await modules::answer_private(db(), r.workers(), iq, std::string(sender->jid().bare_string())));
    } else if (pns == ns::vcard && payload->name() == "vCard" && to_self) {
      const bool set = type == "set";
      Element vcard = *payload;
      const Jid own = sender->jid().bare();
      std::string before;
      if (set) {
        before = co_await r.pep().avatar_hash(own); // what the vCard held until now
      }
      std::string owner(own.bare_string());
      Element answer = co_await modules::answer_vcard(db(), r.workers(), iq, std::move(owner), true);
      const bool stored = set && type_of(answer) == "result";
      deliver(sender, std::move(answer));
      if (stored) {
        co_await r.pep().vcard_stored(sender, std::move(vcard), std::move(before)); // XEP-0398 §3.2
      }
    } else if ((pns == ns::pubsub || pns == modules::pubsub_owner_ns) && to_self) {
      Jid own = sender->jid().bare();
      co_await r.pep().iq(sender, std::move(iq), std::move(own));
    } else if (pns == modules::push_ns && to_self) {
      co_await r.push().iq(sender, std::move(iq));
    } else if (pns == ns::mam && to_self && archive.enabled()) {
      auto answers = co_await archive.answer(iq, std::string(sender->jid().bare_string()), "", false);
      for (auto& answer : answers) {
        deliver(sender, std::move(answer));
      }
    } else if (pns == ns::carbons && type == "set" && to_self &&
               (payload->name() == "enable" || payload->name() == "disable")) {
      // XEP-0280 §4: per resource, until it disables them or its session ends.
      r.sessions().set_carbons(*sender, payload->name() == "enable");
      deliver(sender, core::stanza::make_result(iq));
    } else if (pns == ns::ping && type == "get") {
      deliver(sender, core::stanza::make_result(iq));
    } else if (pns == ns::disco_info && type == "get") {
      auto result = core::stanza::make_result(iq);
      auto& query = result.add_child(Element("query", std::string(ns::disco_info)));
      if (auto node = payload->attribute("node")) {
        query.set_attribute("node", std::string(*node));
      }
      auto identity = [&](std::string_view category, std::string_view itype, std::string_view name) {
        auto& id = query.add_child(Element("identity", std::string(ns::disco_info)));
        id.set_attribute("category", std::string(category));
        id.set_attribute("type", std::string(itype));
        if (!name.empty()) {
          id.set_attribute("name", std::string(name));
        }
      };
      if (to_self) {
        add_account_info(query, /*owner=*/true, archive.enabled());
      } else {
        identity(server_identity[0], server_identity[1], server_identity[2]);
        for (auto f : r.server_features()) {
          query.add_child(Element("feature", std::string(ns::disco_info))).set_attribute("var", std::string(f));
        }
      }
      deliver(sender, std::move(result));
    } else if (pns == ns::disco_items && type == "get" && to_self && !payload->attribute("node")) {
      // XEP-0163 §1, XEP-0060 §5.2: the account's nodes.
      Jid own = sender->jid().bare();
      Jid requester = own;
      deliver(sender, co_await r.pep().disco_items(std::move(iq), std::move(own), std::move(requester)));
    } else if (pns == ns::disco_items && type == "get") {
      auto result = core::stanza::make_result(iq);
      auto& query = result.add_child(Element("query", std::string(ns::disco_items)));
      if (!to_self && !payload->attribute("node")) {
        // XEP-0030 §4: the services this server hosts, so that clients find the chat service
        // (XEP-0045 §6.1) and the gateways (XEP-0100 §6.1).
        for (const auto& entry : r.domains_) {
          query.add_child(Element("item", std::string(ns::disco_items))).set_attribute("jid", entry.first);
        }
      }
      deliver(sender, std::move(result));
    } else if (pns == ns::version && type == "get" && !to_self) {
      auto result = core::stanza::make_result(iq);
      auto& query = result.add_child(Element("query", std::string(ns::version)));
      query.add_child(Element("name", std::string(ns::version))).add_text("Parley");
      query.add_child(Element("version", std::string(ns::version))).add_text(PARLEY_VERSION);
      deliver(sender, std::move(result));
    } else {
      // RFC 6120 §8.4: an iq nobody understands gets service-unavailable.
      reply_error(sender, iq, stanza_errc::service_unavailable);
    }
  }

  // ---- XEP-0077 for a logged-in user: password change and cancellation ----------------------

  asio::awaitable<void> register_iq(std::shared_ptr<Session> sender, Element iq, const Element& query) {
    const std::string user(sender->jid().local());
    if (r.users().external()) {
      reply_error(sender, iq, stanza_errc::not_allowed,
                  "accounts and passwords are managed by an external service");
      co_return;
    }
    if (type_of(iq) == "get") {
      auto result = core::stanza::make_result(iq);
      result.add_child(modules::registration_form(user));
      deliver(sender, std::move(result));
      co_return;
    }
    const auto submission = modules::read_submission(query);
    if (submission.remove) {
      const std::string bare(sender->jid().bare_string());
      auto job = [this, user, bare]() -> boost::system::result<void> {
        if (auto deleted = db().users().delete_user(user); !deleted) {
          return deleted.error();
        }
        if (auto unblocked = db().blocks().unblock_all(bare); !unblocked) {
          return unblocked.error();
        }
        if (auto forgotten = db().private_xml().remove_user(bare); !forgotten) {
          return forgotten.error();
        }
        if (auto unpublished = db().pep().remove_user(bare); !unpublished) {
          return unpublished.error();
        }
        return {};
      };
      auto removed = co_await blocking(std::move(job));
      r.forget_user(bare);
      if (removed) {
        co_await archive.remove_owner(bare);
      }
      if (!removed) {
        reply_error(sender, iq, stanza_errc::internal_server_error);
        co_return;
      }
      spdlog::info("register: {} cancelled their account", user);
      deliver(sender, core::stanza::make_result(iq));
      // XEP-0077 §3.2: the account is gone, so is the right to this stream.
      sender->close(core::xml::stream_errc::not_authorized);
      co_return;
    }
    if (!submission.username.empty()) {
      auto named = Jid::make(submission.username, sender->jid().domain());
      if (!named || named->local() != sender->jid().local()) {
        reply_error(sender, iq, stanza_errc::not_allowed, "you can only change your own password");
        co_return;
      }
    }
    if (submission.password.empty()) {
      reply_error(sender, iq, stanza_errc::not_acceptable, "a new password is required");
      co_return;
    }
    const std::string password = submission.password;
    auto derive = [password] { return modules::make_credentials(password); };
    auto creds = co_await blocking(std::move(derive));
    if (!creds) {
      reply_error(sender, iq, stanza_errc::not_acceptable, creds.error().message);
      co_return;
    }
    auto job = [this, user, c = std::move(*creds)] { return db().users().set_credentials(user, c); };
    auto changed = co_await blocking(std::move(job));
    if (!changed) {
      reply_error(sender, iq, stanza_errc::internal_server_error);
      co_return;
    }
    spdlog::info("register: {} changed their password", user);
    deliver(sender, core::stanza::make_result(iq));
  }

  // ---- entry point ----------------------------------------------------------------------

  asio::awaitable<Disposition> from_client(std::shared_ptr<Session> sender, Element stanza) {
    const std::string_view name = stanza.name();
    if (name == "presence") {
      co_await presence_from_client(sender, std::move(stanza));
      co_return Disposition::handled;
    }
    const auto to_attr = stanza.attribute("to");
    if (!to_attr || to_attr->empty()) {
      if (name == "iq") {
        // RFC 6120 §10.3.3: no 'to' means the user's own account.
        co_await local_iq(sender, std::move(stanza), true);
      } else {
        // RFC 6120 §10.3.1: a message without 'to' is for the user's own bare JID.
        co_return co_await message_to_bare(sender, std::move(stanza), sender->jid().bare());
      }
      co_return Disposition::handled;
    }
    auto to = Jid::parse(*to_attr);
    if (!to) {
      reply_error(sender, stanza, stanza_errc::jid_malformed);
      co_return Disposition::handled;
    }
    if (co_await blocks(sender->jid().bare(), *to)) {
      // XEP-0191 §3.4: nothing goes to a JID the user blocks; an error says why.
      if (name != "presence" && core::stanza::may_answer_with_error(stanza)) {
        Element error = core::stanza::make_error(stanza, stanza_errc::not_acceptable, core::stanza::ErrorType::cancel,
                                                 "you block this address");
        if (Element* e = error.child("error", stanza.ns())) {
          e->add_child(Element("blocked", std::string(blocking_errors_ns)));
        }
        deliver(sender, std::move(error));
      }
      co_return Disposition::handled;
    }
    if (name == "message") {
      // XEP-0359 §5: ids are the archives' to give; a client's own (forged or copied) go.
      stanza.remove_children("stanza-id", ns::stanza_id);
    }
    if (name == "message" && to->bare_string() != sender->jid().bare_string()) {
      // XEP-0313: the sender's archive keeps what they send (a gateway or chat service gets
      // it only once it is committed; a local recipient's archive commits both together).
      if (co_await archive_outgoing(stanza, sender->jid(), *to) && !r.is_local_host(to->domain())) {
        co_await archive.flush();
      }
      // XEP-0280 §6: what one resource sends, the others with carbons see too (also to
      // gateway contacts). A message to the account itself reaches them anyway.
      const Jid own = sender->jid().bare();
      send_carbons(stanza, "sent", own, r.sessions().resources(own),
                   [&](const ResourceState& res) { return res.resource == sender->jid().resource(); });
    }
    co_return co_await route_parsed(sender, std::move(stanza), std::move(*to));
  }

  asio::awaitable<Disposition> route_parsed(std::shared_ptr<Session> sender, Element stanza, Jid to) {
    const std::string_view name = stanza.name();
    if (DomainHandler* handler = r.domain_handler(to.domain())) {
      if (name == "presence") {
        co_return Disposition::handled; // gateway contacts' presence is the router's (below)
      }
      if (sender == nullptr && !handler->takes_from_server()) {
        co_return Disposition::handled; // nothing routes from one gateway into another
      }
      co_return co_await handler->on_stanza(std::move(stanza));
    }
    if (!r.is_local_host(to.domain())) {
      // Server-to-server is not spoken yet: RFC 6120 §10.4.
      reply_error(sender, stanza, stanza_errc::remote_server_not_found,
                  "this server does not federate with other domains");
      co_return Disposition::handled;
    }
    if (!to.local().empty()) {
      // XEP-0191 §3.5: nothing from a blocked JID reaches the user (gateway contacts too):
      // presence is dropped, messages and iqs are answered as if the user did not exist.
      // Most users block nobody: the sender's JID is parsed (stringprep) only when there is a
      // list to match it against.
      const BlockList list = co_await block_list(to.bare());
      if (!list->empty()) {
        const auto from = Jid::parse(stanza.attribute("from").value_or(""));
        if (from && from->bare_string() != to.bare_string() && list_blocks(*list, *from)) {
          if (name != "presence") {
            reply_error(sender, stanza, stanza_errc::service_unavailable);
          }
          co_return name == "message" ? Disposition::refused : Disposition::handled;
        }
      }
    }
    if (to.local().empty()) {
      if (name == "iq") {
        co_await local_iq(sender, std::move(stanza), false);
      } else if (name == "message" && type_of(stanza) != "error" && type_of(stanza) != "headline") {
        reply_error(sender, stanza, stanza_errc::service_unavailable);
      }
      co_return Disposition::handled;
    }
    if (name == "presence") {
      if (to.is_bare()) {
        presence_to_bare(stanza, to);
      } else if (auto target = r.sessions().find(to)) {
        deliver(target, std::move(stanza));
      }
      co_return Disposition::handled;
    }
    if (!to.is_bare()) {
      if (auto target = r.sessions().find(to)) {
        if (name == "message") {
          co_await archive_incoming(stanza, to.bare());
          target = r.sessions().find(to);
          if (!target) {
            // Gone while the archive committed: as to the bare JID (RFC 6121 §8.5.3.2.1).
            co_return co_await message_to_bare(sender, std::move(stanza), to.bare());
          }
          // XEP-0280 §6: a message to one resource is copied to the others with carbons.
          const Jid bare = to.bare();
          send_carbons(stanza, "received", bare, r.sessions().resources(bare),
                       [&](const ResourceState& res) { return res.resource == to.resource(); });
        }
        deliver(target, std::move(stanza));
        co_return Disposition::handled;
      }
      if (name == "message") {
        // RFC 6121 §8.5.3.2.1: no such resource, so treat it as sent to the bare JID,
        // except groupchat (error) and headline (dropped).
        const std::string_view type = type_of(stanza);
        if (type == "groupchat") {
          reply_error(sender, stanza, stanza_errc::service_unavailable);
        } else if (type != "headline") {
          co_return co_await message_to_bare(sender, std::move(stanza), to.bare());
        }
      } else {
        reply_error(sender, stanza, stanza_errc::service_unavailable); // §8.5.3.2.2 (iq)
      }
      co_return Disposition::handled;
    }
    if (name == "message") {
      co_return co_await message_to_bare(sender, std::move(stanza), std::move(to));
      co_return Disposition::handled;
    }
    // iq to another user's bare JID: the server answers on the user's behalf (RFC 6121 §8.5.1
    // for a missing user, §8.5.2.1.3 otherwise).
    const Element* payload = stanza.first_child();
    if (sender != nullptr && to == sender->jid().bare()) {
      co_await local_iq(sender, std::move(stanza), true);
    } else if (sender != nullptr && type_of(stanza) == "get" && payload != nullptr && payload->name() == "vCard" &&
               payload->ns() == ns::vcard) {
      // XEP-0054 §3.2: anyone may read a user's vCard, which the server keeps.
      if (co_await user_exists(to.bare())) {
        deliver(sender, co_await modules::answer_vcard(db(), r.workers(), stanza, std::string(to.bare_string()), false));
      } else {
        reply_error(sender, stanza, stanza_errc::service_unavailable);
      }
    } else if (sender != nullptr && payload != nullptr &&
               (payload->ns() == ns::pubsub || payload->ns() == modules::pubsub_owner_ns) &&
               (type_of(stanza) == "get" || type_of(stanza) == "set")) {
      // XEP-0163: another account's personal eventing service (retrieval; the rest is refused).
      // Jids named before each co_await (GCC 12 and class temporaries, see blocking()).
      Jid owner = to.bare();
      const bool exists = co_await user_exists(owner);
      if (exists) {
        co_await r.pep().iq(sender, std::move(stanza), std::move(owner));
      } else {
        reply_error(sender, stanza, stanza_errc::service_unavailable);
      }
    } else if (sender != nullptr && payload != nullptr && type_of(stanza) == "get" &&
               (payload->ns() == ns::disco_info || payload->ns() == ns::disco_items) &&
               !payload->attribute("node")) {
      // XEP-0030 at another account: what it is (XEP-0163 §1) and the nodes the sender may see.
      Jid owner = to.bare();
      Jid requester = sender->jid().bare();
      const bool exists = co_await user_exists(owner);
      if (!exists) {
        reply_error(sender, stanza, stanza_errc::service_unavailable);
      } else if (payload->ns() == ns::disco_items) {
        deliver(sender, co_await r.pep().disco_items(std::move(stanza), std::move(owner), std::move(requester)));
      } else {
        auto result = core::stanza::make_result(stanza);
        auto& query = result.add_child(Element("query", std::string(ns::disco_info)));
        add_account_info(query, /*owner=*/false, false);
        deliver(sender, std::move(result));
      }
    } else if (payload != nullptr && payload->ns() == ns::private_storage &&
               (type_of(stanza) == "get" || type_of(stanza) == "set")) {
      reply_error(sender, stanza, stanza_errc::forbidden, "private data is its owner's alone"); // XEP-0049 §3
    } else if (payload != nullptr && payload->ns() == ns::vcard && type_of(stanza) == "set") {
      reply_error(sender, stanza, stanza_errc::forbidden, "only its owner may change a vCard");
    } else if (type_of(stanza) == "get" || type_of(stanza) == "set") {
      reply_error(sender, stanza, stanza_errc::service_unavailable);
    } else if (name == "iq") {
      co_await r.push().iq_answer(std::move(stanza)); // an app server's answer (XEP-0357 §6)
    }
    co_return Disposition::handled;
  }
};

Router::Router(const config::Config& config, storage::Storage& storage, core::async::WorkerPool& workers,
               auth::UserDirectory& users)
    : config_(config), storage_(storage), workers_(workers), users_(users), hosts_(config.hosts),
      shared_(std::make_unique<Shared>(*this, config, storage, workers)) {
  (void)router_metrics();
  // XEP-0115 §5.1: identities "category/type/lang/name<", then the sorted features, each
  // followed by '<'; SHA-1, base64.
  auto features = server_features();
  std::sort(features.begin(), features.end());
  std::string s = std::string(server_identity[0]) + "/" + std::string(server_identity[1]) + "//" +
                  std::string(server_identity[2]) + "<";
  for (const auto feature : features) {
    s += feature;
    s += '<';
  }
  caps_ver_ = core::sasl::crypto::base64_encode(core::sasl::crypto::hash(core::sasl::ScramHash::sha1, s));
}

modules::MessageArchive& Router::archive() noexcept {
  return shared_->archive;
}

modules::PepService& Router::pep() noexcept {
  return shared_->pep;
}

modules::PushService& Router::push() noexcept {
  return shared_->push;
}

asio::awaitable<bool> Router::blocked_between(Jid a, Jid b) {
  Impl impl(*this);
  // One co_await per statement: GCC 12 mishandles co_await under a short-circuit in co_return.
  Jid a_bare = a.bare();
  const bool a_blocks = co_await impl.blocks(std::move(a_bare), b);
  if (a_blocks) {
    co_return true;
  }
  Jid b_bare = b.bare();
  const bool b_blocks = co_await impl.blocks(std::move(b_bare), a);
  co_return b_blocks;
}

void Router::forget_user(const std::string& bare) {
  {
    std::lock_guard lock(shared_->block_lists_mutex);
    shared_->block_lists.erase(bare);
  }
  shared_->archive.forget_cached(bare);
  shared_->pep.forget(bare);
  shared_->push.forget(bare);
}

std::vector<std::string_view> Router::server_features() const {
  std::vector<std::string_view> features = {ns::disco_info, ns::disco_items,    ns::ping,
                                            ns::version,    ns::roster_ver_feature, ns::msgoffline,
                                            ns::carbons,    blocking_ns,        ns::private_storage,
                                            ns::vcard};
  if (shared_->archive.enabled()) {
    features.push_back(ns::stanza_id); // XEP-0359 §7: ids on archived messages
  }
  if (!users_.external()) {
    features.push_back(ns::register_); // accounts managed elsewhere cannot be changed here
  }
  return features;
}

Router::~Router() = default;

void Router::add_domain(std::string domain, std::shared_ptr<DomainHandler> handler) {
  domains_[std::move(domain)] = std::move(handler);
}

void Router::clear_domains() noexcept {
  domains_.clear();
}

DomainHandler* Router::domain_handler(std::string_view domain) const noexcept {
  const auto found = domains_.find(domain);
  return found == domains_.end() ? nullptr : found->second.get();
}

bool Router::is_local_host(std::string_view domain) const noexcept {
  return std::find(hosts_.begin(), hosts_.end(), domain) != hosts_.end();
}

asio::awaitable<Disposition> Router::from_client(std::shared_ptr<Session> sender, Element stanza) {
  auto& metrics = router_metrics();
  const auto start = std::chrono::steady_clock::now();
  metrics.in.count(stanza.name());
  Impl impl(*this);
  const auto disposition = co_await impl.from_client(std::move(sender), std::move(stanza));
  metrics.route_duration.observe_since(start);
  co_return disposition;
}

asio::awaitable<Disposition> Router::route(Element stanza, std::optional<storage::DeliveryKey> once) {
  const auto start = std::chrono::steady_clock::now();
  Impl impl(*this);
  if (once) {
    impl.once = &*once;
  }
  auto to = Jid::parse(stanza.attribute("to").value_or(""));
  if (!to) {
    co_return Disposition::handled;
  }
  const auto disposition = co_await impl.route_parsed(nullptr, std::move(stanza), std::move(*to));
  router_metrics().route_duration.observe_since(start);
  co_return disposition;
}

Router::Counts Router::counts() noexcept {
  auto& m = router_metrics();
  Counts c;
  c.stanzas_in = m.in.message.value() + m.in.presence.value() + m.in.iq.value();
  c.stanzas_out = m.out.message.value() + m.out.presence.value() + m.out.iq.value();
  c.routed = m.route_duration.snapshot().count;
  return c;
}

void Router::push_roster(const Jid& owner, const RosterItem& item, bool removed, storage::RosterVersion version) {
  Impl impl(*this);
  impl.version_for_push = version;
  if (removed || visible(item)) {
    impl.push(owner, item, removed);
  }
}

asio::awaitable<void> Router::session_ended(std::shared_ptr<Session> session) {
  auto state = sessions_.unbind(*session);
  if (!state || (!state->available && state->directed.empty())) {
    co_return;
  }
  // RFC 6121 §4.5.2: the server sends unavailable presence on the user's behalf, to the
  // subscribers if the resource was available, and (§4.6.3) to directed-presence recipients.
  Impl impl(*this);
  Element p("presence", std::string(ns::client));
  p.set_attribute("from", std::string(session->jid().full()));
  p.set_attribute("type", "unavailable");
  if (state->available) {
    co_await impl.broadcast(session, p, false);
  }
  co_await impl.unavailable_to_directed(p, state->directed);
}

} // namespace parley::router
