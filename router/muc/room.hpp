#pragma once
// One multi-user chat room (XEP-0045): occupants, roles and affiliations, configuration,
// subject and history, and every rule about who may do what. No I/O: each call takes a
// stanza and says, in Effects, which stanzas to send and whether the stored state changed;
// the MucService routes them and keeps storage up to date.

#include "core/jid/jid.hpp"
#include "core/xml/element.hpp"
#include "router/muc/history.hpp"
#include "storage/room_store.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::router::muc {

using storage::Affiliation;

/// XEP-0045 §5.1 roles, lowest first, so that they compare by rank.
enum class Role { none, visitor, participant, moderator };

std::string_view to_string(Role role) noexcept;
std::optional<Role> parse_role(std::string_view name) noexcept;

/// What the service imposes on every room.
struct Limits {
  /// Most occupants; the limit of a room whose configuration sets none.
  std::uint32_t max_occupants = 200;
  /// Most messages of history a room keeps.
  std::uint32_t max_history = 100;
  /// Rooms keep message archives (XEP-0313): groupchat messages get a <stanza-id/> and an
  /// Effects::archive record, and new occupants hear status 170 (XEP-0045 §7.2.12).
  bool archive = false;
};

/// A groupchat message for the room's archive, with the id it was broadcast under.
struct ArchiveRecord {
  /// The room's JID: the archive.
  std::string owner;
  std::string id;
  /// The occupant JID it came from (room@service/nick).
  std::string with;
  /// As broadcast, without 'to'.
  core::xml::Element message;
};

/// What handling one stanza calls for.
struct Effects {
  /// Stanzas to route now, in this order.
  std::vector<core::xml::Element> out;
  /// The iq result that acknowledges a change of the stored state: routed only once that
  /// state is stored ("acknowledged means durable"); if storing fails, the sender gets an
  /// internal-server-error instead.
  std::optional<core::xml::Element> ack;
  /// The configuration, affiliations or subject changed: what storage holds (if anything)
  /// is out of date.
  bool stored_changed = false;
  /// The room is gone (destroyed, or temporary and empty); the service forgets it.
  bool destroyed = false;
  /// A message to keep in the room's archive before any of `out` is routed.
  std::optional<ArchiveRecord> archive;
  /// A gateway's post was refused (Room::post): why, for the log and the gateway's answer.
  std::optional<std::string> refused;
};

/// One person in the room under one nickname, with one or more sessions (XEP-0045 §7.2.9:
/// the resources of one bare JID may share a nickname).
struct Occupant {
  std::string nick;
  core::jid::Jid bare;
  /// Full JIDs, in the order they joined; never empty.
  std::vector<core::jid::Jid> sessions;
  Role role = Role::participant;
  /// The last available presence of the occupant, without addresses and MUC payloads: what
  /// the others see (show, status, capabilities ...).
  core::xml::Element presence;
};

/// The answer to available presence without <x xmlns='…muc'/> from someone not in the room
/// (or to a room that does not exist): an explicit kick with 110, 307 and 333 (XEP-0045
/// §7.2.22), so that a client that lost track of the room enters it again properly.
core::xml::Element not_in_room(const core::xml::Element& presence);

/// A summary for the admin interface.
struct RoomSummary {
  std::string jid;
  std::string name;
  bool persistent = false;
  bool public_room = true;
  bool members_only = false;
  bool password_protected = false;
  bool locked = false;
  std::size_t occupants = 0;
};

/// A room. Not synchronised: the MucService calls it from its strand only. Never blocks,
/// never throws on what a client sends.
class Room {
public:
  /// A room as stored, or a new one (then `locked` until its owner configures it,
  /// XEP-0045 §10.1.1). `state.service` and `state.room` must match `jid`.
  Room(core::jid::Jid jid, storage::StoredRoom state, Limits limits, bool locked);

  /// A new room's state: `creator` (a bare JID) is its owner; the configuration is the
  /// default one, its history length capped by `limits`.
  static storage::StoredRoom initial_state(const core::jid::Jid& room, const core::jid::Jid& creator,
                                           const Limits& limits, storage::Timestamp now);

  /// Handles a message, presence or iq whose 'to' is the room or one of its occupants.
  /// `from` is the sender's full JID (stamped by the router), `to` the parsed 'to'.
  void handle(const core::xml::Element& stanza, const core::jid::Jid& from, const core::jid::Jid& to,
              storage::Timestamp now, Effects& effects);
  /// The presence that created the room: its sender enters as the owner, with status 201
  /// (XEP-0045 §10.1.1).
  void create(const core::xml::Element& presence, const core::jid::Jid& from, const core::jid::Jid& to,
              storage::Timestamp now, Effects& effects);

  /// XEP-0045 §10.9: every occupant is told (with the reason and the alternate venue, if
  /// any) and the room is gone.
  void destroy(std::string_view reason, std::string_view alternate, Effects& effects);
  /// XEP-0045 §14.2 (status 332): the service shuts down; every occupant is told and removed.
  void shutdown(Effects& effects);
  /// Sets an affiliation as the service would for an admin (no privilege checks, no
  /// last-owner check): occupants concerned are updated or removed. `jid` is a bare JID or
  /// a domain. invalid_argument-style refusals are the caller's business.
  void set_affiliation(const core::jid::Jid& jid, Affiliation affiliation, std::string_view reason, Effects& effects);
  /// A groupchat message from a gateway of this server (an inbound webhook, say), which is
  /// not an occupant: broadcast from room@service/`nick` as if that occupant had spoken, and
  /// kept in the history. The gateway's bare JID stands in the room as its affiliation would
  /// put an occupant: refused (Effects::refused, no stanza sent) when it is banned, when the
  /// room is locked, or members-only, password-protected or moderated and it is not a member,
  /// or when an occupant holds `nick`.
  void post(const core::xml::Element& message, const core::jid::Jid& from, std::string_view nick,
            storage::Timestamp now, Effects& effects);
  /// Replaces the configuration as an owner's form would (notifications included).
  void configure(const storage::RoomConfig& config, Effects& effects);

  const core::jid::Jid& jid() const noexcept { return jid_; }
  const storage::RoomConfig& config() const noexcept { return state_.config; }
  bool locked() const noexcept { return locked_; }
  bool empty() const noexcept { return occupants_.empty(); }
  const std::vector<Occupant>& occupants() const noexcept { return occupants_; }
  const History& history() const noexcept { return history_; }
  /// XEP-0313 §5.1.2: who may read the room's archive: its occupants and members (owners and
  /// admins too), and anyone not banned when the room is public and open.
  bool may_read_archive(const core::jid::Jid& full) const;
  /// The affiliation of a bare JID: its own entry, else its domain's, else none.
  Affiliation affiliation_of(const core::jid::Jid& jid) const;
  /// Everything stored about the room, affiliations by ascending jid.
  storage::StoredRoom snapshot() const;
  /// Listed in the service's disco#items: public and not locked (XEP-0045 §6.3).
  bool listed() const noexcept { return state_.config.public_room && !locked_; }
  /// The name shown in service discovery: the room's name, else its localpart.
  std::string display_name() const;
  RoomSummary summary() const;

private:
  struct Entry {
    Affiliation affiliation = Affiliation::member;
    std::string nick;
    std::string reason;
  };
  /// Why an occupant leaves, and what the others are told.
  struct Removal {
    std::vector<int> codes;
    std::string actor;  ///< nickname of the moderator or admin who did it
    std::string reason; ///< their <reason/>
    /// The affiliation shown in the unavailable presence; the occupant's own when unset.
    std::optional<Affiliation> affiliation;
    /// The occupant's own unavailable presence (its <status/> goes to the others).
    const core::xml::Element* presence = nullptr;
  };

  // ---- presence
  void on_presence(const core::xml::Element& p, const core::jid::Jid& from, const core::jid::Jid& to,
                   storage::Timestamp now, Effects& fx);
  void join(const core::xml::Element& p, const core::jid::Jid& from, const core::jid::Jid& to, storage::Timestamp now,
            bool created, Effects& fx);
  /// Sends one session what a newcomer gets: the others' presence, its own, history, subject.
  void welcome(const Occupant& occupant, const core::jid::Jid& session, const core::xml::Element& p,
               storage::Timestamp now, const std::vector<int>& self_codes, Effects& fx) const;
  void change_nick(Occupant& occupant, const core::xml::Element& p, std::string nick, Effects& fx);
  /// Removes `session` of `occupant`; with no session left, the occupant leaves and the others
  /// are told. May set fx.destroyed (a temporary room left empty).
  void leave(std::size_t index, const core::jid::Jid& session, const Removal& removal, Effects& fx);
  /// Removes the occupant altogether (every session), telling everyone.
  void remove(std::size_t index, const Removal& removal, Effects& fx);
  /// A temporary or unconfigured room that nobody is in any more is destroyed.
  void destroy_if_abandoned(Effects& fx);

  // ---- messages
  void on_message(const core::xml::Element& m, const core::jid::Jid& from, const core::jid::Jid& to,
                  storage::Timestamp now, Effects& fx);
  void private_message(const core::xml::Element& m, const Occupant* sender, const core::jid::Jid& to, Effects& fx);
  void groupchat(const core::xml::Element& m, const Occupant& sender, storage::Timestamp now, Effects& fx);
  /// Stamps a groupchat message about to be broadcast with the room's archive id and records it
  /// in `fx` (when the room keeps an archive and the message belongs there).
  void archive(core::xml::Element& out, Effects& fx) const;
  void change_subject(const core::xml::Element& m, const Occupant& sender, storage::Timestamp now, Effects& fx);
  void invitations(const core::xml::Element& m, const core::xml::Element& x, const core::jid::Jid& from,
                   const Occupant* sender, Effects& fx);

  // ---- iq
  void on_iq(const core::xml::Element& iq, const core::jid::Jid& from, const core::jid::Jid& to, Effects& fx);
  void disco_info(const core::xml::Element& iq, const core::xml::Element& query, Effects& fx) const;
  void disco_items(const core::xml::Element& iq, const core::jid::Jid& from, Effects& fx) const;
  void admin_get(const core::xml::Element& iq, const core::xml::Element& query, const core::jid::Jid& from,
                 Effects& fx) const;
  void admin_set(const core::xml::Element& iq, const core::xml::Element& query, const core::jid::Jid& from,
                 Effects& fx);
  void owner_iq(const core::xml::Element& iq, const core::xml::Element& query, const core::jid::Jid& from, Effects& fx);
  void apply_form(const core::xml::Element& iq, const core::xml::Element& form, Effects& fx);

  // ---- helpers
  Occupant* find_session(const core::jid::Jid& full);
  std::optional<std::size_t> index_of_session(const core::jid::Jid& full) const;
  Occupant* find_nick(std::string_view nick);
  const Occupant* find_nick(std::string_view nick) const;
  /// The bare JID that reserved `nick` (XEP-0045 §7.10), or nullptr.
  const std::string* reserved_by(std::string_view nick) const;
  Role default_role(Affiliation affiliation) const noexcept;
  std::uint32_t max_occupants() const noexcept;
  std::size_t history_limit() const noexcept;
  /// room@service/nick
  core::jid::Jid occupant_jid(std::string_view nick) const;
  /// Whether `viewer` may see the real JIDs of occupants (XEP-0045 §7.2.4, §7.2.5).
  bool sees_jids(const Occupant* viewer) const noexcept;
  /// The presence of `occupant` as `viewer` gets it (without 'to'): its presence payload
  /// and <x xmlns='…muc#user'><item/></x>.
  core::xml::Element presence_of(const Occupant& occupant, const Occupant* viewer) const;
  /// The same presence sent to every session of every occupant; `self_codes` go to the
  /// occupant's own sessions (with 110), `codes` to everyone.
  void broadcast_presence(const Occupant& occupant, const std::vector<int>& codes, Effects& fx) const;
  /// `stanza` (without 'to') to every session of every occupant.
  void broadcast(const core::xml::Element& stanza, Effects& fx) const;
  void set_entry(const std::string& jid, Affiliation affiliation, std::string_view reason);
  void notify_config_change(const storage::RoomConfig& before, Effects& fx);
  /// Occupants that may no longer be in a members-only room are removed with `code`.
  void remove_non_members(int code, Effects& fx);

  core::jid::Jid jid_;
  storage::StoredRoom state_;            // affiliations kept in entries_, not here
  std::map<std::string, Entry> entries_; // bare JID (or domain) -> affiliation
  Limits limits_;
  bool locked_ = false;
  std::vector<Occupant> occupants_; // in the order they entered
  History history_;
};

} // namespace parley::router::muc
