#pragma once

#include "core/failure.hpp"
#include "core/sasl/scram_credentials.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace parley::bench {

/// SaltedPassword values (RFC 5802 §3) already computed, keyed by hash, salt, iteration count
/// and password. Real clients keep this too; without it the load generator's own PBKDF2
/// (4096 rounds per login) would cap its login rate well below what a server can do.
/// Not thread-safe: one per io_context thread.
class SaltedPasswordCache {
public:
  const std::string& get(core::sasl::ScramHash hash, std::string_view password, std::string_view salt,
                         std::uint32_t iterations);
  std::size_t misses() const noexcept { return misses_; }

private:
  std::map<std::string, std::string, std::less<>> cache_;
  std::size_t misses_ = 0;
};

/// Client side of one SCRAM-SHA-1 / SCRAM-SHA-256 exchange without channel binding
/// (gs2 header "n,,"), RFC 5802 and RFC 7677.
class ScramClient {
public:
  /// `password` must already be SASLprep'ed.
  ScramClient(core::sasl::ScramHash hash, std::string_view username, std::string password, SaltedPasswordCache& cache);

  /// client-first-message.
  std::string first_message();
  /// client-final-message for the server's challenge, or a description of what is wrong.
  boost::system::result<std::string, core::Failure> final_message(std::string_view server_first);
  /// Checks server-final-message ("v=..."), the server's proof that it knows the password.
  bool verify_server_final(std::string_view server_final) const;

private:
  core::sasl::ScramHash hash_;
  std::string username_;
  std::string password_;
  SaltedPasswordCache& cache_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::string expected_server_signature_;
};

} // namespace parley::bench
