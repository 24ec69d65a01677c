#include "storage/sqlite/detail/archive_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>
#include <optional>

namespace parley::storage::sqlite::detail {

namespace {

/// The most ids one query may name in `ids`, and in `after_ids` or `before_ids`: a bound on the
/// work one request can ask for. More is invalid_argument.
constexpr std::size_t max_query_ids = 1000;

std::int64_t micros(Timestamp t) noexcept {
  return static_cast<std::int64_t>(t.time_since_epoch().count());
}

Timestamp from_micros(std::int64_t us) noexcept {
  return Timestamp(std::chrono::microseconds(us));
}

std::int64_t clamped(std::size_t n) noexcept {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(n, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
}

bool valid_mode(std::string_view mode) noexcept {
  return mode == "always" || mode == "never" || mode == "roster";
}

/// The seq of message `id` in `owner`'s archive; not_found when it is not there.
boost::system::result<std::int64_t> seq_of(Connection& connection, std::string_view owner, std::string_view id) {
  auto statement = connection.prepare("SELECT seq FROM archive WHERE owner = ?1 AND id = ?2");
  if (!statement) {
    return statement.error();
  }
  auto row = statement->bind_text(1, owner).bind_text(2, id).step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return storage_errc::not_found;
  }
  return statement->column_int(0);
}

} // namespace

boost::system::result<void> ArchiveStore::append(std::span<const ArchiveEntry> entries) {
  assert(off_io_thread());
  // Every entry is checked before anything is written: all or none.
  for (const auto& entry : entries) {
    if (entry.owner.empty() || entry.message.id.empty() || entry.message.stanza.empty()) {
      return storage_errc::invalid_argument;
    }
  }
  if (entries.empty()) {
    return {};
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    for (const auto& entry : entries) {
      // DO NOTHING: a retried append stores nothing twice, and keeps the first one's place.
      auto statement = connection.prepare("INSERT INTO archive(owner, id, ts_us, with_jid, stanza) "
                                          "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(owner, id) DO NOTHING");
      if (!statement) {
        return statement.error();
      }
      auto inserted = statement->bind_text(1, entry.owner)
                          .bind_text(2, entry.message.id)
                          .bind_int(3, micros(entry.message.timestamp))
                          .bind_text(4, entry.message.with)
                          .bind_text(5, entry.message.stanza)
                          .run();
      if (!inserted) {
        return inserted.error();
      }
    }
    return {};
  });
}

boost::system::result<ArchivePage> ArchiveStore::query(const ArchiveQuery& query) {
  assert(off_io_thread());
  if (query.owner.empty() || query.ids.size() > max_query_ids || query.after_ids.size() > max_query_ids ||
      query.before_ids.size() > max_query_ids) {
    return storage_errc::invalid_argument;
  }
  // One more than asked for tells whether the page is complete.
  const std::int64_t limit = std::min(clamped(query.max), std::numeric_limits<std::int64_t>::max() - 1) + 1;
  // One snapshot: the ids resolved are the ids the page is cut at.
  return database_.read([&](Connection& connection) -> boost::system::result<ArchivePage> {
    // Every after/before id applies: the page lies after the latest of the one and before the
    // earliest of the other.
    std::optional<std::int64_t> after;
    for (const auto& id : query.after_ids) {
      auto seq = seq_of(connection, query.owner, id);
      if (!seq) {
        return seq.error();
      }
      after = std::max(after.value_or(*seq), *seq);
    }
    std::optional<std::int64_t> before;
    for (const auto& id : query.before_ids) {
      auto seq = seq_of(connection, query.owner, id);
      if (!seq) {
        return seq.error();
      }
      before = std::min(before.value_or(*seq), *seq);
    }

    // Each filter has its own parameter number, so there are at most 2^6 * 2 statement texts.
    // owner = ?1 AND with_jid = ?2 ORDER BY seq: the (owner, with_jid, seq) index, read in
    // order (backwards for from_end) and stopped at the limit.
    std::string sql = "SELECT id, ts_us, with_jid, stanza FROM archive WHERE owner = ?1";
    if (query.with) {
      sql += " AND with_jid = ?2";
    }
    if (query.start) {
      sql += " AND ts_us >= ?3";
    }
    if (query.end) {
      sql += " AND ts_us <= ?4";
    }
    if (after) {
      sql += " AND seq > ?5";
    }
    if (before) {
      sql += " AND seq < ?6";
    }
    if (!query.ids.empty()) {
      sql += " AND id IN (SELECT value FROM json_each(?7))";
    }
    sql += query.from_end ? " ORDER BY seq DESC LIMIT ?8" : " ORDER BY seq LIMIT ?8";

    auto statement = connection.prepare(sql);
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, query.owner).bind_int(8, limit);
    if (query.with) {
      statement->bind_text(2, *query.with);
    }
    if (query.start) {
      statement->bind_int(3, micros(*query.start));
    }
    if (query.end) {
      statement->bind_int(4, micros(*query.end));
    }
    if (after) {
      statement->bind_int(5, *after);
    }
    if (before) {
      statement->bind_int(6, *before);
    }
    if (!query.ids.empty()) {
      statement->bind_text(7, json_array(query.ids));
    }

    ArchivePage page;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        break;
      }
      ArchivedMessage message;
      message.id = statement->column_text(0);
      message.timestamp = from_micros(statement->column_int(1));
      message.with = statement->column_text(2);
      message.stanza = statement->column_text(3);
      page.messages.push_back(std::move(message));
    }
    page.complete = page.messages.size() <= query.max;
    if (!page.complete) {
      page.messages.pop_back();
    }
    if (query.from_end) {
      std::reverse(page.messages.begin(), page.messages.end());
    }
    return page;
  });
}

boost::system::result<std::size_t> ArchiveStore::count(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::size_t> {
    auto statement = connection.prepare("SELECT COUNT(*) FROM archive WHERE owner = ?1");
    if (!statement) {
      return statement.error();
    }
    auto row = statement->bind_text(1, owner).step();
    if (!row) {
      return row.error();
    }
    return static_cast<std::size_t>(statement->column_int(0));
  });
}

boost::system::result<std::size_t> ArchiveStore::remove_before(Timestamp before) {
  assert(off_io_thread());
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    auto statement = connection.prepare("DELETE FROM archive WHERE ts_us < ?1");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_int(1, micros(before)).run(); !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

boost::system::result<std::size_t> ArchiveStore::remove_owner(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    auto messages = connection.prepare("DELETE FROM archive WHERE owner = ?1");
    if (!messages) {
      return messages.error();
    }
    if (auto deleted = messages->bind_text(1, owner).run(); !deleted) {
      return deleted.error();
    }
    const auto removed = static_cast<std::size_t>(connection.changes());
    // The JIDs of the lists go with it (ON DELETE CASCADE).
    auto prefs = connection.prepare("DELETE FROM archive_prefs WHERE owner = ?1");
    if (!prefs) {
      return prefs.error();
    }
    if (auto deleted = prefs->bind_text(1, owner).run(); !deleted) {
      return deleted.error();
    }
    return removed;
  });
}

boost::system::result<ArchivePrefs> ArchiveStore::prefs(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.read([&](Connection& connection) -> boost::system::result<ArchivePrefs> {
    ArchivePrefs prefs;
    {
      auto statement = connection.prepare("SELECT default_mode FROM archive_prefs WHERE owner = ?1");
      if (!statement) {
        return statement.error();
      }
      auto row = statement->bind_text(1, owner).step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return storage_errc::not_found;
      }
      prefs.default_mode = statement->column_text(0);
    }
    // TEXT compares with BINARY, memcmp order: bytewise.
    auto statement = connection.prepare("SELECT list, jid FROM archive_prefs_jids WHERE owner = ?1 ORDER BY list, jid");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, owner);
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return prefs;
      }
      (statement->column_text(0) == "always" ? prefs.always : prefs.never).push_back(statement->column_text(1));
    }
  });
}

boost::system::result<void> ArchiveStore::set_prefs(std::string_view owner, const ArchivePrefs& prefs) {
  assert(off_io_thread());
  const auto empty = [](const std::string& jid) { return jid.empty(); };
  if (owner.empty() || !valid_mode(prefs.default_mode) ||
      std::any_of(prefs.always.begin(), prefs.always.end(), empty) ||
      std::any_of(prefs.never.begin(), prefs.never.end(), empty)) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto upsert = connection.prepare("INSERT INTO archive_prefs(owner, default_mode) VALUES(?1, ?2) "
                                     "ON CONFLICT(owner) DO UPDATE SET default_mode = excluded.default_mode");
    if (!upsert) {
      return upsert.error();
    }
    if (auto stored = upsert->bind_text(1, owner).bind_text(2, prefs.default_mode).run(); !stored) {
      return stored;
    }
    auto cleared = connection.prepare("DELETE FROM archive_prefs_jids WHERE owner = ?1");
    if (!cleared) {
      return cleared.error();
    }
    if (auto deleted = cleared->bind_text(1, owner).run(); !deleted) {
      return deleted;
    }
    for (const auto& [list, jids] : {std::pair{"always", &prefs.always}, std::pair{"never", &prefs.never}}) {
      for (const auto& jid : *jids) {
        // OR IGNORE: a JID given twice is stored once; reading back sorts.
        auto insert =
            connection.prepare("INSERT OR IGNORE INTO archive_prefs_jids(owner, list, jid) VALUES(?1, ?2, ?3)");
        if (!insert) {
          return insert.error();
        }
        if (auto inserted = insert->bind_text(1, owner).bind_text(2, list).bind_text(3, jid).run(); !inserted) {
          return inserted;
        }
      }
    }
    return {};
  });
}

boost::system::result<std::vector<std::string>> ArchiveStore::owners(std::string_view after, std::size_t limit) {
  assert(off_io_thread());
  if (limit == 0) {
    return storage_errc::invalid_argument;
  }
  const auto page_size = clamped(limit);
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    // Each side stops at the limit on its own index before the union merges them.
    auto statement = connection.prepare(
        "SELECT owner FROM (SELECT DISTINCT owner FROM archive WHERE owner > ?1 ORDER BY owner LIMIT ?2) "
        "UNION SELECT owner FROM (SELECT owner FROM archive_prefs WHERE owner > ?1 ORDER BY owner LIMIT ?2) "
        "ORDER BY owner LIMIT ?2");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, after).bind_int(2, page_size);
    return texts(*statement);
  });
}

} // namespace parley::storage::sqlite::detail
