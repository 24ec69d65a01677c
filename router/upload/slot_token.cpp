#include "router/upload/slot_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

namespace parley::router::upload {

namespace {

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0x0f];
  }
  return out;
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

} // namespace

std::string sign(std::string_view secret, const SlotGrant& grant) {
  // Fields joined by '\n', which none of them can hold (the path and type are checked).
  std::string message = "xep0363\n" + grant.path + "\n" + std::to_string(grant.size) + "\n" + grant.content_type +
                        "\n" + std::to_string(grant.expires);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac.data(), &length);
  return to_hex(mac.data(), length);
}

std::string keyed_slot(std::string_view secret, std::string_view key) {
  // A prefix of its own, so that no slot token is ever also a keyed slot.
  const std::string message = "stored\n" + std::string(key);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), mac.data(), &length);
  return to_hex(mac.data(), 16);
}

bool verify(std::string_view secret, const SlotGrant& grant, std::string_view token) {
  const std::string expected = sign(secret, grant);
  return token.size() == expected.size() && CRYPTO_memcmp(token.data(), expected.data(), expected.size()) == 0;
}

std::string sanitize_filename(std::string_view name) {
  // A client may send a path: only its last component names the file.
  if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  std::string out;
  for (const char c : name) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '-' || c == '_';
    out += safe ? c : '_';
  }
  // No hidden files, no "." or "..": leading dots go.
  out.erase(0, out.find_first_not_of('.'));
  if (out.find_first_not_of("._") == std::string::npos) {
    return {};
  }
  constexpr std::size_t max_length = 100;
  if (out.size() > max_length) {
    const auto dot = out.rfind('.');
    const std::size_t ext = dot != std::string::npos && out.size() - dot <= 16 ? out.size() - dot : 0;
    out = out.substr(0, max_length - ext) + out.substr(out.size() - ext);
  }
  return out;
}

std::string random_hex(std::size_t count) {
  std::string bytes(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1) {
    // The CSPRNG failing is not something to go on without: slot names would be guessable.
    std::abort();
  }
  return to_hex(reinterpret_cast<const unsigned char*>(bytes.data()), count);
}

boost::system::result<std::string> load_or_create_secret(const std::filesystem::path& file) {
  const auto read = [&]() -> boost::system::result<std::string> {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
      secret.pop_back();
    }
    if (!in || secret.size() < 32) {
      return boost::system::error_code(EINVAL, boost::system::generic_category());
    }
    return secret;
  };
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    return read();
  }
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) {
    return boost::system::error_code(ec.value(), boost::system::generic_category());
  }
  // Written beside, then renamed: a crash never leaves half a secret.
  const std::filesystem::path temp = file.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    return boost::system::error_code(errno, boost::system::generic_category());
  }
  const std::string secret = random_hex(32) + "\n";
  const bool written = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temp.c_str(), file.c_str()) != 0) {
    return boost::system::error_code(errno, boost::system::generic_category());
  }
  return read();
}

std::optional<std::string> media_type(std::string_view text) {
  text = text.substr(0, text.find(';'));
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  const auto slash = out.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == out.size() || out.size() > 255) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i != slash && !token_char(out[i])) {
      return std::nullopt;
    }
  }
  return out;
}

} // namespace parley::router::upload
