#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace parley::storage::postgres::detail {

namespace {

/// The largest payload publish() accepts, in bytes (1 MiB); a bigger one is invalid_argument.
/// The same bound on every backend.
constexpr std::size_t max_payload_bytes = 1024 * 1024;

std::int64_t clamped(std::size_t n) noexcept {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(n, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
}

/// The items of rows whose columns are item_id, payload, publisher, published_us: not_found when
/// there is no row at all (no node), nothing for a row whose item_id is NULL (a node without
/// items, from the LEFT JOIN).
boost::system::result<std::vector<PepItem>> items_of(const Rows& rows) {
  if (rows.size() == 0) {
    return storage_errc::not_found;
  }
  std::vector<PepItem> items;
  items.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    if (rows.is_null(i, 0)) {
      continue;
    }
    PepItem item;
    item.id = rows.text(i, 0);
    item.payload = rows.text(i, 1);
    item.publisher = rows.text(i, 2);
    item.published = from_micros(rows.integer(i, 3));
    items.push_back(std::move(item));
  }
  return items;
}

/// A node's creation, when it does not exist yet.
constexpr std::string_view create_sql = "INSERT INTO pep_nodes(owner, node, config, created_us) VALUES($1, $2, $3, $4) "
                                        "ON CONFLICT(owner, node) DO NOTHING";

} // namespace

boost::system::result<std::vector<PepNode>> PepStore::nodes(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<PepNode>> {
    Params params;
    params.text(owner);
    // The columns are COLLATE "C": byte order.
    auto rows = connection.exec("SELECT node, config FROM pep_nodes WHERE owner = $1 ORDER BY node", params);
    if (!rows) {
      return rows.error();
    }
    std::vector<PepNode> nodes;
    nodes.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      nodes.push_back(PepNode{rows->text(i, 0), rows->text(i, 1)});
    }
    return nodes;
  });
}

boost::system::result<PepNode> PepStore::node(std::string_view owner, std::string_view node) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<PepNode> {
    Params params;
    params.text(owner).text(node);
    auto rows = connection.exec("SELECT node, config FROM pep_nodes WHERE owner = $1 AND node = $2", params);
    if (!rows) {
      return rows.error();
    }
    if (rows->size() == 0) {
      return storage_errc::not_found;
    }
    return PepNode{rows->text(0, 0), rows->text(0, 1)};
  });
}

boost::system::result<void> PepStore::create_node(std::string_view owner, std::string_view node,
                                                  std::string_view config, Timestamp now) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(owner).text(node).text(config).integer(micros(now));
    auto inserted = connection.exec(create_sql, params);
    if (!inserted) {
      return inserted.error();
    }
    if (inserted->affected() != 1) {
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
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(owner).text(node).text(config);
    auto updated = connection.exec("UPDATE pep_nodes SET config = $3 WHERE owner = $1 AND node = $2", params);
    if (!updated) {
      return updated.error();
    }
    if (updated->affected() != 1) {
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
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(owner).text(node);
    // The items go with it (ON DELETE CASCADE), in the same statement.
    auto deleted = connection.exec("DELETE FROM pep_nodes WHERE owner = $1 AND node = $2", params);
    if (!deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    return deleted->affected() == 1;
  });
}

boost::system::result<bool> PepStore::publish(std::string_view owner, std::string_view node,
                                              std::string_view config_if_new, const PepItem& item,
                                              std::size_t max_items) {
  assert(off_io_thread());
  if (owner.empty() || node.empty() || item.id.empty() || item.payload.size() > max_payload_bytes || max_items == 0) {
    return storage_errc::invalid_argument;
  }
  // One pipeline, one implicit transaction, one round trip.
  std::vector<Step> steps;
  steps.reserve(4);
  {
    // A node made by its first publish was created when that item was published.
    Params params;
    params.text(owner).text(node).text(config_if_new).integer(micros(item.published));
    steps.push_back(Step{create_sql, std::move(params)});
  }
  {
    // Publishes to one node take turns until they commit: each trims with every earlier one's
    // item in sight, and seq follows commit order within the node. NO KEY UPDATE: the foreign
    // key checks of the items (KEY SHARE) do not wait for it.
    Params params;
    params.text(owner).text(node);
    steps.push_back(
        Step{"SELECT 1 FROM pep_nodes WHERE owner = $1 AND node = $2 FOR NO KEY UPDATE", std::move(params)});
  }
  {
    // A new seq for a republished item too: it moves to the newest end.
    Params params;
    params.text(owner).text(node).text(item.id).text(item.payload).text(item.publisher).integer(micros(item.published));
    steps.push_back(Step{"INSERT INTO pep_items(owner, node, item_id, payload, publisher, published_us, seq) "
                         "VALUES($1, $2, $3, $4, $5, $6, nextval('pep_item_seq')) "
                         "ON CONFLICT(owner, node, item_id) DO UPDATE SET payload = excluded.payload, "
                         "publisher = excluded.publisher, published_us = excluded.published_us, seq = excluded.seq",
                         std::move(params)});
  }
  {
    // Everything from the (max_items + 1)-th newest back; nothing when there are fewer (NULL).
    Params params;
    params.text(owner).text(node).integer(clamped(max_items));
    steps.push_back(Step{"DELETE FROM pep_items WHERE owner = $1 AND node = $2 AND seq <= "
                         "(SELECT seq FROM pep_items WHERE owner = $1 AND node = $2 "
                         "ORDER BY seq DESC OFFSET $3 LIMIT 1)",
                         std::move(params)});
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    auto results = connection.pipeline(steps);
    if (!results) {
      return {boost::system::in_place_error, results.error()};
    }
    return (*results)[0].affected() == 1;
  });
}

boost::system::result<bool> PepStore::retract(std::string_view owner, std::string_view node, std::string_view item_id) {
  assert(off_io_thread());
  if (owner.empty() || node.empty() || item_id.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(owner).text(node).text(item_id);
    // One statement: whether the node is there is read from the snapshot the delete ran on.
    auto rows = connection.exec("WITH gone AS (DELETE FROM pep_items WHERE owner = $1 AND node = $2 AND item_id = $3 "
                                "RETURNING 1) "
                                "SELECT EXISTS (SELECT 1 FROM pep_nodes WHERE owner = $1 AND node = $2), "
                                "(SELECT COUNT(*) FROM gone)",
                                params);
    if (!rows) {
      return {boost::system::in_place_error, rows.error()};
    }
    if (!rows->boolean(0, 0)) {
      return {boost::system::in_place_error, make_error_code(storage_errc::not_found)};
    }
    return rows->integer(0, 1) == 1;
  });
}

boost::system::result<std::size_t> PepStore::purge(std::string_view owner, std::string_view node) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::size_t> {
    Params params;
    params.text(owner).text(node);
    auto rows = connection.exec("WITH gone AS (DELETE FROM pep_items WHERE owner = $1 AND node = $2 RETURNING 1) "
                                "SELECT EXISTS (SELECT 1 FROM pep_nodes WHERE owner = $1 AND node = $2), "
                                "(SELECT COUNT(*) FROM gone)",
                                params);
    if (!rows) {
      return rows.error();
    }
    if (!rows->boolean(0, 0)) {
      return storage_errc::not_found;
    }
    return static_cast<std::size_t>(rows->integer(0, 1));
  });
}

boost::system::result<std::vector<PepItem>> PepStore::items(std::string_view owner, std::string_view node,
                                                            std::size_t max) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<PepItem>> {
    Params params;
    params.text(owner).text(node);
    if (max == 0) {
      params.null(); // LIMIT NULL: no limit
    } else {
      params.integer(clamped(max));
    }
    // One statement: no row when there is no node, one NULL row for a node without items. The
    // (owner, node, seq) index, read backwards and stopped at the limit.
    auto rows = connection.exec("SELECT i.item_id, i.payload, i.publisher, i.published_us FROM pep_nodes AS n "
                                "LEFT JOIN LATERAL (SELECT item_id, payload, publisher, published_us, seq "
                                "FROM pep_items WHERE owner = n.owner AND node = n.node "
                                "ORDER BY seq DESC LIMIT $3) AS i ON true "
                                "WHERE n.owner = $1 AND n.node = $2 ORDER BY i.seq DESC",
                                params);
    if (!rows) {
      return rows.error();
    }
    return items_of(*rows);
  });
}

boost::system::result<std::vector<PepItem>> PepStore::items_by_id(std::string_view owner, std::string_view node,
                                                                  std::span<const std::string> ids) {
  assert(off_io_thread());
  if (owner.empty() || node.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<PepItem>> {
    Params params;
    params.text(owner).text(node).text_array(ids);
    // As items(); = ANY: an id asked for twice comes back once.
    auto rows = connection.exec("SELECT i.item_id, i.payload, i.publisher, i.published_us FROM pep_nodes AS n "
                                "LEFT JOIN LATERAL (SELECT item_id, payload, publisher, published_us, seq "
                                "FROM pep_items WHERE owner = n.owner AND node = n.node "
                                "AND item_id = ANY($3::text[])) AS i ON true "
                                "WHERE n.owner = $1 AND n.node = $2 ORDER BY i.seq DESC",
                                params);
    if (!rows) {
      return rows.error();
    }
    return items_of(*rows);
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
    Params params;
    params.text_array(owners);
    // One statement for every owner (= ANY: each once): each node's newest item is one probe of
    // the (owner, node, seq) index; a node without items has none and drops out of the join.
    auto rows = connection.exec("SELECT n.owner, n.node, n.config, i.item_id, i.payload, i.publisher, i.published_us "
                                "FROM pep_nodes AS n CROSS JOIN LATERAL (SELECT item_id, payload, publisher, "
                                "published_us FROM pep_items WHERE owner = n.owner AND node = n.node "
                                "ORDER BY seq DESC LIMIT 1) AS i "
                                "WHERE n.owner = ANY($1::text[]) ORDER BY n.owner, n.node",
                                params);
    if (!rows) {
      return rows.error();
    }
    std::vector<PepLastItem> out;
    out.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      PepLastItem last;
      last.owner = rows->text(i, 0);
      last.node = PepNode{rows->text(i, 1), rows->text(i, 2)};
      last.item.id = rows->text(i, 3);
      last.item.payload = rows->text(i, 4);
      last.item.publisher = rows->text(i, 5);
      last.item.published = from_micros(rows->integer(i, 6));
      out.push_back(std::move(last));
    }
    return out;
  });
}

boost::system::result<std::size_t> PepStore::remove_user(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::size_t> {
    Params params;
    params.text(owner);
    // The items go with their nodes (ON DELETE CASCADE); affected() counts the nodes alone.
    auto deleted = connection.exec("DELETE FROM pep_nodes WHERE owner = $1", params);
    if (!deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(deleted->affected());
  });
}

boost::system::result<std::vector<std::string>> PepStore::users(std::string_view after, std::size_t limit) {
  assert(off_io_thread());
  if (limit == 0) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    Params params;
    params.text(after).integer(clamped(limit));
    auto rows =
        connection.exec("SELECT DISTINCT owner FROM pep_nodes WHERE owner > $1 ORDER BY owner LIMIT $2", params);
    if (!rows) {
      return rows.error();
    }
    std::vector<std::string> users;
    users.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      users.push_back(rows->text(i, 0));
    }
    return users;
  });
}

} // namespace parley::storage::postgres::detail
