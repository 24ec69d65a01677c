#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// One admin API bearer token. The secret itself is never stored: only its hash, which the
/// server compares in constant time.
struct ApiToken {
  /// Public identifier (the part of the token before the secret); unique, non-empty.
  std::string id;
  /// Lower-case hex SHA-256 of the secret; non-empty.
  std::string hash;
  /// "admin" or "read" (the store keeps any non-empty text; the API layer checks it).
  std::string scope;
  /// Free text from the creator ("ci deploys"); may be empty.
  std::string description;
  Timestamp created;

  friend bool operator==(const ApiToken&, const ApiToken&) = default;
};

/// Admin API tokens. Threading: every call blocks on I/O; worker pool only. No call throws.
class TokenStore {
public:
  virtual ~TokenStore() = default;

  /// Stores a new token. conflict if the id is taken; invalid_argument for an empty id, hash
  /// or scope.
  virtual boost::system::result<void> create(const ApiToken& token) = 0;
  /// The token with this id; not_found if none.
  virtual boost::system::result<ApiToken> get(std::string_view id) = 0;
  /// Every token, by ascending id.
  virtual boost::system::result<std::vector<ApiToken>> list() = 0;
  /// Deletes the token; not_found if none.
  virtual boost::system::result<void> revoke(std::string_view id) = 0;
};

} // namespace parley::storage
