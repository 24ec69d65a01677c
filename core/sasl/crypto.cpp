#include "core/sasl/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace parley::core::sasl::crypto {

namespace {
const EVP_MD* md(ScramHash h) { return h == ScramHash::sha1 ? EVP_sha1() : EVP_sha256(); }

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
} // namespace

std::string hash(ScramHash h, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, md(h), nullptr);
  return {reinterpret_cast<const char*>(out.data()), len};
}

std::string hmac(ScramHash h, std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  HMAC(md(h), key.data(), static_cast<int>(key.size()), bytes(data), data.size(), out.data(), &len);
  return {reinterpret_cast<const char*>(out.data()), len};
}

std::string pbkdf2(ScramHash h, std::string_view password, std::string_view salt, std::uint32_t iterations) {
  std::string out(static_cast<std::size_t>(EVP_MD_get_size(md(h))), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt), static_cast<int>(salt.size()),
                    static_cast<int>(iterations), md(h), static_cast<int>(out.size()),
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // Without randomness no nonce or salt is safe; this is not recoverable.
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

std::string base64_encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(raw), static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

boost::system::result<std::string, Failure> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Failure{std::string("base64 length is not a multiple of 4")};
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool pad_ok = c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=');
    if (!alnum && c != '+' && c != '/' && !pad_ok) {
      return Failure{std::string("invalid base64 character")};
    }
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(text), static_cast<int>(text.size()));
  if (n < 0) {
    return Failure{std::string("invalid base64")};
  }
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (!text.empty() && text.back() == '=') {
    --len;
    if (text[text.size() - 2] == '=') {
      --len;
    }
  }
  out.resize(len);
  return {boost::system::in_place_value, std::move(out)};
}

bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string hex_encode(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (const unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

} // namespace parley::core::sasl::crypto
