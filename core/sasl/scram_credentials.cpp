#include "core/sasl/scram_credentials.hpp"

#include "core/sasl/crypto.hpp"

#include <stringprep.h>

#include <cstdlib>
#include <memory>

namespace parley::core::sasl {

std::string_view mechanism_name(ScramHash hash) noexcept {
  return hash == ScramHash::sha1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

boost::system::result<std::string, Failure> saslprep(std::string_view password) {
  if (password.find('\0') != std::string_view::npos) {
    return Failure{std::string("password contains NUL")};
  }
  const std::string input(password);
  char* out = nullptr;
  const int rc = stringprep_profile(input.c_str(), &out, "SASLprep", STRINGPREP_NO_UNASSIGNED);
  std::unique_ptr<char, decltype(&std::free)> holder(out, &std::free);
  if (rc != STRINGPREP_OK || out == nullptr) {
    return Failure{std::string("password rejected by SASLprep: ") + stringprep_strerror(static_cast<Stringprep_rc>(rc))};
  }
  std::string prepared(out);
  if (prepared.empty()) {
    return Failure{std::string("password is empty after SASLprep")};
  }
  return {boost::system::in_place_value, std::move(prepared)};
}

ScramSecrets derive_secrets(ScramHash hash, std::string_view prepared_password, std::string salt,
                            std::uint32_t iterations) {
  // RFC 5802 §3
  const std::string salted = crypto::pbkdf2(hash, prepared_password, salt, iterations);
  const std::string client_key = crypto::hmac(hash, salted, "Client Key");
  ScramSecrets out;
  out.stored_key = crypto::hash(hash, client_key);
  out.server_key = crypto::hmac(hash, salted, "Server Key");
  out.salt = std::move(salt);
  out.iterations = iterations;
  return out;
}

ScramSecrets derive_secrets(ScramHash hash, std::string_view prepared_password, std::uint32_t iterations) {
  return derive_secrets(hash, prepared_password, crypto::random_bytes(16), iterations);
}

} // namespace parley::core::sasl
