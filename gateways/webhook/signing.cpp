#include "gateways/webhook/signing.hpp"

#include "core/sasl/crypto.hpp"

#include <charconv>
#include <cstdint>
#include <string>

namespace parley::gateways::webhook {

namespace crypto = core::sasl::crypto;
using core::sasl::ScramHash;

namespace {

std::string hex_lower(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (const char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool valid_message_id(std::string_view id) noexcept {
  return !id.empty() && id.find('.') == std::string_view::npos;
}

// Unix seconds as ASCII digits only: no sign, no spaces, no fraction. Eighteen digits keep
// the value far from overflow in the tolerance arithmetic.
std::optional<std::int64_t> parse_timestamp(std::string_view text) noexcept {
  if (text.empty() || text.size() > 18) {
    return std::nullopt;
  }
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string standard_signature(std::string_view key, std::string_view msg_id, std::string_view timestamp,
                               std::string_view body) {
  std::string content;
  content.reserve(msg_id.size() + timestamp.size() + body.size() + 2);
  content.append(msg_id).append(".").append(timestamp).append(".").append(body);
  return crypto::base64_encode(crypto::hmac(ScramHash::sha256, key, content));
}

} // namespace

boost::system::result<std::string> signing_key(std::string_view secret) {
  if (!secret.starts_with(standard_secret_prefix)) {
    if (secret.empty()) {
      return signature_errc::invalid_secret;
    }
    return std::string(secret);
  }
  auto key = crypto::base64_decode(secret.substr(standard_secret_prefix.size()));
  if (!key || key->empty()) {
    return signature_errc::invalid_secret;
  }
  return std::move(*key);
}

boost::system::result<std::string> sign(std::string_view secret, std::string_view msg_id,
                                        std::chrono::sys_seconds timestamp, std::string_view body) {
  auto key = signing_key(secret);
  if (!key) {
    return key.error();
  }
  if (!valid_message_id(msg_id)) {
    return signature_errc::invalid_message_id;
  }
  return "v1," + standard_signature(*key, msg_id, std::to_string(timestamp.time_since_epoch().count()), body);
}

boost::system::result<void> verify(std::string_view secret, const StandardWebhookHeaders& headers,
                                   std::string_view body, std::chrono::sys_seconds now,
                                   std::chrono::seconds tolerance) {
  auto key = signing_key(secret);
  if (!key) {
    return key.error();
  }
  if (!headers.id) {
    return signature_errc::missing_id;
  }
  if (!headers.timestamp) {
    return signature_errc::missing_timestamp;
  }
  if (!headers.signature) {
    return signature_errc::missing_signature;
  }
  if (!valid_message_id(*headers.id)) {
    return signature_errc::malformed_id;
  }
  const std::string_view timestamp_text = trim(*headers.timestamp);
  const auto timestamp = parse_timestamp(timestamp_text);
  if (!timestamp) {
    return signature_errc::malformed_timestamp;
  }
  const std::int64_t now_s = now.time_since_epoch().count();
  const std::int64_t tolerance_s = tolerance.count();
  if (*timestamp < now_s - tolerance_s) {
    return signature_errc::timestamp_too_old;
  }
  if (*timestamp > now_s + tolerance_s) {
    return signature_errc::timestamp_too_new;
  }

  // The timestamp is signed as the sender wrote it, leading zeros and all.
  const std::string expected = standard_signature(*key, *headers.id, timestamp_text, body);
  std::string_view rest = *headers.signature;
  bool matched = false;
  while (!rest.empty()) {
    const std::size_t space = rest.find_first_of(" \t");
    const std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    const std::size_t comma = entry.find(',');
    if (comma == std::string_view::npos || entry.substr(0, comma) != "v1") {
      continue;
    }
    // Every entry is compared, so the time taken does not tell which one matched.
    matched = crypto::equal_constant_time(entry.substr(comma + 1), expected) || matched;
  }
  if (!matched) {
    return signature_errc::no_matching_signature;
  }
  return {};
}

boost::system::result<std::string> github_signature(std::string_view secret, std::string_view body) {
  if (secret.empty()) {
    return signature_errc::invalid_secret;
  }
  return "sha256=" + hex_lower(crypto::hmac(ScramHash::sha256, secret, body));
}

boost::system::result<void> verify_github(std::string_view secret, std::optional<std::string_view> header,
                                          std::string_view body) {
  auto expected = github_signature(secret, body);
  if (!expected) {
    return expected.error();
  }
  if (!header) {
    return signature_errc::missing_signature;
  }
  const std::string_view value = trim(*header);
  constexpr std::string_view prefix = "sha256=";
  if (value.size() != prefix.size() + 64 || !iequals(value.substr(0, prefix.size()), prefix)) {
    return signature_errc::malformed_signature;
  }
  std::string given = "sha256=";
  for (const char c : value.substr(prefix.size())) {
    const char lower = ascii_lower(c);
    if (!((lower >= '0' && lower <= '9') || (lower >= 'a' && lower <= 'f'))) {
      return signature_errc::malformed_signature;
    }
    given += lower;
  }
  if (!crypto::equal_constant_time(given, *expected)) {
    return signature_errc::no_matching_signature;
  }
  return {};
}

boost::system::result<void> check_bearer(std::optional<std::string_view> authorization,
                                         std::string_view expected_token) {
  if (expected_token.empty()) {
    return signature_errc::invalid_secret;
  }
  if (!authorization) {
    return signature_errc::missing_authorization;
  }
  const std::string_view value = trim(*authorization);
  constexpr std::string_view scheme = "bearer";
  if (value.size() <= scheme.size() || !iequals(value.substr(0, scheme.size()), scheme) ||
      !is_space(value[scheme.size()])) {
    return signature_errc::malformed_authorization;
  }
  const std::string_view token = trim(value.substr(scheme.size()));
  if (token.empty() || token.find_first_of(" \t") != std::string_view::npos) {
    return signature_errc::malformed_authorization;
  }
  if (!crypto::equal_constant_time(crypto::hash(ScramHash::sha256, token),
                                   crypto::hash(ScramHash::sha256, expected_token))) {
    return signature_errc::invalid_token;
  }
  return {};
}

} // namespace parley::gateways::webhook
