#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// One item of a PEP node: its id, its payload (one serialized XML element) and who published
/// it (a full JID).
struct PepItem {
  std::string id;
  std::string payload;
  std::string publisher;
  Timestamp published{};
};

/// A node of a user's personal eventing service and its configuration, which the router keeps
/// as an opaque string (the store never looks inside).
struct PepNode {
  std::string name;
  std::string config;
};

/// The newest item of one node of one owner (last_items()).
struct PepLastItem {
  std::string owner;
  PepNode node;
  PepItem item;
};

/// The personal eventing service (XEP-0163) of each user: nodes named by the user's clients
/// ("urn:xmpp:avatar:metadata", "urn:xmpp:bookmarks:1", ...), each with a configuration and
/// items in publication order. `owner` is the user's bare JID ("alice@example.com").
///
/// Order: every publish gives the item a new place at the newest end (an item republished
/// under the same id moves there); "newest first" below is that order reversed.
///
/// Threading: every call blocks on I/O; worker pool only. No call throws.
/// invalid_argument for an empty owner, node or item id, for a payload larger than 1 MiB, and
/// for a limit or max_items of 0 where a positive number is required. Node names and item ids
/// are meant to be short (PostgreSQL indexes them; the router keeps them under 1 KiB).
class PepStore {
public:
  virtual ~PepStore() = default;

  /// The owner's nodes, by name ascending (byte order).
  virtual boost::system::result<std::vector<PepNode>> nodes(std::string_view owner) = 0;
  /// One node; not_found when it does not exist.
  virtual boost::system::result<PepNode> node(std::string_view owner, std::string_view node) = 0;
  /// Creates a node without items; conflict when it exists already.
  virtual boost::system::result<void> create_node(std::string_view owner, std::string_view node,
                                                  std::string_view config, Timestamp now) = 0;
  /// Replaces a node's configuration; not_found when it does not exist.
  virtual boost::system::result<void> configure_node(std::string_view owner, std::string_view node,
                                                     std::string_view config) = 0;
  /// Deletes a node and its items: true when it was there.
  virtual boost::system::result<bool> delete_node(std::string_view owner, std::string_view node) = 0;

  /// Publishes `item` to a node, in one transaction: creates the node with `config_if_new` when
  /// it does not exist, stores the item (replacing an item with the same id, which moves to the
  /// newest end), then removes the oldest items beyond the newest `max_items` (>= 1).
  /// Returns true when the node was created.
  virtual boost::system::result<bool> publish(std::string_view owner, std::string_view node,
                                              std::string_view config_if_new, const PepItem& item,
                                              std::size_t max_items) = 0;
  /// Removes one item: true when it was there (a missing node is not_found).
  virtual boost::system::result<bool> retract(std::string_view owner, std::string_view node,
                                              std::string_view item_id) = 0;
  /// Removes every item of a node, keeping the node; returns how many went (not_found when
  /// there is no such node).
  virtual boost::system::result<std::size_t> purge(std::string_view owner, std::string_view node) = 0;

  /// A node's items, newest first, at most `max` (0 = all); not_found when there is no node.
  virtual boost::system::result<std::vector<PepItem>> items(std::string_view owner, std::string_view node,
                                                            std::size_t max) = 0;
  /// The items with these ids that exist, newest first; not_found when there is no node.
  virtual boost::system::result<std::vector<PepItem>> items_by_id(std::string_view owner, std::string_view node,
                                                                  std::span<const std::string> ids) = 0;
  /// For each of these owners (duplicates allowed, answered once), each node that has items,
  /// with its newest item: what a client coming online gets (XEP-0163 §4.3.2). Ordered by
  /// owner, then node name. One round trip's worth of work however many owners there are.
  virtual boost::system::result<std::vector<PepLastItem>> last_items(std::span<const std::string> owners) = 0;

  /// Removes every node and item of `owner` (account deleted); returns how many nodes went.
  virtual boost::system::result<std::size_t> remove_user(std::string_view owner) = 0;
  /// Owners with at least one node, ascending, strictly after `after` ("" = from the start),
  /// at most `limit` (invalid_argument for 0): with nodes() and items(), a walk over everything
  /// (copy_all).
  virtual boost::system::result<std::vector<std::string>> users(std::string_view after, std::size_t limit) = 0;
};

} // namespace parley::storage
