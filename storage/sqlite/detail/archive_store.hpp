#pragma once

#include "storage/archive_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::ArchiveStore over SQLite; see the interface for the contract.
class ArchiveStore final : public storage::ArchiveStore {
public:
  explicit ArchiveStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> append(std::span<const ArchiveEntry> entries) override;
  boost::system::result<ArchivePage> query(const ArchiveQuery& query) override;
  boost::system::result<std::size_t> count(std::string_view owner) override;
  boost::system::result<std::size_t> remove_before(Timestamp before) override;
  boost::system::result<std::size_t> remove_owner(std::string_view owner) override;
  boost::system::result<ArchivePrefs> prefs(std::string_view owner) override;
  boost::system::result<void> set_prefs(std::string_view owner, const ArchivePrefs& prefs) override;
  boost::system::result<std::vector<std::string>> owners(std::string_view after, std::size_t limit) override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
