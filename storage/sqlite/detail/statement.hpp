#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3_stmt;

namespace parley::storage::sqlite::detail {

class Connection;

/// One use of a prepared statement cached by its Connection: bind, step, read columns.
/// Destruction resets the statement and clears its bindings, ready for the next use.
/// Lives on the stack of one call, on the thread that holds the Connection.
class Statement {
public:
  Statement(Connection& connection, sqlite3_stmt* statement) noexcept;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binding never fails on its own: the first failure is kept and returned by the next step().
  // Parameters are numbered from 1, as in the SQL (?1, ?2, ...).
  Statement& bind_text(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_int(int index, std::int64_t value);

  /// Runs one step: true when a row is ready to read, false when the statement is done.
  boost::system::result<bool> step();
  /// Steps to the end, ignoring any rows (for INSERT, UPDATE, DELETE).
  boost::system::result<void> run();

  std::int64_t column_int(int index) const noexcept;
  std::string column_text(int index) const;
  std::string column_blob(int index) const;
  bool column_is_null(int index) const noexcept;

private:
  void note_bind_result(int code) noexcept;

  Connection* connection_;
  sqlite3_stmt* statement_;
  int bind_error_ = 0;
};

/// Steps `statement` to the end and returns every row's first column, as text.
boost::system::result<std::vector<std::string>> texts(Statement& statement);

/// `values` as a JSON array of strings, for json_each(): one statement whatever their number,
/// so the connection's statement cache stays small.
std::string json_array(std::span<const std::string> values);

} // namespace parley::storage::sqlite::detail
