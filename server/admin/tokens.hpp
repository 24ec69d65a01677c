#pragma once
// Admin API tokens: "pt_" + id + "_" + secret. The id is public and names the token in audit
// lines; only the SHA-256 of the secret is stored, and it is compared in constant time.

#include "storage/token_store.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace parley::server::admin {

/// A token as created: what to store and what to hand to its owner (once).
struct MintedToken {
  storage::ApiToken stored;
  std::string presented;
};

/// "admin" (everything) or "read" (GET only).
bool valid_scope(std::string_view scope) noexcept;

/// A fresh token with random id and secret.
MintedToken mint_token(std::string scope, std::string description, storage::Timestamp now);

/// The id and secret of a presented token; nullopt if it is not shaped like one.
struct PresentedToken {
  std::string id;
  std::string secret;
};
std::optional<PresentedToken> split_token(std::string_view presented);

/// Whether `secret` is the one whose hash `stored` keeps (constant time).
bool token_matches(const storage::ApiToken& stored, std::string_view secret);

} // namespace parley::server::admin
