#include "storage/sqlite/detail/migrations.hpp"

#include "storage/sqlite/open.hpp"

#include <array>

namespace parley::storage::sqlite::detail {

namespace {

// Conventions: every per-user table references users(username) ON DELETE CASCADE, so deleting
// a user removes everything of theirs. Times are INTEGER microseconds since the Unix epoch, UTC.
// Text is compared bytewise (BINARY), matching COLLATE "C" in the PostgreSQL backend.
constexpr const char* initial_schema = R"sql(
CREATE TABLE users (
  username    TEXT PRIMARY KEY NOT NULL,
  created_us  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE scram_credentials (
  username    TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
  mechanism   TEXT NOT NULL,
  salt        BLOB NOT NULL,
  iterations  INTEGER NOT NULL CHECK (iterations > 0),
  stored_key  BLOB NOT NULL,
  server_key  BLOB NOT NULL,
  PRIMARY KEY (username, mechanism)
) WITHOUT ROWID;

CREATE TABLE roster_versions (
  username    TEXT PRIMARY KEY NOT NULL REFERENCES users(username) ON DELETE CASCADE,
  version     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE roster_items (
  username       TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
  jid            TEXT NOT NULL,
  name           TEXT NOT NULL,
  subscription   TEXT NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
  ask_subscribe  INTEGER NOT NULL CHECK (ask_subscribe IN (0, 1)),
  pending_in     INTEGER NOT NULL CHECK (pending_in IN (0, 1)),
  approved       INTEGER NOT NULL CHECK (approved IN (0, 1)),
  PRIMARY KEY (username, jid)
) WITHOUT ROWID;

CREATE TABLE roster_groups (
  username    TEXT NOT NULL,
  jid         TEXT NOT NULL,
  name        TEXT NOT NULL,
  PRIMARY KEY (username, jid, name),
  FOREIGN KEY (username, jid) REFERENCES roster_items(username, jid) ON DELETE CASCADE
) WITHOUT ROWID;

-- AUTOINCREMENT: ids are never reused, so "remove up to id" cannot hit a message that arrived
-- after the list that delivered the others.
CREATE TABLE offline_messages (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  username    TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
  stamp_us    INTEGER NOT NULL,
  stanza      TEXT NOT NULL
);
CREATE INDEX offline_messages_by_user ON offline_messages(username, id);
)sql";

// AUTOINCREMENT: ids are never reused, and a restored id moves the sequence past it
// (sqlite_sequence), so later enqueues get higher ids. owner, lease_until_us and last_error are
// never NULL: '' and 0 stand for "none", as the WorkItem fields do.
constexpr const char* work_queue_schema = R"sql(
CREATE TABLE work_items (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  queue           TEXT NOT NULL,
  key             TEXT NOT NULL,
  payload         TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'done', 'dead')),
  attempts        INTEGER NOT NULL CHECK (attempts >= 0),
  created_us      INTEGER NOT NULL,
  due_us          INTEGER NOT NULL,
  owner           TEXT NOT NULL,
  lease_until_us  INTEGER NOT NULL,
  last_error      TEXT NOT NULL,
  updated_us      INTEGER NOT NULL,
  UNIQUE (queue, key)
);
-- Claims look for the due items of one queue in one state, oldest due first.
CREATE INDEX work_items_to_claim ON work_items(queue, state, due_us, id);
)sql";

constexpr const char* seen_schema = R"sql(
CREATE TABLE seen_keys (
  scope       TEXT NOT NULL,
  key         TEXT NOT NULL,
  value       TEXT NOT NULL,
  created_us  INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX seen_keys_by_age ON seen_keys(created_us);
)sql";

// work_events: the timeline of each work item. Its rowid orders the events: a new row always
// gets a rowid above every row in the table, so within one item, ascending rowid is the order
// of recording (the index on item alone holds rowid as its last column). The cascade takes the
// events with their item when purge deletes it.
// registrations: one row per (gateway address, owner); owners of an address come from the
// primary key, everything of one owner from registrations_by_owner.
constexpr const char* admin_schema = R"sql(
CREATE TABLE work_events (
  seq         INTEGER PRIMARY KEY,
  item        INTEGER NOT NULL REFERENCES work_items(id) ON DELETE CASCADE,
  at_us       INTEGER NOT NULL,
  event       TEXT NOT NULL CHECK (event <> ''),
  detail      TEXT NOT NULL
);
CREATE INDEX work_events_by_item ON work_events(item);

CREATE TABLE api_tokens (
  id           TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
  hash         TEXT NOT NULL CHECK (hash <> ''),
  scope        TEXT NOT NULL CHECK (scope <> ''),
  description  TEXT NOT NULL,
  created_us   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE registrations (
  domain      TEXT NOT NULL CHECK (domain <> ''),
  address     TEXT NOT NULL CHECK (address <> ''),
  owner       TEXT NOT NULL CHECK (owner <> ''),
  created_us  INTEGER NOT NULL,
  PRIMARY KEY (domain, address, owner)
) WITHOUT ROWID;
CREATE INDEX registrations_by_owner ON registrations(owner, domain, address);

CREATE TABLE webhooks (
  domain            TEXT NOT NULL CHECK (domain <> ''),
  name              TEXT NOT NULL CHECK (name <> ''),
  url               TEXT NOT NULL,
  secret            TEXT NOT NULL,
  github_signature  INTEGER NOT NULL CHECK (github_signature IN (0, 1)),
  inbound_secret    TEXT NOT NULL,
  recipient         TEXT NOT NULL,
  template_name     TEXT NOT NULL,
  created_us        INTEGER NOT NULL,
  updated_us        INTEGER NOT NULL,
  PRIMARY KEY (domain, name)
) WITHOUT ROWID;
)sql";

// Multi-user chat rooms that outlive their occupants (XEP-0045 persistent rooms). The room
// password is kept as given: mediated invitations carry it to the invitee (XEP-0045 §7.8.2).
// An affiliation goes with its room (ON DELETE CASCADE).
constexpr const char* muc_schema = R"sql(
CREATE TABLE muc_rooms (
  service         TEXT NOT NULL CHECK (service <> ''),
  room            TEXT NOT NULL CHECK (room <> ''),
  name            TEXT NOT NULL,
  description     TEXT NOT NULL,
  password        TEXT NOT NULL,
  members_only    INTEGER NOT NULL CHECK (members_only IN (0, 1)),
  moderated       INTEGER NOT NULL CHECK (moderated IN (0, 1)),
  max_occupants   INTEGER NOT NULL CHECK (max_occupants >= 0),
  public_room     INTEGER NOT NULL CHECK (public_room IN (0, 1)),
  persistent      INTEGER NOT NULL CHECK (persistent IN (0, 1)),
  history_length  INTEGER NOT NULL CHECK (history_length >= 0),
  whois           TEXT NOT NULL CHECK (whois IN ('moderators', 'anyone')),
  change_subject  INTEGER NOT NULL CHECK (change_subject IN (0, 1)),
  allow_invites   INTEGER NOT NULL CHECK (allow_invites IN (0, 1)),
  allow_pm        TEXT NOT NULL CHECK (allow_pm IN ('anyone', 'participants', 'moderators', 'none')),
  subject         TEXT NOT NULL,
  subject_by      TEXT NOT NULL,
  subject_at_us   INTEGER NOT NULL,
  created_us      INTEGER NOT NULL,
  PRIMARY KEY (service, room)
) WITHOUT ROWID;

CREATE TABLE muc_affiliations (
  service      TEXT NOT NULL,
  room         TEXT NOT NULL,
  jid          TEXT NOT NULL CHECK (jid <> ''),
  affiliation  TEXT NOT NULL CHECK (affiliation IN ('owner', 'admin', 'member', 'outcast')),
  nick         TEXT NOT NULL,
  reason       TEXT NOT NULL,
  PRIMARY KEY (service, room, jid),
  FOREIGN KEY (service, room) REFERENCES muc_rooms(service, room) ON DELETE CASCADE
) WITHOUT ROWID;
)sql";

// SMS opt-outs (STOP/START): one row per (our gateway address, the contact that opted out);
// the primary key answers "may we send from address to contact" and pages through a domain.
constexpr const char* opt_out_schema = R"sql(
CREATE TABLE opt_outs (
  domain      TEXT NOT NULL CHECK (domain <> ''),
  address     TEXT NOT NULL CHECK (address <> ''),
  contact     TEXT NOT NULL CHECK (contact <> ''),
  created_us  INTEGER NOT NULL,
  keyword     TEXT NOT NULL,
  PRIMARY KEY (domain, address, contact)
) WITHOUT ROWID;
)sql";

// XEP-0191 block lists: one row per (user's bare JID, blocked JID); the primary key reads one
// user's list in order and pages through the users that have one.
constexpr const char* block_schema = R"sql(
CREATE TABLE blocks (
  user_jid    TEXT NOT NULL CHECK (user_jid <> ''),
  jid         TEXT NOT NULL CHECK (jid <> ''),
  created_us  INTEGER NOT NULL,
  PRIMARY KEY (user_jid, jid)
) WITHOUT ROWID;
)sql";

// XEP-0313 message archives, one per owner (a user's bare JID or a room's JID). seq is archive
// order; AUTOINCREMENT never hands a value out twice, so paging "after" a message stays right
// across deletions. The indexes: one archive in order, one conversation in it in order ("the
// latest 50 with X" reads 50 index entries backwards), and retention by time.
constexpr const char* archive_schema = R"sql(
CREATE TABLE archive (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  owner     TEXT NOT NULL CHECK (owner <> ''),
  id        TEXT NOT NULL CHECK (id <> ''),
  ts_us     INTEGER NOT NULL,
  with_jid  TEXT NOT NULL,
  stanza    TEXT NOT NULL CHECK (stanza <> ''),
  UNIQUE (owner, id)
);
CREATE INDEX archive_by_owner ON archive(owner, seq);
CREATE INDEX archive_by_with ON archive(owner, with_jid, seq);
CREATE INDEX archive_by_time ON archive(ts_us);

-- XEP-0313 §6 preferences: the default mode here, the always/never JIDs one row each.
CREATE TABLE archive_prefs (
  owner         TEXT PRIMARY KEY NOT NULL CHECK (owner <> ''),
  default_mode  TEXT NOT NULL CHECK (default_mode IN ('always', 'never', 'roster'))
) WITHOUT ROWID;

CREATE TABLE archive_prefs_jids (
  owner  TEXT NOT NULL REFERENCES archive_prefs(owner) ON DELETE CASCADE,
  list   TEXT NOT NULL CHECK (list IN ('always', 'never')),
  jid    TEXT NOT NULL CHECK (jid <> ''),
  PRIMARY KEY (owner, list, jid)
) WITHOUT ROWID;
)sql";

// XEP-0049 private XML and XEP-0054 vCards: one serialized fragment per (user's bare JID, key);
// the primary key reads one fragment, one user's keys in order, and pages through the users.
constexpr const char* private_schema = R"sql(
CREATE TABLE private_xml (
  owner       TEXT NOT NULL CHECK (owner <> ''),
  key         TEXT NOT NULL CHECK (key <> ''),
  xml         TEXT NOT NULL CHECK (xml <> ''),
  updated_us  INTEGER NOT NULL,
  PRIMARY KEY (owner, key)
) WITHOUT ROWID;
)sql";

// XEP-0163 personal eventing: each user's nodes (configuration opaque to the store) and their
// items. seq is publication order: AUTOINCREMENT never hands a value out twice, and a republished
// item is deleted and inserted anew, so it takes the newest place. Deleting a node deletes its
// items (ON DELETE CASCADE). The index reads one node's items newest first, and its newest item
// with one probe.
constexpr const char* pep_schema = R"sql(
CREATE TABLE pep_nodes (
  owner       TEXT NOT NULL CHECK (owner <> ''),
  node        TEXT NOT NULL CHECK (node <> ''),
  config      TEXT NOT NULL,
  created_us  INTEGER NOT NULL,
  PRIMARY KEY (owner, node)
) WITHOUT ROWID;

CREATE TABLE pep_items (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  owner         TEXT NOT NULL,
  node          TEXT NOT NULL,
  item_id       TEXT NOT NULL CHECK (item_id <> ''),
  payload       TEXT NOT NULL,
  publisher     TEXT NOT NULL,
  published_us  INTEGER NOT NULL,
  UNIQUE (owner, node, item_id),
  FOREIGN KEY (owner, node) REFERENCES pep_nodes(owner, node) ON DELETE CASCADE
);
CREATE INDEX pep_items_by_node ON pep_items(owner, node, seq);
)sql";

constexpr std::array all_migrations{
    Migration{1, "users, SCRAM credentials, rosters, offline messages", initial_schema},
    Migration{2, "work queue", work_queue_schema},
    Migration{3, "keys of handled inbound deliveries", seen_schema},
    Migration{4, "work item timelines, API tokens, gateway registrations, stored webhooks", admin_schema},
    Migration{5, "multi-user chat rooms and their affiliations", muc_schema},
    Migration{6, "SMS opt-outs", opt_out_schema},
    Migration{7, "block lists", block_schema},
    Migration{8, "message archives and archiving preferences", archive_schema},
    Migration{9, "private XML and vCards", private_schema},
    Migration{10, "personal eventing (PEP)", pep_schema},
};

} // namespace

std::span<const Migration> migrations() noexcept {
  return all_migrations;
}

} // namespace parley::storage::sqlite::detail

namespace parley::storage::sqlite {

int latest_schema_version() noexcept {
  return detail::all_migrations.back().version;
}

} // namespace parley::storage::sqlite
