#include "bench/pg_schema.hpp"

#include <libpq-fe.h>

#include <iostream>
#include <utility>

namespace parley::bench {

std::string pg_exec(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) != PGRES_COMMAND_OK) {
      error = PQresultErrorMessage(result);
    }
    PQclear(result);
  }
  PQfinish(conn);
  while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) {
    error.pop_back();
  }
  return error;
}

std::string pg_server_version(const std::string& dsn) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  std::string version;
  if (PQstatus(conn) == CONNECTION_OK) {
    if (const char* value = PQparameterStatus(conn, "server_version"); value != nullptr) {
      version = value;
    }
  }
  PQfinish(conn);
  return version;
}

std::string with_search_path(const std::string& dsn, const std::string& schema) {
  if (dsn.starts_with("postgresql://") || dsn.starts_with("postgres://")) {
    return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
  }
  return dsn + " options='-csearch_path=" + schema + "'";
}

PgSchema::~PgSchema() {
  if (created_) {
    if (auto error = pg_exec(base_dsn_, "DROP SCHEMA IF EXISTS " + name_ + " CASCADE"); !error.empty()) {
      std::cerr << "cannot drop schema " << name_ << ": " << error << '\n';
    }
  }
}

std::string PgSchema::create() {
  auto error = pg_exec(base_dsn_, "DROP SCHEMA IF EXISTS " + name_ + " CASCADE; CREATE SCHEMA " + name_);
  created_ = error.empty();
  return error;
}

} // namespace parley::bench
