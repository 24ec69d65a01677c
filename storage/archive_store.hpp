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

/// One archived message (XEP-0313) of one archive.
struct ArchivedMessage {
  /// The archive's id for it, as handed out in XEP-0359 <stanza-id/>: unique within its
  /// archive, chosen by the caller (random, never reused).
  std::string id;
  /// When the server archived it.
  Timestamp timestamp;
  /// The other party: a bare JID for a user's archive ("bob@example.com",
  /// "+15551234567@sms.example.com"), the occupant JID ("room@conference.example.com/nick") for a
  /// room's. The `with` filter matches it exactly.
  std::string with;
  /// The serialized stanza as archived.
  std::string stanza;

  friend bool operator==(const ArchivedMessage&, const ArchivedMessage&) = default;
};

/// A message to archive, and whose archive it goes to.
struct ArchiveEntry {
  /// The archive: a user's bare JID ("alice@example.com") or a room's JID.
  std::string owner;
  ArchivedMessage message;
};

/// A query over one archive (XEP-0313 §4, with XEP-0059 paging). The filters combine (AND).
struct ArchiveQuery {
  std::string owner;
  /// Only messages whose `with` is exactly this.
  std::optional<std::string> with;
  /// Only messages archived at or after `start`, at or before `end`.
  std::optional<Timestamp> start;
  std::optional<Timestamp> end;
  /// Only messages archived after (before) the one with this id, exclusive. Two sources each:
  /// the form's after-id/before-id and RSM's <after/>/<before/>; every one given applies.
  /// An id that is not in the archive makes the query fail with not_found. More than 1000
  /// entries in any of these lists (or in `ids`) is invalid_argument.
  std::vector<std::string> after_ids;
  std::vector<std::string> before_ids;
  /// Only the messages with these ids (XEP-0313 `ids`); empty: no such filter.
  std::vector<std::string> ids;
  /// At most this many messages (the caller caps it; 0 returns none but still says whether
  /// any match, through `complete`).
  std::size_t max = 50;
  /// false: the first `max` matching messages (the oldest). true: the last `max` (the newest,
  /// RSM <before/>). Either way the page comes back in archive order, oldest first.
  bool from_end = false;
};

struct ArchivePage {
  /// Oldest first, in the order they were archived.
  std::vector<ArchivedMessage> messages;
  /// true when no further message matches in the direction of paging: after the last one
  /// returned (from_end = false) or before the first one (from_end = true).
  bool complete = true;
};

/// A user's archiving preferences (XEP-0313 §6).
struct ArchivePrefs {
  /// "always", "never" or "roster".
  std::string default_mode = "always";
  /// Bare JIDs always (never) archived, whatever the default says; ascending, no duplicates.
  std::vector<std::string> always;
  std::vector<std::string> never;

  friend bool operator==(const ArchivePrefs&, const ArchivePrefs&) = default;
};

/// Message archives (XEP-0313): one per user and one per chat room, each a sequence of messages
/// in the order they were archived. Archive order is the order of `append` calls (and within
/// one call, of the entries); it is what paging follows, not the timestamps.
///
/// A "latest N with X" query must stay fast on a large archive: backends index (owner, with,
/// order) and (owner, order).
///
/// Threading: every call blocks on I/O; worker pool only. No call throws.
/// invalid_argument for an empty owner (or, in an entry, an empty id or stanza).
class ArchiveStore {
public:
  virtual ~ArchiveStore() = default;

  /// Archives every entry in one transaction: all or none. An entry whose (owner, id) is in the
  /// archive already is skipped (a retried append stores nothing twice).
  virtual boost::system::result<void> append(std::span<const ArchiveEntry> entries) = 0;

  virtual boost::system::result<ArchivePage> query(const ArchiveQuery& query) = 0;

  /// How many messages `owner`'s archive holds.
  virtual boost::system::result<std::size_t> count(std::string_view owner) = 0;

  /// Deletes every message archived before `before`, in every archive (retention); returns how
  /// many went.
  virtual boost::system::result<std::size_t> remove_before(Timestamp before) = 0;

  /// Deletes `owner`'s archive and preferences (account removed, room destroyed); returns how
  /// many messages went.
  virtual boost::system::result<std::size_t> remove_owner(std::string_view owner) = 0;

  /// `owner`'s preferences; not_found when none were ever set (the caller applies its default).
  virtual boost::system::result<ArchivePrefs> prefs(std::string_view owner) = 0;
  /// Replaces them. invalid_argument for a default_mode other than always/never/roster, or for
  /// an empty JID in a list.
  virtual boost::system::result<void> set_prefs(std::string_view owner, const ArchivePrefs& prefs) = 0;

  /// Owners with a non-empty archive or with preferences, ascending (byte order), strictly
  /// after `after` ("" = from the start), at most `limit` (invalid_argument for 0). With
  /// query() and prefs(), a walk over everything (copy_all).
  virtual boost::system::result<std::vector<std::string>> owners(std::string_view after, std::size_t limit) = 0;
};

} // namespace parley::storage
