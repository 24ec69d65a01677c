#pragma once
// Copies everything one Storage holds into another: how a site moves from the embedded SQLite
// default to PostgreSQL (`parleyctl storage copy`).

#include "storage/storage.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <functional>
#include <string_view>

namespace parley::storage {

struct CopyCounts {
  std::uint64_t users = 0;
  std::uint64_t credentials = 0;
  std::uint64_t roster_items = 0;
  std::uint64_t offline_messages = 0;
  std::uint64_t work_items = 0;
  std::uint64_t work_events = 0;
  std::uint64_t tokens = 0;
  std::uint64_t registrations = 0;
  std::uint64_t hooks = 0;
  std::uint64_t rooms = 0;
  std::uint64_t opt_outs = 0;
  /// Blocked JIDs, over every user's block list.
  std::uint64_t blocks = 0;
  /// Archived messages (XEP-0313), over every user's and room's archive.
  std::uint64_t archived = 0;
  /// Owners with archiving preferences.
  std::uint64_t archive_prefs = 0;
  /// Private XML fragments (XEP-0049 data and XEP-0054 vCards), over every user.
  std::uint64_t private_xml = 0;
  /// PEP nodes (XEP-0163), over every user, with or without items.
  std::uint64_t pep_nodes = 0;
  /// Items of those nodes.
  std::uint64_t pep_items = 0;
};

/// Copies every stored concern from `from` into `to`: users with their SCRAM credentials,
/// rosters with their versions, offline messages (order and timestamps kept), the work queue
/// items (ids and states kept) with their timelines (event order kept), admin API tokens,
/// gateway registrations, stored webhooks (creation times kept), persistent MUC rooms with
/// their affiliations, SMS opt-outs (times and keywords kept), XEP-0191 block lists, XEP-0313
/// message archives (archive order, ids, timestamps and `with` kept) with archiving preferences,
/// private XML (XEP-0049 fragments and XEP-0054 vCards, under their keys), and PEP nodes
/// (XEP-0163) with their configurations and items (ids, publishers, times and publication order
/// kept). `to` must hold no users, work items, tokens, registrations, webhooks, rooms, opt-outs,
/// block lists, archives (messages or preferences), private XML or PEP nodes (conflict
/// otherwise), so that nothing is merged by accident. `progress`, if set, is called after each
/// user with the name. Stops at the first error; what was copied so far stays in `to`.
///
/// Not copied: the keys of handled deliveries (SeenStore), which that interface cannot list, and
/// when each JID was blocked, each private XML fragment last stored or each PEP node created,
/// which BlockStore, PrivateStore and PepStore do not read back (the copy records its own time;
/// a PEP node with items gets the time of its oldest item).
///
/// Blocks on I/O; every new concern added to Storage joins this function and its test.
boost::system::result<CopyCounts> copy_all(Storage& from, Storage& to,
                                           const std::function<void(std::string_view)>& progress = {});

} // namespace parley::storage
