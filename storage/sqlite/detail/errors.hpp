#pragma once

#include "storage/storage_errc.hpp"

#include <boost/system/error_code.hpp>

#include <string_view>

struct sqlite3;

namespace parley::storage::sqlite::detail {

/// The storage_errc for an SQLite result code (primary or extended).
storage_errc to_storage_errc(int sqlite_code) noexcept;

/// Maps `sqlite_code`, the result of a failed call on `db` (may be null), to our error code.
/// Conditions that mean trouble with the database rather than with the request (unavailable,
/// corrupt, internal) are logged with `context` and SQLite's own message. Never throws.
boost::system::error_code report(sqlite3* db, int sqlite_code, std::string_view context) noexcept;

} // namespace parley::storage::sqlite::detail
