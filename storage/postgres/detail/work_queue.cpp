#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace parley::storage::postgres::detail {

namespace {

constexpr std::string_view item_columns =
    "id, queue, key, payload, state, attempts, created_us, due_us, owner, lease_until_us, last_error, updated_us";

boost::system::result<WorkItem> item_from(const Rows& rows, int row) {
  WorkItem item;
  item.id = rows.integer(row, 0);
  item.queue = rows.text(row, 1);
  item.key = rows.text(row, 2);
  item.payload = rows.text(row, 3);
  const auto state = parse_work_state(rows.text(row, 4));
  const auto attempts = rows.integer(row, 5);
  if (!state || attempts < 0 || attempts > std::numeric_limits<std::uint32_t>::max()) {
    return storage_errc::corrupt;
  }
  item.state = *state;
  item.attempts = static_cast<std::uint32_t>(attempts);
  item.created = from_micros(rows.integer(row, 6));
  item.due = from_micros(rows.integer(row, 7));
  item.owner = rows.text(row, 8);
  item.lease_until = from_micros(rows.integer(row, 9));
  item.last_error = rows.text(row, 10);
  item.updated = from_micros(rows.integer(row, 11));
  return item;
}

boost::system::result<std::vector<WorkItem>> items_from(const Rows& rows) {
  std::vector<WorkItem> items;
  items.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    auto item = item_from(rows, i);
    if (!item) {
      return item.error();
    }
    items.push_back(std::move(*item));
  }
  return items;
}

std::int64_t clamp(std::size_t n) {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(n, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
}

} // namespace

boost::system::result<Enqueued> WorkQueue::enqueue(std::string_view queue, std::string_view key,
                                                   std::string_view payload, Timestamp now, Timestamp due) {
  assert(off_io_thread());
  if (queue.empty() || key.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<Enqueued> {
    Params params;
    params.text(queue).text(key).text(payload).integer(micros(now)).integer(micros(due));
    // One statement either way: a new row with its "enqueued" event, or nothing and then the
    // existing row's id. The insert's ON CONFLICT waits for a concurrent insert of the same key to
    // commit or abort.
    auto inserted = connection.exec(
        "WITH created AS (INSERT INTO work_items(queue, key, payload, state, attempts, created_us, due_us, owner, "
        "lease_until_us, last_error, updated_us) VALUES($1, $2, $3, 'pending', 0, $4::bigint, $5::bigint, '', 0, '', "
        "$4::bigint) ON CONFLICT(queue, key) DO NOTHING RETURNING id), "
        "logged AS (INSERT INTO work_events(item, at_us, event, detail) "
        "SELECT id, $4::bigint, 'enqueued', '' FROM created) "
        "SELECT id FROM created",
        params);
    if (!inserted) {
      return inserted.error();
    }
    if (inserted->size() == 1) {
      return Enqueued{inserted->integer(0, 0), true};
    }
    Params which;
    which.text(queue).text(key);
    auto existing = connection.exec("SELECT id FROM work_items WHERE queue = $1 AND key = $2", which);
    if (!existing) {
      return existing.error();
    }
    if (existing->size() != 1) {
      return storage_errc::unavailable; // deleted by a purge in between: the caller may retry
    }
    return Enqueued{existing->integer(0, 0), false};
  });
}

boost::system::result<std::vector<WorkItem>> WorkQueue::claim(std::string_view queue, std::string_view owner,
                                                              Timestamp now, std::chrono::microseconds lease,
                                                              std::size_t limit) {
  assert(off_io_thread());
  if (queue.empty() || owner.empty() || limit == 0) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<WorkItem>> {
    Params params;
    params.text(queue)
        .integer(micros(now))
        .integer(clamp(limit))
        .text(owner)
        .integer(micros(now) + static_cast<std::int64_t>(lease.count()));
    // SKIP LOCKED: rows another claimer is taking right now are passed over, not waited for,
    // so any number of workers on any number of nodes claim disjoint items. NO KEY UPDATE is the
    // lock the UPDATE takes anyway; unlike FOR UPDATE it does not clash with the key-share lock
    // that an add_event on the item takes through the foreign key of work_events.
    // The "claimed" events go in the same statement: one round trip, one transaction.
    auto rows = connection.exec(
        "WITH claimed AS (UPDATE work_items w SET state = 'claimed', owner = $4, lease_until_us = $5::bigint, "
        "attempts = w.attempts + 1, updated_us = $2::bigint "
        "FROM (SELECT id FROM work_items WHERE queue = $1 AND "
        "((state = 'pending' AND due_us <= $2::bigint) OR (state = 'claimed' AND lease_until_us <= $2::bigint)) "
        "ORDER BY due_us, id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED) due "
        "WHERE w.id = due.id RETURNING w.id, w.queue, w.key, w.payload, w.state, w.attempts, w.created_us, "
        "w.due_us, w.owner, w.lease_until_us, w.last_error, w.updated_us), "
        "logged AS (INSERT INTO work_events(item, at_us, event, detail) "
        "SELECT id, $2::bigint, 'claimed', $4::text FROM claimed) "
        "SELECT id, queue, key, payload, state, attempts, created_us, due_us, owner, lease_until_us, last_error, "
        "updated_us FROM claimed",
        params);
    if (!rows) {
      return rows.error();
    }
    auto items = items_from(*rows);
    if (items) {
      std::sort(items->begin(), items->end(), [](const WorkItem& a, const WorkItem& b) {
        return std::pair(a.due, a.id) < std::pair(b.due, b.id);
      });
    }
    return items;
  });
}

boost::system::result<void> WorkQueue::finish(WorkItemId id, std::string_view owner, Timestamp now, WorkState to,
                                              Timestamp due, std::string_view error, std::string_view event) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.integer(id)
        .text(owner)
        .text(to_string(to))
        .integer(micros(now))
        .integer(micros(due))
        .text(error)
        .text(event);
    // due and last_error change only for retry and bury; complete keeps them. The event goes in
    // the same statement, and only for a row that moved: the insert counts the moved rows.
    auto rows = connection.exec("WITH moved AS (UPDATE work_items SET state = $3::text, updated_us = $4::bigint, "
                                "due_us = CASE WHEN $3::text = 'pending' THEN $5::bigint ELSE due_us END, "
                                "last_error = CASE WHEN $3::text = 'done' THEN last_error ELSE $6::text END "
                                "WHERE id = $1 AND state = 'claimed' AND owner = $2 RETURNING id) "
                                "INSERT INTO work_events(item, at_us, event, detail) "
                                "SELECT id, $4::bigint, $7::text, $6::text FROM moved",
                                params);
    if (!rows) {
      return rows.error();
    }
    if (rows->affected() == 1) {
      return {};
    }
    Params which;
    which.integer(id);
    auto exists = connection.exec("SELECT 1 FROM work_items WHERE id = $1", which);
    if (!exists) {
      return exists.error();
    }
    return exists->size() == 0 ? storage_errc::not_found : storage_errc::conflict;
  });
}

boost::system::result<void> WorkQueue::complete(WorkItemId id, std::string_view owner, Timestamp now) {
  return finish(id, owner, now, WorkState::done, now, {}, "completed");
}

boost::system::result<void> WorkQueue::retry(WorkItemId id, std::string_view owner, Timestamp now, Timestamp due,
                                             std::string_view error) {
  return finish(id, owner, now, WorkState::pending, due, error, "retry");
}

boost::system::result<void> WorkQueue::bury(WorkItemId id, std::string_view owner, Timestamp now,
                                            std::string_view error) {
  return finish(id, owner, now, WorkState::dead, now, error, "buried");
}

boost::system::result<void> WorkQueue::revive(WorkItemId id, Timestamp now) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.integer(id).integer(micros(now));
    auto rows = connection.exec("WITH moved AS (UPDATE work_items SET state = 'pending', due_us = $2::bigint, "
                                "updated_us = $2::bigint, attempts = 0 WHERE id = $1 AND state = 'dead' RETURNING id) "
                                "INSERT INTO work_events(item, at_us, event, detail) "
                                "SELECT id, $2::bigint, 'revived', '' FROM moved",
                                params);
    if (!rows) {
      return rows.error();
    }
    if (rows->affected() == 1) {
      return {};
    }
    Params which;
    which.integer(id);
    auto exists = connection.exec("SELECT 1 FROM work_items WHERE id = $1", which);
    if (!exists) {
      return exists.error();
    }
    return exists->size() == 0 ? storage_errc::not_found : storage_errc::conflict;
  });
}

boost::system::result<WorkItem> WorkQueue::get(WorkItemId id) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<WorkItem> {
    Params params;
    params.integer(id);
    auto rows = connection.exec("SELECT " + std::string(item_columns) + " FROM work_items WHERE id = $1", params);
    if (!rows) {
      return rows.error();
    }
    if (rows->size() == 0) {
      return storage_errc::not_found;
    }
    return item_from(*rows, 0);
  });
}

boost::system::result<std::vector<WorkItem>> WorkQueue::list(std::string_view queue, WorkState state,
                                                             WorkItemId after, std::size_t limit) {
  assert(off_io_thread());
  if (limit == 0) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<WorkItem>> {
    Params params;
    params.text(queue).text(to_string(state)).integer(after).integer(clamp(limit));
    auto rows = connection.exec("SELECT " + std::string(item_columns) +
                                    " FROM work_items WHERE queue = $1 AND state = $2 AND id > $3 "
                                    "ORDER BY id LIMIT $4",
                                params);
    if (!rows) {
      return rows.error();
    }
    return items_from(*rows);
  });
}

boost::system::result<std::uint64_t> WorkQueue::count(std::string_view queue, WorkState state) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::uint64_t> {
    Params params;
    params.text(queue).text(to_string(state));
    auto rows = connection.exec("SELECT COUNT(*) FROM work_items WHERE queue = $1 AND state = $2", params);
    if (!rows) {
      return rows.error();
    }
    return static_cast<std::uint64_t>(rows->integer(0, 0));
  });
}

boost::system::result<std::size_t> WorkQueue::purge(std::string_view queue, WorkState state, Timestamp before) {
  assert(off_io_thread());
  if (state != WorkState::done && state != WorkState::dead) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::size_t> {
    Params params;
    params.text(queue).text(to_string(state)).integer(micros(before));
    auto rows =
        connection.exec("DELETE FROM work_items WHERE queue = $1 AND state = $2 AND updated_us < $3", params);
    if (!rows) {
      return rows.error();
    }
    return static_cast<std::size_t>(rows->affected());
  });
}

boost::system::result<std::vector<std::string>> WorkQueue::queues() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto rows = connection.exec("SELECT DISTINCT queue FROM work_items ORDER BY queue");
    if (!rows) {
      return rows.error();
    }
    std::vector<std::string> names;
    for (int i = 0; i < rows->size(); ++i) {
      names.push_back(rows->text(i, 0));
    }
    return names;
  });
}

boost::system::result<void> WorkQueue::add_event(WorkItemId id, Timestamp at, std::string_view event,
                                                 std::string_view detail) {
  assert(off_io_thread());
  if (event.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.integer(id).integer(micros(at)).text(event).text(detail);
    // An unknown (or concurrently purged) id violates the foreign key: not_found.
    auto inserted =
        connection.exec("INSERT INTO work_events(item, at_us, event, detail) VALUES($1, $2, $3, $4)", params);
    if (!inserted) {
      return inserted.error();
    }
    return {};
  });
}

boost::system::result<std::vector<WorkEvent>> WorkQueue::events(WorkItemId id) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<WorkEvent>> {
    Params params;
    params.integer(id);
    // One statement tells "no such item" (no row) from "no events" (one row of NULLs).
    auto rows = connection.exec("SELECT e.at_us, e.event, e.detail FROM work_items i "
                                "LEFT JOIN work_events e ON e.item = i.id WHERE i.id = $1 ORDER BY e.seq",
                                params);
    if (!rows) {
      return rows.error();
    }
    if (rows->size() == 0) {
      return storage_errc::not_found;
    }
    std::vector<WorkEvent> events;
    events.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      if (rows->is_null(i, 1)) {
        continue;
      }
      events.push_back(WorkEvent{id, from_micros(rows->integer(i, 0)), rows->text(i, 1), rows->text(i, 2)});
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
    Params params;
    params.integer(item.id)
        .text(item.queue)
        .text(item.key)
        .text(item.payload)
        .text(to_string(item.state))
        .integer(item.attempts)
        .integer(micros(item.created))
        .integer(micros(item.due))
        .text(item.owner)
        .integer(micros(item.lease_until))
        .text(item.last_error)
        .integer(micros(item.updated));
    if (auto inserted = connection.exec("INSERT INTO work_items(" + std::string(item_columns) +
                                            ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                                        params);
        !inserted) {
      return inserted.error();
    }
    // Later enqueues must get ids above every restored one.
    auto moved = connection.exec("SELECT setval(pg_get_serial_sequence('work_items', 'id'), "
                                 "GREATEST((SELECT MAX(id) FROM work_items), 1))");
    if (!moved) {
      return moved.error();
    }
    return {};
  });
}

} // namespace parley::storage::postgres::detail
