#pragma once

#include "core/failure.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::core::sasl {

enum class ScramHash { sha1, sha256 };

/// "SCRAM-SHA-1" or "SCRAM-SHA-256".
std::string_view mechanism_name(ScramHash hash) noexcept;

/// What a server keeps of a password (RFC 5802 §3): never the password itself.
struct ScramSecrets {
  std::string salt;       ///< raw bytes
  std::uint32_t iterations = 0;
  std::string stored_key; ///< H(ClientKey), raw bytes
  std::string server_key; ///< HMAC(SaltedPassword, "Server Key"), raw bytes
};

/// RFC 4013 SASLprep of a password (stored-strings profile: unassigned code points refused).
/// Fails on prohibited characters or invalid UTF-8.
boost::system::result<std::string, Failure> saslprep(std::string_view password);

/// Derives the stored secrets from a password already prepared with `saslprep`.
/// CPU-heavy (PBKDF2 with `iterations` rounds): run it on the worker pool.
ScramSecrets derive_secrets(ScramHash hash, std::string_view prepared_password, std::string salt,
                            std::uint32_t iterations);

/// Derives secrets with a fresh random 16-byte salt.
ScramSecrets derive_secrets(ScramHash hash, std::string_view prepared_password, std::uint32_t iterations);

/// The iteration count used for new passwords (RFC 7677 §4 asks for at least 4096).
inline constexpr std::uint32_t default_iterations = 4096;

} // namespace parley::core::sasl
