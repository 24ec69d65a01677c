#pragma once
// Opening the configured storage backend, shared by parleyd and parleyctl.

#include "config/config.hpp"
#include "storage/storage.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace parley::server {

/// Where a storage lives, as the configuration or a `parleyctl storage copy` argument names it.
struct StorageTarget {
  config::StorageBackend backend = config::StorageBackend::sqlite;
  /// SQLite: the database file (absolute or relative to the working directory).
  std::string sqlite_path;
  /// PostgreSQL: the libpq connection string, and a password from the environment if any.
  std::string postgres_dsn;
  std::string postgres_password;
  std::size_t postgres_connections = 8;
};

/// The target the configuration names: the SQLite path resolved against data_dir, the
/// PostgreSQL password read from the variable `postgres_password_env` names. An error message
/// if that variable is named but not set.
boost::system::result<StorageTarget, std::string> target_of(const config::Config& config);

/// A target from a command-line spec: "sqlite:PATH", "postgres:DSN", a postgres:// or
/// postgresql:// URI, or else a path to an SQLite file. The password comes from
/// $PARLEY_POSTGRES_PASSWORD if set (else libpq's PGPASSWORD and ~/.pgpass apply).
StorageTarget target_from_spec(std::string_view spec);

/// Opens (creating and migrating as needed) the storage at `target`.
boost::system::result<std::unique_ptr<storage::Storage>, std::string> open_storage(const StorageTarget& target);

/// For logs: "SQLite at PATH" or "PostgreSQL (DSN)" with any password in the DSN masked.
std::string describe(const StorageTarget& target);

} // namespace parley::server
