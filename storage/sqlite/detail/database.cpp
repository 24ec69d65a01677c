#include "storage/sqlite/detail/database.hpp"

#include "storage/sqlite/detail/migrations.hpp"
#include "storage/storage_errc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace parley::storage::sqlite::detail {

namespace {

constexpr const char* migrations_table = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     INTEGER PRIMARY KEY NOT NULL,
  applied_at  TEXT NOT NULL
))sql";

boost::system::result<void> switch_to_wal(Connection& connection, const std::filesystem::path& file,
                                          std::chrono::milliseconds busy_timeout) {
  // journal_mode is a property of the file and sticks; setting it reads the header, so this is
  // also where a file that is not a database is first noticed. Switching needs an exclusive
  // lock, and SQLite answers SQLITE_BUSY at once, without the busy handler, when another
  // process opens the same new file at the same moment (two parleyctl, or parleyctl and a
  // starting parleyd): so try again until the busy timeout.
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  boost::system::result<bool> row = false;
  std::optional<Statement> statement;
  for (;;) {
    auto prepared = connection.prepare("PRAGMA journal_mode = WAL");
    if (!prepared) {
      return prepared.error();
    }
    statement.emplace(std::move(*prepared));
    row = statement->step();
    if (row || row.error() != storage_errc::unavailable || std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    statement.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!row) {
    return row.error();
  }
  const std::string mode = *row ? statement->column_text(0) : std::string();
  if (mode != "wal") {
    // Only possible on file systems without shared memory support; still durable, but readers
    // then block writers.
    spdlog::warn("storage/sqlite: {}: journal_mode is '{}', not WAL", file.string(), mode);
  }
  return {};
}

boost::system::result<int> applied_version(Connection& connection) {
  auto statement = connection.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!statement) {
    return statement.error();
  }
  auto row = statement->step();
  if (!row) {
    return row.error();
  }
  return static_cast<int>(statement->column_int(0));
}

boost::system::result<void> apply(Connection& connection, const Migration& migration) {
  if (auto applied = connection.exec(migration.sql); !applied) {
    return applied.error();
  }
  auto record = connection.prepare(
      "INSERT INTO schema_migrations(version, applied_at) VALUES(?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
  if (!record) {
    return record.error();
  }
  return record->bind_int(1, migration.version).run();
}

Options normalized(Options options) {
  options.max_connections = std::max<std::size_t>(options.max_connections, 1);
  options.busy_timeout = std::max(options.busy_timeout, std::chrono::milliseconds::zero());
  return options;
}

} // namespace

Database::Lease::~Lease() {
  if (connection_) {
    database_->release(std::move(connection_));
  }
}

Database::Database(std::filesystem::path file, Options options)
    : file_(std::move(file)), options_(normalized(options)) {
  // release() must not allocate.
  idle_.reserve(options_.max_connections);
}

Database::~Database() {
  std::lock_guard lock(mutex_);
  assert(idle_.size() == open_count_ && "Database destroyed while a connection is leased");
}

boost::system::result<void> Database::initialize() {
  auto lease = acquire();
  if (!lease) {
    return lease.error();
  }
  Connection& connection = **lease;
  if (auto wal = switch_to_wal(connection, file_, options_.busy_timeout); !wal) {
    return wal.error();
  }

  auto transaction = Transaction::begin_write(connection, writers_, options_.busy_timeout);
  if (!transaction) {
    return transaction.error();
  }
  if (auto created = connection.exec(migrations_table); !created) {
    return created.error();
  }
  auto current = applied_version(connection);
  if (!current) {
    return current.error();
  }
  const int latest = latest_schema_version();
  if (*current > latest) {
    spdlog::error("storage/sqlite: {}: schema version {} is newer than the {} this build knows; "
                  "refusing to open it (upgrade Parley or restore a matching backup)",
                  file_.string(), *current, latest);
    return storage_errc::schema_too_new;
  }
  for (const Migration& migration : migrations()) {
    if (migration.version <= *current) {
      continue;
    }
    if (auto applied = apply(connection, migration); !applied) {
      spdlog::error("storage/sqlite: {}: migration {} ({}) failed", file_.string(), migration.version,
                    migration.description);
      return applied.error();
    }
    spdlog::info("storage/sqlite: {}: applied migration {} ({})", file_.string(), migration.version,
                 migration.description);
  }
  return transaction->commit();
}

boost::system::result<Database::Lease> Database::acquire() {
  std::unique_lock lock(mutex_);
  const bool ready = returned_.wait_for(lock, options_.busy_timeout,
                                        [this] { return !idle_.empty() || open_count_ < options_.max_connections; });
  if (!ready) {
    spdlog::error("storage/sqlite: all {} connections busy for {} ms", options_.max_connections,
                  options_.busy_timeout.count());
    return storage_errc::unavailable;
  }
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(connection));
  }
  ++open_count_;
  lock.unlock();

  // Opening touches the disk: done outside the lock.
  auto opened = Connection::open(file_, options_.busy_timeout);
  if (!opened) {
    lock.lock();
    --open_count_;
    lock.unlock();
    returned_.notify_one();
    return opened.error();
  }
  return Lease(*this, std::move(*opened));
}

void Database::release(std::unique_ptr<Connection> connection) noexcept {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }
  returned_.notify_one();
}

} // namespace parley::storage::sqlite::detail
