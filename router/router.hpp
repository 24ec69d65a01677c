#pragma once

#include "config/config.hpp"
#include "core/jid/jid.hpp"
#include "core/xml/element.hpp"
#include "router/auth/user_directory.hpp"
#include "router/domain_handler.hpp"
#include "router/session_manager.hpp"
#include "storage/offline_message.hpp"
#include "storage/roster_item.hpp"
#include "storage/roster_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::core::async {
class WorkerPool;
}
namespace parley::storage {
class Storage;
}
namespace parley::router::modules {
class MessageArchive;
class PepService;
class PushService;
} // namespace parley::router::modules

namespace parley::router {

/// Routes stanzas by the domain of `to` (RFC 6120 §10, RFC 6121 §8.5) and hosts the local
/// services of each served domain: roster, presence and subscriptions, offline storage,
/// service discovery, ping and version.
///
/// Every coroutine here runs on the calling session's strand and never blocks: storage calls
/// go to the worker pool. Delivery to other sessions goes through Session::deliver.
/// What became of a stanza handed to the router.
enum class Disposition {
  /// Delivered to a session, stored, answered, or dropped by the rules: the sender may count it
  /// as handled (XEP-0198 h, HTTP 2xx, SMTP 250).
  handled,
  /// It had to be stored and storage is unavailable. The sender got a `wait` error if it can
  /// receive one; the stanza must not be acknowledged ("acknowledged means durable"): no SM
  /// count, HTTP 503, SMTP 452.
  not_stored,
  /// Refused for good and answered with an error: no such user, offline storage full. For a
  /// client the error is its answer (and counts as handled); a gateway reports it outward
  /// (HTTP 4xx, SMTP 5xx) instead of acknowledging.
  refused,
};

class Router {
public:
  /// `users` decides who exists (and, for the c2s streams, whose password is right).
  Router(const config::Config& config, storage::Storage& storage, core::async::WorkerPool& workers,
         auth::UserDirectory& users);
  ~Router();

  SessionManager& sessions() noexcept { return sessions_; }
  bool is_local_host(std::string_view domain) const noexcept;

  /// Hands every stanza addressed to `domain` (or a JID in it) to `handler`. Its JIDs are
  /// contacts that users can subscribe to: subscriptions are approved at once and they show
  /// as available (XEP-0100 §4.1 style). Call before the server starts; `domain` must not be
  /// a local host.
  void add_domain(std::string domain, std::shared_ptr<DomainHandler> handler);
  /// The handler of `domain`, or null.
  DomainHandler* domain_handler(std::string_view domain) const noexcept;
  /// Lets go of the domain handlers (at shutdown, once nothing routes any more), so that their
  /// owners destroy them while the io_context they use is still there.
  void clear_domains() noexcept;
  const config::Config& config() const noexcept { return config_; }
  storage::Storage& storage() noexcept { return storage_; }
  core::async::WorkerPool& workers() noexcept { return workers_; }
  auth::UserDirectory& users() noexcept { return users_; }
  /// The message archives (XEP-0313) of users and chat rooms.
  modules::MessageArchive& archive() noexcept;
  /// The personal eventing service (XEP-0163) at every account.
  modules::PepService& pep() noexcept;
  /// Push notifications (XEP-0357) for messages stored while no resource is available.
  modules::PushService& push() noexcept;
  /// Whether either local account blocks the other (XEP-0191); false for JIDs not of ours.
  boost::asio::awaitable<bool> blocked_between(core::jid::Jid a, core::jid::Jid b);
  /// An account was deleted outside the router (the admin API): what the router keeps in
  /// memory about `bare` (its block list, its archiving preferences) goes. Any thread.
  void forget_user(const std::string& bare);
  /// The features of the server's disco#info (XEP-0030): exactly what is implemented.
  std::vector<std::string_view> server_features() const;
  /// XEP-0115 entity capabilities of the server: the node and the verification string (sha-1)
  /// of its disco#info, for <c/> in the stream features.
  static constexpr std::string_view caps_node = "urn:parley:server";
  const std::string& caps_ver() const noexcept { return caps_ver_; }

  /// A stanza from a bound client whose `from` the session has stamped with its full JID.
  boost::asio::awaitable<Disposition> from_client(std::shared_ptr<Session> sender, core::xml::Element stanza);

  /// A stanza the server itself (or a gateway) originates; `from` must be set. With `once`, a
  /// message that goes to offline storage records that key in the same transaction, and one
  /// whose key is recorded already is not stored again (handled): see OfflineStore::push.
  boost::asio::awaitable<Disposition> route(core::xml::Element stanza,
                                            std::optional<storage::DeliveryKey> once = std::nullopt);

  /// Totals since start, for the admin API's stats (the same counters /metrics shows).
  struct Counts {
    std::uint64_t stanzas_in = 0;  ///< received from client sessions
    std::uint64_t stanzas_out = 0; ///< delivered to client sessions
    std::uint64_t routed = 0;      ///< stanzas that went through routing to a disposition
  };
  static Counts counts() noexcept;

  /// A roster change made outside the user's sessions (the admin API) is pushed to the
  /// resources of `owner` that asked for the roster (RFC 6121 §2.1.6), with the roster's new
  /// version. Any thread.
  void push_roster(const core::jid::Jid& owner, const storage::RosterItem& item, bool removed,
                   storage::RosterVersion version);

  /// The session has ended: broadcast unavailable presence if it was available.
  boost::asio::awaitable<void> session_ended(std::shared_ptr<Session> session);

private:
  struct Impl;
  /// What outlives one routed stanza: caches and the archive.
  struct Shared;
  const config::Config& config_;
  storage::Storage& storage_;
  core::async::WorkerPool& workers_;
  auth::UserDirectory& users_;
  SessionManager sessions_;
  std::vector<std::string> hosts_;
  std::map<std::string, std::shared_ptr<DomainHandler>, std::less<>> domains_;
  std::unique_ptr<Shared> shared_;
  std::string caps_ver_;
};

} // namespace parley::router
