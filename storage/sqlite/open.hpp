#pragma once
// The embedded SQLite backend: everything in one file under the data directory.

#include "storage/storage.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>

namespace parley::storage::sqlite {

/// The highest schema version (numbered migration) this build knows.
int latest_schema_version() noexcept;

struct Options {
  /// How long a call waits for a lock held by another connection or process (SQLite's
  /// busy_timeout), and for a free connection when all `max_connections` are in use, before it
  /// fails with storage_errc::unavailable.
  std::chrono::milliseconds busy_timeout{5000};
  /// Connections are opened lazily, at most this many; give at least the worker-pool size so
  /// that no worker waits for another.
  std::size_t max_connections = 8;
};

/// Opens (creating if missing) the database `file`, applies pending migrations in one
/// transaction, and returns the Storage over it. The parent directory must exist.
///
/// Durability: WAL journal with synchronous=NORMAL. A committed call survives the process
/// crashing or being killed (kill -9), which is the contract "acknowledged means durable" asks
/// for; a power loss or kernel crash may lose the last commits, never the file's integrity.
///
/// Errors: corrupt for a damaged file or one that is not an SQLite database; schema_too_new for
/// a database written by a newer Parley (left untouched); unavailable when the file cannot be
/// opened, is locked beyond the busy timeout, or the disk is full. Details go to the log.
///
/// Blocks on disk I/O: call at start-up or from the worker pool, never from an I/O thread.
boost::system::result<std::unique_ptr<Storage>> open(const std::filesystem::path& file, const Options& options = {});

} // namespace parley::storage::sqlite
