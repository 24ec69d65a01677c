#pragma once

#include "storage/storage.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace parley::storage::testing {

/// The connection string of the test PostgreSQL server: $PARLEY_TEST_PG_DSN, or the first line
/// of the file named by $PARLEY_TEST_PG_DSN_FILE (written by tests/pg/pgcluster.sh, which the
/// ctest fixture `parley_pg` starts). Empty when neither is set.
std::string test_pg_dsn();

/// Conformance-suite fixture for the PostgreSQL backend: a fresh schema of its own in the test
/// database (so fixtures never see each other's rows), dropped on destruction. See
/// SqliteBackend for the members every fixture offers.
class PostgresBackend {
public:
  static constexpr const char* name = "postgres";

  PostgresBackend();
  ~PostgresBackend();
  PostgresBackend(const PostgresBackend&) = delete;
  PostgresBackend& operator=(const PostgresBackend&) = delete;

  boost::system::result<std::unique_ptr<Storage>> open();

  /// The DSN that points at this fixture's schema.
  const std::string& dsn() const noexcept { return dsn_; }

private:
  std::string base_dsn_;
  std::string schema_;
  std::string dsn_;
  bool created_ = false;
};

} // namespace parley::storage::testing
