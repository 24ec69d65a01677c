#include "storage/sqlite/detail/offline_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/seen_store.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/sqlite/detail/user_store.hpp"
#include "storage/storage_errc.hpp"

#include <cassert>
#include <cstdint>

namespace parley::storage::sqlite::detail {

namespace {

boost::system::result<std::size_t> count_of(Connection& connection, std::string_view username) {
  auto statement = connection.prepare("SELECT COUNT(*) FROM offline_messages WHERE username = ?1");
  if (!statement) {
    return statement.error();
  }
  auto row = statement->bind_text(1, username).step();
  if (!row) {
    return row.error();
  }
  return static_cast<std::size_t>(statement->column_int(0));
}

} // namespace

boost::system::result<OfflineMessageId> OfflineStore::push(std::string_view username, std::string_view stanza,
                                                           Timestamp timestamp, std::size_t quota,
                                                           const DeliveryKey* once) {
  assert(off_io_thread());
  if (once != nullptr && (once->scope.empty() || once->key.empty())) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<OfflineMessageId> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    if (once != nullptr) {
      // First, so that a repeat is a repeat even when the quota is full now; an error below
      // (the quota) rolls the key back with the transaction.
      auto recorded = insert_seen_key(connection, once->scope, once->key, once->value, timestamp);
      if (!recorded) {
        return recorded.error();
      }
      if (!*recorded) {
        return storage_errc::conflict;
      }
    }
    // Counting and inserting in one write transaction: concurrent pushes cannot overshoot.
    auto held = count_of(connection, username);
    if (!held) {
      return held.error();
    }
    if (*held >= quota) {
      return storage_errc::quota_exceeded;
    }
    auto statement = connection.prepare("INSERT INTO offline_messages(username, stamp_us, stanza) VALUES(?1, ?2, ?3)");
    if (!statement) {
      return statement.error();
    }
    auto inserted = statement->bind_text(1, username)
                        .bind_int(2, static_cast<std::int64_t>(timestamp.time_since_epoch().count()))
                        .bind_text(3, stanza)
                        .run();
    if (!inserted) {
      return inserted.error();
    }
    return connection.last_insert_rowid();
  });
}

boost::system::result<std::vector<OfflineMessage>> OfflineStore::list(std::string_view username) {
  assert(off_io_thread());
  return database_.read([&](Connection& connection) -> boost::system::result<std::vector<OfflineMessage>> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    auto statement =
        connection.prepare("SELECT id, stamp_us, stanza FROM offline_messages WHERE username = ?1 ORDER BY id");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, username);
    std::vector<OfflineMessage> messages;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return messages;
      }
      OfflineMessage message;
      message.id = statement->column_int(0);
      message.timestamp = Timestamp(std::chrono::microseconds(statement->column_int(1)));
      message.stanza = statement->column_text(2);
      messages.push_back(std::move(message));
    }
  });
}

boost::system::result<std::size_t> OfflineStore::remove(std::string_view username, OfflineMessageId up_to) {
  assert(off_io_thread());
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    auto statement = connection.prepare("DELETE FROM offline_messages WHERE username = ?1 AND id <= ?2");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, username).bind_int(2, up_to).run(); !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

boost::system::result<std::size_t> OfflineStore::count(std::string_view username) {
  assert(off_io_thread());
  return database_.read([&](Connection& connection) -> boost::system::result<std::size_t> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    return count_of(connection, username);
  });
}

boost::system::result<std::size_t> OfflineStore::purge(std::string_view username) {
  assert(off_io_thread());
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    auto statement = connection.prepare("DELETE FROM offline_messages WHERE username = ?1");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, username).run(); !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

} // namespace parley::storage::sqlite::detail
