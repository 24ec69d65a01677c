#pragma once

#include <cstdint>
#include <string>

namespace parley::storage {

/// What SCRAM (RFC 5802, RFC 7677) needs to verify a password without the password: the salted
/// keys of one mechanism. `salt`, `stored_key` and `server_key` are raw bytes, not base64.
struct ScramCredentials {
  /// "SCRAM-SHA-1" or "SCRAM-SHA-256" (the IANA SASL mechanism name).
  std::string mechanism;
  std::string salt;
  std::uint32_t iterations = 0;
  std::string stored_key;
  std::string server_key;

  friend bool operator==(const ScramCredentials&, const ScramCredentials&) = default;
};

} // namespace parley::storage
