#include "storage/sqlite/detail/block_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

namespace parley::storage::sqlite::detail {

boost::system::result<bool> BlockStore::block(std::string_view user, std::string_view jid, Timestamp now) {
  assert(off_io_thread());
  if (user.empty() || jid.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<bool> {
    // DO NOTHING: blocking again keeps the time of the first.
    auto statement = connection.prepare("INSERT INTO blocks(user_jid, jid, created_us) VALUES(?1, ?2, ?3) "
                                        "ON CONFLICT(user_jid, jid) DO NOTHING");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    auto inserted = statement->bind_text(1, user)
                        .bind_text(2, jid)
                        .bind_int(3, static_cast<std::int64_t>(now.time_since_epoch().count()))
                        .run();
    if (!inserted) {
      return {boost::system::in_place_error, inserted.error()};
    }
    return connection.changes() == 1;
  });
}

boost::system::result<bool> BlockStore::unblock(std::string_view user, std::string_view jid) {
  assert(off_io_thread());
  if (user.empty() || jid.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<bool> {
    auto statement = connection.prepare("DELETE FROM blocks WHERE user_jid = ?1 AND jid = ?2");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    if (auto deleted = statement->bind_text(1, user).bind_text(2, jid).run(); !deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    return connection.changes() == 1;
  });
}

boost::system::result<std::size_t> BlockStore::unblock_all(std::string_view user) {
  assert(off_io_thread());
  if (user.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    auto statement = connection.prepare("DELETE FROM blocks WHERE user_jid = ?1");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, user).run(); !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

boost::system::result<std::vector<std::string>> BlockStore::blocked(std::string_view user) {
  assert(off_io_thread());
  if (user.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    // TEXT compares with BINARY, memcmp order: bytewise.
    auto statement = connection.prepare("SELECT jid FROM blocks WHERE user_jid = ?1 ORDER BY jid");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, user);
    return texts(*statement);
  });
}

boost::system::result<std::vector<std::string>> BlockStore::users(std::string_view after, std::size_t limit) {
  assert(off_io_thread());
  if (limit == 0) {
    return storage_errc::invalid_argument;
  }
  const auto page_size = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto statement = connection.prepare("SELECT DISTINCT user_jid FROM blocks WHERE user_jid > ?1 "
                                        "ORDER BY user_jid LIMIT ?2");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, after).bind_int(2, page_size);
    return texts(*statement);
  });
}

} // namespace parley::storage::sqlite::detail
