#pragma once

#include "storage/room_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::RoomStore over SQLite; see the interface for the contract.
class RoomStore final : public storage::RoomStore {
public:
  explicit RoomStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> put(const StoredRoom& room) override;
  boost::system::result<StoredRoom> get(std::string_view service, std::string_view room) override;
  boost::system::result<std::vector<StoredRoom>> list(std::string_view service) override;
  boost::system::result<void> remove(std::string_view service, std::string_view room) override;

private:
  /// The rooms of `service` (every room when empty), or the one room (service, room).
  boost::system::result<std::vector<StoredRoom>> select(std::string_view service, std::string_view room);
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
