#include "server/admin/tokens.hpp"

#include "core/sasl/crypto.hpp"

#include <algorithm>

namespace parley::server::admin {

namespace crypto = core::sasl::crypto;

namespace {

constexpr std::string_view prefix = "pt_";
constexpr std::size_t id_bytes = 8;
constexpr std::size_t secret_bytes = 32;

std::string hash_of(std::string_view secret) {
  return crypto::hex_encode(crypto::hash(core::sasl::ScramHash::sha256, secret));
}

bool lower_hex(std::string_view text, std::size_t length) {
  return text.size() == length &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

} // namespace

bool valid_scope(std::string_view scope) noexcept { return scope == "admin" || scope == "read"; }

MintedToken mint_token(std::string scope, std::string description, storage::Timestamp now) {
  MintedToken token;
  token.stored.id = crypto::hex_encode(crypto::random_bytes(id_bytes));
  const std::string secret = crypto::hex_encode(crypto::random_bytes(secret_bytes));
  token.stored.hash = hash_of(secret);
  token.stored.scope = std::move(scope);
  token.stored.description = std::move(description);
  token.stored.created = now;
  token.presented = std::string(prefix) + token.stored.id + "_" + secret;
  return token;
}

std::optional<PresentedToken> split_token(std::string_view presented) {
  if (!presented.starts_with(prefix)) {
    return std::nullopt;
  }
  presented.remove_prefix(prefix.size());
  const auto underscore = presented.find('_');
  if (underscore == std::string_view::npos) {
    return std::nullopt;
  }
  const auto id = presented.substr(0, underscore);
  const auto secret = presented.substr(underscore + 1);
  if (!lower_hex(id, 2 * id_bytes) || !lower_hex(secret, 2 * secret_bytes)) {
    return std::nullopt;
  }
  return PresentedToken{std::string(id), std::string(secret)};
}

bool token_matches(const storage::ApiToken& stored, std::string_view secret) {
  return crypto::equal_constant_time(hash_of(secret), stored.hash);
}

} // namespace parley::server::admin
