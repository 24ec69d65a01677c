#include "router/auth/answer_cache.hpp"

#include "core/sasl/crypto.hpp"

namespace parley::router::auth {

namespace crypto = core::sasl::crypto;

namespace {

/// user and domain never contain NUL (JID parts), so this key is unambiguous.
std::string key_of(std::string_view user, std::string_view domain) {
  std::string key;
  key.reserve(user.size() + 1 + domain.size());
  key.append(user).push_back('\0');
  key.append(domain);
  return key;
}

} // namespace

AnswerCache::AnswerCache(std::chrono::seconds ttl, std::size_t max_entries)
    : ttl_(ttl), max_entries_(max_entries), key_(crypto::random_bytes(32)) {}

std::string AnswerCache::digest(std::string_view user, std::string_view domain, std::string_view password) const {
  std::string message = key_of(user, domain);
  message.push_back('\0');
  message.append(password);
  return crypto::hmac(core::sasl::ScramHash::sha256, key_, message);
}

bool AnswerCache::password_confirmed(std::string_view user, std::string_view domain, std::string_view password,
                                     Clock::time_point now) const {
  if (ttl_.count() == 0) {
    return false;
  }
  const std::string wanted = digest(user, domain, password);
  std::lock_guard lock(mutex_);
  const auto found = passwords_.find(key_of(user, domain));
  return found != passwords_.end() && now < found->second.expires &&
         crypto::equal_constant_time(found->second.digest, wanted);
}

void AnswerCache::confirm_password(std::string_view user, std::string_view domain, std::string_view password,
                                   Clock::time_point now) {
  if (ttl_.count() == 0) {
    return;
  }
  PasswordEntry entry{digest(user, domain, password), now + ttl_};
  std::lock_guard lock(mutex_);
  make_room(passwords_, now);
  passwords_.insert_or_assign(key_of(user, domain), std::move(entry));
}

std::optional<bool> AnswerCache::exists(std::string_view user, std::string_view domain, Clock::time_point now) const {
  if (ttl_.count() == 0) {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  const auto found = exists_.find(key_of(user, domain));
  if (found == exists_.end() || now >= found->second.expires) {
    return std::nullopt;
  }
  return found->second.exists;
}

void AnswerCache::remember_exists(std::string_view user, std::string_view domain, bool exists, Clock::time_point now) {
  if (ttl_.count() == 0) {
    return;
  }
  std::lock_guard lock(mutex_);
  make_room(exists_, now);
  exists_.insert_or_assign(key_of(user, domain), ExistsEntry{exists, now + ttl_});
}

std::size_t AnswerCache::size() const {
  std::lock_guard lock(mutex_);
  return passwords_.size() + exists_.size();
}

template <class Map> void AnswerCache::make_room(Map& map, Clock::time_point now) {
  if (map.size() < max_entries_) {
    return;
  }
  std::erase_if(map, [now](const auto& entry) { return now >= entry.second.expires; });
  if (map.size() >= max_entries_) {
    // Every entry is fresh: a flood of distinct names. Forgetting costs only extra calls.
    map.clear();
  }
}

} // namespace parley::router::auth
