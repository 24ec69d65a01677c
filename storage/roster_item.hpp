#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// The subscription state of a roster item (RFC 6121 §2.1.2.5), from the user's point of view:
/// `to` = the user receives the contact's presence, `from` = the contact receives the user's.
enum class Subscription { none, to, from, both };

/// "none", "to", "from" or "both", the value of the `subscription` attribute.
std::string_view to_string(Subscription subscription) noexcept;
/// The inverse of to_string; nullopt for anything else (including "remove").
std::optional<Subscription> parse_subscription(std::string_view text) noexcept;

/// One contact in a user's roster (RFC 6121 §2.1), with the server-side subscription flags
/// of RFC 6121 §3 that the wire format does not show.
///
/// The store keeps what it is given: it does not check that `jid` is a valid bare JID, that
/// flags are consistent with `subscription`, or whether an item that only carries `pending_in`
/// should be shown to the client; those are the roster module's rules.
struct RosterItem {
  /// The contact's bare JID, prepared (the key of the item within one roster).
  std::string jid;
  /// The handle the user gave the contact; empty for none.
  std::string name;
  Subscription subscription = Subscription::none;
  /// The user asked to subscribe to the contact and the contact has not answered ("pending out",
  /// shown as ask='subscribe').
  bool ask_subscribe = false;
  /// The contact asked to subscribe to the user, who has not answered yet ("pending in").
  bool pending_in = false;
  /// The user pre-approved a subscription request from the contact (RFC 6121 §3.4).
  bool approved = false;
  /// Names of the groups the item is in. The store removes duplicates and returns them sorted
  /// in ascending byte order.
  std::vector<std::string> groups;

  friend bool operator==(const RosterItem&, const RosterItem&) = default;
};

} // namespace parley::storage
