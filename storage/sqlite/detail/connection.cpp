#include "storage/sqlite/detail/connection.hpp"

#include "storage/sqlite/detail/errors.hpp"

#include <sqlite3.h>

#include <climits>
#include <string>

namespace parley::storage::sqlite::detail {

boost::system::result<std::unique_ptr<Connection>> Connection::open(const std::filesystem::path& file,
                                                                    std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  // NOMUTEX: a connection is only ever used by the thread holding its lease.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const std::string name = file.string();
  const int code = sqlite3_open_v2(name.c_str(), &db, flags, nullptr);
  if (code != SQLITE_OK) {
    auto error = report(db, code, "cannot open " + name);
    sqlite3_close(db); // a handle comes back even on failure, except when out of memory
    return error;
  }
  std::unique_ptr<Connection> connection(new Connection(db));

  sqlite3_extended_result_codes(db, 1);
  const auto timeout_ms = busy_timeout.count() > INT_MAX ? INT_MAX : static_cast<int>(busy_timeout.count());
  sqlite3_busy_timeout(db, timeout_ms < 0 ? 0 : timeout_ms);
  // Defence in depth against a crafted database file: no writes to the schema through SQL
  // and no SQL functions with side effects inside the schema.
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);

  // Per-connection settings. They read the file header, so this is where a file that is not a
  // database, or a damaged one, is first noticed (reported as corrupt).
  auto pragmas = connection->exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
  if (!pragmas) {
    return pragmas.error();
  }
  return connection;
}

Connection::~Connection() {
  for (auto& [sql, statement] : statements_) {
    sqlite3_finalize(statement);
  }
  sqlite3_close(db_);
}

boost::system::result<Statement> Connection::prepare(std::string_view sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    sqlite3_stmt* statement = nullptr;
    const int code = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                        &statement, nullptr);
    if (code != SQLITE_OK) {
      sqlite3_finalize(statement);
      return report(db_, code, std::string("prepare ").append(sql));
    }
    found = statements_.emplace(std::string(sql), statement).first;
  }
  return Statement(*this, found->second);
}

boost::system::result<void> Connection::exec(const std::string& sql) {
  const int code = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (code != SQLITE_OK) {
    return report(db_, code, sql);
  }
  return {};
}

std::int64_t Connection::changes() const noexcept {
  return static_cast<std::int64_t>(sqlite3_changes64(db_));
}

std::int64_t Connection::last_insert_rowid() const noexcept {
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
}

} // namespace parley::storage::sqlite::detail
