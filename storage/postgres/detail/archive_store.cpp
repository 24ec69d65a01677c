#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <limits>
#include <optional>

namespace parley::storage::postgres::detail {

namespace {

/// The most ids one query may name in `ids`, and in `after_ids` or `before_ids`: a bound on the
/// work one request can ask for. More is invalid_argument.
constexpr std::size_t max_query_ids = 1000;

std::int64_t clamped(std::size_t n) noexcept {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(n, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
}

bool valid_mode(std::string_view mode) noexcept {
  return mode == "always" || mode == "never" || mode == "roster";
}

/// The seq of message `id` in `owner`'s archive; not_found when it is not there.
boost::system::result<std::int64_t> seq_of(Connection& connection, std::string_view owner, std::string_view id) {
  Params params;
  params.text(owner).text(id);
  auto rows = connection.exec("SELECT seq FROM archive WHERE owner = $1 AND id = $2", params);
  if (!rows) {
    return rows.error();
  }
  if (rows->size() == 0) {
    return storage_errc::not_found;
  }
  return rows->integer(0, 0);
}

// Appends to one owner take this advisory lock (key space "arch", then the owner's hash) until
// they commit: seq then follows commit order within an archive (see the migration).
constexpr std::string_view owner_lock_sql = "SELECT pg_advisory_xact_lock(1634886504, hashtext($1))";

constexpr std::string_view insert_sql = "INSERT INTO archive(owner, id, ts_us, with_jid, stanza) "
                                        "VALUES($1, $2, $3, $4, $5) ON CONFLICT(owner, id) DO NOTHING";

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
  // One pipeline, one implicit transaction: the owners' locks, each owner once and in one order
  // (no deadlock with another append), then the inserts in order.
  std::vector<std::string_view> owners;
  owners.reserve(entries.size());
  for (const auto& entry : entries) {
    owners.push_back(entry.owner);
  }
  std::sort(owners.begin(), owners.end());
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
  std::vector<Step> steps;
  steps.reserve(owners.size() + entries.size());
  for (const auto owner : owners) {
    Params params;
    params.text(owner);
    steps.push_back(Step{owner_lock_sql, std::move(params)});
  }
  for (const auto& entry : entries) {
    Params params;
    // DO NOTHING: a retried append stores nothing twice, and keeps the first one's place.
    params.text(entry.owner)
        .text(entry.message.id)
        .integer(micros(entry.message.timestamp))
        .text(entry.message.with)
        .text(entry.message.stanza);
    steps.push_back(Step{insert_sql, std::move(params)});
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    auto results = connection.pipeline(steps);
    if (!results) {
      return results.error();
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

    // At most 2^6 * 2 statement texts. owner = $1 AND with_jid = $2 ORDER BY seq: the
    // (owner, with_jid, seq) index, read in order (backwards for from_end) and stopped at the
    // limit.
    Params params;
    params.text(query.owner);
    std::string sql = "SELECT id, ts_us, with_jid, stanza FROM archive WHERE owner = $1";
    const auto next = [&params] { return "$" + std::to_string(params.size() + 1); };
    if (query.with) {
      sql += " AND with_jid = " + next();
      params.text(*query.with);
    }
    if (query.start) {
      sql += " AND ts_us >= " + next();
      params.integer(micros(*query.start));
    }
    if (query.end) {
      sql += " AND ts_us <= " + next();
      params.integer(micros(*query.end));
    }
    if (after) {
      sql += " AND seq > " + next();
      params.integer(*after);
    }
    if (before) {
      sql += " AND seq < " + next();
      params.integer(*before);
    }
    if (!query.ids.empty()) {
      sql += " AND id = ANY(" + next() + "::text[])";
      params.text_array(query.ids);
    }
    sql += (query.from_end ? " ORDER BY seq DESC LIMIT " : " ORDER BY seq LIMIT ") + next();
    params.integer(limit);

    auto rows = connection.exec(sql, params);
    if (!rows) {
      return rows.error();
    }
    ArchivePage page;
    page.messages.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      ArchivedMessage message;
      message.id = rows->text(i, 0);
      message.timestamp = from_micros(rows->integer(i, 1));
      message.with = rows->text(i, 2);
      message.stanza = rows->text(i, 3);
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
    Params params;
    params.text(owner);
    auto rows = connection.exec("SELECT COUNT(*) FROM archive WHERE owner = $1", params);
    if (!rows) {
      return rows.error();
    }
    return static_cast<std::size_t>(rows->integer(0, 0));
  });
}

boost::system::result<std::size_t> ArchiveStore::remove_before(Timestamp before) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::size_t> {
    Params params;
    params.integer(micros(before));
    auto deleted = connection.exec("DELETE FROM archive WHERE ts_us < $1", params);
    if (!deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(deleted->affected());
  });
}

boost::system::result<std::size_t> ArchiveStore::remove_owner(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    Params params;
    params.text(owner);
    auto messages = connection.exec("DELETE FROM archive WHERE owner = $1", params);
    if (!messages) {
      return messages.error();
    }
    // The JIDs of the lists go with it (ON DELETE CASCADE).
    if (auto prefs = connection.exec("DELETE FROM archive_prefs WHERE owner = $1", params); !prefs) {
      return prefs.error();
    }
    return static_cast<std::size_t>(messages->affected());
  });
}

boost::system::result<ArchivePrefs> ArchiveStore::prefs(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.read([&](Connection& connection) -> boost::system::result<ArchivePrefs> {
    Params params;
    params.text(owner);
    auto mode = connection.exec("SELECT default_mode FROM archive_prefs WHERE owner = $1", params);
    if (!mode) {
      return mode.error();
    }
    if (mode->size() == 0) {
      return storage_errc::not_found;
    }
    ArchivePrefs prefs;
    prefs.default_mode = mode->text(0, 0);
    // The columns are COLLATE "C": byte order.
    auto rows = connection.exec("SELECT list, jid FROM archive_prefs_jids WHERE owner = $1 ORDER BY list, jid", params);
    if (!rows) {
      return rows.error();
    }
    for (int i = 0; i < rows->size(); ++i) {
      (rows->text(i, 0) == "always" ? prefs.always : prefs.never).push_back(rows->text(i, 1));
    }
    return prefs;
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
    Params params;
    params.text(owner).text(prefs.default_mode);
    auto stored = connection.exec("INSERT INTO archive_prefs(owner, default_mode) VALUES($1, $2) "
                                  "ON CONFLICT(owner) DO UPDATE SET default_mode = excluded.default_mode",
                                  params);
    if (!stored) {
      return stored.error();
    }
    Params key;
    key.text(owner);
    if (auto cleared = connection.exec("DELETE FROM archive_prefs_jids WHERE owner = $1", key); !cleared) {
      return cleared.error();
    }
    for (const auto& [list, jids] : {std::pair{"always", &prefs.always}, std::pair{"never", &prefs.never}}) {
      for (const auto& jid : *jids) {
        Params row;
        row.text(owner).text(list).text(jid);
        // DO NOTHING: a JID given twice is stored once; reading back sorts.
        auto inserted = connection.exec("INSERT INTO archive_prefs_jids(owner, list, jid) VALUES($1, $2, $3) "
                                        "ON CONFLICT(owner, list, jid) DO NOTHING",
                                        row);
        if (!inserted) {
          return inserted.error();
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
    Params params;
    params.text(after).integer(page_size);
    // Each side stops at the limit on its own index before the union merges them.
    auto rows = connection.exec(
        "SELECT owner FROM (SELECT DISTINCT owner FROM archive WHERE owner > $1 ORDER BY owner LIMIT $2) AS messages "
        "UNION SELECT owner FROM (SELECT owner FROM archive_prefs WHERE owner > $1 ORDER BY owner LIMIT $2) AS prefs "
        "ORDER BY owner LIMIT $2",
        params);
    if (!rows) {
      return rows.error();
    }
    std::vector<std::string> owners;
    owners.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      owners.push_back(rows->text(i, 0));
    }
    return owners;
  });
}

} // namespace parley::storage::postgres::detail
