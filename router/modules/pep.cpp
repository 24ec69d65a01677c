#include "router/modules/pep.hpp"

#include "core/async/worker_pool.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
#include "router/modules/archive_rules.hpp"
#include "router/modules/pep_rules.hpp"
#include "router/modules/private_xml.hpp"
#include "core/sasl/crypto.hpp"
#include "router/router.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace parley::router::modules {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::jid::Jid;
using core::stanza::stanza_errc;
using core::xml::Element;

namespace {

/// Capability sets and unanswered queries the service keeps at most; past that it starts over
/// (anyone can claim any number of verification strings).
constexpr std::size_t max_pending_queries = 10'000;
/// Bytes of feature names each of the two capability caches (verified, per resource) holds at
/// most; one answer is taken only up to these sizes (real clients list well under 200
/// features): whatever clients claim, the caches stay small.
constexpr std::size_t max_caps_cache_bytes = 8 * 1024 * 1024;
constexpr std::size_t max_caps_features = 500;
constexpr std::size_t max_caps_answer_bytes = 32 * 1024;

std::string_view type_of(const Element& stanza) { return stanza.attribute("type").value_or(""); }

storage::Timestamp now() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

bool valid_name(std::string_view name) { return !name.empty() && name.size() <= max_pep_name; }

stanza_errc storage_condition(const boost::system::error_code& ec) {
  if (ec == storage::storage_errc::not_found) {
    return stanza_errc::item_not_found;
  }
  if (ec == storage::storage_errc::invalid_argument) {
    return stanza_errc::bad_request;
  }
  return stanza_errc::internal_server_error;
}

/// The only child element of `e` (an item's payload); nullptr when none or several.
const Element* only_child(const Element& e, bool& several) {
  const Element* found = nullptr;
  several = false;
  for (const Element& c : e.children()) {
    if (found != nullptr) {
      several = true;
      return nullptr;
    }
    found = &c;
  }
  return found;
}

std::optional<Element> parse_payload(const storage::PepItem& item) {
  auto parsed = core::xml::parse_element(item.payload, ns::client);
  if (!parsed) {
    spdlog::error("pep: item {} cannot be parsed; skipping it", item.id);
    return std::nullopt;
  }
  return std::move(*parsed);
}

} // namespace

struct PepService::Published {
  boost::system::error_code error;
  std::string precondition; ///< set when the node exists with another configuration
  bool too_many_nodes = false;
  NodeConfig config;
};

PepService::PepService(Router& router) : router_(router) {}
PepService::~PepService() = default;

std::size_t PepService::known_caps() const {
  std::lock_guard lock(mutex_);
  return caps_.size() + resource_caps_.size();
}

PepService::Features PepService::features_of(const std::string& full, const Element* presence) const {
  if (presence == nullptr) {
    return nullptr;
  }
  const Element* c = presence->child("c", ns::caps);
  if (c == nullptr) {
    return nullptr;
  }
  const std::string ver(c->attribute("ver").value_or(""));
  std::lock_guard lock(mutex_);
  if (auto it = caps_.find(ver); it != caps_.end()) {
    return it->second;
  }
  if (auto it = resource_caps_.find(full); it != resource_caps_.end() && it->second.first == ver) {
    return it->second.second;
  }
  return nullptr;
}

asio::awaitable<bool> PepService::may_retrieve(const Jid& owner, const Jid& requester, const NodeConfig& config) {
  if (owner.bare_string() == requester.bare_string() || config.access == AccessModel::open) {
    co_return true;
  }
  if (config.access == AccessModel::whitelist) {
    co_return false; // the owner alone: this service keeps no other affiliations
  }
  // presence: those subscribed to the owner's presence (XEP-0060 §4.5).
  std::string user(owner.local());
  std::string contact(requester.bare_string());
  auto job = [this, user, contact] { return router_.storage().roster().get_item(user, contact); };
  auto item = co_await router_.workers().run(std::move(job));
  co_return item && (item->subscription == storage::Subscription::from ||
                     item->subscription == storage::Subscription::both);
}

template <class Make>
asio::awaitable<void> PepService::notify(Jid owner, const NodeConfig& config, std::string node, Make make) {
  const std::string interest = node + "+notify";
  const auto wants = [&](const ResourceState& res, const std::shared_ptr<Session>& s) {
    if (!res.available || !s) {
      return false;
    }
    const Features features = features_of(s->jid().full(), res.presence ? &*res.presence : nullptr);
    return features && std::binary_search(features->begin(), features->end(), interest);
  };
  // XEP-0163 §4.3.1: the owner's own resources, then the contacts the access model allows.
  for (const auto& res : router_.sessions().resources(owner)) {
    auto s = res.session.lock();
    if (wants(res, s)) {
      s->deliver(make(s->jid().full()));
    }
  }
  if (config.access == AccessModel::whitelist) {
    co_return;
  }
  std::string user(owner.local());
  auto job = [this, user] { return router_.storage().roster().subscribers(user); };
  auto subscribers = co_await router_.workers().run(std::move(job));
  if (!subscribers) {
    spdlog::warn("pep: cannot read the subscribers of {}: {}", owner.bare_string(), subscribers.error().message());
    co_return;
  }
  for (const auto& contact : *subscribers) {
    auto jid = Jid::parse(contact);
    if (!jid || !router_.is_local_host(jid->domain())) {
      continue;
    }
    const bool blocked = co_await router_.blocked_between(owner, *jid);
    if (blocked) {
      continue;
    }
    for (const auto& res : router_.sessions().resources(*jid)) {
      auto s = res.session.lock();
      if (wants(res, s)) {
        s->deliver(make(s->jid().full()));
      }
    }
  }
}

// ---- the iq entry point ---------------------------------------------------------------------

asio::awaitable<void> PepService::iq(std::shared_ptr<Session> sender, Element iq, Jid owner) {
  const Element* payload = iq.first_child();
  const bool own = sender->jid().bare_string() == owner.bare_string();
  const std::string_view type = type_of(iq);
  if (payload->ns() == pubsub_owner_ns) {
    if (!own) {
      sender->deliver(pubsub_error(iq, stanza_errc::forbidden, "", "only the owner configures their nodes"));
      co_return;
    }
    co_await owner_iq(sender, iq, owner, *payload);
    co_return;
  }
  // XEP-0060 §7, §6.5: one action element inside <pubsub/> (publish may bring its options).
  const Element* action = nullptr;
  for (const Element& child : payload->children()) {
    if (child.ns() != ns::pubsub || child.name() == "publish-options" || child.name() == "configure") {
      continue;
    }
    action = &child;
    break;
  }
  if (action == nullptr) {
    sender->deliver(core::stanza::make_error(iq, stanza_errc::bad_request, "pubsub needs an action"));
    co_return;
  }
  const std::string_view name = action->name();
  if (type == "get" && name == "items") {
    co_await retrieve(sender, iq, owner, *action);
  } else if (type == "set" && (name == "publish" || name == "retract" || name == "create") && !own) {
    // XEP-0163 §3: only the account publishes to its own service.
    sender->deliver(pubsub_error(iq, stanza_errc::forbidden, "", "only the owner publishes to their nodes"));
  } else if (type == "set" && name == "publish") {
    co_await publish(sender, iq, owner, *payload);
  } else if (type == "set" && name == "retract") {
    co_await retract(sender, iq, owner, *action);
  } else if (type == "set" && name == "create") {
    co_await create(sender, iq, owner, *payload);
  } else if (type == "get" && (name == "subscriptions" || name == "affiliations") && own) {
    // Explicit subscriptions are not kept (interest is "+notify"): none to list. The owner
    // is the only affiliate of each node.
    auto result = core::stanza::make_result(iq);
    Element& out = result.add_child(Element("pubsub", std::string(ns::pubsub)))
                       .add_child(Element(std::string(name), std::string(ns::pubsub)));
    if (name == "affiliations") {
      auto job = [this, o = std::string(owner.bare_string())] { return router_.storage().pep().nodes(o); };
      auto nodes = co_await router_.workers().run(std::move(job));
      if (!nodes) {
        sender->deliver(core::stanza::make_error(iq, storage_condition(nodes.error())));
        co_return;
      }
      for (const auto& node : *nodes) {
        Element& a = out.add_child(Element("affiliation", std::string(ns::pubsub)));
        a.set_attribute("node", node.name);
        a.set_attribute("affiliation", "owner");
      }
    }
    sender->deliver(std::move(result));
  } else {
    // XEP-0060 §6.1.3.x: subscriptions are implied by presence and "+notify" (XEP-0163 §4).
    sender->deliver(pubsub_error(iq, stanza_errc::feature_not_implemented, "unsupported",
                                 "this personal eventing service does not do " + std::string(name),
                                 name == "subscribe" || name == "unsubscribe" ? "subscribe" : name));
  }
}

// ---- publish (XEP-0060 §7.1, XEP-0163 §3) ----------------------------------------------------

asio::awaitable<void> PepService::publish(std::shared_ptr<Session> sender, Element iq, Jid owner,
                                          const Element& pubsub) {
  const Element* publish = pubsub.child("publish", ns::pubsub);
  const std::string node(publish->attribute("node").value_or(""));
  if (!valid_name(node)) {
    sender->deliver(pubsub_error(iq, stanza_errc::bad_request, "nodeid-required", "publish needs a node"));
    co_return;
  }
  std::vector<const Element*> items;
  for (const Element& item : publish->children("item", ns::pubsub)) {
    items.push_back(&item);
  }
  if (items.size() != 1) {
    // §7.1.3.6: PEP nodes are persistent and deliver payloads, so exactly one item.
    sender->deliver(pubsub_error(iq, stanza_errc::bad_request, items.empty() ? "item-required" : "invalid-payload",
                                 "publish one item at a time"));
    co_return;
  }
  bool several = false;
  const Element* payload = only_child(*items.front(), several);
  if (payload == nullptr) {
    sender->deliver(pubsub_error(iq, stanza_errc::bad_request, several ? "invalid-payload" : "payload-required",
                                 "an item carries exactly one payload element"));
    co_return;
  }
  std::string id(items.front()->attribute("id").value_or(""));
  if (id.empty()) {
    id = new_archive_id(); // §7.1.1: the service gives one
  }
  if (id.size() > max_pep_name) {
    sender->deliver(pubsub_error(iq, stanza_errc::bad_request, "invalid-payload", "item id too long"));
    co_return;
  }
  storage::PepItem item;
  item.id = id;
  item.payload = core::xml::serialize(*payload, ns::client);
  item.publisher = sender->jid().full();
  item.published = now();
  if (item.payload.size() > max_pep_payload) {
    sender->deliver(pubsub_error(iq, stanza_errc::not_acceptable, "payload-too-big",
                                 "items are limited to " + std::to_string(max_pep_payload / 1024) + " KiB"));
    co_return;
  }
  // §7.1.5: publish-options are the configuration of a node created now, and preconditions
  // on one that exists.
  std::optional<Element> options;
  if (const Element* po = pubsub.child("publish-options", ns::pubsub)) {
    if (const Element* x = po->child("x", ns::data_forms)) {
      options = *x;
    }
  }
  NodeConfig fresh;
  if (options) {
    if (auto bad = apply_form(*options, fresh)) {
      sender->deliver(pubsub_error(iq, stanza_errc::conflict, "precondition-not-met", *bad));
      co_return;
    }
  }
  const Published outcome = co_await store_item(owner, node, std::move(item), fresh, std::move(options));
  if (!outcome.precondition.empty()) {
    sender->deliver(pubsub_error(iq, stanza_errc::conflict, "precondition-not-met", outcome.precondition));
    co_return;
  }
  if (outcome.too_many_nodes) {
    sender->deliver(pubsub_error(iq, stanza_errc::not_allowed, "max-nodes-exceeded",
                                 "at most " + std::to_string(max_pep_nodes) + " nodes per account"));
    co_return;
  }
  if (outcome.error) {
    spdlog::warn("pep: cannot publish to {} of {}: {}", node, owner.bare_string(), outcome.error.message());
    sender->deliver(core::stanza::make_error(iq, storage_condition(outcome.error), "storage is unavailable"));
    co_return;
  }
  auto result = core::stanza::make_result(iq);
  Element& published = result.add_child(Element("pubsub", std::string(ns::pubsub)))
                           .add_child(Element("publish", std::string(ns::pubsub)));
  published.set_attribute("node", node);
  published.add_child(Element("item", std::string(ns::pubsub))).set_attribute("id", id);
  sender->deliver(std::move(result));
  const std::string owner_bare(owner.bare_string());
  const Element body = *payload;
  co_await notify(owner, outcome.config, node, [&](std::string_view to) {
    return event_message(owner_bare, to, node, id, &body);
  });
  if (node == avatar_metadata_node && outcome.config.persist_items) {
    co_await metadata_to_vcard(owner, body);
  }
}

asio::awaitable<PepService::Published> PepService::store_item(Jid owner, std::string node, storage::PepItem item,
                                                              NodeConfig fresh, std::optional<Element> options) {
  auto job = [this, o = std::string(owner.bare_string()), node, item, fresh, options]() {
    Published out;
    auto& store = router_.storage().pep();
    auto existing = store.node(o, node);
    if (existing) {
      out.config = parse_node_config(existing->config);
      if (options) {
        if (auto differs = check_preconditions(*options, out.config)) {
          out.precondition = *differs;
          return out;
        }
      }
    } else if (existing.error() == storage::storage_errc::not_found) {
      out.config = fresh;
      auto all = store.nodes(o);
      if (!all) {
        out.error = all.error();
        return out;
      }
      if (all->size() >= max_pep_nodes) {
        out.too_many_nodes = true;
        return out;
      }
    } else {
      out.error = existing.error();
      return out;
    }
    if (out.config.persist_items) {
      if (auto published = store.publish(o, node, serialize(out.config), item, out.config.max_items); !published) {
        out.error = published.error();
      }
    } else if (!existing) {
      // A transient node: notifications only (XEP-0060 §4.3); it exists for configuration.
      if (auto created = store.create_node(o, node, serialize(out.config), item.published);
          !created && created.error() != storage::storage_errc::conflict) {
        out.error = created.error();
      }
    }
    return out;
  };
  co_return co_await router_.workers().run(std::move(job));
}

// ---- avatars: the XEP-0398 conversion and the XEP-0153 hash in presence -----------------------

/// The key of the vCard in the PrivateStore (as router/modules/private_xml.cpp keeps it).
constexpr std::string_view vcard_key = "vcard";
/// Avatar hashes kept in memory at most (then the cache starts over).
constexpr std::size_t max_known_avatars = 100'000;

void PepService::remember_avatar(const std::string& bare, std::string hash) {
  std::lock_guard lock(mutex_);
  if (avatars_.size() >= max_known_avatars) {
    avatars_.clear();
  }
  avatars_[bare] = std::move(hash);
}

void PepService::forget(const std::string& bare) {
  std::lock_guard lock(mutex_);
  avatars_.erase(bare);
}

asio::awaitable<std::string> PepService::avatar_hash(Jid bare) {
  const std::string key(bare.bare_string());
  {
    std::lock_guard lock(mutex_);
    if (auto it = avatars_.find(key); it != avatars_.end()) {
      co_return it->second;
    }
  }
  auto job = [this, key] { return router_.storage().private_xml().get(key, vcard_key); };
  auto stored = co_await router_.workers().run(std::move(job));
  std::string hash;
  if (stored) {
    if (auto vcard = core::xml::parse_element(*stored)) {
      if (auto image = vcard_photo(*vcard)) {
        hash = sha1_hex(image->bytes);
      }
    }
  } else if (stored.error() != storage::storage_errc::not_found) {
    co_return std::string(); // storage down: no hash this time, and nothing cached
  }
  remember_avatar(key, hash);
  co_return hash;
}

asio::awaitable<void> PepService::stamp_presence(Element& presence, Jid bare) {
  const std::string hash = co_await avatar_hash(std::move(bare));
  if (!hash.empty()) {
    stamp_avatar_hash(presence, hash);
  }
}

asio::awaitable<void> PepService::metadata_to_vcard(Jid owner, Element metadata) {
  const std::string o(owner.bare_string());
  const auto info = stored_avatar_info(metadata);
  if (!info && metadata.first_child() != nullptr) {
    co_return; // only images hosted elsewhere: nothing the vCard can hold
  }
  struct Outcome {
    bool changed = false;
    std::string hash;
  };
  auto job = [this, o, info]() -> Outcome {
    auto& store = router_.storage();
    std::optional<AvatarImage> image;
    if (info) {
      // §3.1: the image is the data item with the same id; its SHA-1 must be that id.
      const std::vector<std::string> ids{info->id};
      auto items = store.pep().items_by_id(o, avatar_data_node, ids);
      if (!items || items->empty()) {
        return {};
      }
      auto data = core::xml::parse_element(items->front().payload, ns::client);
      if (!data) {
        return {};
      }
      std::string text;
      for (const char c : data->text()) {
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
          text += c;
        }
      }
      auto bytes = core::sasl::crypto::base64_decode(text);
      if (!bytes || sha1_hex(*bytes) != info->id) {
        spdlog::info("pep: the avatar {} of {} does not match its data; the vCard keeps its photo", info->id, o);
        return {};
      }
      image = AvatarImage{info->type.empty() ? "image/png" : info->type, std::move(*bytes)};
    }
    auto stored = store.private_xml().get(o, vcard_key);
    Element vcard("vCard", std::string(ns::vcard));
    if (stored) {
      if (auto parsed = core::xml::parse_element(*stored)) {
        vcard = std::move(*parsed);
      }
    } else if (stored.error() != storage::storage_errc::not_found) {
      return {};
    }
    const auto before = vcard_photo(vcard);
    if ((!before && !image) || (before && image && before->bytes == image->bytes && before->type == image->type)) {
      return Outcome{false, image ? info->id : std::string()};
    }
    const std::string xml = core::xml::serialize(with_photo(std::move(vcard), image));
    if (xml.size() > max_private_fragment) {
      return {};
    }
    if (auto put = store.private_xml().put(o, vcard_key, xml, now()); !put) {
      spdlog::warn("pep: cannot store the vCard of {}: {}", o, put.error().message());
      return {};
    }
    return Outcome{true, image ? info->id : std::string()};
  };
  const Outcome outcome = co_await router_.workers().run(std::move(job));
  if (outcome.changed || !outcome.hash.empty()) {
    remember_avatar(o, outcome.hash);
  }
}

asio::awaitable<void> PepService::vcard_stored(std::shared_ptr<Session> sender, Element vcard, std::string before) {
  const Jid owner = sender->jid().bare();
  const std::string o(owner.bare_string());
  const auto image = vcard_photo(vcard);
  std::string hash;
  if (image) {
    hash = sha1_hex(image->bytes);
  }
  remember_avatar(o, hash);
  if (hash == before) {
    co_return;
  }
  // §3.2: the data first, then the metadata (an empty one when the photo went: XEP-0084
  // §4.5), each with its notifications.
  if (image) {
    storage::PepItem data;
    data.id = hash;
    data.payload = core::xml::serialize(avatar_data_payload(*image), ns::client);
    data.publisher = o;
    data.published = now();
    if (data.payload.size() > max_pep_payload) {
      co_return; // larger than an item may be: left to the vCard
    }
    // Arguments named first: GCC 12 breaks class temporaries in a co_await full-expression.
    std::string data_node(avatar_data_node);
    NodeConfig defaults;
    std::optional<Element> no_options;
    const Published stored = co_await store_item(owner, std::move(data_node), std::move(data), std::move(defaults),
                                                  std::move(no_options));
    if (stored.error || stored.too_many_nodes) {
      co_return;
    }
  }
  // No conditional expressions of class type in this coroutine: GCC 12 miscompiles them.
  Element metadata("metadata", std::string(avatar_metadata_node));
  storage::PepItem meta;
  if (image) {
    metadata = avatar_metadata_payload(*image, hash);
    meta.id = hash;
  } else {
    meta.id = new_archive_id();
  }
  meta.payload = core::xml::serialize(metadata, ns::client);
  meta.publisher = o;
  meta.published = now();
  const std::string node(avatar_metadata_node);
  const std::string id = meta.id;
  NodeConfig defaults;
  std::optional<Element> no_options;
  const Published stored =
      co_await store_item(owner, node, std::move(meta), std::move(defaults), std::move(no_options));
  if (stored.error || stored.too_many_nodes) {
    co_return;
  }
  co_await notify(owner, stored.config, node,
                  [&](std::string_view to) { return event_message(o, to, node, id, &metadata); });
}

// ---- retrieve (XEP-0060 §6.5) ----------------------------------------------------------------

asio::awaitable<void> PepService::retrieve(std::shared_ptr<Session> sender, Element iq, Jid owner,
                                           const Element& items) {
  const std::string node(items.attribute("node").value_or(""));
  if (!valid_name(node)) {
    sender->deliver(pubsub_error(iq, stanza_errc::bad_request, "nodeid-required", "items needs a node"));
    co_return;
  }
  std::vector<std::string> ids;
  for (const Element& item : items.children("item", ns::pubsub)) {
    ids.emplace_back(item.attribute("id").value_or(""));
  }
  if (ids.size() > max_pep_items) {
    sender->deliver(core::stanza::make_error(iq, stanza_errc::not_acceptable, "too many item ids in one request"));
    co_return;
  }
  std::size_t max = 0;
  if (auto m = items.attribute("max_items")) {
    try {
      max = std::stoul(std::string(*m));
    } catch (...) {
      sender->deliver(core::stanza::make_error(iq, stanza_errc::bad_request, "max_items must be a number"));
      co_return;
    }
  }
  const std::string o(owner.bare_string());
  auto config_job = [this, o, node] { return router_.storage().pep().node(o, node); };
  auto found = co_await router_.workers().run(std::move(config_job));
  if (!found) {
    sender->deliver(core::stanza::make_error(iq, storage_condition(found.error())));
    co_return;
  }
  const NodeConfig config = parse_node_config(found->config);
  if (!co_await may_retrieve(owner, sender->jid(), config)) {
    // §6.5.7.x: presence-subscription-required, or closed-node for a whitelist.
    if (config.access == AccessModel::presence) {
      sender->deliver(pubsub_error(iq, stanza_errc::not_authorized, "presence-subscription-required"));
    } else {
      sender->deliver(pubsub_error(iq, stanza_errc::not_allowed, "closed-node"));
    }
    co_return;
  }
  auto items_job = [this, o, node, ids, max]() {
    auto& store = router_.storage().pep();
    return ids.empty() ? store.items(o, node, max) : store.items_by_id(o, node, ids);
  };
  auto stored = co_await router_.workers().run(std::move(items_job));
  if (!stored) {
    sender->deliver(core::stanza::make_error(iq, storage_condition(stored.error())));
    co_return;
  }
  if (!ids.empty() && stored->empty()) {
    sender->deliver(core::stanza::make_error(iq, stanza_errc::item_not_found));
    co_return;
  }
  auto result = core::stanza::make_result(iq);
  Element& out = result.add_child(Element("pubsub", std::string(ns::pubsub)))
                     .add_child(Element("items", std::string(ns::pubsub)));
  out.set_attribute("node", node);
  // Oldest first: the order in which they were published.
  for (auto it = stored->rbegin(); it != stored->rend(); ++it) {
    auto payload = parse_payload(*it);
    if (!payload) {
      continue;
    }
    Element& item = out.add_child(Element("item", std::string(ns::pubsub)));
    item.set_attribute("id", it->id);
    item.add_child(std::move(*payload));
  }
  sender->deliver(std::move(result));
}

// ---- retract (XEP-0060 §7.2) -----------------------------------------------------------------

asio::awaitable<void> PepService::retract(std::shared_ptr<Session> sender, Element iq, Jid owner,
                                          const Element& retract) {
  const std::string node(retract.attribute("node").value_or(""));
  if (!valid_name(node)) {
    sender->deliver(pubsub_error(iq, stanza_errc::bad_request, "nodeid-required", "retract needs a node"));
    co_return;
  }
  const Element* item = retract.child("item", ns::pubsub);
  std::string id;
  if (item != nullptr) {
    id = std::string(item->attribute("id").value_or(""));
  }
  if (id.empty()) {
    sender->deliver(pubsub_error(iq, stanza_errc::bad_request, "item-required", "retract needs an item id"));
    co_return;
  }
  const std::string o(owner.bare_string());
  struct Outcome {
    boost::system::error_code error;
    bool removed = false;
    NodeConfig config;
  };
  auto job = [this, o, node, id]() {
    Outcome out;
    auto& store = router_.storage().pep();
    auto found = store.node(o, node);
    if (!found) {
      out.error = found.error();
      return out;
    }
    out.config = parse_node_config(found->config);
    auto removed = store.retract(o, node, id);
    if (!removed) {
      out.error = removed.error();
    } else {
      out.removed = *removed;
    }
    return out;
  };
  const Outcome outcome = co_await router_.workers().run(std::move(job));
  if (outcome.error || !outcome.removed) {
    sender->deliver(core::stanza::make_error(
        iq, outcome.error ? storage_condition(outcome.error) : stanza_errc::item_not_found)); // §7.2.3.3
    co_return;
  }
  sender->deliver(core::stanza::make_result(iq));
  const std::string_view flag = retract.attribute("notify").value_or("");
  if (outcome.config.notify_retract || flag == "true" || flag == "1") {
    co_await notify(owner, outcome.config, node,
                    [&](std::string_view to) { return retract_message(o, to, node, id); });
  }
}

// ---- create (XEP-0060 §8.1) ------------------------------------------------------------------

asio::awaitable<void> PepService::create(std::shared_ptr<Session> sender, Element iq, Jid owner,
                                         const Element& pubsub) {
  const Element* create = pubsub.child("create", ns::pubsub);
  const std::string node(create->attribute("node").value_or(""));
  if (!valid_name(node)) {
    // §8.1.3: instant nodes make no sense in a personal service whose nodes are namespaces.
    sender->deliver(pubsub_error(iq, stanza_errc::not_acceptable, "nodeid-required", "a PEP node needs a name"));
    co_return;
  }
  NodeConfig config;
  if (const Element* configure = pubsub.child("configure", ns::pubsub)) {
    if (const Element* x = configure->child("x", ns::data_forms)) {
      if (auto bad = apply_form(*x, config)) {
        sender->deliver(core::stanza::make_error(iq, stanza_errc::not_acceptable, *bad));
        co_return;
      }
    }
  }
  auto job = [this, o = std::string(owner.bare_string()), node, config]() -> boost::system::result<void> {
    auto& store = router_.storage().pep();
    auto all = store.nodes(o);
    if (!all) {
      return all.error();
    }
    if (all->size() >= max_pep_nodes) {
      return storage::storage_errc::quota_exceeded;
    }
    return store.create_node(o, node, serialize(config), now());
  };
  auto created = co_await router_.workers().run(std::move(job));
  if (!created) {
    if (created.error() == storage::storage_errc::conflict) {
      sender->deliver(core::stanza::make_error(iq, stanza_errc::conflict, "the node exists")); // §8.1.3
    } else if (created.error() == storage::storage_errc::quota_exceeded) {
      sender->deliver(pubsub_error(iq, stanza_errc::not_allowed, "max-nodes-exceeded"));
    } else {
      sender->deliver(core::stanza::make_error(iq, storage_condition(created.error())));
    }
    co_return;
  }
  sender->deliver(core::stanza::make_result(iq));
}

// ---- owner use cases (XEP-0060 §8) -----------------------------------------------------------

asio::awaitable<void> PepService::owner_iq(std::shared_ptr<Session> sender, Element iq, Jid owner,
                                           const Element& payload) {
  const Element* action = payload.first_child();
  const std::string_view type = type_of(iq);
  if (action == nullptr || action->ns() != pubsub_owner_ns) {
    sender->deliver(core::stanza::make_error(iq, stanza_errc::bad_request, "pubsub#owner needs an action"));
    co_return;
  }
  const std::string o(owner.bare_string());
  const std::string_view name = action->name();
  if (type == "get" && name == "default") {
    auto result = core::stanza::make_result(iq);
    result.add_child(Element("pubsub", std::string(pubsub_owner_ns)))
        .add_child(Element("default", std::string(pubsub_owner_ns)))
        .add_child(config_form(NodeConfig{}));
    sender->deliver(std::move(result));
    co_return;
  }
  const std::string node(action->attribute("node").value_or(""));
  if (!valid_name(node)) {
    sender->deliver(pubsub_error(iq, stanza_errc::bad_request, "nodeid-required"));
    co_return;
  }
  auto read_job = [this, o, node] { return router_.storage().pep().node(o, node); };
  auto found = co_await router_.workers().run(std::move(read_job));
  if (!found) {
    sender->deliver(core::stanza::make_error(iq, storage_condition(found.error())));
    co_return;
  }
  NodeConfig config = parse_node_config(found->config);
  if (name == "configure" && type == "get") {
    auto result = core::stanza::make_result(iq);
    Element& configure = result.add_child(Element("pubsub", std::string(pubsub_owner_ns)))
                             .add_child(Element("configure", std::string(pubsub_owner_ns)));
    configure.set_attribute("node", node);
    configure.add_child(config_form(config));
    sender->deliver(std::move(result));
    co_return;
  }
  if (name == "configure" && type == "set") {
    const Element* x = action->child("x", ns::data_forms);
    if (x == nullptr || x->attribute("type").value_or("") == "cancel") {
      sender->deliver(core::stanza::make_result(iq)); // §8.2.5: cancelled, nothing changes
      co_return;
    }
    if (auto bad = apply_form(*x, config)) {
      sender->deliver(core::stanza::make_error(iq, stanza_errc::not_acceptable, *bad)); // §8.2.5.3
      co_return;
    }
    auto job = [this, o, node, text = serialize(config), max = config.max_items]() -> boost::system::result<void> {
      auto& store = router_.storage().pep();
      if (auto configured = store.configure_node(o, node, text); !configured) {
        return configured.error();
      }
      // A smaller max_items applies at once: the oldest items beyond it go.
      auto items = store.items(o, node, 0);
      if (!items) {
        return items.error();
      }
      for (std::size_t i = max; i < items->size(); ++i) {
        if (auto removed = store.retract(o, node, (*items)[i].id); !removed) {
          return removed.error();
        }
      }
      return {};
    };
    auto configured = co_await router_.workers().run(std::move(job));
    if (configured) {
      sender->deliver(core::stanza::make_result(iq));
    } else {
      sender->deliver(core::stanza::make_error(iq, storage_condition(configured.error())));
    }
    co_return;
  }
  if ((name == "delete" || name == "purge") && type == "set") {
    const bool del = name == "delete";
    auto job = [this, o, node, del]() -> boost::system::result<void> {
      auto& store = router_.storage().pep();
      if (del) {
        auto deleted = store.delete_node(o, node);
        if (!deleted) {
          return deleted.error();
        }
        return {};
      }
      auto purged = store.purge(o, node);
      if (!purged) {
        return purged.error();
      }
      return {};
    };
    auto done = co_await router_.workers().run(std::move(job));
    if (!done) {
      sender->deliver(core::stanza::make_error(iq, storage_condition(done.error())));
      co_return;
    }
    sender->deliver(core::stanza::make_result(iq));
    // §8.4.2, §8.5.2: subscribers learn that the node was deleted or purged.
    if (!del || config.notify_delete) {
      const std::string what(name);
      co_await notify(owner, config, node, [&](std::string_view to) { return node_event_message(o, to, what, node); });
    }
    co_return;
  }
  sender->deliver(pubsub_error(iq, stanza_errc::feature_not_implemented, "unsupported",
                               "this personal eventing service does not do " + std::string(name), name));
}

// ---- disco#items (XEP-0060 §5.2) -------------------------------------------------------------

asio::awaitable<Element> PepService::disco_items(Element iq, Jid owner, Jid requester) {
  auto job = [this, o = std::string(owner.bare_string())] { return router_.storage().pep().nodes(o); };
  auto nodes = co_await router_.workers().run(std::move(job));
  if (!nodes) {
    co_return core::stanza::make_error(iq, storage_condition(nodes.error()));
  }
  auto result = core::stanza::make_result(iq);
  Element& query = result.add_child(Element("query", std::string(ns::disco_items)));
  std::optional<bool> subscribed; // read once, for presence-model nodes
  for (const auto& node : *nodes) {
    const NodeConfig config = parse_node_config(node.config);
    bool visible = owner.bare_string() == requester.bare_string() || config.access == AccessModel::open;
    if (!visible && config.access == AccessModel::presence) {
      if (!subscribed) {
        subscribed = co_await may_retrieve(owner, requester, config);
      }
      visible = *subscribed;
    }
    if (visible) {
      Element& item = query.add_child(Element("item", std::string(ns::disco_items)));
      item.set_attribute("jid", std::string(owner.bare_string()));
      item.set_attribute("node", node.name);
    }
  }
  co_return result;
}

// ---- entity capabilities and the last items ---------------------------------------------------

asio::awaitable<void> PepService::available(std::shared_ptr<Session> sender, Element presence, bool send_last) {
  const Element* c = presence.child("c", ns::caps);
  if (c == nullptr || !c->attribute("hash") || !c->attribute("ver") || !c->attribute("node")) {
    co_return; // no capabilities (or the legacy form without a hash): no "+notify" known
  }
  const std::string full = sender->jid().full();
  if (Features known = features_of(full, &presence)) {
    if (send_last) {
      co_await send_last_items(sender, std::move(known));
    }
    co_return;
  }
  // XEP-0115 §6.2: ask the client which features hide behind its verification string.
  const std::string ver(c->attribute("ver").value_or(""));
  const std::string id = "pep-caps-" + std::to_string(++counter_);
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() >= max_pending_queries) {
      pending_.clear();
    }
    pending_[id] = Pending{full, ver, std::string(c->attribute("hash").value_or("")), send_last};
  }
  Element query("iq", std::string(ns::client));
  query.set_attribute("type", "get");
  query.set_attribute("id", id);
  query.set_attribute("from", std::string(sender->jid().domain()));
  query.set_attribute("to", full);
  query.add_child(Element("query", std::string(ns::disco_info)))
      .set_attribute("node", std::string(c->attribute("node").value_or("")) + "#" + ver);
  sender->deliver(std::move(query));
}

asio::awaitable<bool> PepService::iq_answer(Element iq) {
  const std::string id(iq.attribute("id").value_or(""));
  if (!id.starts_with("pep-caps-")) {
    co_return false;
  }
  Pending pending;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) {
      co_return false;
    }
    pending = std::move(it->second);
    pending_.erase(it);
  }
  // The answer must come from the resource that was asked.
  if (iq.attribute("from").value_or("") != pending.full) {
    co_return true;
  }
  const Element* query = iq.child("query", ns::disco_info);
  if (type_of(iq) != "result" || query == nullptr) {
    co_return true; // no answer, no interests: no notifications for that resource
  }
  std::vector<std::string> listed = disco_features(*query);
  std::size_t bytes = 0;
  for (const auto& f : listed) {
    bytes += f.size();
  }
  if (listed.size() > max_caps_features || bytes > max_caps_answer_bytes) {
    co_return true; // more than any client has: taken as no interests
  }
  auto features = std::make_shared<const std::vector<std::string>>(std::move(listed));
  // §5.4: a verified answer serves everyone claiming the same string; one that does not
  // verify serves only the resource that gave it (and replaces what it said before).
  const auto s = caps_verification_string(*query);
  std::optional<std::string> hashed;
  if (s) {
    hashed = caps_hash(pending.hash, *s);
  }
  const bool verified = hashed && *hashed == pending.ver;
  {
    std::lock_guard lock(mutex_);
    if (verified) {
      if (caps_bytes_ + bytes > max_caps_cache_bytes) {
        caps_.clear();
        caps_bytes_ = 0;
      }
      if (caps_.try_emplace(pending.ver, features).second) {
        caps_bytes_ += bytes;
      }
    } else {
      if (resource_caps_bytes_ + bytes > max_caps_cache_bytes) {
        resource_caps_.clear();
        resource_caps_bytes_ = 0;
      }
      resource_caps_[pending.full] = {pending.ver, features};
      resource_caps_bytes_ += bytes;
    }
  }
  if (!pending.send_last) {
    co_return true;
  }
  auto jid = Jid::parse(pending.full);
  if (!jid) {
    co_return true;
  }
  if (auto session = router_.sessions().find(*jid)) {
    co_await send_last_items(std::move(session), std::move(features));
  }
  co_return true;
}

asio::awaitable<void> PepService::send_last_items(std::shared_ptr<Session> session, Features features) {
  std::set<std::string, std::less<>> interests;
  for (const auto& f : *features) {
    if (f.ends_with("+notify")) {
      interests.insert(f.substr(0, f.size() - 7));
    }
  }
  if (interests.empty()) {
    co_return;
  }
  const Jid me = session->jid().bare();
  const std::string own(me.bare_string());
  std::string user(me.local());
  auto job = [this, user] { return router_.storage().roster().subscriptions(user); };
  auto subscriptions = co_await router_.workers().run(std::move(job));
  std::vector<std::string> owners{own};
  if (subscriptions) {
    for (const auto& contact : *subscriptions) {
      auto jid = Jid::parse(contact);
      if (!jid || !router_.is_local_host(jid->domain())) {
        continue;
      }
      const bool blocked = co_await router_.blocked_between(me, *jid);
      if (!blocked) {
        owners.push_back(std::string(jid->bare_string()));
      }
    }
  }
  auto last_job = [this, owners] { return router_.storage().pep().last_items(owners); };
  auto last = co_await router_.workers().run(std::move(last_job));
  if (!last) {
    spdlog::warn("pep: cannot read the last items for {}: {}", own, last.error().message());
    co_return;
  }
  const std::string to = session->jid().full();
  for (const auto& entry : *last) {
    if (!interests.contains(entry.node.name)) {
      continue;
    }
    const NodeConfig config = parse_node_config(entry.node.config);
    // The owner's resources get everything; a contact (whose subscription is why it is
    // listed) what the access model allows.
    if (!config.send_last || (config.access == AccessModel::whitelist && entry.owner != own)) {
      continue;
    }
    auto payload = parse_payload(entry.item);
    if (payload) {
      session->deliver(event_message(entry.owner, to, entry.node.name, entry.item.id, &*payload));
    }
  }
}

} // namespace parley::router::modules
