#include "router/modules/push.hpp"

#include "core/async/worker_pool.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
#include "router/modules/archive_rules.hpp"
#include "router/modules/data_form.hpp"
#include "router/router.hpp"
#include "router/session.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace parley::router::modules {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::jid::Jid;
using core::stanza::stanza_errc;
using core::xml::Element;

namespace {

constexpr std::string_view key_prefix = "push ";
/// App servers one account may register (one per device, typically).
constexpr std::size_t max_registrations = 32;
/// Users whose registrations are kept in memory, and notifications awaiting an answer, at most.
constexpr std::size_t max_cached = 100'000;
constexpr std::size_t max_unanswered = 10'000;
constexpr std::string_view summary_form = "urn:xmpp:push:summary";

std::string registration_key(std::string_view jid, std::string_view node) {
  return std::string(key_prefix) + std::string(jid) + " " + std::string(node);
}

} // namespace

PushService::PushService(Router& router) : router_(router) {}

void PushService::forget(const std::string& bare) {
  std::lock_guard lock(mutex_);
  cache_.erase(bare);
}

asio::awaitable<PushService::Registrations> PushService::registrations(std::string bare) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(bare); it != cache_.end()) {
      co_return it->second;
    }
  }
  auto job = [this, bare]() -> boost::system::result<std::vector<Registration>> {
    auto& store = router_.storage().private_xml();
    auto keys = store.keys(bare);
    if (!keys) {
      return keys.error();
    }
    std::vector<Registration> out;
    for (const auto& key : *keys) {
      if (!key.starts_with(key_prefix)) {
        continue;
      }
      auto xml = store.get(bare, key);
      if (!xml) {
        continue;
      }
      auto enable = core::xml::parse_element(*xml);
      if (!enable) {
        continue;
      }
      Registration r;
      r.key = key;
      r.jid = std::string(enable->attribute("jid").value_or(""));
      r.node = std::string(enable->attribute("node").value_or(""));
      if (const Element* x = enable->child("x", ns::data_forms)) {
        r.options = *x;
      }
      out.push_back(std::move(r));
    }
    return out;
  };
  auto loaded = co_await router_.workers().run(std::move(job));
  if (!loaded) {
    // Storage down: no notification this time, and nothing cached.
    co_return std::make_shared<const std::vector<Registration>>();
  }
  auto list = std::make_shared<const std::vector<Registration>>(std::move(*loaded));
  std::lock_guard lock(mutex_);
  if (cache_.size() >= max_cached) {
    cache_.clear();
  }
  cache_[bare] = list;
  co_return list;
}

asio::awaitable<void> PushService::iq(std::shared_ptr<Session> sender, Element iq) {
  const Element* payload = iq.first_child();
  const std::string bare(sender->jid().bare_string());
  if (iq.attribute("type").value_or("") != "set" || (payload->name() != "enable" && payload->name() != "disable")) {
    sender->deliver(core::stanza::make_error(iq, stanza_errc::bad_request, "push takes <enable/> or <disable/>"));
    co_return;
  }
  const bool enable = payload->name() == "enable";
  auto app_server = Jid::parse(payload->attribute("jid").value_or(""));
  const std::string node(payload->attribute("node").value_or(""));
  if (!app_server) {
    sender->deliver(core::stanza::make_error(iq, stanza_errc::bad_request, "the app server's 'jid' is missing or not a JID"));
    co_return;
  }
  if (enable && !router_.is_local_host(app_server->domain()) && router_.domain_handler(app_server->domain()) == nullptr) {
    // Notifications could never reach it: say so now rather than drop them later.
    sender->deliver(core::stanza::make_error(iq, stanza_errc::remote_server_not_found,
                                             "this server does not federate with other domains yet"));
    co_return;
  }
  if (enable && node.empty()) {
    // XEP-0357 §5: the node is what the app server knows the device by.
    sender->deliver(core::stanza::make_error(iq, stanza_errc::bad_request, "<enable/> needs a 'node'"));
    co_return;
  }
  const std::string jid = app_server->full();
  if (jid.size() + node.size() > 900) {
    sender->deliver(core::stanza::make_error(iq, stanza_errc::not_acceptable, "the JID and node are too long"));
    co_return;
  }
  std::string xml;
  if (enable) {
    Element stored("enable", std::string(push_ns));
    stored.set_attribute("jid", jid);
    stored.set_attribute("node", node);
    if (const Element* x = payload->child("x", ns::data_forms)) {
      stored.add_child(*x); // §5: the publish-options, e.g. the app server's secret
    }
    xml = core::xml::serialize(stored);
  }
  auto job = [this, bare, jid, node, enable, xml]() -> boost::system::result<bool> {
    auto& store = router_.storage().private_xml();
    if (enable) {
      auto keys = store.keys(bare);
      if (!keys) {
        return boost::system::result<bool>(boost::system::in_place_error, keys.error());
      }
      std::size_t count = 0;
      for (const auto& k : *keys) {
        count += k.starts_with(key_prefix) && k != registration_key(jid, node) ? 1 : 0;
      }
      if (count >= max_registrations) {
        return false;
      }
      const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
      if (auto put = store.put(bare, registration_key(jid, node), xml, now); !put) {
        return boost::system::result<bool>(boost::system::in_place_error, put.error());
      }
      return true;
    }
    // §6: without a node, every registration with that app server goes.
    const std::string prefix = node.empty() ? registration_key(jid, "") : registration_key(jid, node);
    auto keys = store.keys(bare);
    if (!keys) {
      return boost::system::result<bool>(boost::system::in_place_error, keys.error());
    }
    for (const auto& k : *keys) {
      if (node.empty() ? k.starts_with(prefix) : k == prefix) {
        if (auto removed = store.remove(bare, k); !removed) {
          return boost::system::result<bool>(boost::system::in_place_error, removed.error());
        }
      }
    }
    return true;
  };
  auto done = co_await router_.workers().run(std::move(job));
  forget(bare);
  if (done && *done) {
    if (enable) {
      sender->push_registration(registration_key(jid, node), true, false);
    } else {
      sender->push_registration(registration_key(jid, node), false, node.empty());
    }
  }
  if (!done) {
    sender->deliver(core::stanza::make_error(iq, stanza_errc::internal_server_error, "storage is unavailable"));
  } else if (!*done) {
    sender->deliver(core::stanza::make_error(iq, stanza_errc::resource_constraint,
                                             "at most " + std::to_string(max_registrations) + " app servers"));
  } else {
    sender->deliver(core::stanza::make_result(iq));
  }
}

asio::awaitable<void> PushService::session_waiting(Jid bare, Element message, std::vector<std::string> keys) {
  if (keys.empty()) {
    co_return;
  }
  std::optional<std::vector<std::string>> only(std::move(keys)); // named: GCC 12 and co_await
  co_await notify(std::move(bare), std::move(message), std::move(only));
}

asio::awaitable<void> PushService::message_stored(Jid bare, Element message) {
  std::optional<std::vector<std::string>> all; // named: GCC 12 and co_await
  co_await notify(std::move(bare), std::move(message), std::move(all));
}

asio::awaitable<void> PushService::notify(Jid bare, Element message, std::optional<std::vector<std::string>> only) {
  const std::string user(bare.bare_string());
  const Registrations list = co_await registrations(user);
  if (list->empty()) {
    co_return;
  }
  std::string sender;
  if (auto from = Jid::parse(message.attribute("from").value_or(""))) {
    sender = std::string(from->bare_string());
  }
  for (const auto& reg : *list) {
    if (only && std::find(only->begin(), only->end(), reg.key) == only->end()) {
      continue;
    }
    const std::string id = "push-" + std::to_string(++counter_) + "-" + new_archive_id();
    Element iq("iq", std::string(ns::client));
    iq.set_attribute("type", "set");
    iq.set_attribute("from", user);
    iq.set_attribute("to", reg.jid);
    iq.set_attribute("id", id);
    Element& pubsub = iq.add_child(Element("pubsub", std::string(ns::pubsub)));
    Element& publish = pubsub.add_child(Element("publish", std::string(ns::pubsub)));
    publish.set_attribute("node", reg.node);
    // §5: the summary. The body stays on this server: app servers (and the push services
    // behind them) learn only that a message came and from whom.
    Element form = make_form("submit");
    add_field(form, "FORM_TYPE", "", "", {std::string(summary_form)});
    add_field(form, "message-count", "", "", {"1"});
    if (!sender.empty()) {
      add_field(form, "last-message-sender", "", "", {sender});
    }
    publish.add_child(Element("item", std::string(ns::pubsub)))
        .add_child(Element("notification", std::string(push_ns)))
        .add_child(std::move(form));
    if (reg.options) {
      pubsub.add_child(Element("publish-options", std::string(ns::pubsub))).add_child(*reg.options);
    }
    {
      std::lock_guard lock(mutex_);
      if (sent_.size() >= max_unanswered) {
        sent_.clear();
      }
      sent_[id] = Sent{user, reg.key, reg.jid};
    }
    co_await router_.route(std::move(iq));
  }
}

asio::awaitable<bool> PushService::iq_answer(Element iq) {
  const std::string id(iq.attribute("id").value_or(""));
  if (!id.starts_with("push-")) {
    co_return false;
  }
  Sent entry;
  {
    std::lock_guard lock(mutex_);
    auto it = sent_.find(id);
    if (it == sent_.end()) {
      co_return false;
    }
    // Only the app server, answering to the user it was notified for, settles a notification.
    const auto from = Jid::parse(iq.attribute("from").value_or(""));
    const auto to = Jid::parse(iq.attribute("to").value_or(""));
    const auto app = Jid::parse(it->second.app_server);
    if (!from || !to || !app || to->bare_string() != it->second.user ||
        (from->full() != app->full() && from->bare_string() != app->full())) {
      co_return true;
    }
    entry = std::move(it->second);
    sent_.erase(it);
  }
  if (iq.attribute("type").value_or("") != "error") {
    co_return true;
  }
  // §6: an app server that refuses a notification no longer wants that device's; the client
  // registers again when it wants them.
  spdlog::info("push: {} refused a notification for {}; the registration goes", iq.attribute("from").value_or(""),
               entry.user);
  auto job = [this, entry] { return router_.storage().private_xml().remove(entry.user, entry.key); };
  co_await router_.workers().run(std::move(job));
  forget(entry.user);
  co_return true;
}

} // namespace parley::router::modules
