#pragma once
// The personal eventing service (XEP-0163) at every account's bare JID: the XEP-0060 subset
// clients rely on (publish with publish-options, retrieve, retract, create, configure,
// delete, purge), notifications filtered by the "+notify" features of each resource's entity
// capabilities (XEP-0115), the last items sent when a resource comes online, and the access
// models presence, open and whitelist. Avatars (XEP-0084), OMEMO device lists and bundles
// (XEP-0384) and bookmarks (XEP-0402) are nodes like any other.

#include "core/jid/jid.hpp"
#include "core/xml/element.hpp"
#include "router/modules/pep_rules.hpp"
#include "storage/pep_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace parley::router {
class Router;
class Session;
} // namespace parley::router

namespace parley::router::modules {

struct NodeConfig;

class PepService {
public:
  explicit PepService(Router& router);
  ~PepService();
  PepService(const PepService&) = delete;
  PepService& operator=(const PepService&) = delete;

  /// An iq get or set with a pubsub or pubsub#owner payload from the local user `sender` to the
  /// bare JID `owner` (their own, or another local user's that exists): answered to `sender`.
  boost::asio::awaitable<void> iq(std::shared_ptr<Session> sender, core::xml::Element iq, core::jid::Jid owner);

  /// The disco#items answer for `owner`'s bare JID: the nodes `requester` may retrieve.
  boost::asio::awaitable<core::xml::Element> disco_items(core::xml::Element iq, core::jid::Jid owner,
                                                         core::jid::Jid requester);

  /// An available presence `sender` has just broadcast. Learns its entity capabilities (asks
  /// the client when they are new) and, when `send_last`, sends the last item of each node
  /// of its contacts (and its own) that it has a "+notify" interest in (XEP-0163 §4.3.2).
  boost::asio::awaitable<void> available(std::shared_ptr<Session> sender, core::xml::Element presence, bool send_last);

  /// An iq result or error addressed to the server: true when it answered one of the
  /// service's capability queries (and was taken care of).
  boost::asio::awaitable<bool> iq_answer(core::xml::Element iq);

  /// How many capability sets are known (for tests and metrics).
  std::size_t known_caps() const;

  /// XEP-0398 §4: the user's avatar hash in an available presence they send (broadcast or
  /// directed, chat room joins included).
  boost::asio::awaitable<void> stamp_presence(core::xml::Element& presence, core::jid::Jid bare);
  /// XEP-0398 §3.2: the user has just stored `vcard` as their own: its photo becomes their
  /// XEP-0084 avatar (data, then metadata, with notifications), unless its hash is `before`
  /// (avatar_hash() read before the vCard was stored).
  boost::asio::awaitable<void> vcard_stored(std::shared_ptr<Session> sender, core::xml::Element vcard,
                                            std::string before);
  /// The user's avatar hash ("" for none), read from the vCard on first use.
  boost::asio::awaitable<std::string> avatar_hash(core::jid::Jid bare);
  /// The user's account is gone: what is cached about it goes too.
  void forget(const std::string& bare);

private:
  using Features = std::shared_ptr<const std::vector<std::string>>;
  struct Pending {
    std::string full;      ///< the resource asked
    std::string ver;       ///< its claimed verification string
    std::string hash;      ///< the hash function it named
    bool send_last = false;
  };

  Features features_of(const std::string& full, const core::xml::Element* presence) const;
  boost::asio::awaitable<void> send_last_items(std::shared_ptr<Session> session, Features features);
  /// Every available resource entitled to and interested in `node` of `owner` gets make(to).
  template <class Make>
  boost::asio::awaitable<void> notify(core::jid::Jid owner, const NodeConfig& config, std::string node, Make make);
  boost::asio::awaitable<bool> may_retrieve(const core::jid::Jid& owner, const core::jid::Jid& requester,
                                            const NodeConfig& config);

  boost::asio::awaitable<void> publish(std::shared_ptr<Session> sender, core::xml::Element iq, core::jid::Jid owner,
                                       const core::xml::Element& pubsub);
  struct Published;
  /// Stores a published item (creating the node with `fresh`, or checking `options` against
  /// an existing node) on the worker pool.
  boost::asio::awaitable<Published> store_item(core::jid::Jid owner, std::string node, storage::PepItem item,
                                               NodeConfig fresh, std::optional<core::xml::Element> options);
  /// XEP-0398 §3.1: a metadata item was published: its image goes into the vCard.
  boost::asio::awaitable<void> metadata_to_vcard(core::jid::Jid owner, core::xml::Element metadata);
  void remember_avatar(const std::string& bare, std::string hash);
  boost::asio::awaitable<void> retrieve(std::shared_ptr<Session> sender, core::xml::Element iq, core::jid::Jid owner,
                                        const core::xml::Element& items);
  boost::asio::awaitable<void> retract(std::shared_ptr<Session> sender, core::xml::Element iq, core::jid::Jid owner,
                                       const core::xml::Element& retract);
  boost::asio::awaitable<void> create(std::shared_ptr<Session> sender, core::xml::Element iq, core::jid::Jid owner,
                                      const core::xml::Element& pubsub);
  boost::asio::awaitable<void> owner_iq(std::shared_ptr<Session> sender, core::xml::Element iq, core::jid::Jid owner,
                                        const core::xml::Element& payload);

  Router& router_;
  mutable std::mutex mutex_;
  /// Feature sets by verification string (verified answers) ...
  std::unordered_map<std::string, Features> caps_;
  std::size_t caps_bytes_ = 0;
  /// ... and by full JID for answers that did not verify (they serve that resource only),
  /// with the verification string they were for.
  std::unordered_map<std::string, std::pair<std::string, Features>> resource_caps_;
  std::size_t resource_caps_bytes_ = 0;
  std::unordered_map<std::string, Pending> pending_;
  /// Avatar hashes by bare JID ("" = no avatar).
  std::unordered_map<std::string, std::string> avatars_;
  std::atomic<std::uint64_t> counter_{0};
};

} // namespace parley::router::modules
