#include "storage/sqlite/detail/statement.hpp"

#include "storage/sqlite/detail/connection.hpp"
#include "storage/sqlite/detail/errors.hpp"

#include <sqlite3.h>

#include <climits>
#include <cstddef>
#include <utility>

namespace parley::storage::sqlite::detail {

namespace {

int byte_length(std::string_view bytes) noexcept {
  // SQLite takes lengths as int; anything longer cannot be stored anyway.
  return bytes.size() > static_cast<std::size_t>(INT_MAX) ? -1 : static_cast<int>(bytes.size());
}

std::string column_bytes(sqlite3_stmt* statement, int index, const void* data) {
  const int size = sqlite3_column_bytes(statement, index);
  if (data == nullptr || size <= 0) {
    return {};
  }
  return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
}

} // namespace

Statement::Statement(Connection& connection, sqlite3_stmt* statement) noexcept
    : connection_(&connection), statement_(statement) {}

Statement::Statement(Statement&& other) noexcept
    : connection_(other.connection_), statement_(std::exchange(other.statement_, nullptr)),
      bind_error_(other.bind_error_) {}

Statement::~Statement() {
  if (statement_ != nullptr) {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
}

void Statement::note_bind_result(int code) noexcept {
  if (code != SQLITE_OK && bind_error_ == SQLITE_OK) {
    bind_error_ = code;
  }
}

Statement& Statement::bind_text(int index, std::string_view text) {
  const int length = byte_length(text);
  if (length < 0) {
    note_bind_result(SQLITE_TOOBIG);
    return *this;
  }
  // An empty view may have a null data(); SQLite would store NULL for a null pointer.
  const char* data = text.data() != nullptr ? text.data() : "";
  note_bind_result(sqlite3_bind_text(statement_, index, data, length, SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  const int length = byte_length(bytes);
  if (length < 0) {
    note_bind_result(SQLITE_TOOBIG);
    return *this;
  }
  if (length == 0) {
    note_bind_result(sqlite3_bind_zeroblob(statement_, index, 0));
  } else {
    note_bind_result(sqlite3_bind_blob(statement_, index, bytes.data(), length, SQLITE_TRANSIENT));
  }
  return *this;
}

Statement& Statement::bind_int(int index, std::int64_t value) {
  note_bind_result(sqlite3_bind_int64(statement_, index, static_cast<sqlite3_int64>(value)));
  return *this;
}

boost::system::result<bool> Statement::step() {
  if (bind_error_ != SQLITE_OK) {
    return {boost::system::in_place_error, report(connection_->handle(), bind_error_, sqlite3_sql(statement_))};
  }
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) {
    return true;
  }
  if (code == SQLITE_DONE) {
    return false;
  }
  // With extended result codes on, sqlite3_step returns the extended code itself.
  // (in_place_error: bool is explicitly constructible from an error_code.)
  return {boost::system::in_place_error, report(connection_->handle(), code, sqlite3_sql(statement_))};
}

boost::system::result<void> Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return {};
    }
  }
}

std::int64_t Statement::column_int(int index) const noexcept {
  return static_cast<std::int64_t>(sqlite3_column_int64(statement_, index));
}

std::string Statement::column_text(int index) const {
  // Fetch the pointer before the size, as SQLite's documentation asks.
  const unsigned char* text = sqlite3_column_text(statement_, index);
  return column_bytes(statement_, index, text);
}

std::string Statement::column_blob(int index) const {
  const void* blob = sqlite3_column_blob(statement_, index);
  return column_bytes(statement_, index, blob);
}

bool Statement::column_is_null(int index) const noexcept {
  return sqlite3_column_type(statement_, index) == SQLITE_NULL;
}

boost::system::result<std::vector<std::string>> texts(Statement& statement) {
  std::vector<std::string> out;
  for (;;) {
    auto row = statement.step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return out;
    }
    out.push_back(statement.column_text(0));
  }
}

std::string json_array(std::span<const std::string> values) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "[";
  for (const auto& value : values) {
    if (out.size() > 1) {
      out += ',';
    }
    out += '"';
    for (const char c : value) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (byte < 0x20) {
        out += "\\u00";
        out += hex[byte >> 4];
        out += hex[byte & 0xf];
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += ']';
  return out;
}

} // namespace parley::storage::sqlite::detail
