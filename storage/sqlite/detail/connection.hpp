#pragma once

#include "storage/sqlite/detail/statement.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace parley::storage::sqlite::detail {

/// One SQLite connection with its cache of prepared statements. Used by one thread at a time
/// (the Database hands it out as a lease), so it takes no locks of its own.
class Connection {
public:
  /// Opens `file` (creating it if missing) and sets the per-connection pragmas: foreign_keys=ON,
  /// synchronous=NORMAL, the busy timeout, defensive mode.
  static boost::system::result<std::unique_ptr<Connection>> open(const std::filesystem::path& file,
                                                                 std::chrono::milliseconds busy_timeout);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// The prepared statement for `sql` (one statement), prepared on first use and cached for the
  /// connection's lifetime. At most one Statement per `sql` may be alive at a time.
  boost::system::result<Statement> prepare(std::string_view sql);

  /// Runs `sql`, which may hold several statements, without caching (migrations, pragmas).
  boost::system::result<void> exec(const std::string& sql);

  /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
  std::int64_t changes() const noexcept;
  /// The rowid of the last INSERT on this connection.
  std::int64_t last_insert_rowid() const noexcept;

  sqlite3* handle() const noexcept { return db_; }

private:
  explicit Connection(sqlite3* db) noexcept : db_(db) {}

  // Looked up by string_view without building a std::string on every call.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept { return std::hash<std::string_view>{}(sql); }
  };

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> statements_;
};

} // namespace parley::storage::sqlite::detail
