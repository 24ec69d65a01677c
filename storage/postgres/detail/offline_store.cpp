#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <array>
#include <cassert>
#include <limits>

namespace parley::storage::postgres::detail {

// Every call here is one pipeline: the user check and the work go to the server in one round
// trip and run in one implicit transaction (libpq pipeline mode), instead of four round trips
// for BEGIN, check, work and COMMIT.

namespace {

constexpr std::string_view user_check = "SELECT 1 FROM users WHERE username = $1";

/// Runs the user check (optionally taking the user's row lock) and then `sql`; returns the
/// rows of `sql`, or not_found when the user does not exist.
boost::system::result<Rows> checked(Database& database, std::string_view username, bool lock, std::string_view sql,
                                    Params params) {
  if (username.empty()) {
    return storage_errc::invalid_argument;
  }
  return database.with_connection([&](Connection& connection) -> boost::system::result<Rows> {
    Params user;
    user.text(username);
    std::array<Step, 2> steps{
        Step{lock ? "SELECT 1 FROM users WHERE username = $1 FOR UPDATE" : user_check, std::move(user)},
        Step{sql, std::move(params)}};
    auto results = connection.pipeline(steps);
    if (!results) {
      return results.error();
    }
    if ((*results)[0].size() == 0) {
      return storage_errc::not_found;
    }
    return std::move((*results)[1]);
  });
}

} // namespace

boost::system::result<OfflineMessageId> OfflineStore::push(std::string_view username, std::string_view stanza,
                                                           Timestamp timestamp, std::size_t quota) {
  assert(off_io_thread());
  const auto limit = static_cast<std::int64_t>(
      std::min<std::size_t>(quota, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  Params params;
  params.text(username).integer(micros(timestamp)).text(stanza).integer(limit);
  // The row lock of the first step serializes pushes for one user, and READ COMMITTED gives
  // this statement a snapshot taken after the lock: the count cannot overshoot the quota.
  auto rows = checked(database_, username, /*lock=*/true,
                      "INSERT INTO offline_messages(username, stamp_us, stanza) "
                      "SELECT $1::text, $2::bigint, $3::text "
                      "WHERE (SELECT COUNT(*) FROM offline_messages WHERE username = $1::text) < $4::bigint "
                      "RETURNING id",
                      std::move(params));
  if (!rows) {
    return rows.error();
  }
  if (rows->size() == 0) {
    return storage_errc::quota_exceeded;
  }
  return rows->integer(0, 0);
}

boost::system::result<std::vector<OfflineMessage>> OfflineStore::list(std::string_view username) {
  assert(off_io_thread());
  Params params;
  params.text(username);
  auto rows = checked(database_, username, /*lock=*/false,
                      "SELECT id, stamp_us, stanza FROM offline_messages WHERE username = $1 ORDER BY id",
                      std::move(params));
  if (!rows) {
    return rows.error();
  }
  std::vector<OfflineMessage> messages;
  messages.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    OfflineMessage message;
    message.id = rows->integer(i, 0);
    message.timestamp = from_micros(rows->integer(i, 1));
    message.stanza = rows->text(i, 2);
    messages.push_back(std::move(message));
  }
  return messages;
}

boost::system::result<std::size_t> OfflineStore::remove(std::string_view username, OfflineMessageId up_to) {
  assert(off_io_thread());
  Params params;
  params.text(username).integer(up_to);
  auto rows = checked(database_, username, /*lock=*/false,
                      "DELETE FROM offline_messages WHERE username = $1 AND id <= $2", std::move(params));
  if (!rows) {
    return rows.error();
  }
  return static_cast<std::size_t>(rows->affected());
}

boost::system::result<std::size_t> OfflineStore::count(std::string_view username) {
  assert(off_io_thread());
  Params params;
  params.text(username);
  auto rows = checked(database_, username, /*lock=*/false,
                      "SELECT COUNT(*) FROM offline_messages WHERE username = $1", std::move(params));
  if (!rows) {
    return rows.error();
  }
  return static_cast<std::size_t>(rows->integer(0, 0));
}

boost::system::result<std::size_t> OfflineStore::purge(std::string_view username) {
  assert(off_io_thread());
  Params params;
  params.text(username);
  auto rows = checked(database_, username, /*lock=*/false, "DELETE FROM offline_messages WHERE username = $1",
                      std::move(params));
  if (!rows) {
    return rows.error();
  }
  return static_cast<std::size_t>(rows->affected());
}

} // namespace parley::storage::postgres::detail
