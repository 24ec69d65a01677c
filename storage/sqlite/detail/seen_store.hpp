#pragma once

#include "storage/seen_store.hpp"

namespace parley::storage::sqlite::detail {

class Connection;
class Database;

/// Records a key within the caller's write transaction: true when this call recorded it,
/// false when it was there already.
boost::system::result<bool> insert_seen_key(Connection& connection, std::string_view scope, std::string_view key,
                                            std::string_view value, Timestamp now);

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
