#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace parley::storage::postgres::detail {

boost::system::result<bool> BlockStore::block(std::string_view user, std::string_view jid, Timestamp now) {
  assert(off_io_thread());
  if (user.empty() || jid.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(user).text(jid).integer(micros(now));
    // DO NOTHING: blocking again keeps the time of the first.
    auto rows = connection.exec("INSERT INTO blocks(user_jid, jid, created_us) VALUES($1, $2, $3) "
                                "ON CONFLICT(user_jid, jid) DO NOTHING",
                                params);
    if (!rows) {
      return {boost::system::in_place_error, rows.error()};
    }
    return rows->affected() == 1;
  });
}

boost::system::result<bool> BlockStore::unblock(std::string_view user, std::string_view jid) {
  assert(off_io_thread());
  if (user.empty() || jid.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(user).text(jid);
    auto deleted = connection.exec("DELETE FROM blocks WHERE user_jid = $1 AND jid = $2", params);
    if (!deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    return deleted->affected() == 1;
  });
}

boost::system::result<std::size_t> BlockStore::unblock_all(std::string_view user) {
  assert(off_io_thread());
  if (user.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::size_t> {
    Params params;
    params.text(user);
    auto deleted = connection.exec("DELETE FROM blocks WHERE user_jid = $1", params);
    if (!deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(deleted->affected());
  });
}

boost::system::result<std::vector<std::string>> BlockStore::blocked(std::string_view user) {
  assert(off_io_thread());
  if (user.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    Params params;
    params.text(user);
    // The columns are COLLATE "C": byte order.
    auto rows = connection.exec("SELECT jid FROM blocks WHERE user_jid = $1 ORDER BY jid", params);
    if (!rows) {
      return rows.error();
    }
    std::vector<std::string> jids;
    jids.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      jids.push_back(rows->text(i, 0));
    }
    return jids;
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
    Params params;
    params.text(after).integer(page_size);
    auto rows =
        connection.exec("SELECT DISTINCT user_jid FROM blocks WHERE user_jid > $1 ORDER BY user_jid LIMIT $2", params);
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
