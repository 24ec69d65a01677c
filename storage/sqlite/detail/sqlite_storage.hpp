#pragma once

#include "storage/sqlite/detail/archive_store.hpp"
#include "storage/sqlite/detail/block_store.hpp"
#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/hook_store.hpp"
#include "storage/sqlite/detail/offline_store.hpp"
#include "storage/sqlite/detail/opt_out_store.hpp"
#include "storage/sqlite/detail/pep_store.hpp"
#include "storage/sqlite/detail/private_store.hpp"
#include "storage/sqlite/detail/registration_store.hpp"
#include "storage/sqlite/detail/room_store.hpp"
#include "storage/sqlite/detail/roster_store.hpp"
#include "storage/sqlite/detail/seen_store.hpp"
#include "storage/sqlite/detail/token_store.hpp"
#include "storage/sqlite/detail/user_store.hpp"
#include "storage/sqlite/detail/work_queue.hpp"
#include "storage/storage.hpp"

namespace parley::storage::sqlite::detail {

/// The Storage that sqlite::open returns: one Database and the stores over it.
class SqliteStorage final : public Storage {
public:
  SqliteStorage(std::filesystem::path file, Options options)
      : database_(std::move(file), options), users_(database_), roster_(database_), offline_(database_),
        work_(database_), seen_(database_), tokens_(database_), registrations_(database_), hooks_(database_),
        rooms_(database_), opt_outs_(database_), blocks_(database_), archive_(database_), private_xml_(database_),
        pep_(database_) {}

  Database& database() noexcept { return database_; }

  storage::UserStore& users() override { return users_; }
  storage::RosterStore& roster() override { return roster_; }
  storage::OfflineStore& offline() override { return offline_; }
  storage::WorkQueue& work() override { return work_; }
  storage::SeenStore& seen() override { return seen_; }
  storage::TokenStore& tokens() override { return tokens_; }
  storage::RegistrationStore& registrations() override { return registrations_; }
  storage::HookStore& hooks() override { return hooks_; }
  storage::RoomStore& rooms() override { return rooms_; }
  storage::OptOutStore& opt_outs() override { return opt_outs_; }
  storage::BlockStore& blocks() override { return blocks_; }
  storage::ArchiveStore& archive() override { return archive_; }
  storage::PrivateStore& private_xml() override { return private_xml_; }
  storage::PepStore& pep() override { return pep_; }
  std::string_view backend_name() const noexcept override { return "sqlite"; }

private:
  Database database_;
  UserStore users_;
  RosterStore roster_;
  OfflineStore offline_;
  WorkQueue work_;
  SeenStore seen_;
  TokenStore tokens_;
  RegistrationStore registrations_;
  HookStore hooks_;
  RoomStore rooms_;
  OptOutStore opt_outs_;
  BlockStore blocks_;
  ArchiveStore archive_;
  PrivateStore private_xml_;
  PepStore pep_;
};

} // namespace parley::storage::sqlite::detail
