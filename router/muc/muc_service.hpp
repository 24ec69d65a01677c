#pragma once
// The multi-user chat service of one domain (XEP-0045), such as conference.example.com: it
// routes stanzas to its rooms, answers service discovery, creates rooms on first entry, and
// keeps persistent rooms in storage.

#include "config/config.hpp"
#include "router/domain_handler.hpp"
#include "router/muc/room.hpp"
#include "storage/room_store.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace parley::router {
class Router;
}

namespace parley::router::muc {

/// XEP-0172 User Nickname: a gateway of this server that sends a groupchat message to a room
/// (an inbound webhook) names the nick to post under with <nick xmlns=THIS>NICK</nick>.
inline constexpr std::string_view nick_ns = "http://jabber.org/protocol/nick";

/// The domains of the chat services `config` asks for: [muc] domain, or "conference." + each
/// host that is a name (not an IP literal); none when [muc] enabled = false.
std::vector<std::string> service_domains(const config::Config& config);

/// One chat service, registered with the router as the handler of its domain.
///
/// Threading: all room state lives on one strand of the io_context; on_stanza and the admin
/// calls hop onto it and back. Storage calls go to the router's worker pool. Stanzas to
/// users go out through Router::route.
///
/// Durability: a change of a persistent room's configuration, affiliations or subject is
/// written behind, one write at a time per room, always the room's latest state. The iq that
/// made the change is answered only once that state is stored (or with a `wait` error when
/// it could not be; the write is retried).
class MucService final : public DomainHandler {
public:
  /// `io` and `router` outlive the service.
  MucService(boost::asio::io_context& io, Router& router, std::string domain, const config::MucConfig& config);
  ~MucService() override;
  MucService(const MucService&) = delete;
  MucService& operator=(const MucService&) = delete;

  /// Reads this domain's persistent rooms from storage; returns how many. Blocks on storage:
  /// call once at start-up, before the io_context runs and before any stanza arrives.
  boost::system::result<std::size_t> load();

  boost::asio::awaitable<Disposition> on_stanza(core::xml::Element stanza) override;
  bool takes_presence() const noexcept override { return true; }
  /// Gateways of this server post into rooms (see is_gateway_post in the implementation).
  bool takes_from_server() const noexcept override { return true; }

  /// The service shuts down: every occupant gets unavailable presence with status 332
  /// (XEP-0045 §14.2), handed to its session at once, and later stanzas are dropped. Any
  /// thread; call before the client sessions close so that the presences go out first.
  /// Idempotent.
  void stop();

  const std::string& domain() const noexcept;

  // ---- for the admin API. Each runs on the service's strand; co_await from any executor.
  // Errors are storage_errc: not_found (no such room), conflict, invalid_argument,
  // quota_exceeded ([muc] max_rooms), unavailable (the change could not be stored).

  /// Every room, by name.
  boost::asio::awaitable<std::vector<RoomSummary>> list_rooms();
  /// Creates the room `room` (a localpart), owned by `owner` (a bare JID), with `config`,
  /// ready to enter (not locked). conflict if it exists.
  boost::asio::awaitable<boost::system::result<void>> create_room(std::string room, std::string owner,
                                                                  storage::RoomConfig config);
  /// Destroys the room as its owner would (XEP-0045 §10.9), telling its occupants.
  boost::asio::awaitable<boost::system::result<void>> destroy_room(std::string room, std::string reason,
                                                                   std::string alternate);
  /// Sets the affiliation of `jid` (a bare JID or a domain) in the room; occupants concerned
  /// are updated or removed (a ban, say). conflict if it would leave the room without owner.
  boost::asio::awaitable<boost::system::result<void>>
  set_affiliation(std::string room, std::string jid, storage::Affiliation affiliation, std::string reason);

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace parley::router::muc
