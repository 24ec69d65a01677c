#pragma once

#include "storage/token_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::TokenStore over SQLite; see the interface for the contract.
class TokenStore final : public storage::TokenStore {
public:
  explicit TokenStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> create(const ApiToken& token) override;
  boost::system::result<ApiToken> get(std::string_view id) override;
  boost::system::result<std::vector<ApiToken>> list() override;
  boost::system::result<void> revoke(std::string_view id) override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
