#include "storage/sqlite/detail/errors.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

namespace parley::storage::sqlite::detail {

storage_errc to_storage_errc(int sqlite_code) noexcept {
  switch (sqlite_code) {
  // A foreign key pointing nowhere: the user or item referred to does not exist.
  case SQLITE_CONSTRAINT_FOREIGNKEY: return storage_errc::not_found;
  case SQLITE_CONSTRAINT_CHECK:
  case SQLITE_CONSTRAINT_NOTNULL:
#ifdef SQLITE_CONSTRAINT_DATATYPE
  case SQLITE_CONSTRAINT_DATATYPE:
#endif
    return storage_errc::invalid_argument;
  default: break;
  }
  switch (sqlite_code & 0xff) {
  case SQLITE_CONSTRAINT: return storage_errc::conflict;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_IOERR:
  case SQLITE_FULL:
  case SQLITE_CANTOPEN:
  case SQLITE_NOMEM:
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_PROTOCOL:
  case SQLITE_INTERRUPT:
  case SQLITE_NOLFS:
  case SQLITE_AUTH: return storage_errc::unavailable;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
  case SQLITE_FORMAT: return storage_errc::corrupt;
  case SQLITE_TOOBIG:
  case SQLITE_RANGE:
  case SQLITE_MISMATCH: return storage_errc::invalid_argument;
  default:
    // SQLITE_ERROR (bad SQL), SQLITE_MISUSE, SQLITE_INTERNAL, SQLITE_SCHEMA: our bugs.
    return storage_errc::internal;
  }
}

boost::system::error_code report(sqlite3* db, int sqlite_code, std::string_view context) noexcept {
  const storage_errc errc = to_storage_errc(sqlite_code);
  if (errc == storage_errc::unavailable || errc == storage_errc::corrupt || errc == storage_errc::internal) {
    // The connection's message is only meaningful when it belongs to this failure.
    const char* detail = (db != nullptr && sqlite3_extended_errcode(db) == sqlite_code) ? sqlite3_errmsg(db)
                                                                                        : sqlite3_errstr(sqlite_code);
    try {
      spdlog::error("storage/sqlite: {}: {} (SQLite code {})", context, detail, sqlite_code);
    } catch (...) {
      // Logging must not turn a storage error into an exception.
    }
  }
  return make_error_code(errc);
}

} // namespace parley::storage::sqlite::detail
