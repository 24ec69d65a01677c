#include "gateways/gateway_service.hpp"

#include "core/async/worker_pool.hpp"
#include "core/jid/jid.hpp"
#include "core/metrics/registry.hpp"
#include "core/sasl/crypto.hpp"
#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
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

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <map>
#include <random>

namespace parley::gateways {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::jid::Jid;
using core::stanza::stanza_errc;
using core::xml::Element;
using router::Disposition;

namespace {

constexpr std::string_view gateway_ns = "jabber:iq:gateway"; // XEP-0100 §6.3
constexpr std::size_t max_in_flight = 64;
constexpr auto idle_poll = std::chrono::milliseconds(1000);
// Delivered messages and the keys of handled inbound deliveries are kept this long (for the
// outbox timeline and for deduplication), then purged.
constexpr auto keep_done = std::chrono::hours(24 * 7);
constexpr auto purge_every = std::chrono::hours(1);

storage::Timestamp now_stamp() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

Element query(std::string_view xmlns) {
  return Element("query", std::string(xmlns));
}

Element text_element(std::string name, std::string_view ns_name, std::string_view text) {
  Element e(std::move(name), std::string(ns_name));
  e.add_text(text);
  return e;
}

/// parley_gateway_deliveries_total of one gateway, by what became of an attempt.
struct DeliveryCounters {
  core::metrics::Counter& delivered;
  core::metrics::Counter& retry;
  core::metrics::Counter& dead;

  static DeliveryCounters of(std::string_view domain, std::string_view provider) {
    auto& family = core::metrics::registry().counter_family(
        "parley_gateway_deliveries_total",
        "Outbound delivery attempts of gateways, by result: delivered, retry (failed, to be tried again) or dead "
        "(failed for good, moved to the dead letters).",
        {"gateway", "provider", "result"});
    return {family.with({domain, provider, "delivered"}), family.with({domain, provider, "retry"}),
            family.with({domain, provider, "dead"})};
  }
};

} // namespace

struct GatewayService::Impl : std::enable_shared_from_this<Impl> {
  Impl(std::unique_ptr<Gateway> g, router::Router& r, GatewayHost& h, std::string n)
      : gateway(std::move(g)), router(r), host(h), node(std::move(n)), strand(asio::make_strand(h.io())),
        wake(strand), domain(gateway->settings().domain), queue("outbox:" + domain),
        deliveries(DeliveryCounters::of(domain, gateway->provider())) {}

  std::unique_ptr<Gateway> gateway;
  router::Router& router;
  GatewayHost& host;
  const std::string node;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer wake; // the delivery loop sleeps on it; cancelled to wake it
  const std::string domain;
  const std::string queue;
  DeliveryCounters deliveries;
  bool stopped = false;
  std::size_t in_flight = 0;
  std::chrono::steady_clock::time_point next_purge = std::chrono::steady_clock::now() + std::chrono::minutes(1);

  // Per-destination concurrency (touched on the strand only).
  struct Slots {
    std::uint32_t busy = 0;
    std::deque<std::shared_ptr<asio::steady_timer>> waiting;
  };
  std::map<std::string, Slots, std::less<>> slots;

  const config::GatewayConfig& settings() const { return gateway->settings(); }

  // ---- answering users -------------------------------------------------------------------

  /// Sends `stanza` back into the router (errors, results, receipts, replies).
  asio::awaitable<void> answer(Element stanza) {
    co_await router.route(std::move(stanza));
  }

  asio::awaitable<void> answer_error(const Element& stanza, stanza_errc condition, std::string_view text) {
    if (core::stanza::may_answer_with_error(stanza)) {
      co_await answer(core::stanza::make_error(stanza, condition, text));
    }
  }

  asio::awaitable<Disposition> iq(Element stanza, const Jid& to) {
    const std::string_view type = stanza.attribute("type").value_or("");
    if (type != "get" && type != "set") {
      co_return Disposition::handled; // results and errors to us end here
    }
    const Element* payload = stanza.first_child();
    if (payload == nullptr) {
      co_await answer_error(stanza, stanza_errc::bad_request, "an iq needs one payload element");
      co_return Disposition::handled;
    }
    if (payload->ns() == ns::disco_info && payload->name() == "query" && type == "get") {
      Element result = core::stanza::make_result(stanza);
      Element& info = result.add_child(query(ns::disco_info));
      if (auto node_attr = payload->attribute("node")) {
        info.set_attribute("node", std::string(*node_attr));
      }
      if (to.local().empty()) {
        // XEP-0030 with the XEP-0100 identity: category gateway, type by kind.
        Element identity("identity", std::string(ns::disco_info));
        identity.set_attribute("category", "gateway");
        identity.set_attribute("type", std::string(gateway->identity_type()));
        identity.set_attribute("name",
                               settings().name.empty() ? std::string(gateway->default_name()) : settings().name);
        info.add_child(std::move(identity));
      }
      const bool registers = gateway->registration_form().has_value();
      for (const std::string_view feature : {ns::disco_info, ns::disco_items, gateway_ns, ns::receipts, ns::register_}) {
        if (!to.local().empty() && (feature == gateway_ns || feature == ns::disco_items || feature == ns::register_)) {
          continue;
        }
        if (feature == ns::register_ && !registers) {
          continue;
        }
        Element f("feature", std::string(ns::disco_info));
        f.set_attribute("var", std::string(feature));
        info.add_child(std::move(f));
      }
      co_await answer(std::move(result));
      co_return Disposition::handled;
    }
    if (payload->ns() == ns::disco_items && payload->name() == "query" && type == "get") {
      Element result = core::stanza::make_result(stanza);
      result.add_child(query(ns::disco_items));
      co_await answer(std::move(result));
      co_return Disposition::handled;
    }
    if (payload->ns() == ns::register_ && payload->name() == "query" && to.local().empty()) {
      co_await registration(stanza, *payload, type == "set");
      co_return Disposition::handled;
    }
    if (payload->ns() == gateway_ns && payload->name() == "query" && to.local().empty()) {
      Element result = core::stanza::make_result(stanza);
      Element& reply = result.add_child(query(gateway_ns));
      if (type == "get") {
        // XEP-0100 §6.3.1: a description and the prompt.
        reply.add_child(text_element("desc", gateway_ns, gateway->prompt_description()));
        reply.add_child(text_element("prompt", gateway_ns, gateway->prompt_label()));
        co_await answer(std::move(result));
        co_return Disposition::handled;
      }
      const Element* prompt = payload->child("prompt", gateway_ns);
      if (prompt == nullptr) {
        co_await answer_error(stanza, stanza_errc::bad_request, "<prompt/> with the address is missing");
        co_return Disposition::handled;
      }
      auto local = gateway->translate(prompt->text());
      if (!local) {
        co_await answer_error(stanza, local.error().condition, local.error().text);
        co_return Disposition::handled;
      }
      auto jid = Jid::make(*local, domain);
      if (!jid) {
        co_await answer_error(stanza, stanza_errc::jid_malformed, "the address does not make a valid JID");
        co_return Disposition::handled;
      }
      // XEP-0100 §6.3.2: the JID, and the legacy <prompt/> with the same value.
      reply.add_child(text_element("jid", gateway_ns, jid->full()));
      reply.add_child(text_element("prompt", gateway_ns, jid->full()));
      co_await answer(std::move(result));
      co_return Disposition::handled;
    }
    co_await answer_error(stanza, stanza_errc::service_unavailable, {});
    co_return Disposition::handled;
  }

  // ---- XEP-0077 registration: the address a user sends from -------------------------------

  /// The addresses `owner` holds on this gateway, or the storage error.
  asio::awaitable<boost::system::result<std::vector<std::string>>> addresses_of(std::string owner) {
    auto self = shared_from_this();
    auto job = [self, owner] { return self->host.storage().registrations().of_owner(owner); };
    auto all = co_await host.workers().run(std::move(job));
    if (!all) {
      co_return all.error();
    }
    std::vector<std::string> mine;
    for (const auto& registration : *all) {
      if (registration.domain == domain) {
        mine.push_back(registration.address);
      }
    }
    co_return mine;
  }

  /// get: the form, with <registered/> and the address when the user has one (XEP-0077 §3.1,
  /// §3.2.1); set: registers an address (replacing the user's earlier one on this gateway), or
  /// with <remove/> cancels the registration. An address someone else holds is a conflict;
  /// teams (several owners of one number) are made through the admin API.
  asio::awaitable<void> registration(const Element& stanza, const Element& payload, bool set) {
    const auto form = gateway->registration_form();
    if (!form) {
      co_await answer_error(stanza, stanza_errc::service_unavailable, "this gateway takes no registrations");
      co_return;
    }
    const auto from = Jid::parse(stanza.attribute("from").value_or(""));
    if (!from || from->local().empty() || !router.is_local_host(from->domain())) {
      co_await answer_error(stanza, stanza_errc::forbidden, "only users of this server register with its gateways");
      co_return;
    }
    const std::string owner(from->bare_string());
    auto held = co_await addresses_of(owner);
    if (!held) {
      spdlog::warn("gateway {}: cannot read the registrations of {}: {}", domain, owner, held.error().message());
      co_await answer_error(stanza, stanza_errc::internal_server_error, "storage is unavailable; try again later");
      co_return;
    }
    if (!set) {
      Element result = core::stanza::make_result(stanza);
      Element& reply = result.add_child(query(ns::register_));
      if (!held->empty()) {
        reply.add_child(Element("registered", std::string(ns::register_)));
      }
      reply.add_child(text_element("instructions", ns::register_, form->instructions));
      reply.add_child(text_element(form->field, ns::register_, held->empty() ? std::string() : held->front()));
      co_await answer(std::move(result));
      co_return;
    }
    auto self = shared_from_this();
    if (payload.child("remove", ns::register_) != nullptr) {
      if (held->empty()) {
        co_await answer_error(stanza, stanza_errc::item_not_found, "you have no registration with this gateway");
        co_return;
      }
      auto job = [self, owner, addresses = *held]() -> boost::system::result<void> {
        for (const auto& address : addresses) {
          if (auto gone = self->host.storage().registrations().unassign(self->domain, address, owner);
              !gone && gone.error() != storage::storage_errc::not_found) {
            return gone.error();
          }
        }
        return {};
      };
      if (auto removed = co_await host.workers().run(std::move(job)); !removed) {
        co_await answer_error(stanza, stanza_errc::internal_server_error, "storage is unavailable; try again later");
        co_return;
      }
      spdlog::info("gateway {}: {} cancelled the registration of {}", domain, owner, held->front());
      co_await gateway->reload();
      co_await answer(core::stanza::make_result(stanza));
      co_return;
    }
    const Element* field = payload.child(form->field, ns::register_);
    if (field == nullptr || field->text().empty()) {
      // XEP-0077 §3.1: a required field is missing.
      co_await answer_error(stanza, stanza_errc::not_acceptable, "<" + form->field + "/> is required");
      co_return;
    }
    auto address = gateway->registration_address(field->text());
    if (!address) {
      co_await answer_error(stanza, address.error().condition, address.error().text);
      co_return;
    }
    if (std::find(held->begin(), held->end(), *address) != held->end() && held->size() == 1) {
      co_await answer(core::stanza::make_result(stanza)); // already so
      co_return;
    }
    enum class Outcome { done, taken, failed };
    auto job = [self, owner, address = *address, previous = *held]() -> Outcome {
      auto& store = self->host.storage().registrations();
      auto owners = store.owners(self->domain, address);
      if (!owners) {
        return Outcome::failed;
      }
      if (!owners->empty() && std::find(owners->begin(), owners->end(), owner) == owners->end()) {
        return Outcome::taken;
      }
      if (!store.assign(self->domain, address, owner, now_stamp())) {
        return Outcome::failed;
      }
      for (const auto& old : previous) {
        if (old != address) {
          (void)store.unassign(self->domain, old, owner);
        }
      }
      return Outcome::done;
    };
    const Outcome outcome = co_await host.workers().run(std::move(job));
    if (outcome == Outcome::taken) {
      co_await answer_error(stanza, stanza_errc::conflict, *address + " is registered to someone else");
      co_return;
    }
    if (outcome == Outcome::failed) {
      co_await answer_error(stanza, stanza_errc::internal_server_error, "storage is unavailable; try again later");
      co_return;
    }
    spdlog::info("gateway {}: {} registered {}", domain, owner, *address);
    co_await gateway->reload();
    co_await answer(core::stanza::make_result(stanza));
  }

  // ---- messages into the outbox ----------------------------------------------------------

  asio::awaitable<Disposition> message(Element stanza, const Jid& to) {
    const std::string_view type = stanza.attribute("type").value_or("normal");
    if (type == "error") {
      co_return Disposition::handled;
    }
    if (type == "groupchat") {
      co_await answer_error(stanza, stanza_errc::not_acceptable, "a gateway contact is not a chat room");
      co_return Disposition::refused;
    }
    const Element* body = stanza.child("body", ns::client);
    if (body == nullptr) {
      co_return Disposition::handled; // chat states, receipts, markers: nothing to send on
    }
    if (to.local().empty()) {
      co_await answer_error(stanza, stanza_errc::service_unavailable,
                            "write to an address of this gateway, not to the gateway itself");
      co_return Disposition::refused;
    }
    auto destination = gateway->accept(stanza);
    if (!destination) {
      co_await answer_error(stanza, destination.error().condition, destination.error().text);
      co_return Disposition::refused;
    }
    // The idempotency key: a client sending the same message again (say, after an SM stream
    // ended before the ack) must not make it go out twice.
    const auto from = Jid::parse(stanza.attribute("from").value_or(""));
    const std::string id(stanza.attribute("id").value_or(""));
    std::string key = id.empty() ? core::sasl::crypto::hex_encode(core::sasl::crypto::random_bytes(16))
                                 : core::sasl::crypto::hex_encode(core::sasl::crypto::hash(core::sasl::ScramHash::sha256,
                                                        (from ? std::string(from->bare_string()) : std::string()) +
                                                            '\n' + id + '\n' + to.full() + '\n' + body->text()))
                                       .substr(0, 32);
    std::string payload = *destination + '\n' + core::xml::serialize(stanza, ns::client);
    auto commit = [this, key = std::move(key), payload = std::move(payload)] {
      const auto now = now_stamp();
      return host.storage().work().enqueue(queue, key, payload, now, now);
    };
    auto enqueued = co_await host.workers().run(std::move(commit));
    if (!enqueued) {
      spdlog::warn("gateway {}: cannot commit a message to the outbox: {}", domain, enqueued.error().message());
      co_await answer_error(stanza, stanza_errc::internal_server_error,
                            "storage is unavailable; the message was not stored, try again later");
      co_return Disposition::not_stored;
    }
    if (enqueued->created) {
      asio::post(strand, [self = shared_from_this()] { self->wake.cancel(); });
    }
    co_return Disposition::handled;
  }

  // ---- the delivery worker ---------------------------------------------------------------

  /// Items claimed by an earlier parleyd process on this host that is gone (killed, crashed)
  /// would wait for their lease to run out (a minute or more) before anyone sent them again:
  /// hand them back at once. Owners are "host/pid" (see the daemon); an owner on another host,
  /// a process still alive, or our own pid (a recycled number, or another container that
  /// shares the hostname) keeps its claim and the lease decides, as before.
  static std::size_t release_dead_claims(Impl& self) {
    const auto slash = self.node.rfind('/');
    if (slash == std::string::npos) {
      return 0;
    }
    const std::string host_prefix = self.node.substr(0, slash + 1);
    std::size_t released = 0;
    storage::WorkItemId after = 0;
    for (;;) {
      auto page = self.host.storage().work().list(self.queue, storage::WorkState::claimed, after, 500);
      if (!page || page->empty()) {
        break;
      }
      for (const auto& item : *page) {
        after = item.id;
        if (!item.owner.starts_with(host_prefix)) {
          continue;
        }
        const std::string pid_text = item.owner.substr(host_prefix.size());
        char* end = nullptr;
        const long pid = std::strtol(pid_text.c_str(), &end, 10);
        if (pid_text.empty() || end == nullptr || *end != '\0' || pid <= 0 || pid == ::getpid()) {
          continue;
        }
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) {
          continue; // alive (or not ours to signal: EPERM means it exists)
        }
        if (self.host.storage().work().retry(item.id, item.owner, now_stamp(), now_stamp(),
                                             "the process that was sending it ended")) {
          ++released;
        }
      }
      if (page->size() < 500) {
        break;
      }
    }
    return released;
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    const auto lease = std::chrono::seconds(settings().timeout_seconds * 2 + 30);
    {
      auto job = [self] { return release_dead_claims(*self); };
      const std::size_t released = co_await host.workers().run(std::move(job));
      if (released > 0) {
        spdlog::info("gateway {}: {} messages claimed by an ended process go out again", domain, released);
      }
    }
    while (!stopped) {
      bool more = false;
      if (in_flight < max_in_flight) {
        const std::size_t limit = max_in_flight - in_flight;
        auto job = [self, lease, limit] {
          return self->host.storage().work().claim(self->queue, self->node, now_stamp(), lease, limit);
        };
        auto claimed = co_await host.workers().run(std::move(job));
        if (!claimed) {
          spdlog::warn("gateway {}: cannot claim from the outbox: {}", domain, claimed.error().message());
        } else {
          more = claimed->size() == limit;
          for (auto& item : *claimed) {
            ++in_flight;
            asio::co_spawn(strand, deliver_one(std::move(item)), asio::detached);
          }
        }
      }
      if (stopped) {
        break;
      }
      if (std::chrono::steady_clock::now() >= next_purge) {
        next_purge = std::chrono::steady_clock::now() + purge_every;
        auto purge = [self] {
          const auto before = now_stamp() - std::chrono::duration_cast<std::chrono::microseconds>(keep_done);
          auto done = self->host.storage().work().purge(self->queue, storage::WorkState::done, before);
          auto seen = self->host.storage().seen().forget_before(before);
          return std::pair(done ? *done : 0, seen ? *seen : 0);
        };
        const auto [done, seen] = co_await host.workers().run(std::move(purge));
        if (done + seen > 0) {
          spdlog::info("gateway {}: purged {} delivered messages and {} delivery keys older than 7 days", domain,
                       done, seen);
        }
      }
      if (!more) {
        wake.expires_after(idle_poll);
        co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
  }

  asio::awaitable<void> acquire(const std::string& destination) {
    auto& slot = slots[destination];
    if (slot.busy < settings().concurrency_per_destination) {
      ++slot.busy;
      co_return;
    }
    auto turn = std::make_shared<asio::steady_timer>(strand, asio::steady_timer::time_point::max());
    slot.waiting.push_back(turn);
    co_await turn->async_wait(asio::as_tuple(asio::use_awaitable)); // the releaser hands its slot over
  }

  void release(const std::string& destination) {
    auto found = slots.find(destination);
    if (found == slots.end()) {
      return;
    }
    if (!found->second.waiting.empty()) {
      auto next = std::move(found->second.waiting.front());
      found->second.waiting.pop_front();
      next->cancel();
    } else if (--found->second.busy == 0) {
      slots.erase(found);
    }
  }

  std::chrono::milliseconds backoff(std::uint32_t attempts) const {
    // Exponential from retry_base_ms, capped at retry_max_ms, with jitter in [half, full].
    double delay = settings().retry_base_ms;
    for (std::uint32_t i = 1; i < attempts && delay < settings().retry_max_ms; ++i) {
      delay *= 2;
    }
    const auto capped = static_cast<long>(std::min<double>(delay, settings().retry_max_ms));
    thread_local std::minstd_rand random{std::random_device{}()};
    return std::chrono::milliseconds(capped / 2 + static_cast<long>(random() % static_cast<unsigned long>(capped / 2 + 1)));
  }

  asio::awaitable<void> deliver_one(storage::WorkItem item) {
    auto self = shared_from_this();
    const auto newline = item.payload.find('\n');
    const std::string destination = item.payload.substr(0, newline);
    auto message = core::xml::parse_element(
        newline == std::string::npos ? std::string_view() : std::string_view(item.payload).substr(newline + 1),
        ns::client);
    Attempt attempt;
    if (!message) {
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason = "the stored message cannot be read";
    } else {
      co_await acquire(destination);
      attempt = co_await gateway->deliver(*message, item);
      release(destination);
    }
    co_await record(item, attempt, message ? &*message : nullptr);
    --in_flight;
    wake.cancel();
  }

  asio::awaitable<void> record(const storage::WorkItem& item, Attempt attempt, const Element* message) {
    auto self = shared_from_this();
    const auto now = now_stamp();
    using Outcome = Attempt::Outcome;
    Outcome outcome = attempt.outcome;
    if (outcome == Outcome::transient) {
      const bool too_many = item.attempts >= settings().max_attempts;
      const bool too_old = now - item.created >= std::chrono::seconds(settings().max_age_seconds);
      if (too_many || too_old) {
        attempt.reason = "gave up after " + std::to_string(item.attempts) + " attempts: " + attempt.reason;
      } else {
        auto due = now + std::chrono::duration_cast<std::chrono::microseconds>(backoff(item.attempts));
        if (attempt.retry_at) {
          due = std::max(due, std::chrono::floor<std::chrono::microseconds>(*attempt.retry_at));
        }
        auto job = [self, id = item.id, due, reason = attempt.reason] {
          return self->host.storage().work().retry(id, self->node, now_stamp(), due, reason);
        };
        deliveries.retry.inc();
        auto retried = co_await host.workers().run(std::move(job));
        spdlog::info("gateway {}: message {} failed (attempt {}), retrying: {}", domain, item.id, item.attempts,
                     attempt.reason);
        if (!retried) {
          spdlog::warn("gateway {}: cannot schedule the retry of message {}: {}", domain, item.id,
                       retried.error().message());
        }
        co_return;
      }
    }
    if (outcome == Outcome::delivered) {
      deliveries.delivered.inc();
      auto job = [self, id = item.id] { return self->host.storage().work().complete(id, self->node, now_stamp()); };
      auto completed = co_await host.workers().run(std::move(job));
      if (!completed) {
        // The far side has it; if the lease was lost meanwhile another worker sends it again
        // with the same idempotency key.
        spdlog::warn("gateway {}: message {} was delivered but cannot be marked so: {}", domain, item.id,
                     completed.error().message());
      }
      if (!attempt.receipt_later && message != nullptr && message->child("request", ns::receipts) != nullptr &&
          message->attribute("id")) {
        // XEP-0184: the far side confirmed.
        Element receipt("message", std::string(ns::client));
        receipt.set_attribute("from", std::string(message->attribute("to").value_or(domain)));
        receipt.set_attribute("to", std::string(message->attribute("from").value_or("")));
        receipt.set_attribute("id", core::sasl::crypto::hex_encode(core::sasl::crypto::random_bytes(8)));
        Element received("received", std::string(ns::receipts));
        received.set_attribute("id", std::string(*message->attribute("id")));
        receipt.add_child(std::move(received));
        co_await answer(std::move(receipt));
      }
      for (auto& reply : attempt.replies) {
        co_await answer(std::move(reply));
      }
      co_return;
    }
    // Final failure: dead letter, and the sender learns why (nothing fails silently).
    deliveries.dead.inc();
    auto job = [self, id = item.id, reason = attempt.reason] {
      return self->host.storage().work().bury(id, self->node, now_stamp(), reason);
    };
    auto buried = co_await host.workers().run(std::move(job));
    if (!buried) {
      spdlog::warn("gateway {}: cannot move message {} to the dead letters: {}", domain, item.id,
                   buried.error().message());
    }
    spdlog::warn("gateway {}: message {} failed for good: {}", domain, item.id, attempt.reason);
    if (message != nullptr) {
      const bool transient = outcome == Outcome::transient;
      co_await answer(core::stanza::make_error(
          *message, transient ? stanza_errc::recipient_unavailable : stanza_errc::service_unavailable,
          transient ? core::stanza::ErrorType::wait : core::stanza::ErrorType::cancel, attempt.reason));
    }
  }
};

GatewayService::GatewayService(std::unique_ptr<Gateway> gateway, router::Router& router, GatewayHost& host,
                               std::string node)
    : impl_(std::make_shared<Impl>(std::move(gateway), router, host, std::move(node))) {}

GatewayService::~GatewayService() {
  stop();
}

const std::string& GatewayService::domain() const noexcept {
  return impl_->domain;
}

const std::string& GatewayService::queue() const noexcept {
  return impl_->queue;
}

asio::awaitable<Disposition> GatewayService::on_stanza(Element stanza) {
  auto self = impl_;
  auto to = Jid::parse(stanza.attribute("to").value_or(""));
  if (!to) {
    co_return Disposition::handled;
  }
  if (stanza.name() == "iq") {
    co_return co_await self->iq(std::move(stanza), *to);
  }
  if (stanza.name() == "message") {
    co_return co_await self->message(std::move(stanza), *to);
  }
  co_return Disposition::handled;
}

void GatewayService::start() {
  impl_->gateway->start(impl_->host);
  asio::co_spawn(impl_->strand, impl_->loop(), asio::detached);
  spdlog::info("gateway {}: {} ready", impl_->domain, impl_->gateway->identity_type());
}

void GatewayService::wake() {
  auto impl = impl_;
  asio::post(impl->strand, [impl] { impl->wake.cancel(); });
}

asio::awaitable<void> GatewayService::reload() { co_await impl_->gateway->reload(); }

const Gateway& GatewayService::gateway() const noexcept { return *impl_->gateway; }

void GatewayService::stop() {
  auto impl = impl_;
  asio::post(impl->strand, [impl] {
    if (impl->stopped) {
      return;
    }
    impl->stopped = true;
    impl->wake.cancel();
    impl->gateway->stop();
  });
}

} // namespace parley::gateways
