#pragma once

#include <boost/system/result.hpp>

#include <span>

namespace parley::storage::postgres::detail {

class Connection;

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

/// Every migration in version order, starting at 1 with no gaps.
std::span<const Migration> migrations() noexcept;

/// Applies the pending migrations, each in its own transaction, holding an advisory lock so
/// that nodes starting together do not race. schema_too_new for a newer database.
boost::system::result<void> migrate(Connection& connection);

/// The version of the database `connection` points at (0 for an empty one).
boost::system::result<int> applied_version(Connection& connection);

} // namespace parley::storage::postgres::detail
