#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
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

namespace {

// The user must exist (a missing one would fail the whole batch on the foreign key), and the
// count runs after the user's row lock was taken: READ COMMITTED gives this statement a
// snapshot that sees every earlier push of this user, in this batch too.
constexpr std::string_view insert_sql =
    "INSERT INTO offline_messages(username, stamp_us, stanza) "
    "SELECT $1::text, $2::bigint, $3::text "
    "WHERE EXISTS (SELECT 1 FROM users WHERE username = $1::text) "
    "AND (SELECT COUNT(*) FROM offline_messages WHERE username = $1::text) < $4::bigint "
    "RETURNING id";

// With a delivery key: the message only when the key is new, and the key only with the
// message, in one statement. The answer is one row: the new id (NULL when nothing was stored)
// and whether the key was new. A concurrent push of the same key that commits first makes the
// key's insert fail with unique_violation, which comes back as conflict: never two copies.
constexpr std::string_view insert_once_sql =
    "WITH fresh AS (SELECT NOT EXISTS (SELECT 1 FROM seen_keys WHERE scope = $5::text AND key = $6::text) AS ok), "
    "ins AS (INSERT INTO offline_messages(username, stamp_us, stanza) "
    "SELECT $1::text, $2::bigint, $3::text "
    "WHERE (SELECT ok FROM fresh) "
    "AND EXISTS (SELECT 1 FROM users WHERE username = $1::text) "
    "AND (SELECT COUNT(*) FROM offline_messages WHERE username = $1::text) < $4::bigint "
    "RETURNING id), "
    "mark AS (INSERT INTO seen_keys(scope, key, value, created_us) SELECT $5::text, $6::text, $7::text, $2::bigint "
    "FROM ins) "
    "SELECT (SELECT id FROM ins), (SELECT ok FROM fresh)";

std::string_view sql_for(const OfflineStore::PushRequest& request) {
  return request.once != nullptr ? insert_once_sql : insert_sql;
}

Params insert_params(const OfflineStore::PushRequest& request) {
  const auto limit = static_cast<std::int64_t>(
      std::min<std::size_t>(request.quota, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  Params params;
  params.text(request.username).integer(micros(request.timestamp)).text(request.stanza).integer(limit);
  if (request.once != nullptr) {
    params.text(request.once->scope).text(request.once->key).text(request.once->value);
  }
  return params;
}

/// The outcome of insert_sql or insert_once_sql from its rows.
boost::system::result<OfflineMessageId> outcome_of(const OfflineStore::PushRequest& request, const Rows& rows) {
  if (request.once == nullptr) {
    if (rows.size() == 0) {
      return storage_errc::quota_exceeded;
    }
    return rows.integer(0, 0);
  }
  if (rows.size() != 1) {
    return storage_errc::internal;
  }
  if (!rows.boolean(0, 1)) {
    return storage_errc::conflict;
  }
  if (rows.is_null(0, 0)) {
    return storage_errc::quota_exceeded;
  }
  return rows.integer(0, 0);
}

} // namespace

boost::system::result<OfflineMessageId> OfflineStore::push(std::string_view username, std::string_view stanza,
                                                           Timestamp timestamp, std::size_t quota,
                                                           const DeliveryKey* once) {
  assert(off_io_thread());
  if (username.empty() || (once != nullptr && (once->scope.empty() || once->key.empty()))) {
    return storage_errc::invalid_argument;
  }
  PushRequest request{username, stanza, timestamp, quota, once};
  std::unique_lock lock(mutex_);
  waiting_.push_back(&request);
  while (!request.done) {
    if (committing_) {
      committed_.wait(lock);
      continue;
    }
    // This thread commits for everyone waiting, itself included.
    committing_ = true;
    std::vector<PushRequest*> batch;
    batch.swap(waiting_);
    lock.unlock();
    push_batch(batch);
    lock.lock();
    committing_ = false;
    committed_.notify_all();
  }
  return request.outcome;
}

void OfflineStore::push_one(PushRequest& request) {
  Params params = insert_params(request);
  auto rows = checked(database_, request.username, /*lock=*/true, sql_for(request), std::move(params));
  if (!rows) {
    request.outcome = rows.error();
  } else {
    request.outcome = outcome_of(request, *rows);
  }
  request.done = true;
}

void OfflineStore::push_batch(std::vector<PushRequest*>& batch) {
  if (batch.size() == 1) {
    push_one(*batch.front());
    return;
  }
  // Row locks first, each user once and in one order (no deadlock with another node's batch),
  // then the inserts in arrival order; one Sync commits them all.
  std::vector<std::string_view> users;
  for (const auto* request : batch) {
    users.push_back(request->username);
  }
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  std::vector<Step> steps;
  steps.reserve(users.size() + batch.size());
  for (const auto user : users) {
    Params params;
    params.text(user);
    steps.push_back(Step{"SELECT 1 FROM users WHERE username = $1 FOR UPDATE", std::move(params)});
  }
  for (const auto* request : batch) {
    steps.push_back(Step{sql_for(*request), insert_params(*request)});
  }
  auto results = database_.with_connection(
      [&](Connection& connection) -> boost::system::result<std::vector<Rows>> { return connection.pipeline(steps); });
  if (!results) {
    // Nothing of the batch was committed. An outage fails them all; anything else is tried
    // one by one, so that one bad push cannot fail the others.
    for (auto* request : batch) {
      if (results.error() == storage_errc::unavailable) {
        request->outcome = results.error();
        request->done = true;
      } else {
        push_one(*request);
      }
    }
    return;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Rows& user = (*results)[static_cast<std::size_t>(
        std::lower_bound(users.begin(), users.end(), batch[i]->username) - users.begin())];
    const Rows& inserted = (*results)[users.size() + i];
    if (user.size() == 0) {
      batch[i]->outcome = storage_errc::not_found;
    } else {
      batch[i]->outcome = outcome_of(*batch[i], inserted);
    }
    batch[i]->done = true;
  }
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
