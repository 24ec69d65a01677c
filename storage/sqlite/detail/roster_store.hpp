#pragma once

#include "storage/roster_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::RosterStore over SQLite; see the interface for the contract.
class RosterStore final : public storage::RosterStore {
public:
  explicit RosterStore(Database& database) noexcept : database_(database) {}

  boost::system::result<Roster> get_roster(std::string_view username) override;
  boost::system::result<RosterVersion> get_version(std::string_view username) override;
  boost::system::result<RosterItem> get_item(std::string_view username, std::string_view jid) override;
  boost::system::result<RosterVersion> upsert_item(std::string_view username, const RosterItem& item) override;
  boost::system::result<RosterVersion> remove_item(std::string_view username, std::string_view jid) override;
  boost::system::result<void> replace_roster(std::string_view username, const Roster& roster) override;
  boost::system::result<std::vector<std::string>> subscribers(std::string_view username) override;
  boost::system::result<std::vector<std::string>> subscriptions(std::string_view username) override;
  boost::system::result<std::vector<std::string>> pending_in(std::string_view username) override;

private:
  boost::system::result<std::vector<std::string>> jids_where(std::string_view username, const char* sql);

  Database& database_;
};

} // namespace parley::storage::sqlite::detail
