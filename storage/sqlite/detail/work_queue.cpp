#include "storage/sqlite/detail/work_queue.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>
#include <tuple>

namespace parley::storage::sqlite::detail {

namespace {

// Every query that returns whole items selects the columns in this order, for item_from_row:
// id, queue, key, payload, state, attempts, created_us, due_us, owner, lease_until_us,
// last_error, updated_us.

std::int64_t micros(Timestamp time) noexcept {
  return static_cast<std::int64_t>(time.time_since_epoch().count());
}

Timestamp from_micros(std::int64_t value) noexcept {
  return Timestamp(std::chrono::microseconds(value));
}

// now + lease, saturating: an absurdly long lease must not overflow into the past.
std::int64_t lease_end(Timestamp now, std::chrono::microseconds lease) noexcept {
  constexpr auto highest = std::numeric_limits<std::int64_t>::max();
  constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
  const std::int64_t start = micros(now);
  const auto length = static_cast<std::int64_t>(lease.count());
  if (length > 0 && start > highest - length) {
    return highest;
  }
  if (length < 0 && start < lowest - length) {
    return lowest;
  }
  return start + length;
}

std::int64_t page_size(std::size_t limit) noexcept {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
}

boost::system::result<WorkItem> item_from_row(const Statement& row) {
  WorkItem item;
  item.id = row.column_int(0);
  item.queue = row.column_text(1);
  item.key = row.column_text(2);
  item.payload = row.column_text(3);
  const auto state = parse_work_state(row.column_text(4));
  const std::int64_t attempts = row.column_int(5);
  if (!state || attempts < 0 || attempts > std::numeric_limits<std::uint32_t>::max()) {
    return storage_errc::corrupt;
  }
  item.state = *state;
  item.attempts = static_cast<std::uint32_t>(attempts);
  item.created = from_micros(row.column_int(6));
  item.due = from_micros(row.column_int(7));
  item.owner = row.column_text(8);
  item.lease_until = from_micros(row.column_int(9));
  item.last_error = row.column_text(10);
  item.updated = from_micros(row.column_int(11));
  return item;
}

boost::system::result<std::vector<WorkItem>> items_from(Statement& statement) {
  std::vector<WorkItem> items;
  for (;;) {
    auto row = statement.step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return items;
    }
    auto item = item_from_row(statement);
    if (!item) {
      return item.error();
    }
    items.push_back(std::move(*item));
  }
}

// Appends one event to the timeline of item `id`, inside the caller's transaction. An unknown id
// violates the foreign key: not_found.
boost::system::result<void> record(Connection& connection, WorkItemId id, Timestamp at, std::string_view event,
                                   std::string_view detail) {
  auto statement = connection.prepare("INSERT INTO work_events(item, at_us, event, detail) VALUES(?1, ?2, ?3, ?4)");
  if (!statement) {
    return statement.error();
  }
  return statement->bind_int(1, id).bind_int(2, micros(at)).bind_text(3, event).bind_text(4, detail).run();
}

// Runs `update`, bound and guarded by the state the transition starts from (and the owner), and
// records `event` for it in the same transaction; tells an item in another state (conflict) from
// one that does not exist (not_found).
boost::system::result<void> transition(Connection& connection, Statement& update, WorkItemId id, Timestamp now,
                                       std::string_view event, std::string_view detail) {
  if (auto updated = update.run(); !updated) {
    return updated;
  }
  if (connection.changes() != 0) {
    return record(connection, id, now, event, detail);
  }
  auto statement = connection.prepare("SELECT 1 FROM work_items WHERE id = ?1");
  if (!statement) {
    return statement.error();
  }
  auto row = statement->bind_int(1, id).step();
  if (!row) {
    return row.error();
  }
  return *row ? storage_errc::conflict : storage_errc::not_found;
}

} // namespace

boost::system::result<Enqueued> WorkQueue::enqueue(std::string_view queue, std::string_view key,
                                                   std::string_view payload, Timestamp now, Timestamp due) {
  assert(off_io_thread());
  if (queue.empty() || key.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<Enqueued> {
    auto insert = connection.prepare(
        "INSERT INTO work_items(queue, key, payload, state, attempts, created_us, due_us, owner, lease_until_us, "
        "last_error, updated_us) VALUES(?1, ?2, ?3, 'pending', 0, ?4, ?5, '', 0, '', ?4) "
        "ON CONFLICT(queue, key) DO NOTHING");
    if (!insert) {
      return insert.error();
    }
    auto inserted = insert->bind_text(1, queue)
                        .bind_text(2, key)
                        .bind_text(3, payload)
                        .bind_int(4, micros(now))
                        .bind_int(5, micros(due))
                        .run();
    if (!inserted) {
      return inserted.error();
    }
    if (connection.changes() != 0) {
      const WorkItemId id = connection.last_insert_rowid();
      if (auto recorded = record(connection, id, now, "enqueued", {}); !recorded) {
        return recorded.error();
      }
      return Enqueued{id, true};
    }
    // The key is taken: the same work was enqueued before, in whatever state it is now.
    auto existing = connection.prepare("SELECT id FROM work_items WHERE queue = ?1 AND key = ?2");
    if (!existing) {
      return existing.error();
    }
    auto row = existing->bind_text(1, queue).bind_text(2, key).step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return storage_errc::internal; // the conflict that stopped the insert is in this transaction
    }
    return Enqueued{existing->column_int(0), false};
  });
}

boost::system::result<std::vector<WorkItem>> WorkQueue::claim(std::string_view queue, std::string_view owner,
                                                              Timestamp now, std::chrono::microseconds lease,
                                                              std::size_t limit) {
  assert(off_io_thread());
  if (queue.empty() || owner.empty() || limit == 0) {
    return storage_errc::invalid_argument;
  }
  // Choosing and taking in one write transaction: no other writer runs in between, so no item is
  // handed to two owners. Each state is searched on its own, each in work_items_to_claim order
  // and stopping at `limit`, so that a long backlog of due items is never sorted as a whole.
  return database_.write([&](Connection& connection) -> boost::system::result<std::vector<WorkItem>> {
    auto statement = connection.prepare(
        "UPDATE work_items SET state = 'claimed', owner = ?2, lease_until_us = ?4, attempts = attempts + 1, "
        "updated_us = ?3 "
        "WHERE id IN (SELECT id FROM ("
        "  SELECT * FROM (SELECT id, due_us FROM work_items WHERE queue = ?1 AND state = 'pending' "
        "                 AND due_us <= ?3 ORDER BY due_us, id LIMIT ?5) "
        "  UNION ALL "
        "  SELECT * FROM (SELECT id, due_us FROM work_items WHERE queue = ?1 AND state = 'claimed' "
        "                 AND lease_until_us <= ?3 ORDER BY due_us, id LIMIT ?5)) "
        "ORDER BY due_us, id LIMIT ?5) "
        "RETURNING id, queue, key, payload, state, attempts, created_us, due_us, owner, lease_until_us, last_error, "
        "updated_us");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, queue)
        .bind_text(2, owner)
        .bind_int(3, micros(now))
        .bind_int(4, lease_end(now, lease))
        .bind_int(5, page_size(limit));
    auto claimed = items_from(*statement);
    if (!claimed) {
      return claimed.error();
    }
    // RETURNING comes in no particular order.
    std::sort(claimed->begin(), claimed->end(),
              [](const WorkItem& a, const WorkItem& b) { return std::tie(a.due, a.id) < std::tie(b.due, b.id); });
    // One insert per item through one cached statement: in-process, no round trips to save.
    for (const auto& item : *claimed) {
      if (auto recorded = record(connection, item.id, now, "claimed", owner); !recorded) {
        return recorded.error();
      }
    }
    return claimed;
  });
}

boost::system::result<void> WorkQueue::complete(WorkItemId id, std::string_view owner, Timestamp now) {
  assert(off_io_thread());
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto update = connection.prepare("UPDATE work_items SET state = 'done', updated_us = ?3 "
                                     "WHERE id = ?1 AND state = 'claimed' AND owner = ?2");
    if (!update) {
      return update.error();
    }
    update->bind_int(1, id).bind_text(2, owner).bind_int(3, micros(now));
    return transition(connection, *update, id, now, "completed", {});
  });
}

boost::system::result<void> WorkQueue::retry(WorkItemId id, std::string_view owner, Timestamp now, Timestamp due,
                                             std::string_view error) {
  assert(off_io_thread());
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto update =
        connection.prepare("UPDATE work_items SET state = 'pending', updated_us = ?3, due_us = ?4, last_error = ?5 "
                           "WHERE id = ?1 AND state = 'claimed' AND owner = ?2");
    if (!update) {
      return update.error();
    }
    update->bind_int(1, id).bind_text(2, owner).bind_int(3, micros(now)).bind_int(4, micros(due)).bind_text(5, error);
    return transition(connection, *update, id, now, "retry", error);
  });
}

boost::system::result<void> WorkQueue::bury(WorkItemId id, std::string_view owner, Timestamp now,
                                            std::string_view error) {
  assert(off_io_thread());
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto update = connection.prepare("UPDATE work_items SET state = 'dead', updated_us = ?3, last_error = ?4 "
                                     "WHERE id = ?1 AND state = 'claimed' AND owner = ?2");
    if (!update) {
      return update.error();
    }
    update->bind_int(1, id).bind_text(2, owner).bind_int(3, micros(now)).bind_text(4, error);
    return transition(connection, *update, id, now, "buried", error);
  });
}

boost::system::result<void> WorkQueue::revive(WorkItemId id, Timestamp now) {
  assert(off_io_thread());
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto update = connection.prepare("UPDATE work_items SET state = 'pending', attempts = 0, due_us = ?2, "
                                     "updated_us = ?2 WHERE id = ?1 AND state = 'dead'");
    if (!update) {
      return update.error();
    }
    update->bind_int(1, id).bind_int(2, micros(now));
    return transition(connection, *update, id, now, "revived", {});
  });
}

boost::system::result<WorkItem> WorkQueue::get(WorkItemId id) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<WorkItem> {
    auto statement = connection.prepare("SELECT id, queue, key, payload, state, attempts, created_us, due_us, owner, "
                                        "lease_until_us, last_error, updated_us FROM work_items WHERE id = ?1");
    if (!statement) {
      return statement.error();
    }
    auto row = statement->bind_int(1, id).step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return storage_errc::not_found;
    }
    return item_from_row(*statement);
  });
}

boost::system::result<std::vector<WorkItem>> WorkQueue::list(std::string_view queue, WorkState state, WorkItemId after,
                                                             std::size_t limit) {
  assert(off_io_thread());
  if (limit == 0) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<WorkItem>> {
    auto statement = connection.prepare(
        "SELECT id, queue, key, payload, state, attempts, created_us, due_us, owner, lease_until_us, last_error, "
        "updated_us FROM work_items WHERE queue = ?1 AND state = ?2 AND id > ?3 ORDER BY id LIMIT ?4");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, queue).bind_text(2, to_string(state)).bind_int(3, after).bind_int(4, page_size(limit));
    return items_from(*statement);
  });
}

boost::system::result<std::uint64_t> WorkQueue::count(std::string_view queue, WorkState state) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::uint64_t> {
    auto statement = connection.prepare("SELECT COUNT(*) FROM work_items WHERE queue = ?1 AND state = ?2");
    if (!statement) {
      return statement.error();
    }
    auto row = statement->bind_text(1, queue).bind_text(2, to_string(state)).step();
    if (!row) {
      return row.error();
    }
    return static_cast<std::uint64_t>(statement->column_int(0));
  });
}

boost::system::result<std::size_t> WorkQueue::purge(std::string_view queue, WorkState state, Timestamp before) {
  assert(off_io_thread());
  if (state != WorkState::done && state != WorkState::dead) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    auto statement = connection.prepare("DELETE FROM work_items WHERE queue = ?1 AND state = ?2 AND updated_us < ?3");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, queue).bind_text(2, to_string(state)).bind_int(3, micros(before)).run();
        !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

boost::system::result<std::vector<std::string>> WorkQueue::queues() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto statement = connection.prepare("SELECT DISTINCT queue FROM work_items ORDER BY queue");
    if (!statement) {
      return statement.error();
    }
    std::vector<std::string> names;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return names;
      }
      names.push_back(statement->column_text(0));
    }
  });
}

boost::system::result<void> WorkQueue::add_event(WorkItemId id, Timestamp at, std::string_view event,
                                                 std::string_view detail) {
  assert(off_io_thread());
  if (event.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write(
      [&](Connection& connection) -> boost::system::result<void> { return record(connection, id, at, event, detail); });
}

boost::system::result<std::vector<WorkEvent>> WorkQueue::events(WorkItemId id) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<WorkEvent>> {
    // One statement tells "no such item" (no row) from "no events" (one row of NULLs).
    auto statement = connection.prepare("SELECT e.at_us, e.event, e.detail FROM work_items i "
                                        "LEFT JOIN work_events e ON e.item = i.id WHERE i.id = ?1 ORDER BY e.seq");
    if (!statement) {
      return statement.error();
    }
    statement->bind_int(1, id);
    std::vector<WorkEvent> events;
    bool found = false;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        break;
      }
      found = true;
      if (statement->column_is_null(1)) {
        continue;
      }
      events.push_back(
          WorkEvent{id, from_micros(statement->column_int(0)), statement->column_text(1), statement->column_text(2)});
    }
    if (!found) {
      return storage_errc::not_found;
    }
    return events;
  });
}

// Records no event: a copy brings the item's timeline along through add_event.
boost::system::result<void> WorkQueue::restore(const WorkItem& item) {
  assert(off_io_thread());
  if (item.queue.empty() || item.key.empty() || item.id < 1) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    // An explicit id above the AUTOINCREMENT sequence moves the sequence up to it. A taken id
    // or key violates the primary key or UNIQUE(queue, key): conflict.
    auto statement = connection.prepare(
        "INSERT INTO work_items(id, queue, key, payload, state, attempts, created_us, due_us, owner, lease_until_us, "
        "last_error, updated_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!statement) {
      return statement.error();
    }
    return statement->bind_int(1, item.id)
        .bind_text(2, item.queue)
        .bind_text(3, item.key)
        .bind_text(4, item.payload)
        .bind_text(5, to_string(item.state))
        .bind_int(6, item.attempts)
        .bind_int(7, micros(item.created))
        .bind_int(8, micros(item.due))
        .bind_text(9, item.owner)
        .bind_int(10, micros(item.lease_until))
        .bind_text(11, item.last_error)
        .bind_int(12, micros(item.updated))
        .run();
  });
}

} // namespace parley::storage::sqlite::detail
