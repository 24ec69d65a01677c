#pragma once
// A domain the router hands to something other than its local users: the gateways (SMS,
// email, webhooks), the multi-user chat service, later components. The router knows only this interface; what the domain
// does with a stanza is the handler's business.

#include "core/xml/element.hpp"

#include <boost/asio/awaitable.hpp>

namespace parley::router {

enum class Disposition;

class DomainHandler {
public:
  virtual ~DomainHandler() = default;

  /// A message or iq from a local user to this domain or a JID in it, with `from` stamped
  /// (the user's full JID). Runs on the sender's strand; must not block. Answers (errors,
  /// results, replies) go back through Router::route.
  ///
  /// handled: done with (answered, or committed to durable storage such as the outbox);
  /// not_stored: it had to be stored and storage is unavailable, a `wait` error was sent.
  virtual boost::asio::awaitable<Disposition> on_stanza(core::xml::Element stanza) = 0;

  /// Whether presence addressed to the domain goes to on_stanza too (a chat service: joining
  /// and leaving rooms is done with presence). Directed presence is then remembered as usual
  /// (RFC 6121 §4.6.3), so the handler also gets the unavailable presence of a user who goes
  /// offline. Otherwise (gateways) the router answers for the domain's JIDs itself: they
  /// approve subscriptions and show as available. Subscription requests and probes never
  /// reach on_stanza.
  virtual bool takes_presence() const noexcept { return false; }
  /// Takes stanzas that the server or a gateway of it originates (Router::route), such as an
  /// inbound webhook posting into a chat room. Otherwise those are dropped: nothing routes
  /// from one gateway into another.
  virtual bool takes_from_server() const noexcept { return false; }
};

} // namespace parley::router
