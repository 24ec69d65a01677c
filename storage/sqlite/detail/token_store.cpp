#include "storage/sqlite/detail/token_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <cassert>
#include <cstdint>

namespace parley::storage::sqlite::detail {

namespace {

// Reads the columns id, hash, scope, description, created_us, in that order.
ApiToken token_from_row(const Statement& row) {
  ApiToken token;
  token.id = row.column_text(0);
  token.hash = row.column_text(1);
  token.scope = row.column_text(2);
  token.description = row.column_text(3);
  token.created = Timestamp(std::chrono::microseconds(row.column_int(4)));
  return token;
}

} // namespace

boost::system::result<void> TokenStore::create(const ApiToken& token) {
  assert(off_io_thread());
  if (token.id.empty() || token.hash.empty() || token.scope.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    // A taken id violates the primary key: conflict.
    auto statement = connection.prepare(
        "INSERT INTO api_tokens(id, hash, scope, description, created_us) VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!statement) {
      return statement.error();
    }
    return statement->bind_text(1, token.id)
        .bind_text(2, token.hash)
        .bind_text(3, token.scope)
        .bind_text(4, token.description)
        .bind_int(5, static_cast<std::int64_t>(token.created.time_since_epoch().count()))
        .run();
  });
}

boost::system::result<ApiToken> TokenStore::get(std::string_view id) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<ApiToken> {
    auto statement =
        connection.prepare("SELECT id, hash, scope, description, created_us FROM api_tokens WHERE id = ?1");
    if (!statement) {
      return statement.error();
    }
    auto row = statement->bind_text(1, id).step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return storage_errc::not_found;
    }
    return token_from_row(*statement);
  });
}

boost::system::result<std::vector<ApiToken>> TokenStore::list() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<ApiToken>> {
    auto statement = connection.prepare("SELECT id, hash, scope, description, created_us FROM api_tokens ORDER BY id");
    if (!statement) {
      return statement.error();
    }
    std::vector<ApiToken> tokens;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return tokens;
      }
      tokens.push_back(token_from_row(*statement));
    }
  });
}

boost::system::result<void> TokenStore::revoke(std::string_view id) {
  assert(off_io_thread());
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto statement = connection.prepare("DELETE FROM api_tokens WHERE id = ?1");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, id).run(); !deleted) {
      return deleted;
    }
    if (connection.changes() == 0) {
      return storage_errc::not_found;
    }
    return {};
  });
}

} // namespace parley::storage::sqlite::detail
