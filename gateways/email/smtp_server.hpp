#pragma once
// The email gateway's inbound mail listener: an SMTP (RFC 5321) or LMTP (RFC 2033) server
// that takes mail from the MTA in front and hands each message to a MailHandler. No TLS and
// no AUTH: it is meant for loopback or a trusted network next to the MTA.

#include "gateways/email/smtp_protocol.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace parley::gateways::email {

namespace detail {
struct MailListenerState;
} // namespace detail

enum class MailDialect { smtp, lmtp };

/// The envelope of one mail transaction.
struct MailEnvelope {
  std::string helo;      ///< what the client said in HELO/EHLO/LHLO
  std::string mail_from; ///< the reverse-path; "" = null sender (a bounce)
  std::vector<std::string> recipients; ///< the accepted ones, in order (duplicates kept)
  std::string remote;    ///< the client: "127.0.0.1:5353", "[::1]:5353"
};

/// What the listener calls. Both run on the connection's strand, inside its coroutine, and
/// may co_await anything (storage on the worker pool); they must not block the thread. The
/// connection waits for them without an idle timeout, so they should finish in bounded time.
/// An exception thrown from either is caught and logged: the client gets 451 4.3.0 for that
/// recipient (or each recipient of the message) and tries again later. After a 421 reply
/// (shutting down) the listener closes the connection, as RFC 5321 §3.8 has it.
class MailHandler {
public:
  virtual ~MailHandler() = default;
  /// RCPT TO (address as parsed, domain lowercased): a 2xx reply accepts the recipient;
  /// 550 5.1.1 unknown user, 452 4.3.0 storage down, ...
  virtual boost::asio::awaitable<SmtpReply> check_recipient(std::string address) = 0;
  /// After DATA, the whole message (dot-unstuffed, as received, normally CRLF line ends):
  /// exactly one reply per envelope recipient, in order. Only a 2xx reply tells the client
  /// that the message is durably stored for that recipient; the client sends it again on
  /// 4xx, and bounces it on 5xx. A missing reply becomes 451 4.3.0.
  virtual boost::asio::awaitable<std::vector<SmtpReply>> deliver(MailEnvelope envelope, std::string data) = 0;
};

struct MailListenerOptions {
  MailDialect dialect = MailDialect::lmtp;
  std::string address = "127.0.0.1";
  std::uint16_t port = 0; ///< 0: an ephemeral port (see MailListener::port())
  std::string hostname = "localhost"; ///< in the greeting and the EHLO/LHLO reply
  std::size_t max_message_bytes = 10 * 1024 * 1024; ///< advertised as SIZE; 552 5.3.4 beyond
  std::size_t max_recipients = 100; ///< per transaction, LMTP (SMTP takes one, see below)
  std::chrono::seconds idle_timeout{300}; ///< RFC 5321 §4.5.3.2.7: 5 minutes for the server
  std::size_t max_connections = 1000; ///< beyond: 421 4.3.2 and close
};

/// Accepts connections and speaks SMTP or LMTP with each, on its own strand, pipelining
/// (RFC 2920) included. Advertises PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, SIZE and
/// SMTPUTF8; STARTTLS, AUTH and BDAT are answered 502.
///
/// In the SMTP dialect a transaction takes one recipient only (RFC 5321 §4.5.3.1.10 lets the
/// server say 452 to the others, and the client sends them in another transaction): SMTP has
/// one reply after DATA, and with one recipient that reply is true for all of them. LMTP
/// answers each recipient on its own.
///
/// Holds the handler until the last connection is gone. Destroying the listener stops it.
class MailListener : public std::enable_shared_from_this<MailListener> {
public:
  /// `io` must outlive the listener and every connection (until `io` has run out of work).
  static std::shared_ptr<MailListener> create(boost::asio::io_context& io, MailListenerOptions options,
                                              std::shared_ptr<MailHandler> handler);
  ~MailListener();
  MailListener(const MailListener&) = delete;
  MailListener& operator=(const MailListener&) = delete;

  /// Binds and starts accepting. The error names the address and the reason.
  boost::system::result<void, std::string> listen();
  /// Stops accepting and closes the connections: a client waiting to send gets 421 4.3.2; a
  /// message being delivered gets its replies first. Cancels every socket and timer, so that
  /// `io` runs out of work. Safe from any thread; idempotent.
  void stop();
  /// The port listened on (the ephemeral one when options.port was 0); 0 before listen().
  std::uint16_t port() const;

  /// The number of open connections. Safe from any thread.
  std::size_t connections() const;

private:
  MailListener(boost::asio::io_context& io, MailListenerOptions options, std::shared_ptr<MailHandler> handler);

  // Shared with the connections, which may outlive the listener by a little while closing.
  std::shared_ptr<detail::MailListenerState> state_;
};

} // namespace parley::gateways::email
