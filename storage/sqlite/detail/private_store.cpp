#include "storage/sqlite/detail/private_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

namespace parley::storage::sqlite::detail {

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
    auto statement = connection.prepare("SELECT xml FROM private_xml WHERE owner = ?1 AND key = ?2");
    if (!statement) {
      return statement.error();
    }
    auto row = statement->bind_text(1, user).bind_text(2, key).step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return storage_errc::not_found;
    }
    return statement->column_text(0);
  });
}

boost::system::result<void> PrivateStore::put(std::string_view user, std::string_view key, std::string_view xml,
                                              Timestamp now) {
  assert(off_io_thread());
  if (user.empty() || key.empty() || xml.empty() || xml.size() > max_fragment_bytes) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto statement = connection.prepare("INSERT INTO private_xml(owner, key, xml, updated_us) VALUES(?1, ?2, ?3, ?4) "
                                        "ON CONFLICT(owner, key) DO UPDATE SET xml = excluded.xml, "
                                        "updated_us = excluded.updated_us");
    if (!statement) {
      return statement.error();
    }
    return statement->bind_text(1, user)
        .bind_text(2, key)
        .bind_text(3, xml)
        .bind_int(4, static_cast<std::int64_t>(now.time_since_epoch().count()))
        .run();
  });
}

boost::system::result<bool> PrivateStore::remove(std::string_view user, std::string_view key) {
  assert(off_io_thread());
  if (user.empty() || key.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<bool> {
    auto statement = connection.prepare("DELETE FROM private_xml WHERE owner = ?1 AND key = ?2");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    if (auto deleted = statement->bind_text(1, user).bind_text(2, key).run(); !deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    return connection.changes() == 1;
  });
}

boost::system::result<std::size_t> PrivateStore::remove_user(std::string_view user) {
  assert(off_io_thread());
  if (user.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    auto statement = connection.prepare("DELETE FROM private_xml WHERE owner = ?1");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, user).run(); !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

boost::system::result<std::vector<std::string>> PrivateStore::keys(std::string_view user) {
  assert(off_io_thread());
  if (user.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    // TEXT compares with BINARY, memcmp order: bytewise.
    auto statement = connection.prepare("SELECT key FROM private_xml WHERE owner = ?1 ORDER BY key");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, user);
    return texts(*statement);
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
    auto statement = connection.prepare("SELECT DISTINCT owner FROM private_xml WHERE owner > ?1 "
                                        "ORDER BY owner LIMIT ?2");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, after).bind_int(2, page_size);
    return texts(*statement);
  });
}

} // namespace parley::storage::sqlite::detail
