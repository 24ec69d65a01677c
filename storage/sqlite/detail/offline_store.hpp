#pragma once

#include "storage/offline_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::OfflineStore over SQLite; see the interface for the contract.
class OfflineStore final : public storage::OfflineStore {
public:
  explicit OfflineStore(Database& database) noexcept : database_(database) {}

  boost::system::result<OfflineMessageId> push(std::string_view username, std::string_view stanza, Timestamp timestamp,
                                               std::size_t quota, const DeliveryKey* once = nullptr) override;
  boost::system::result<std::vector<OfflineMessage>> list(std::string_view username) override;
  boost::system::result<std::size_t> remove(std::string_view username, OfflineMessageId up_to) override;
  boost::system::result<std::size_t> count(std::string_view username) override;
  boost::system::result<std::size_t> purge(std::string_view username) override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
