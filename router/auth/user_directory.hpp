#pragma once
// Who decides whether a password is right and whether a user exists: the storage's own
// accounts, or an external service.

#include "config/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}
namespace parley::core::async {
class WorkerPool;
}
namespace parley::storage {
class Storage;
}

namespace parley::router::auth {

/// A directory's answer to "is this password right?" or "does this user exist?".
enum class Answer {
  /// It cannot say now: storage or the authentication service is down, too slow or answered
  /// nonsense. A login then fails with <temporary-auth-failure/> (never succeeds), and a
  /// message that would have to be stored is not acknowledged. First, so that a
  /// value-initialized Answer is never a yes.
  unavailable,
  yes,
  no,
};

/// The accounts of the served domains. Users are JID localparts already prepared (PRECIS
/// UsernameCaseMapped), domains are served hosts, passwords already SASLprepped.
///
/// Threading: the coroutines may be awaited from any strand, concurrently; they never block
/// (storage runs on the worker pool, HTTP on the io_context) and resume on the caller's
/// executor. Outlives the Router and every session.
class UserDirectory {
public:
  virtual ~UserDirectory() = default;

  virtual boost::asio::awaitable<Answer> check_password(std::string user, std::string domain, std::string password) = 0;
  /// Whether messages, subscriptions and probes for user@domain have someone to go to. A
  /// `yes` guarantees a local row for the user (roster and offline storage need one).
  virtual boost::asio::awaitable<Answer> user_exists(std::string user, std::string domain) = 0;

  /// True when the accounts live outside Parley: there are no stored SCRAM keys (only PLAIN
  /// can be offered), and in-band registration and password changes are refused.
  virtual bool external() const noexcept = 0;

  /// Cancels outstanding calls to an external service; later calls answer `unavailable`.
  /// Idempotent, any thread.
  virtual void stop() {}
};

/// The directory `config.auth` asks for. The HTTP one sends its calls through `io`, and must
/// be destroyed before `io`. Fails (with a message for the log) when the token's environment
/// variable is named but unset.
boost::system::result<std::unique_ptr<UserDirectory>, std::string>
make_user_directory(const config::Config& config, boost::asio::io_context& io, storage::Storage& storage,
                    core::async::WorkerPool& workers);

} // namespace parley::router::auth
