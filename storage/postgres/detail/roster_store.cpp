#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <cassert>
#include <set>
#include <unordered_map>

namespace parley::storage::postgres::detail {

namespace {

constexpr std::string_view item_columns = "jid, name, subscription, ask_subscribe, pending_in, approved";

boost::system::result<RosterItem> item_from(const Rows& rows, int row) {
  RosterItem item;
  item.jid = rows.text(row, 0);
  item.name = rows.text(row, 1);
  const auto subscription = parse_subscription(rows.text(row, 2));
  if (!subscription) {
    return storage_errc::corrupt;
  }
  item.subscription = *subscription;
  item.ask_subscribe = rows.boolean(row, 3);
  item.pending_in = rows.boolean(row, 4);
  item.approved = rows.boolean(row, 5);
  return item;
}

boost::system::result<RosterVersion> current_version(Connection& connection, std::string_view username) {
  Params params;
  params.text(username);
  auto rows = connection.exec("SELECT version FROM roster_versions WHERE username = $1", params);
  if (!rows) {
    return rows.error();
  }
  return rows->size() == 0 ? RosterVersion{0} : rows->integer(0, 0);
}

/// Called with the user's row lock held, so versions of one user follow commit order.
boost::system::result<RosterVersion> bump_version(Connection& connection, std::string_view username) {
  Params params;
  params.text(username);
  auto rows = connection.exec("INSERT INTO roster_versions(username, version) VALUES($1, 1) "
                              "ON CONFLICT(username) DO UPDATE SET version = roster_versions.version + 1 "
                              "RETURNING version",
                              params);
  if (!rows) {
    return rows.error();
  }
  if (rows->size() != 1) {
    return storage_errc::internal;
  }
  return rows->integer(0, 0);
}

boost::system::result<void> insert_item(Connection& connection, std::string_view username, const RosterItem& item) {
  Params params;
  params.text(username)
      .text(item.jid)
      .text(item.name)
      .text(to_string(item.subscription))
      .boolean(item.ask_subscribe)
      .boolean(item.pending_in)
      .boolean(item.approved);
  auto upserted = connection.exec(
      "INSERT INTO roster_items(username, jid, name, subscription, ask_subscribe, pending_in, approved) "
      "VALUES($1, $2, $3, $4, $5, $6, $7) "
      "ON CONFLICT(username, jid) DO UPDATE SET name = excluded.name, subscription = excluded.subscription, "
      "ask_subscribe = excluded.ask_subscribe, pending_in = excluded.pending_in, approved = excluded.approved",
      params);
  if (!upserted) {
    return upserted.error();
  }
  Params which;
  which.text(username).text(item.jid);
  if (auto cleared = connection.exec("DELETE FROM roster_groups WHERE username = $1 AND jid = $2", which); !cleared) {
    return cleared.error();
  }
  for (const auto& group : item.groups) {
    Params params_group;
    params_group.text(username).text(item.jid).text(group);
    // DO NOTHING: a group named twice is kept once.
    if (auto inserted = connection.exec("INSERT INTO roster_groups(username, jid, name) VALUES($1, $2, $3) "
                                        "ON CONFLICT DO NOTHING",
                                        params_group);
        !inserted) {
      return inserted.error();
    }
  }
  return {};
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
    Params params;
    params.text(username);
    auto items = connection.exec("SELECT " + std::string(item_columns) +
                                     " FROM roster_items WHERE username = $1 ORDER BY jid",
                                 params);
    if (!items) {
      return items.error();
    }
    std::unordered_map<std::string, std::size_t> index;
    for (int i = 0; i < items->size(); ++i) {
      auto item = item_from(*items, i);
      if (!item) {
        return item.error();
      }
      index.emplace(item->jid, roster.items.size());
      roster.items.push_back(std::move(*item));
    }
    auto groups =
        connection.exec("SELECT jid, name FROM roster_groups WHERE username = $1 ORDER BY jid, name", params);
    if (!groups) {
      return groups.error();
    }
    for (int i = 0; i < groups->size(); ++i) {
      const auto found = index.find(groups->text(i, 0));
      if (found == index.end()) {
        return storage_errc::corrupt; // the foreign key makes this impossible
      }
      roster.items[found->second].groups.push_back(groups->text(i, 1));
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
    Params params;
    params.text(username).text(jid);
    auto rows = connection.exec("SELECT " + std::string(item_columns) +
                                    " FROM roster_items WHERE username = $1 AND jid = $2",
                                params);
    if (!rows) {
      return rows.error();
    }
    if (rows->size() == 0) {
      return storage_errc::not_found;
    }
    auto item = item_from(*rows, 0);
    if (!item) {
      return item.error();
    }
    auto groups =
        connection.exec("SELECT name FROM roster_groups WHERE username = $1 AND jid = $2 ORDER BY name", params);
    if (!groups) {
      return groups.error();
    }
    for (int i = 0; i < groups->size(); ++i) {
      item->groups.push_back(groups->text(i, 0));
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
    if (auto exists = require_user(connection, username, /*lock=*/true); !exists) {
      return exists.error();
    }
    if (auto stored = insert_item(connection, username, item); !stored) {
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
    if (auto exists = require_user(connection, username, /*lock=*/true); !exists) {
      return exists.error();
    }
    Params params;
    params.text(username).text(jid);
    auto deleted = connection.exec("DELETE FROM roster_items WHERE username = $1 AND jid = $2", params);
    if (!deleted) {
      return deleted.error();
    }
    if (deleted->affected() == 0) {
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
  std::set<std::string_view> seen;
  for (const auto& item : roster.items) {
    if (item.jid.empty() || !seen.insert(item.jid).second) {
      return storage_errc::invalid_argument;
    }
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    if (auto exists = require_user(connection, username, /*lock=*/true); !exists) {
      return exists;
    }
    Params params;
    params.text(username);
    if (auto cleared = connection.exec("DELETE FROM roster_items WHERE username = $1", params); !cleared) {
      return cleared.error();
    }
    for (const auto& item : roster.items) {
      if (auto stored = insert_item(connection, username, item); !stored) {
        return stored;
      }
    }
    Params version;
    version.text(username).integer(roster.version);
    if (auto set = connection.exec("INSERT INTO roster_versions(username, version) VALUES($1, $2) "
                                   "ON CONFLICT(username) DO UPDATE SET version = excluded.version",
                                   version);
        !set) {
      return set.error();
    }
    return {};
  });
}

boost::system::result<std::vector<std::string>> RosterStore::jids_where(std::string_view username,
                                                                        std::string_view sql) {
  return database_.read([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    Params params;
    params.text(username);
    auto rows = connection.exec(sql, params);
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

boost::system::result<std::vector<std::string>> RosterStore::subscribers(std::string_view username) {
  assert(off_io_thread());
  return jids_where(username, "SELECT jid FROM roster_items "
                              "WHERE username = $1 AND subscription IN ('from', 'both') ORDER BY jid");
}

boost::system::result<std::vector<std::string>> RosterStore::subscriptions(std::string_view username) {
  assert(off_io_thread());
  return jids_where(username, "SELECT jid FROM roster_items "
                              "WHERE username = $1 AND subscription IN ('to', 'both') ORDER BY jid");
}

boost::system::result<std::vector<std::string>> RosterStore::pending_in(std::string_view username) {
  assert(off_io_thread());
  return jids_where(username, "SELECT jid FROM roster_items WHERE username = $1 AND pending_in ORDER BY jid");
}

} // namespace parley::storage::postgres::detail
