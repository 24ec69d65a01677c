#include "storage/sqlite/detail/pep_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

namespace parley::storage::sqlite::detail {

namespace {

/// The largest payload publish() accepts, in bytes (1 MiB); a bigger one is invalid_argument.
/// The same bound on every backend.
constexpr std::size_t max_payload_bytes = 1024 * 1024;

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

boost::system::result<bool> node_exists(Connection& connection, std::string_view owner, std::string_view node) {
  auto statement = connection.prepare("SELECT 1 FROM pep_nodes WHERE owner = ?1 AND node = ?2");
  if (!statement) {
    return {boost::system::in_place_error, statement.error()};
  }
  return statement->bind_text(1, owner).bind_text(2, node).step();
}

/// Every row as an item: columns item_id, payload, publisher, published_us.
boost::system::result<std::vector<PepItem>> read_items(Statement& statement) {
  std::vector<PepItem> out;
  for (;;) {
    auto row = statement.step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return out;
    }
    PepItem item;
    item.id = statement.column_text(0);
    item.payload = statement.column_text(1);
    item.publisher = statement.column_text(2);
    item.published = from_micros(statement.column_int(3));
    out.push_back(std::move(item));
  }
}

} // namespace

boost::system::result<std::vector<PepNode>> PepStore::nodes(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<PepNode>> {
    // TEXT compares with BINARY, memcmp order: bytewise.
    auto statement = connection.prepare("SELECT node, config FROM pep_nodes WHERE owner = ?1 ORDER BY node");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, owner);
    std::vector<PepNode> out;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return out;
      }
      out.push_back(PepNode{statement->column_text(0), statement->column_text(1)});
    }
  });
}

boost::system::result<PepNode> PepStore::node(std::string_view owner, std::string_view node) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<PepNode> {
    auto statement = connection.prepare("SELECT node, config FROM pep_nodes WHERE owner = ?1 AND node = ?2");
    if (!statement) {
      return statement.error();
    }
    auto row = statement->bind_text(1, owner).bind_text(2, node).step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return storage_errc::not_found;
    }
    return PepNode{statement->column_text(0), statement->column_text(1)};
  });
}

boost::system::result<void> PepStore::create_node(std::string_view owner, std::string_view node,
                                                  std::string_view config, Timestamp now) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto statement = connection.prepare("INSERT INTO pep_nodes(owner, node, config, created_us) "
                                        "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(owner, node) DO NOTHING");
    if (!statement) {
      return statement.error();
    }
    if (auto inserted =
            statement->bind_text(1, owner).bind_text(2, node).bind_text(3, config).bind_int(4, micros(now)).run();
        !inserted) {
      return inserted;
    }
    if (connection.changes() != 1) {
      return storage_errc::conflict;
    }
    return {};
  });
}

boost::system::result<void> PepStore::configure_node(std::string_view owner, std::string_view node,
                                                     std::string_view config) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto statement = connection.prepare("UPDATE pep_nodes SET config = ?3 WHERE owner = ?1 AND node = ?2");
    if (!statement) {
      return statement.error();
    }
    if (auto updated = statement->bind_text(1, owner).bind_text(2, node).bind_text(3, config).run(); !updated) {
      return updated;
    }
    if (connection.changes() != 1) {
      return storage_errc::not_found;
    }
    return {};
  });
}

boost::system::result<bool> PepStore::delete_node(std::string_view owner, std::string_view node) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<bool> {
    // The items go with it (ON DELETE CASCADE), in this transaction.
    auto statement = connection.prepare("DELETE FROM pep_nodes WHERE owner = ?1 AND node = ?2");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    if (auto deleted = statement->bind_text(1, owner).bind_text(2, node).run(); !deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    return connection.changes() == 1;
  });
}

boost::system::result<bool> PepStore::publish(std::string_view owner, std::string_view node,
                                              std::string_view config_if_new, const PepItem& item,
                                              std::size_t max_items) {
  assert(off_io_thread());
  if (owner.empty() || node.empty() || item.id.empty() || item.payload.size() > max_payload_bytes || max_items == 0) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<bool> {
    // A node made by its first publish was created when that item was published.
    auto create = connection.prepare("INSERT INTO pep_nodes(owner, node, config, created_us) "
                                     "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(owner, node) DO NOTHING");
    if (!create) {
      return {boost::system::in_place_error, create.error()};
    }
    if (auto inserted = create->bind_text(1, owner)
                            .bind_text(2, node)
                            .bind_text(3, config_if_new)
                            .bind_int(4, micros(item.published))
                            .run();
        !inserted) {
      return {boost::system::in_place_error, inserted.error()};
    }
    const bool created = connection.changes() == 1;

    // Deleted and inserted anew rather than updated: the item takes a new seq, the newest.
    auto replaced = connection.prepare("DELETE FROM pep_items WHERE owner = ?1 AND node = ?2 AND item_id = ?3");
    if (!replaced) {
      return {boost::system::in_place_error, replaced.error()};
    }
    if (auto deleted = replaced->bind_text(1, owner).bind_text(2, node).bind_text(3, item.id).run(); !deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    auto insert = connection.prepare("INSERT INTO pep_items(owner, node, item_id, payload, publisher, published_us) "
                                     "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (!insert) {
      return {boost::system::in_place_error, insert.error()};
    }
    auto inserted = insert->bind_text(1, owner)
                        .bind_text(2, node)
                        .bind_text(3, item.id)
                        .bind_text(4, item.payload)
                        .bind_text(5, item.publisher)
                        .bind_int(6, micros(item.published))
                        .run();
    if (!inserted) {
      return {boost::system::in_place_error, inserted.error()};
    }

    // Everything from the (max_items + 1)-th newest back; nothing when there are fewer (NULL).
    auto trim = connection.prepare("DELETE FROM pep_items WHERE owner = ?1 AND node = ?2 AND seq <= "
                                   "(SELECT seq FROM pep_items WHERE owner = ?1 AND node = ?2 "
                                   "ORDER BY seq DESC LIMIT 1 OFFSET ?3)");
    if (!trim) {
      return {boost::system::in_place_error, trim.error()};
    }
    if (auto trimmed = trim->bind_text(1, owner).bind_text(2, node).bind_int(3, clamped(max_items)).run(); !trimmed) {
      return {boost::system::in_place_error, trimmed.error()};
    }
    return created;
  });
}

boost::system::result<bool> PepStore::retract(std::string_view owner, std::string_view node, std::string_view item_id) {
  assert(off_io_thread());
  if (owner.empty() || node.empty() || item_id.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<bool> {
    auto statement = connection.prepare("DELETE FROM pep_items WHERE owner = ?1 AND node = ?2 AND item_id = ?3");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    if (auto deleted = statement->bind_text(1, owner).bind_text(2, node).bind_text(3, item_id).run(); !deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    if (connection.changes() == 1) {
      return true;
    }
    auto exists = node_exists(connection, owner, node);
    if (!exists) {
      return exists;
    }
    if (!*exists) {
      return {boost::system::in_place_error, make_error_code(storage_errc::not_found)};
    }
    return false;
  });
}

boost::system::result<std::size_t> PepStore::purge(std::string_view owner, std::string_view node) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    auto exists = node_exists(connection, owner, node);
    if (!exists) {
      return exists.error();
    }
    if (!*exists) {
      return storage_errc::not_found;
    }
    auto statement = connection.prepare("DELETE FROM pep_items WHERE owner = ?1 AND node = ?2");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, owner).bind_text(2, node).run(); !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

boost::system::result<std::vector<PepItem>> PepStore::items(std::string_view owner, std::string_view node,
                                                            std::size_t max) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  // LIMIT -1: no limit.
  const std::int64_t limit = max == 0 ? -1 : clamped(max);
  // One snapshot: "no such node" and "no items" are told apart on the same state.
  return database_.read([&](Connection& connection) -> boost::system::result<std::vector<PepItem>> {
    auto exists = node_exists(connection, owner, node);
    if (!exists) {
      return exists.error();
    }
    if (!*exists) {
      return storage_errc::not_found;
    }
    // The (owner, node, seq) index, read backwards and stopped at the limit.
    auto statement = connection.prepare("SELECT item_id, payload, publisher, published_us FROM pep_items "
                                        "WHERE owner = ?1 AND node = ?2 ORDER BY seq DESC LIMIT ?3");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, owner).bind_text(2, node).bind_int(3, limit);
    return read_items(*statement);
  });
}

boost::system::result<std::vector<PepItem>> PepStore::items_by_id(std::string_view owner, std::string_view node,
                                                                  std::span<const std::string> ids) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.read([&](Connection& connection) -> boost::system::result<std::vector<PepItem>> {
    auto exists = node_exists(connection, owner, node);
    if (!exists) {
      return exists.error();
    }
    if (!*exists) {
      return storage_errc::not_found;
    }
    if (ids.empty()) {
      return std::vector<PepItem>{};
    }
    // IN: an id asked for twice comes back once.
    auto statement =
        connection.prepare("SELECT item_id, payload, publisher, published_us FROM pep_items "
                           "WHERE owner = ?1 AND node = ?2 AND item_id IN (SELECT value FROM json_each(?3)) "
                           "ORDER BY seq DESC");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, owner).bind_text(2, node).bind_text(3, json_array(ids));
    return read_items(*statement);
  });
}

boost::system::result<std::vector<PepLastItem>> PepStore::last_items(std::span<const std::string> owners) {
  assert(off_io_thread());
  if (std::any_of(owners.begin(), owners.end(), [](const std::string& owner) { return owner.empty(); })) {
    return storage_errc::invalid_argument;
  }
  if (owners.empty()) {
    return std::vector<PepLastItem>{};
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<PepLastItem>> {
    // One statement for every owner (IN: each once): each node's newest item is one probe of
    // the (owner, node, seq) index, then one of the rowid; a node without items has none and
    // drops out of the join.
    auto statement =
        connection.prepare("SELECT n.owner, n.node, n.config, i.item_id, i.payload, i.publisher, i.published_us "
                           "FROM pep_nodes AS n JOIN pep_items AS i ON i.seq = (SELECT seq FROM pep_items "
                           "WHERE owner = n.owner AND node = n.node ORDER BY seq DESC LIMIT 1) "
                           "WHERE n.owner IN (SELECT value FROM json_each(?1)) ORDER BY n.owner, n.node");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, json_array(owners));
    std::vector<PepLastItem> out;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return out;
      }
      PepLastItem last;
      last.owner = statement->column_text(0);
      last.node = PepNode{statement->column_text(1), statement->column_text(2)};
      last.item.id = statement->column_text(3);
      last.item.payload = statement->column_text(4);
      last.item.publisher = statement->column_text(5);
      last.item.published = from_micros(statement->column_int(6));
      out.push_back(std::move(last));
    }
  });
}

boost::system::result<std::size_t> PepStore::remove_user(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    // The items go with their nodes (ON DELETE CASCADE); changes() counts the nodes alone.
    auto statement = connection.prepare("DELETE FROM pep_nodes WHERE owner = ?1");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, owner).run(); !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

boost::system::result<std::vector<std::string>> PepStore::users(std::string_view after, std::size_t limit) {
  assert(off_io_thread());
  if (limit == 0) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto statement =
        connection.prepare("SELECT DISTINCT owner FROM pep_nodes WHERE owner > ?1 ORDER BY owner LIMIT ?2");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, after).bind_int(2, clamped(limit));
    return texts(*statement);
  });
}

} // namespace parley::storage::sqlite::detail
