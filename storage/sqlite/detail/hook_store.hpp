#pragma once

#include "storage/hook_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::HookStore over SQLite; see the interface for the contract.
class HookStore final : public storage::HookStore {
public:
  explicit HookStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> create(const StoredHook& hook) override;
  boost::system::result<void> update(const StoredHook& hook) override;
  boost::system::result<StoredHook> get(std::string_view domain, std::string_view name) override;
  boost::system::result<std::vector<StoredHook>> list(std::string_view domain) override;
  boost::system::result<void> remove(std::string_view domain, std::string_view name) override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
