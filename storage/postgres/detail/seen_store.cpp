#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <cassert>

namespace parley::storage::postgres::detail {

boost::system::result<bool> SeenStore::remember(std::string_view scope, std::string_view key, std::string_view value,
                                                Timestamp now) {
  assert(off_io_thread());
  if (scope.empty() || key.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(scope).text(key).text(value).integer(micros(now));
    auto rows = connection.exec("INSERT INTO seen_keys(scope, key, value, created_us) VALUES($1, $2, $3, $4) "
                                "ON CONFLICT(scope, key) DO NOTHING",
                                params);
    if (!rows) {
      return {boost::system::in_place_error, rows.error()};
    }
    return rows->affected() == 1;
  });
}

boost::system::result<std::string> SeenStore::lookup(std::string_view scope, std::string_view key) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::string> {
    Params params;
    params.text(scope).text(key);
    auto rows = connection.exec("SELECT value FROM seen_keys WHERE scope = $1 AND key = $2", params);
    if (!rows) {
      return rows.error();
    }
    if (rows->size() == 0) {
      return storage_errc::not_found;
    }
    return rows->text(0, 0);
  });
}

boost::system::result<std::size_t> SeenStore::forget_before(Timestamp before) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::size_t> {
    Params params;
    params.integer(micros(before));
    auto rows = connection.exec("DELETE FROM seen_keys WHERE created_us < $1", params);
    if (!rows) {
      return rows.error();
    }
    return static_cast<std::size_t>(rows->affected());
  });
}

} // namespace parley::storage::postgres::detail
