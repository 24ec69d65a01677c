#pragma once
// Push notifications (XEP-0357), the user's server side: clients register app servers with
// <enable/> (and drop them with <disable/>); when a message for the user has to be stored
// because no resource is available, each registered app server gets a notification published
// to its node, with the summary form of §5 and the publish-options the client gave.
//
// Registrations are kept in the PrivateStore under "push JID NODE" keys (the <enable/>
// element as the client sent it), so they survive restarts and go with the account.

#include "core/jid/jid.hpp"
#include "core/xml/element.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::router {
class Router;
class Session;
} // namespace parley::router

namespace parley::router::modules {

inline constexpr std::string_view push_ns = "urn:xmpp:push:0";

class PushService {
public:
  explicit PushService(Router& router);
  PushService(const PushService&) = delete;
  PushService& operator=(const PushService&) = delete;

  /// <enable/> or <disable/> from a resource of the user (an iq set to their own account).
  boost::asio::awaitable<void> iq(std::shared_ptr<Session> sender, core::xml::Element iq);

  /// `message` was stored for the local user `bare` (no resource available): notifies each
  /// registered app server (XEP-0357 §5).
  boost::asio::awaitable<void> message_stored(core::jid::Jid bare, core::xml::Element message);

  /// A message reached a session of `bare` that waits to be resumed (XEP-0198): notifies the
  /// registrations that session's client enabled (`keys`), and no others: the user's other
  /// devices may be online and have it already.
  boost::asio::awaitable<void> session_waiting(core::jid::Jid bare, core::xml::Element message,
                                               std::vector<std::string> keys);

  /// An iq result or error addressed to a user's bare JID: true when it answered one of the
  /// service's notifications. An error means the app server refuses that registration, which
  /// is then dropped (§6).
  boost::asio::awaitable<bool> iq_answer(core::xml::Element iq);

  /// The account is gone: what is cached about it goes too.
  void forget(const std::string& bare);

private:
  struct Registration {
    std::string key;  ///< in the PrivateStore
    std::string jid;  ///< the app server
    std::string node; ///< its node for this device
    std::optional<core::xml::Element> options;
  };
  using Registrations = std::shared_ptr<const std::vector<Registration>>;
  boost::asio::awaitable<Registrations> registrations(std::string bare);
  /// Publishes the summary of `message` to each registration of `bare`, or to those in `only`.
  boost::asio::awaitable<void> notify(core::jid::Jid bare, core::xml::Element message,
                                      std::optional<std::vector<std::string>> only);

  Router& router_;
  std::mutex mutex_;
  std::unordered_map<std::string, Registrations> cache_;
  /// Notifications awaiting their answer, by iq id (unguessable).
  struct Sent {
    std::string user;       ///< bare JID
    std::string key;        ///< of the registration
    std::string app_server; ///< who must answer
  };
  std::unordered_map<std::string, Sent> sent_;
  std::atomic<std::uint64_t> counter_{0};
};

} // namespace parley::router::modules
