#pragma once

#include "storage/scram_credentials.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// Local user accounts and their SCRAM credentials. Passwords are never stored.
///
/// Usernames are JID localparts already prepared by the caller (PRECIS UsernameCaseMapped);
/// they are stored and compared byte for byte, exactly as given.
///
/// Threading: every call blocks on disk I/O. Call only from the worker pool
/// (`core::async::WorkerPool::run`), never from an I/O thread. Calls are safe concurrently from
/// any number of worker threads. No call throws; failures come back as storage_errc.
class UserStore {
public:
  virtual ~UserStore() = default;

  /// Creates `username` with one credential set per SASL mechanism (possibly none).
  /// conflict if the user exists; invalid_argument for an empty username, a credential with an
  /// empty mechanism, salt or key, zero iterations, or a mechanism given twice.
  virtual boost::system::result<void> create_user(std::string_view username,
                                                  const std::vector<ScramCredentials>& credentials) = 0;

  /// Replaces every credential of `username` with `credentials` (a password change).
  /// not_found if the user does not exist; invalid_argument as for create_user.
  virtual boost::system::result<void> set_credentials(std::string_view username,
                                                      const std::vector<ScramCredentials>& credentials) = 0;

  /// The credentials of `username` for `mechanism`; not_found if either is unknown.
  virtual boost::system::result<ScramCredentials> get_credentials(std::string_view username,
                                                                  std::string_view mechanism) = 0;

  /// Every credential set of `username`, ordered by mechanism (for copying between backends).
  /// not_found if the user does not exist.
  virtual boost::system::result<std::vector<ScramCredentials>> list_credentials(std::string_view username) = 0;

  virtual boost::system::result<bool> user_exists(std::string_view username) = 0;

  /// Deletes the user and everything stored for them: credentials, roster, roster version,
  /// offline messages (and whatever later concerns keep per user). not_found if unknown.
  /// Roster items of *other* users that point at this user are left alone.
  virtual boost::system::result<void> delete_user(std::string_view username) = 0;

  /// One page of usernames in ascending byte order, starting strictly after `after` (an empty
  /// `after` starts at the beginning). The last name of a page is the cursor for the next one;
  /// a page shorter than `limit` is the last. invalid_argument if `limit` is 0.
  virtual boost::system::result<std::vector<std::string>> list_users(std::string_view after, std::size_t limit) = 0;

  virtual boost::system::result<std::uint64_t> count_users() = 0;
};

} // namespace parley::storage
