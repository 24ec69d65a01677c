#include "bench/scram_client.hpp"

#include "core/sasl/crypto.hpp"

#include <charconv>
#include <optional>

namespace parley::bench {

namespace crypto = core::sasl::crypto;
using core::sasl::ScramHash;

namespace {

/// RFC 5802 §5.1: ',' and '=' in a saslname are written =2C and =3D.
std::string saslname(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

/// The value of attribute `key` ("r", "s", "i", "v", "e") in a comma-separated SCRAM message.
std::optional<std::string_view> scram_attribute(std::string_view message, char key) {
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t end = message.find(',', pos);
    if (end == std::string_view::npos) {
      end = message.size();
    }
    const std::string_view part = message.substr(pos, end - pos);
    if (part.size() >= 2 && part[0] == key && part[1] == '=') {
      return part.substr(2);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a);
  for (std::size_t i = 0; i < out.size() && i < b.size(); ++i) {
    out[i] = static_cast<char>(out[i] ^ b[i]);
  }
  return out;
}

} // namespace

const std::string& SaltedPasswordCache::get(ScramHash hash, std::string_view password, std::string_view salt,
                                            std::uint32_t iterations) {
  std::string key;
  key.reserve(password.size() + salt.size() + 16);
  key += hash == ScramHash::sha1 ? '1' : '2';
  key += std::to_string(iterations);
  key += '\0';
  key += salt;
  key += '\0';
  key += password;
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    ++misses_;
    it = cache_.emplace(std::move(key), crypto::pbkdf2(hash, password, salt, iterations)).first;
  }
  return it->second;
}

ScramClient::ScramClient(ScramHash hash, std::string_view username, std::string password, SaltedPasswordCache& cache)
    : hash_(hash), username_(saslname(username)), password_(std::move(password)), cache_(cache) {}

std::string ScramClient::first_message() {
  // A printable nonce without ',' (RFC 5802 §5.1): base64 of random bytes qualifies.
  client_nonce_ = crypto::base64_encode(crypto::random_bytes(18));
  client_first_bare_ = "n=" + username_ + ",r=" + client_nonce_;
  return "n,," + client_first_bare_;
}

boost::system::result<std::string, core::Failure> ScramClient::final_message(std::string_view server_first) {
  if (auto error = scram_attribute(server_first, 'e')) {
    return core::Failure{std::string("server error: ") + std::string(*error)};
  }
  const auto nonce = scram_attribute(server_first, 'r');
  const auto salt_b64 = scram_attribute(server_first, 's');
  const auto iterations_text = scram_attribute(server_first, 'i');
  if (!nonce || !salt_b64 || !iterations_text) {
    return core::Failure{"server-first-message lacks r, s or i"};
  }
  if (!nonce->starts_with(client_nonce_) || nonce->size() == client_nonce_.size()) {
    return core::Failure{"server nonce does not extend ours"};
  }
  auto salt = crypto::base64_decode(*salt_b64);
  if (!salt) {
    return core::Failure{"salt is not base64"};
  }
  std::uint32_t iterations = 0;
  const auto [ptr, ec] =
      std::from_chars(iterations_text->data(), iterations_text->data() + iterations_text->size(), iterations);
  if (ec != std::errc() || ptr != iterations_text->data() + iterations_text->size() || iterations == 0) {
    return core::Failure{"bad iteration count"};
  }

  const std::string& salted = cache_.get(hash_, password_, *salt, iterations);
  const std::string client_key = crypto::hmac(hash_, salted, "Client Key");
  const std::string stored_key = crypto::hash(hash_, client_key);
  // "biws" is base64("n,,"): no channel binding, no authzid.
  std::string without_proof = "c=biws,r=";
  without_proof += *nonce;
  std::string auth_message = client_first_bare_;
  auth_message += ',';
  auth_message += server_first;
  auth_message += ',';
  auth_message += without_proof;
  const std::string client_signature = crypto::hmac(hash_, stored_key, auth_message);
  const std::string server_key = crypto::hmac(hash_, salted, "Server Key");
  expected_server_signature_ = crypto::hmac(hash_, server_key, auth_message);
  return {boost::system::in_place_value,
          without_proof + ",p=" + crypto::base64_encode(xor_bytes(client_key, client_signature))};
}

bool ScramClient::verify_server_final(std::string_view server_final) const {
  const auto v = scram_attribute(server_final, 'v');
  if (!v) {
    return false;
  }
  auto signature = crypto::base64_decode(*v);
  return signature && !expected_server_signature_.empty() &&
         crypto::equal_constant_time(*signature, expected_server_signature_);
}

} // namespace parley::bench
