#include "storage/postgres/detail/connection.hpp"

#include "storage/storage_errc.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <poll.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <string_view>

namespace parley::storage::postgres::detail {

namespace {

/// SQLSTATE classes and codes (PostgreSQL documentation, appendix A) onto our errors.
storage_errc from_sqlstate(std::string_view state) noexcept {
  if (state == "23505") { // unique_violation
    return storage_errc::conflict;
  }
  if (state == "23503") { // foreign_key_violation: the user or item referred to is gone
    return storage_errc::not_found;
  }
  if (state.starts_with("23") || state.starts_with("22")) { // other constraints; data exceptions
    return storage_errc::invalid_argument;
  }
  if (state.starts_with("08") ||                            // connection exceptions
      state.starts_with("53") ||                            // insufficient resources (disk full, ...)
      state.starts_with("57") ||                            // operator intervention (shutdown, cancel)
      state == "40001" || state == "40P01" ||               // serialization failure, deadlock
      state == "55P03" || state == "25006" ||               // lock not available; read-only transaction
      state.starts_with("58")) {                            // system errors (I/O)
    return storage_errc::unavailable;
  }
  if (state.starts_with("XX")) { // internal error, data corrupted, index corrupted
    return storage_errc::corrupt;
  }
  return storage_errc::internal; // syntax errors, undefined objects: our bugs
}

std::string_view trimmed(const char* message) {
  std::string_view text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  return text;
}

/// The error of a failed result (or of the connection when there is no result), logged when it
/// is not one the callers expect in normal operation.
boost::system::error_code failure(pg_conn* conn, const PGresult* result, std::string_view context) {
  storage_errc errc = storage_errc::unavailable;
  std::string_view message;
  std::string_view state;
  if (result != nullptr) {
    const char* code = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    state = code != nullptr ? code : "";
    message = trimmed(PQresultErrorMessage(result));
    if (!state.empty()) {
      errc = from_sqlstate(state);
    }
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    errc = storage_errc::unavailable;
  }
  if (message.empty()) {
    message = trimmed(PQerrorMessage(conn));
  }
  if (errc != storage_errc::conflict && errc != storage_errc::not_found && errc != storage_errc::invalid_argument) {
    try {
      spdlog::error("storage/postgres: {}: {} (SQLSTATE {})", context, message, state.empty() ? "none" : state);
    } catch (...) {
      // Logging must not turn a storage error into an exception.
    }
  }
  return make_error_code(errc);
}

bool succeeded(const PGresult* result) {
  const auto status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

} // namespace

// ---- Params -----------------------------------------------------------------------------

Params& Params::text_array(std::span<const std::string> values) {
  std::string out = "{";
  for (const auto& value : values) {
    if (out.size() > 1) {
      out += ',';
    }
    out += '"';
    for (const char c : value) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  out += '}';
  return text(out);
}

Params& Params::text(std::string_view value) {
  values_.emplace_back(value);
  nulls_.push_back(false);
  lengths_.push_back(0);
  formats_.push_back(0);
  return *this;
}

Params& Params::integer(std::int64_t value) {
  return text(std::to_string(value));
}

Params& Params::boolean(bool value) {
  return text(value ? "t" : "f");
}

Params& Params::bytes(std::string_view value) {
  values_.emplace_back(value);
  nulls_.push_back(false);
  lengths_.push_back(static_cast<int>(value.size()));
  formats_.push_back(1);
  return *this;
}

Params& Params::null() {
  values_.emplace_back();
  nulls_.push_back(true);
  lengths_.push_back(0);
  formats_.push_back(0);
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) {
    out.push_back(nulls_[i] ? nullptr : values_[i].c_str());
  }
  return out;
}

// ---- Rows -------------------------------------------------------------------------------

void Rows::clear(pg_result* result) noexcept {
  PQclear(result);
}

int Rows::size() const noexcept {
  return PQntuples(result_.get());
}

std::uint64_t Rows::affected() const noexcept {
  const char* text = PQcmdTuples(result_.get());
  std::uint64_t n = 0;
  if (text != nullptr) {
    std::from_chars(text, text + std::char_traits<char>::length(text), n);
  }
  return n;
}

bool Rows::is_null(int row, int column) const noexcept {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string Rows::text(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::int64_t Rows::integer(int row, int column) const noexcept {
  const char* value = PQgetvalue(result_.get(), row, column);
  std::int64_t n = 0;
  std::from_chars(value, value + PQgetlength(result_.get(), row, column), n);
  return n;
}

bool Rows::boolean(int row, int column) const noexcept {
  return PQgetvalue(result_.get(), row, column)[0] == 't';
}

std::string Rows::bytes(int row, int column) const {
  std::size_t length = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)), &length);
  if (raw == nullptr) {
    return {};
  }
  std::string out(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return out;
}

// ---- Connection -------------------------------------------------------------------------

boost::system::result<std::unique_ptr<Connection>> Connection::open(const std::string& dsn,
                                                                    const std::string& password) {
  // Keywords are applied in order, so the DSN overrides our defaults and an explicit password
  // overrides the DSN's.
  std::vector<const char*> keys{"connect_timeout", "application_name", "keepalives_idle", "dbname"};
  std::vector<const char*> values{"5", "parleyd", "30", dsn.c_str()};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) {
    return storage_errc::unavailable;
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    try {
      spdlog::warn("storage/postgres: cannot connect: {}", trimmed(PQerrorMessage(conn)));
    } catch (...) {
    }
    PQfinish(conn);
    return storage_errc::unavailable;
  }
  // Notices ("relation already exists, skipping") are not errors; keep them out of stderr.
  PQsetNoticeProcessor(
      conn,
      [](void*, const char* message) {
        try {
          spdlog::debug("storage/postgres: {}", trimmed(message));
        } catch (...) {
        }
      },
      nullptr);
  auto connection = std::unique_ptr<Connection>(new Connection(conn));
  // Byte order for text everywhere (see the schema), UTC for anything time-like, and a bound on
  // how long one statement may hold a worker thread.
  if (auto set = connection->simple("SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'; "
                                    "SET statement_timeout = '30s'; SET lock_timeout = '10s'");
      !set) {
    return set.error();
  }
  return connection;
}

Connection::~Connection() {
  PQfinish(conn_);
}

bool Connection::healthy() const noexcept {
  return !broken_ && PQstatus(conn_) == CONNECTION_OK;
}

bool Connection::still_alive() noexcept {
  if (!healthy()) {
    return false;
  }
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  if (fd.fd < 0) {
    return false;
  }
  // Nothing is due on an idle connection: what arrived is a notice, an error (the shutdown's
  // FATAL) or EOF, possibly in separate reads.
  for (int reads = 0; reads < 4 && ::poll(&fd, 1, 0) > 0; ++reads) {
    if (PQconsumeInput(conn_) != 1) {
      return false;
    }
    while (PGnotify* notice = PQnotifies(conn_)) {
      PQfreemem(notice);
    }
    // An error the server sent while we were idle means it is ending the session.
    if (PGresult* stray = PQgetResult(conn_)) {
      PQclear(stray);
      broken_ = true;
      return false;
    }
  }
  return healthy();
}

boost::system::result<void> Connection::simple(std::string_view sql) {
  const std::string text(sql);
  PGresult* result = PQexec(conn_, text.c_str());
  Rows owner(result);
  if (result == nullptr || !succeeded(result)) {
    return failure(conn_, result, text.substr(0, 60));
  }
  return {};
}

boost::system::result<std::string> Connection::statement_name(std::string_view sql) {
  std::string key(sql);
  if (auto found = prepared_.find(key); found != prepared_.end()) {
    return found->second;
  }
  std::string name = "p" + std::to_string(prepared_.size() + 1);
  PGresult* result = PQprepare(conn_, name.c_str(), key.c_str(), 0, nullptr);
  Rows owner(result);
  if (result == nullptr || !succeeded(result)) {
    return failure(conn_, result, "prepare " + key.substr(0, 60));
  }
  prepared_.emplace(std::move(key), name);
  return name;
}

boost::system::result<Rows> Connection::exec(std::string_view sql, const Params& params) {
  auto name = statement_name(sql);
  if (!name) {
    return name.error();
  }
  const auto values = params.pointers();
  PGresult* result = PQexecPrepared(conn_, name->c_str(), params.size(), values.data(), params.lengths(),
                                    params.formats(), /*resultFormat=*/0);
  Rows rows(result);
  if (result == nullptr || !succeeded(result)) {
    return failure(conn_, result, std::string(sql.substr(0, 60)));
  }
  return rows;
}

boost::system::result<std::vector<Rows>> Connection::pipeline(std::span<Step> steps) {
  // Statements are prepared beforehand, outside the pipeline, so that the pipeline itself is
  // one write and one read.
  std::vector<std::string> names;
  names.reserve(steps.size());
  for (const auto& step : steps) {
    auto name = statement_name(step.sql);
    if (!name) {
      return name.error();
    }
    names.push_back(std::move(*name));
  }
  if (PQenterPipelineMode(conn_) != 1) {
    return failure(conn_, nullptr, "enter pipeline mode");
  }
  // Leaves pipeline mode however this function returns; a pipeline left half-read is drained.
  struct Leave {
    Connection* self;
    ~Leave() {
      for (int guard = 0; PQexitPipelineMode(self->conn_) != 1; ++guard) {
        PGresult* result = PQgetResult(self->conn_);
        if ((result == nullptr && PQstatus(self->conn_) != CONNECTION_OK) || guard > 10'000) {
          self->broken_ = true; // the pool drops it rather than reuse a confused connection
          PQclear(result);
          break;
        }
        PQclear(result);
      }
    }
  } leave{this};

  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto values = steps[i].params.pointers();
    if (PQsendQueryPrepared(conn_, names[i].c_str(), steps[i].params.size(), values.data(),
                            steps[i].params.lengths(), steps[i].params.formats(), 0) != 1) {
      return failure(conn_, nullptr, "pipeline send");
    }
  }
  if (PQpipelineSync(conn_) != 1) {
    return failure(conn_, nullptr, "pipeline sync");
  }

  std::vector<Rows> out;
  out.reserve(steps.size());
  boost::system::error_code first_error;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) {
      return failure(conn_, nullptr, "pipeline result");
    }
    Rows rows(result);
    if (!first_error && !succeeded(result)) {
      // PGRES_PIPELINE_ABORTED marks the steps after the one that failed.
      first_error = failure(conn_, result, std::string(steps[i].sql.substr(0, 60)));
    }
    // Each step's results end with a null.
    while (PGresult* extra = PQgetResult(conn_)) {
      PQclear(extra);
    }
    out.push_back(std::move(rows));
  }
  // The Sync's own result.
  PGresult* sync = PQgetResult(conn_);
  const bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  if (first_error) {
    return first_error;
  }
  if (!synced) {
    return failure(conn_, nullptr, "pipeline sync result");
  }
  return out;
}

} // namespace parley::storage::postgres::detail
