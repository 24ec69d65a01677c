#pragma once
// The PostgreSQL backend: what a production site, and several parleyd nodes, share.

#include "storage/storage.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace parley::storage::postgres {

/// The highest schema version (numbered migration) this build knows.
int latest_schema_version() noexcept;

struct Options {
  /// libpq connection string: keyword=value pairs or a postgresql:// URI.
  std::string dsn;
  /// Overrides any password in the DSN when not empty (taken from the environment by parleyd).
  std::string password;
  /// Connections are opened lazily, at most this many; give at least the worker-pool size.
  std::size_t max_connections = 8;
  /// How long a call waits for a free connection when all are in use, then unavailable.
  std::chrono::milliseconds acquire_timeout{5000};
  /// After a failed connection attempt, calls fail at once with unavailable for this long,
  /// doubling (with jitter) up to backoff_max, so that an outage does not turn every stanza
  /// into a connect timeout. A success resets it.
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
};

/// Connects, applies pending migrations (serialized across nodes by an advisory lock) and
/// returns the Storage. The schema lives in the connection's search_path (normally `public`).
///
/// Durability: a call returns success only after PostgreSQL acknowledged its COMMIT.
/// Outages: while the server is unreachable every call fails fast with unavailable; the pool
/// reconnects by itself with backoff once it is back. Lost connections are dropped, never reused.
///
/// Errors: unavailable when the server cannot be reached at start; schema_too_new for a
/// database migrated by a newer Parley. Details go to the log.
///
/// Blocks on network I/O: call at start-up or from the worker pool, never from an I/O thread.
boost::system::result<std::unique_ptr<Storage>> open(const Options& options);

} // namespace parley::storage::postgres
