#pragma once

#include "storage/seen_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::SeenStore over SQLite; see the interface for the contract.
class SeenStore final : public storage::SeenStore {
public:
  explicit SeenStore(Database& database) noexcept : database_(database) {}

  boost::system::result<bool> remember(std::string_view scope, std::string_view key, std::string_view value,
                                       Timestamp now) override;
  boost::system::result<std::string> lookup(std::string_view scope, std::string_view key) override;
  boost::system::result<std::size_t> forget_before(Timestamp before) override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
