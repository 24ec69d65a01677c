#include "tests/storage/postgres_backend.hpp"

#include "storage/postgres/open.hpp"
#include "storage/storage_errc.hpp"

#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

namespace parley::storage::testing {

namespace {

/// Runs one statement on a short-lived connection; the error text, or empty on success.
std::string run(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      error = PQresultErrorMessage(result);
    }
    PQclear(result);
  }
  PQfinish(conn);
  return error;
}

std::atomic<int> counter{0};

} // namespace

std::string test_pg_dsn() {
  if (const char* dsn = std::getenv("PARLEY_TEST_PG_DSN"); dsn != nullptr && *dsn != '\0') {
    return dsn;
  }
  if (const char* file = std::getenv("PARLEY_TEST_PG_DSN_FILE"); file != nullptr && *file != '\0') {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return line;
  }
  return {};
}

PostgresBackend::PostgresBackend()
    : base_dsn_(test_pg_dsn()),
      schema_("conformance_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)) {
  dsn_ = base_dsn_ + " options='-csearch_path=" + schema_ + "'";
}

PostgresBackend::~PostgresBackend() {
  if (created_) {
    (void)run(base_dsn_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
  }
}

boost::system::result<std::unique_ptr<Storage>> PostgresBackend::open() {
  // Without a server the PostgreSQL half of the suite fails loudly; it is never skipped.
  REQUIRE_MESSAGE(!base_dsn_.empty(), "no test PostgreSQL: set PARLEY_TEST_PG_DSN or PARLEY_TEST_PG_DSN_FILE "
                                      "(ctest starts one through the parley_pg fixture)");
  if (!created_) {
    const std::string error = run(base_dsn_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_);
    REQUIRE_MESSAGE(error.empty(), error);
    created_ = true;
  }
  postgres::Options options;
  options.dsn = dsn_;
  return postgres::open(options);
}

} // namespace parley::storage::testing
