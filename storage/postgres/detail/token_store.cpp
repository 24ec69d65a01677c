#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <cassert>

namespace parley::storage::postgres::detail {

namespace {

// Reads the columns id, hash, scope, description, created_us, in that order.
ApiToken token_from(const Rows& rows, int row) {
  ApiToken token;
  token.id = rows.text(row, 0);
  token.hash = rows.text(row, 1);
  token.scope = rows.text(row, 2);
  token.description = rows.text(row, 3);
  token.created = from_micros(rows.integer(row, 4));
  return token;
}

} // namespace

boost::system::result<void> TokenStore::create(const ApiToken& token) {
  assert(off_io_thread());
  if (token.id.empty() || token.hash.empty() || token.scope.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(token.id).text(token.hash).text(token.scope).text(token.description).integer(micros(token.created));
    // A taken id violates the primary key: conflict.
    auto inserted = connection.exec(
        "INSERT INTO api_tokens(id, hash, scope, description, created_us) VALUES($1, $2, $3, $4, $5)", params);
    if (!inserted) {
      return inserted.error();
    }
    return {};
  });
}

boost::system::result<ApiToken> TokenStore::get(std::string_view id) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<ApiToken> {
    Params params;
    params.text(id);
    auto rows =
        connection.exec("SELECT id, hash, scope, description, created_us FROM api_tokens WHERE id = $1", params);
    if (!rows) {
      return rows.error();
    }
    if (rows->size() == 0) {
      return storage_errc::not_found;
    }
    return token_from(*rows, 0);
  });
}

boost::system::result<std::vector<ApiToken>> TokenStore::list() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<ApiToken>> {
    auto rows = connection.exec("SELECT id, hash, scope, description, created_us FROM api_tokens ORDER BY id");
    if (!rows) {
      return rows.error();
    }
    std::vector<ApiToken> tokens;
    tokens.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      tokens.push_back(token_from(*rows, i));
    }
    return tokens;
  });
}

boost::system::result<void> TokenStore::revoke(std::string_view id) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(id);
    auto deleted = connection.exec("DELETE FROM api_tokens WHERE id = $1", params);
    if (!deleted) {
      return deleted.error();
    }
    if (deleted->affected() == 0) {
      return storage_errc::not_found;
    }
    return {};
  });
}

} // namespace parley::storage::postgres::detail
