#pragma once
// A PostgreSQL schema of its own for one benchmark run, and the libpq calls around it, shared
// by parley-storebench and parley-archivebench.

#include <string>

namespace parley::bench {

/// Runs `sql` on a short-lived connection; the error text, or empty on success.
std::string pg_exec(const std::string& dsn, const std::string& sql);

/// The server's version ("15.18"), or empty when it cannot be reached.
std::string pg_server_version(const std::string& dsn);

/// `dsn` with `schema` as its search_path, in keyword or URI form.
std::string with_search_path(const std::string& dsn, const std::string& schema);

/// A schema that lives as long as this object: created by create(), dropped on destruction.
class PgSchema {
public:
  PgSchema(std::string base_dsn, std::string name) : base_dsn_(std::move(base_dsn)), name_(std::move(name)) {}
  PgSchema(const PgSchema&) = delete;
  PgSchema& operator=(const PgSchema&) = delete;
  ~PgSchema();
  /// The error text, or empty on success.
  std::string create();
  const std::string& name() const noexcept { return name_; }

private:
  std::string base_dsn_;
  std::string name_;
  bool created_ = false;
};

} // namespace parley::bench
