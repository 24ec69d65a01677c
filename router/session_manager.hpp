#pragma once

#include "core/jid/jid.hpp"
#include "core/xml/element.hpp"
#include "router/session.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::router {

/// What the router knows about one bound resource.
struct ResourceState {
  std::string resource;
  std::weak_ptr<Session> session;
  /// Sent initial presence and not yet unavailable (RFC 6121 §4.2).
  bool available = false;
  std::int8_t priority = 0;
  /// Requested the roster, so receives roster pushes (RFC 6121 §2.1.6).
  bool interested = false;
  /// Enabled message carbons (XEP-0280): gets copies of the account's chat messages.
  bool carbons = false;
  /// The last available presence broadcast by the resource (for probes).
  std::optional<core::xml::Element> presence;
  /// JIDs that got directed available presence from this resource (RFC 6121 §4.6): they get
  /// its unavailable presence too.
  std::vector<std::string> directed;
};

/// Bare JID → bound resources. Thread-safe: called from every session's strand.
/// Holds weak_ptrs; the sessions own themselves.
class SessionManager {
public:
  /// Binds `session` under its full JID. A session already bound to the same full JID is
  /// returned so the caller can close it with <conflict/> (RFC 6120 §7.7.2.2: we replace).
  std::shared_ptr<Session> bind(const std::shared_ptr<Session>& session);
  /// Puts `now` in the place of `old` (same full JID), keeping presence and interest:
  /// XEP-0198 resumption moves a session to a new connection.
  bool replace(const Session& old, const std::shared_ptr<Session>& now);
  /// Removes the entry if it still belongs to `session`. Returns the state it had.
  std::optional<ResourceState> unbind(const Session& session);

  /// A copy of every resource of `bare` (possibly empty).
  std::vector<ResourceState> resources(const core::jid::Jid& bare) const;
  /// The session for exactly this full JID.
  std::shared_ptr<Session> find(const core::jid::Jid& full) const;
  bool has_resources(const core::jid::Jid& bare) const;

  /// Updates presence state for the resource; returns false if it is not bound any more.
  bool set_presence(const Session& session, std::optional<core::xml::Element> available_presence,
                    std::int8_t priority);
  bool set_interested(const Session& session);
  /// XEP-0280 enable (true) or disable; false if the resource is not bound any more.
  bool set_carbons(const Session& session, bool enabled);
  /// Records (`add`) or forgets a directed-presence recipient of the resource.
  void note_directed(const Session& session, const std::string& jid, bool add);
  /// Forgets and returns every directed-presence recipient of the resource.
  std::vector<std::string> take_directed(const Session& session);

  /// Every session (for shutdown and the admin API).
  std::vector<std::shared_ptr<Session>> all() const;
  std::size_t count() const;

private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<ResourceState>> by_bare_;
  std::size_t count_ = 0;
};

} // namespace parley::router
