#pragma once
// Multi-user chat rooms that outlive their occupants (XEP-0045 persistent rooms): their
// configuration, subject and affiliations.

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// XEP-0045 §5.2 affiliations, lowest first, so that they compare by rank. `none` is what
/// a JID without an entry has; it is never stored.
enum class Affiliation { outcast, none, member, admin, owner };

/// Who may discover the real JIDs of occupants (XEP-0045 muc#roomconfig_whois).
enum class Whois {
  moderators, ///< semi-anonymous room
  anyone,     ///< non-anonymous room
};

/// Who may send private messages to occupants (muc#roomconfig_allowpm).
enum class AllowPm { anyone, participants, moderators, none };

std::string_view to_string(Affiliation affiliation) noexcept;
std::string_view to_string(Whois whois) noexcept;
std::string_view to_string(AllowPm allow) noexcept;
/// The wire names of XEP-0045 ("owner", "anyone", ...); nullopt for anything else.
std::optional<Affiliation> parse_affiliation(std::string_view name) noexcept;
std::optional<Whois> parse_whois(std::string_view name) noexcept;
std::optional<AllowPm> parse_allow_pm(std::string_view name) noexcept;

/// A room's configuration: the muc#roomconfig form (XEP-0045 §10.2, §15.5.3) as values.
struct RoomConfig {
  /// Natural-language name (muc#roomconfig_roomname); empty: the room's localpart is shown.
  std::string name;
  std::string description;
  /// Empty: no password is needed to enter.
  std::string password;
  bool members_only = false;
  bool moderated = false;
  /// Most occupants at once; 0 means the service's limit.
  std::uint32_t max_occupants = 0;
  /// Listed in the service's disco#items (public) or not (hidden).
  bool public_room = true;
  /// Kept when the last occupant leaves, and across restarts.
  bool persistent = false;
  /// Groupchat messages kept for new occupants (muc#maxhistoryfetch).
  std::uint32_t history_length = 20;
  Whois whois = Whois::moderators;
  /// Participants may change the subject (muc#roomconfig_changesubject); moderators always may.
  bool change_subject = false;
  /// Members may invite others into a members-only room (muc#roomconfig_allowinvites).
  bool allow_invites = false;
  AllowPm allow_pm = AllowPm::anyone;

  friend bool operator==(const RoomConfig&, const RoomConfig&) = default;
};

/// One entry of a room's owner, admin, member or outcast list.
struct RoomAffiliation {
  /// A bare JID (or a domain), as the list names it; non-empty.
  std::string jid;
  /// Never Affiliation::none.
  Affiliation affiliation = Affiliation::member;
  /// The nickname reserved for this JID in the room; may be empty.
  std::string nick;
  /// Why it was granted (a ban's reason); may be empty.
  std::string reason;

  friend bool operator==(const RoomAffiliation&, const RoomAffiliation&) = default;
};

/// A stored room: everything about it but its occupants and history, which live in memory.
struct StoredRoom {
  /// The MUC service's domain ("conference.example.com"); non-empty.
  std::string service;
  /// The room's localpart (as prepared by Nodeprep); non-empty.
  std::string room;
  RoomConfig config;
  std::string subject;
  /// The nickname of whoever set the subject; empty for none or the room itself.
  std::string subject_by;
  Timestamp subject_at;
  Timestamp created;
  /// Every affiliation, by ascending jid; at most one per jid.
  std::vector<RoomAffiliation> affiliations;

  friend bool operator==(const StoredRoom&, const StoredRoom&) = default;
};

/// Persistent MUC rooms. Threading: every call blocks on I/O; worker pool only. No call
/// throws. invalid_argument for an empty service or room.
class RoomStore {
public:
  virtual ~RoomStore() = default;

  /// Creates the room (service, room), or replaces everything stored about it, affiliations
  /// included, in one transaction. invalid_argument for an affiliation with an empty jid, of
  /// Affiliation::none, or a jid listed twice.
  virtual boost::system::result<void> put(const StoredRoom& room) = 0;
  /// not_found if none.
  virtual boost::system::result<StoredRoom> get(std::string_view service, std::string_view room) = 0;
  /// The rooms of `service` by ascending room; an empty `service` lists every room by
  /// (service, room). Affiliations included.
  virtual boost::system::result<std::vector<StoredRoom>> list(std::string_view service) = 0;
  /// Deletes the room with its affiliations; not_found if none.
  virtual boost::system::result<void> remove(std::string_view service, std::string_view room) = 0;
};

} // namespace parley::storage
