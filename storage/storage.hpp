#pragma once

#include "storage/archive_store.hpp"
#include "storage/block_store.hpp"
#include "storage/hook_store.hpp"
#include "storage/offline_store.hpp"
#include "storage/opt_out_store.hpp"
#include "storage/pep_store.hpp"
#include "storage/private_store.hpp"
#include "storage/registration_store.hpp"
#include "storage/room_store.hpp"
#include "storage/roster_store.hpp"
#include "storage/seen_store.hpp"
#include "storage/token_store.hpp"
#include "storage/user_store.hpp"
#include "storage/work_queue.hpp"

#include <string_view>

namespace parley::storage {

/// One open database and the stores it serves, one per concern. Backends: sqlite::open
/// (storage/sqlite/open.hpp) and
/// postgres::open (storage/postgres/open.hpp).
///
/// The accessors are cheap and safe from any thread; the stores they return live as long as the
/// Storage and carry their own threading contracts (worker pool only, never an I/O thread).
/// Destroy the Storage only once no call into any of its stores is running or can start.
class Storage {
public:
  virtual ~Storage() = default;

  virtual UserStore& users() = 0;
  virtual RosterStore& roster() = 0;
  virtual OfflineStore& offline() = 0;
  virtual WorkQueue& work() = 0;
  virtual SeenStore& seen() = 0;
  virtual TokenStore& tokens() = 0;
  virtual RegistrationStore& registrations() = 0;
  virtual HookStore& hooks() = 0;
  virtual RoomStore& rooms() = 0;
  virtual OptOutStore& opt_outs() = 0;
  virtual BlockStore& blocks() = 0;
  virtual ArchiveStore& archive() = 0;
  virtual PrivateStore& private_xml() = 0;
  virtual PepStore& pep() = 0;

  /// Answers whether the database can be reached right now (one cheap query); unavailable
  /// otherwise. For health checks. Blocks on I/O like every store call.
  virtual boost::system::result<void> ping() {
    auto counted = users().count_users();
    if (!counted) {
      return counted.error();
    }
    return {};
  }

  /// A short name for logs and metrics: "sqlite", "postgres".
  virtual std::string_view backend_name() const noexcept = 0;
};

} // namespace parley::storage
