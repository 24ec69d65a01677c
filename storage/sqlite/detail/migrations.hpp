#pragma once

#include <span>
#include <string_view>

namespace parley::storage::sqlite::detail {

/// One step of the SQLite schema. Versions start at 1 and increase by one; a released
/// migration is never edited, only followed by a new one.
struct Migration {
  int version;
  std::string_view description;
  /// One or more SQL statements, run inside the transaction that applies the migration.
  const char* sql;
};

/// Every migration, in version order.
std::span<const Migration> migrations() noexcept;

} // namespace parley::storage::sqlite::detail
