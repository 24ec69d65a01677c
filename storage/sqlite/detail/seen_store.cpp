#include "storage/sqlite/detail/seen_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <cassert>
#include <cstdint>

namespace parley::storage::sqlite::detail {

boost::system::result<bool> insert_seen_key(Connection& connection, std::string_view scope, std::string_view key,
                                            std::string_view value, Timestamp now) {
  auto statement = connection.prepare("INSERT INTO seen_keys(scope, key, value, created_us) VALUES(?1, ?2, ?3, ?4) "
                                      "ON CONFLICT(scope, key) DO NOTHING");
  if (!statement) {
    return {boost::system::in_place_error, statement.error()};
  }
  auto inserted = statement->bind_text(1, scope)
                      .bind_text(2, key)
                      .bind_text(3, value)
                      .bind_int(4, static_cast<std::int64_t>(now.time_since_epoch().count()))
                      .run();
  if (!inserted) {
    return {boost::system::in_place_error, inserted.error()};
  }
  return connection.changes() == 1;
}

boost::system::result<bool> SeenStore::remember(std::string_view scope, std::string_view key, std::string_view value,
                                                Timestamp now) {
  assert(off_io_thread());
  if (scope.empty() || key.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write(
      [&](Connection& connection) { return insert_seen_key(connection, scope, key, value, now); });
}

boost::system::result<std::string> SeenStore::lookup(std::string_view scope, std::string_view key) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::string> {
    auto statement = connection.prepare("SELECT value FROM seen_keys WHERE scope = ?1 AND key = ?2");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    auto row = statement->bind_text(1, scope).bind_text(2, key).step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return storage_errc::not_found;
    }
    return statement->column_text(0);
  });
}

boost::system::result<std::size_t> SeenStore::forget_before(Timestamp before) {
  assert(off_io_thread());
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    auto statement = connection.prepare("DELETE FROM seen_keys WHERE created_us < ?1");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    if (auto deleted = statement->bind_int(1, static_cast<std::int64_t>(before.time_since_epoch().count())).run();
        !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

} // namespace parley::storage::sqlite::detail
