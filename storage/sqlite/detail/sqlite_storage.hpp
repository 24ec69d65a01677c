#pragma once

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/offline_store.hpp"
#include "storage/sqlite/detail/roster_store.hpp"
#include "storage/sqlite/detail/seen_store.hpp"
#include "storage/sqlite/detail/user_store.hpp"
#include "storage/sqlite/detail/work_queue.hpp"
#include "storage/storage.hpp"

namespace parley::storage::sqlite::detail {

/// The Storage that sqlite::open returns: one Database and the stores over it.
class SqliteStorage final : public Storage {
public:
  SqliteStorage(std::filesystem::path file, Options options)
      : database_(std::move(file), options), users_(database_), roster_(database_), offline_(database_),
        work_(database_), seen_(database_) {}

  Database& database() noexcept { return database_; }

  storage::UserStore& users() override { return users_; }
  storage::RosterStore& roster() override { return roster_; }
  storage::OfflineStore& offline() override { return offline_; }
  storage::WorkQueue& work() override { return work_; }
  storage::SeenStore& seen() override { return seen_; }
  std::string_view backend_name() const noexcept override { return "sqlite"; }

private:
  Database database_;
  UserStore users_;
  RosterStore roster_;
  OfflineStore offline_;
  WorkQueue work_;
  SeenStore seen_;
};

} // namespace parley::storage::sqlite::detail
