#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace parley::router::auth {

/// Recent answers of an external authentication service, remembered for a short while so that
/// a burst of logins or messages does not become a burst of calls, and so that a user who
/// just logged in can log in again while the service is briefly down.
///
/// Only a "yes" is remembered for a password, as an HMAC-SHA-256 of user, domain and password
/// under a random key drawn for this cache (so never in the clear, and useless outside this
/// process); a wrong password is asked about every time. User existence is remembered both
/// ways. Memory is bounded: past `max_entries` per kind, expired entries are dropped, and if
/// that is not enough, everything.
///
/// Thread-safe. `now` is a parameter for the tests.
class AnswerCache {
public:
  using Clock = std::chrono::steady_clock;

  /// A zero `ttl` remembers nothing.
  explicit AnswerCache(std::chrono::seconds ttl, std::size_t max_entries = 100'000);

  /// True when this very password was confirmed for user@domain within the ttl.
  bool password_confirmed(std::string_view user, std::string_view domain, std::string_view password,
                          Clock::time_point now = Clock::now()) const;
  void confirm_password(std::string_view user, std::string_view domain, std::string_view password,
                        Clock::time_point now = Clock::now());

  /// The remembered answer on whether user@domain exists, if one is fresh.
  std::optional<bool> exists(std::string_view user, std::string_view domain,
                             Clock::time_point now = Clock::now()) const;
  void remember_exists(std::string_view user, std::string_view domain, bool exists,
                       Clock::time_point now = Clock::now());

  /// Entries currently held (fresh or not), for tests.
  std::size_t size() const;

private:
  struct PasswordEntry {
    std::string digest;
    Clock::time_point expires;
  };
  struct ExistsEntry {
    bool exists = false;
    Clock::time_point expires;
  };

  std::string digest(std::string_view user, std::string_view domain, std::string_view password) const;
  template <class Map> void make_room(Map& map, Clock::time_point now);

  const std::chrono::seconds ttl_;
  const std::size_t max_entries_;
  const std::string key_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, PasswordEntry> passwords_;
  std::unordered_map<std::string, ExistsEntry> exists_;
};

} // namespace parley::router::auth
