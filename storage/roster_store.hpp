#pragma once

#include "storage/roster_item.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// A roster version (XEP-0237): per user, 0 before the first change, then increased by every
/// change to that user's roster. Only equality and order carry meaning; the roster module sends
/// it as a decimal string in `ver`.
using RosterVersion = std::int64_t;

/// A user's whole roster and its version, read in one consistent snapshot.
struct Roster {
  RosterVersion version = 0;
  /// Sorted by `jid` in ascending byte order.
  std::vector<RosterItem> items;
};

/// Rosters (RFC 6121 §2) and the subscription state behind them (RFC 6121 §3), per local user.
///
/// Threading: every call blocks on disk I/O. Call only from the worker pool
/// (`core::async::WorkerPool::run`), never from an I/O thread. Calls are safe concurrently from
/// any number of worker threads. No call throws; failures come back as storage_errc.
/// Every call returns not_found when `username` is not a user of the UserStore, and
/// invalid_argument for an empty `username` or contact `jid`.
class RosterStore {
public:
  virtual ~RosterStore() = default;

  /// The whole roster with its version.
  virtual boost::system::result<Roster> get_roster(std::string_view username) = 0;

  /// Just the current version, to answer a roster get whose `ver` is current with an empty
  /// result (XEP-0237 §5.2).
  virtual boost::system::result<RosterVersion> get_version(std::string_view username) = 0;

  /// The item for `jid`; not_found if the roster has none.
  virtual boost::system::result<RosterItem> get_item(std::string_view username, std::string_view jid) = 0;

  /// Adds `item` or replaces the item with the same `jid` (groups included) and returns the
  /// new roster version, which is greater than every version returned before for this user.
  virtual boost::system::result<RosterVersion> upsert_item(std::string_view username, const RosterItem& item) = 0;

  /// Removes the item for `jid` and returns the new roster version; not_found if there is none
  /// (the version then stays as it was).
  virtual boost::system::result<RosterVersion> remove_item(std::string_view username, std::string_view jid) = 0;

  /// Replaces the whole roster of `username` with `roster`, version included (for copying
  /// between backends; later changes get versions above roster.version). invalid_argument for
  /// an item with an empty jid, two items with the same jid, or a negative version.
  virtual boost::system::result<void> replace_roster(std::string_view username, const Roster& roster) = 0;

  /// JIDs with subscription `from` or `both`: the contacts who receive the user's presence
  /// broadcasts (RFC 6121 §4.2.2, §4.4.2). Sorted ascending.
  virtual boost::system::result<std::vector<std::string>> subscribers(std::string_view username) = 0;

  /// JIDs with subscription `to` or `both`: the contacts the server probes when the user comes
  /// online (RFC 6121 §4.2.2). Sorted ascending.
  virtual boost::system::result<std::vector<std::string>> subscriptions(std::string_view username) = 0;

  /// JIDs whose subscription request to the user is still unanswered, to be presented again
  /// when the user comes online (RFC 6121 §3.1.3). Sorted ascending.
  virtual boost::system::result<std::vector<std::string>> pending_in(std::string_view username) = 0;
};

} // namespace parley::storage
