#pragma once

#include "storage/block_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::BlockStore over SQLite; see the interface for the contract.
class BlockStore final : public storage::BlockStore {
public:
  explicit BlockStore(Database& database) noexcept : database_(database) {}

  boost::system::result<bool> block(std::string_view user, std::string_view jid, Timestamp now) override;
  boost::system::result<bool> unblock(std::string_view user, std::string_view jid) override;
  boost::system::result<std::size_t> unblock_all(std::string_view user) override;
  boost::system::result<std::vector<std::string>> blocked(std::string_view user) override;
  boost::system::result<std::vector<std::string>> users(std::string_view after, std::size_t limit) override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
