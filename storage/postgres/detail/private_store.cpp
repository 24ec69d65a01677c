#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace parley::storage::postgres::detail {

namespace {

/// The largest fragment put() accepts, in bytes (1 MiB); a bigger one is invalid_argument. A
/// bound on what one user can make the server hold under one key, the same on every backend.
constexpr std::size_t max_fragment_bytes = 1024 * 1024;

} // namespace

boost::system::result<std::string> PrivateStore::get(std::string_view user, std::string_view key) {
  assert(off_io_thread());
  if (user.empty() || key.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::string> {
    Params params;
    params.text(user).text(key);
    auto rows = connection.exec("SELECT xml FROM private_xml WHERE owner = $1 AND key = $2", params);
    if (!rows) {
      return rows.error();
    }
    if (rows->size() == 0) {
      return storage_errc::not_found;
    }
    return rows->text(0, 0);
  });
}

boost::system::result<void> PrivateStore::put(std::string_view user, std::string_view key, std::string_view xml,
                                              Timestamp now) {
  assert(off_io_thread());
  if (user.empty() || key.empty() || xml.empty() || xml.size() > max_fragment_bytes) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(user).text(key).text(xml).integer(micros(now));
    auto rows = connection.exec("INSERT INTO private_xml(owner, key, xml, updated_us) VALUES($1, $2, $3, $4) "
                                "ON CONFLICT(owner, key) DO UPDATE SET xml = excluded.xml, "
                                "updated_us = excluded.updated_us",
                                params);
    if (!rows) {
      return rows.error();
    }
    return {};
  });
}

boost::system::result<bool> PrivateStore::remove(std::string_view user, std::string_view key) {
  assert(off_io_thread());
  if (user.empty() || key.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(user).text(key);
    auto deleted = connection.exec("DELETE FROM private_xml WHERE owner = $1 AND key = $2", params);
    if (!deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    return deleted->affected() == 1;
  });
}

boost::system::result<std::size_t> PrivateStore::remove_user(std::string_view user) {
  assert(off_io_thread());
  if (user.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::size_t> {
    Params params;
    params.text(user);
    auto deleted = connection.exec("DELETE FROM private_xml WHERE owner = $1", params);
    if (!deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(deleted->affected());
  });
}

boost::system::result<std::vector<std::string>> PrivateStore::keys(std::string_view user) {
  assert(off_io_thread());
  if (user.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    Params params;
    params.text(user);
    // The columns are COLLATE "C": byte order.
    auto rows = connection.exec("SELECT key FROM private_xml WHERE owner = $1 ORDER BY key", params);
    if (!rows) {
      return rows.error();
    }
    std::vector<std::string> keys;
    keys.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      keys.push_back(rows->text(i, 0));
    }
    return keys;
  });
}

boost::system::result<std::vector<std::string>> PrivateStore::users(std::string_view after, std::size_t limit) {
  assert(off_io_thread());
  if (limit == 0) {
    return storage_errc::invalid_argument;
  }
  const auto page_size = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    Params params;
    params.text(after).integer(page_size);
    auto rows =
        connection.exec("SELECT DISTINCT owner FROM private_xml WHERE owner > $1 ORDER BY owner LIMIT $2", params);
    if (!rows) {
      return rows.error();
    }
    std::vector<std::string> users;
    users.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      users.push_back(rows->text(i, 0));
    }
    return users;
  });
}

} // namespace parley::storage::postgres::detail
