#include "storage/sqlite/detail/roster_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/sqlite/detail/user_store.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <set>
#include <unordered_map>

namespace parley::storage::sqlite::detail {

namespace {

constexpr const char* select_items = "SELECT jid, name, subscription, ask_subscribe, pending_in, approved "
                                     "FROM roster_items WHERE username = ?1 ORDER BY jid";
constexpr const char* select_item = "SELECT jid, name, subscription, ask_subscribe, pending_in, approved "
                                    "FROM roster_items WHERE username = ?1 AND jid = ?2";

boost::system::result<RosterItem> item_from_row(const Statement& row) {
  RosterItem item;
  item.jid = row.column_text(0);
  item.name = row.column_text(1);
  const auto subscription = parse_subscription(row.column_text(2));
  if (!subscription) {
    return storage_errc::corrupt;
  }
  item.subscription = *subscription;
  item.ask_subscribe = row.column_int(3) != 0;
  item.pending_in = row.column_int(4) != 0;
  item.approved = row.column_int(5) != 0;
  return item;
}

boost::system::result<RosterVersion> current_version(Connection& connection, std::string_view username) {
  auto statement = connection.prepare("SELECT version FROM roster_versions WHERE username = ?1");
  if (!statement) {
    return statement.error();
  }
  auto row = statement->bind_text(1, username).step();
  if (!row) {
    return row.error();
  }
  return *row ? statement->column_int(0) : RosterVersion{0};
}

boost::system::result<RosterVersion> bump_version(Connection& connection, std::string_view username) {
  auto statement = connection.prepare("INSERT INTO roster_versions(username, version) VALUES(?1, 1) "
                                      "ON CONFLICT(username) DO UPDATE SET version = version + 1 "
                                      "RETURNING version");
  if (!statement) {
    return statement.error();
  }
  auto row = statement->bind_text(1, username).step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return storage_errc::internal;
  }
  return statement->column_int(0);
}

boost::system::result<void> replace_groups(Connection& connection, std::string_view username, const RosterItem& item) {
  auto clear = connection.prepare("DELETE FROM roster_groups WHERE username = ?1 AND jid = ?2");
  if (!clear) {
    return clear.error();
  }
  if (auto cleared = clear->bind_text(1, username).bind_text(2, item.jid).run(); !cleared) {
    return cleared;
  }
  for (const auto& group : item.groups) {
    // OR IGNORE: a group named twice is kept once.
    auto insert = connection.prepare("INSERT OR IGNORE INTO roster_groups(username, jid, name) VALUES(?1, ?2, ?3)");
    if (!insert) {
      return insert.error();
    }
    if (auto inserted = insert->bind_text(1, username).bind_text(2, item.jid).bind_text(3, group).run(); !inserted) {
      return inserted;
    }
  }
  return {};
}

// Adds `item`, or replaces the item with its jid, groups included.
boost::system::result<void> store_item(Connection& connection, std::string_view username, const RosterItem& item) {
  auto statement = connection.prepare(
      "INSERT INTO roster_items(username, jid, name, subscription, ask_subscribe, pending_in, approved) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
      "ON CONFLICT(username, jid) DO UPDATE SET name = excluded.name, subscription = excluded.subscription, "
      "ask_subscribe = excluded.ask_subscribe, pending_in = excluded.pending_in, approved = excluded.approved");
  if (!statement) {
    return statement.error();
  }
  auto upserted = statement->bind_text(1, username)
                      .bind_text(2, item.jid)
                      .bind_text(3, item.name)
                      .bind_text(4, to_string(item.subscription))
                      .bind_int(5, item.ask_subscribe ? 1 : 0)
                      .bind_int(6, item.pending_in ? 1 : 0)
                      .bind_int(7, item.approved ? 1 : 0)
                      .run();
  if (!upserted) {
    return upserted;
  }
  return replace_groups(connection, username, item);
}

boost::system::result<void> load_groups(Connection& connection, std::string_view username, RosterItem& item) {
  auto statement = connection.prepare("SELECT name FROM roster_groups WHERE username = ?1 AND jid = ?2 ORDER BY name");
  if (!statement) {
    return statement.error();
  }
  statement->bind_text(1, username).bind_text(2, item.jid);
  for (;;) {
    auto row = statement->step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return {};
    }
    item.groups.push_back(statement->column_text(0));
  }
}

} // namespace

boost::system::result<Roster> RosterStore::get_roster(std::string_view username) {
  assert(off_io_thread());
  return database_.read([&](Connection& connection) -> boost::system::result<Roster> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    Roster roster;
    auto version = current_version(connection, username);
    if (!version) {
      return version.error();
    }
    roster.version = *version;

    auto items = connection.prepare(select_items);
    if (!items) {
      return items.error();
    }
    items->bind_text(1, username);
    for (;;) {
      auto row = items->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        break;
      }
      auto item = item_from_row(*items);
      if (!item) {
        return item.error();
      }
      roster.items.push_back(std::move(*item));
    }

    // One pass over the user's groups instead of one query per item.
    std::unordered_map<std::string, std::size_t> index;
    index.reserve(roster.items.size());
    for (std::size_t i = 0; i < roster.items.size(); ++i) {
      index.emplace(roster.items[i].jid, i);
    }
    auto groups = connection.prepare("SELECT jid, name FROM roster_groups WHERE username = ?1 ORDER BY jid, name");
    if (!groups) {
      return groups.error();
    }
    groups->bind_text(1, username);
    for (;;) {
      auto row = groups->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        break;
      }
      const auto found = index.find(groups->column_text(0));
      if (found == index.end()) {
        return storage_errc::corrupt; // the foreign key makes this impossible
      }
      roster.items[found->second].groups.push_back(groups->column_text(1));
    }
    return roster;
  });
}

boost::system::result<RosterVersion> RosterStore::get_version(std::string_view username) {
  assert(off_io_thread());
  return database_.read([&](Connection& connection) -> boost::system::result<RosterVersion> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    return current_version(connection, username);
  });
}

boost::system::result<RosterItem> RosterStore::get_item(std::string_view username, std::string_view jid) {
  assert(off_io_thread());
  if (jid.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.read([&](Connection& connection) -> boost::system::result<RosterItem> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    auto statement = connection.prepare(select_item);
    if (!statement) {
      return statement.error();
    }
    auto row = statement->bind_text(1, username).bind_text(2, jid).step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return storage_errc::not_found;
    }
    auto item = item_from_row(*statement);
    if (!item) {
      return item.error();
    }
    if (auto groups = load_groups(connection, username, *item); !groups) {
      return groups.error();
    }
    return item;
  });
}

boost::system::result<RosterVersion> RosterStore::upsert_item(std::string_view username, const RosterItem& item) {
  assert(off_io_thread());
  if (item.jid.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<RosterVersion> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    if (auto stored = store_item(connection, username, item); !stored) {
      return stored.error();
    }
    return bump_version(connection, username);
  });
}

boost::system::result<RosterVersion> RosterStore::remove_item(std::string_view username, std::string_view jid) {
  assert(off_io_thread());
  if (jid.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<RosterVersion> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    auto statement = connection.prepare("DELETE FROM roster_items WHERE username = ?1 AND jid = ?2");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, username).bind_text(2, jid).run(); !deleted) {
      return deleted.error();
    }
    if (connection.changes() == 0) {
      return storage_errc::not_found;
    }
    return bump_version(connection, username);
  });
}

boost::system::result<void> RosterStore::replace_roster(std::string_view username, const Roster& roster) {
  assert(off_io_thread());
  if (roster.version < 0) {
    return storage_errc::invalid_argument;
  }
  std::set<std::string_view> jids;
  for (const auto& item : roster.items) {
    if (item.jid.empty() || !jids.insert(item.jid).second) {
      return storage_errc::invalid_argument;
    }
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists;
    }
    // The user's groups go with their items (ON DELETE CASCADE).
    auto clear = connection.prepare("DELETE FROM roster_items WHERE username = ?1");
    if (!clear) {
      return clear.error();
    }
    if (auto cleared = clear->bind_text(1, username).run(); !cleared) {
      return cleared;
    }
    for (const auto& item : roster.items) {
      if (auto stored = store_item(connection, username, item); !stored) {
        return stored;
      }
    }
    // Set, not bumped: the next change bumps from here, so it gets a version above roster.version.
    auto version = connection.prepare("INSERT INTO roster_versions(username, version) VALUES(?1, ?2) "
                                      "ON CONFLICT(username) DO UPDATE SET version = excluded.version");
    if (!version) {
      return version.error();
    }
    return version->bind_text(1, username).bind_int(2, roster.version).run();
  });
}

boost::system::result<std::vector<std::string>> RosterStore::jids_where(std::string_view username, const char* sql) {
  return database_.read([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    auto statement = connection.prepare(sql);
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, username);
    std::vector<std::string> jids;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return jids;
      }
      jids.push_back(statement->column_text(0));
    }
  });
}

boost::system::result<std::vector<std::string>> RosterStore::subscribers(std::string_view username) {
  assert(off_io_thread());
  return jids_where(username, "SELECT jid FROM roster_items "
                              "WHERE username = ?1 AND subscription IN ('from', 'both') ORDER BY jid");
}

boost::system::result<std::vector<std::string>> RosterStore::subscriptions(std::string_view username) {
  assert(off_io_thread());
  return jids_where(username, "SELECT jid FROM roster_items "
                              "WHERE username = ?1 AND subscription IN ('to', 'both') ORDER BY jid");
}

boost::system::result<std::vector<std::string>> RosterStore::pending_in(std::string_view username) {
  assert(off_io_thread());
  return jids_where(username, "SELECT jid FROM roster_items WHERE username = ?1 AND pending_in = 1 ORDER BY jid");
}

} // namespace parley::storage::sqlite::detail
