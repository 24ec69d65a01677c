#pragma once

#include "core/jid/jid.hpp"
#include "core/xml/element.hpp"
#include "core/xml/errc.hpp"

#include <string>

namespace parley::router {

/// A bound client session as the router sees it. Implemented by c2s::ClientSession.
class Session {
public:
  virtual ~Session() = default;
  /// The full JID, fixed once bound.
  virtual const core::jid::Jid& jid() const noexcept = 0;
  /// Queues a stanza for this session's client. Safe from any thread; never blocks. A session
  /// whose write queue is past its byte limit ends its stream with <policy-violation/>.
  virtual void deliver(core::xml::Element stanza) = 0;
  /// Ends the stream with this stream error (e.g. conflict when replaced). Any thread.
  virtual void close(core::xml::stream_errc reason) = 0;
  /// XEP-0357: this session's client enabled (or disabled) the push registration `key`; with
  /// `prefix`, every key starting with it goes. A session that waits to be resumed wakes only
  /// its own device's registrations. Any thread.
  virtual void push_registration(std::string key, bool enabled, bool prefix) {
    (void)key, (void)enabled, (void)prefix;
  }
};

} // namespace parley::router
