#pragma once
// One libpq connection with its prepared statements, used by one thread at a time.

#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct pg_conn;
struct pg_result;

namespace parley::storage::postgres::detail {

/// Parameters of one statement, in order ($1, $2, ...). Text goes as text; `bytes` as binary
/// (bytea); integers as their decimal text. Strings are copied, so temporaries are fine.
class Params {
public:
  Params& text(std::string_view value);
  /// `values` as a text[] literal ({"a","b"}), for `= ANY($n::text[])`: one statement whatever
  /// their number, so the connection's prepared statements stay few.
  Params& text_array(std::span<const std::string> values);
  Params& integer(std::int64_t value);
  Params& boolean(bool value);
  Params& bytes(std::string_view value);
  Params& null();

  int size() const noexcept { return static_cast<int>(values_.size()); }
  /// The arrays PQexecPrepared wants; valid until the Params change.
  std::vector<const char*> pointers() const;
  const int* lengths() const noexcept { return lengths_.data(); }
  const int* formats() const noexcept { return formats_.data(); }

private:
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

/// The rows of one statement (text format). Owns its PGresult.
class Rows {
public:
  explicit Rows(pg_result* result) noexcept : result_(result, &clear) {}

  int size() const noexcept;
  /// Rows a DELETE, UPDATE or INSERT touched.
  std::uint64_t affected() const noexcept;
  bool is_null(int row, int column) const noexcept;
  std::string text(int row, int column) const;
  std::int64_t integer(int row, int column) const noexcept;
  bool boolean(int row, int column) const noexcept;
  /// A bytea column, decoded from its hex text form.
  std::string bytes(int row, int column) const;

private:
  static void clear(pg_result* result) noexcept;
  std::unique_ptr<pg_result, void (*)(pg_result*)> result_;
};

/// One step of a pipeline: a statement and its parameters.
struct Step {
  std::string_view sql;
  Params params;
};

class Connection {
public:
  /// Connects (blocking, bounded by connect_timeout in the DSN or ours). unavailable when the
  /// server cannot be reached or refuses us; the reason goes to the log.
  static boost::system::result<std::unique_ptr<Connection>> open(const std::string& dsn, const std::string& password);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs `sql` (prepared once per connection, then reused) with `params`.
  boost::system::result<Rows> exec(std::string_view sql, const Params& params = {});

  /// Runs a statement without parameters and without preparing it (BEGIN, COMMIT, DDL).
  boost::system::result<void> simple(std::string_view sql);

  /// Sends every step in one round trip (libpq pipeline mode) followed by one Sync; the steps
  /// run in one implicit transaction: all commit, or on the first error none does.
  boost::system::result<std::vector<Rows>> pipeline(std::span<Step> steps);

  /// False once the connection is lost; the pool then drops it.
  bool healthy() const noexcept;

  /// For an idle connection: reads, without blocking, whatever the server sent meanwhile (the
  /// notice of a shutdown, or EOF) and answers whether the connection is still usable. Catches
  /// a server restart before a call fails on the stale connection.
  bool still_alive() noexcept;

private:
  explicit Connection(pg_conn* conn) noexcept : conn_(conn) {}
  boost::system::result<std::string> statement_name(std::string_view sql);

  pg_conn* conn_;
  bool broken_ = false;
  std::unordered_map<std::string, std::string> prepared_; // SQL -> statement name
};

} // namespace parley::storage::postgres::detail
