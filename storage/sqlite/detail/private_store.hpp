#pragma once

#include "storage/private_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::PrivateStore over SQLite; see the interface for the contract.
class PrivateStore final : public storage::PrivateStore {
public:
  explicit PrivateStore(Database& database) noexcept : database_(database) {}

  boost::system::result<std::string> get(std::string_view user, std::string_view key) override;
  boost::system::result<void> put(std::string_view user, std::string_view key, std::string_view xml,
                                  Timestamp now) override;
  boost::system::result<bool> remove(std::string_view user, std::string_view key) override;
  boost::system::result<std::size_t> remove_user(std::string_view user) override;
  boost::system::result<std::vector<std::string>> keys(std::string_view user) override;
  boost::system::result<std::vector<std::string>> users(std::string_view after, std::size_t limit) override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
