#pragma once
// Mail submission to the smarthost (RFC 5321 / RFC 6409) over libcurl's SMTP, one blocking
// transaction per call. Meant for a worker thread: smtp_send() blocks for up to a few times
// `timeout_seconds` and must never run on an io_context thread.

#include <string>
#include <string_view>

namespace parley::gateways::email {

/// Where and how to submit. Copied into the worker's closure; no shared state.
struct SmtpClientSettings {
  std::string url; ///< "smtp://host:587" or "smtps://host:465"
  /// STARTTLS for smtp:// (CURLOPT_USE_SSL none/try/all); smtps:// is TLS from the start.
  enum class Tls { none, opportunistic, required } tls = Tls::opportunistic;
  std::string username; ///< empty: no AUTH
  std::string password;
  std::string ca_file;     ///< empty: system CAs
  bool verify_peer = true; ///< false only for tests/intranets (self-signed)
  std::string helo_name;   ///< the EHLO name (curl: the URL path, smtp://host:port/NAME); empty: curl's default
  /// Bounds the connection (TCP, TLS, greeting, EHLO) and each wait for a reply; the whole
  /// transaction is bounded by three times this.
  long timeout_seconds = 30;
};

/// How one submission ended.
struct SmtpSendResult {
  enum class Outcome { sent, transient, permanent } outcome = Outcome::sent;
  int code = 0;      ///< the last SMTP reply code seen (0: none, e.g. connection refused)
  std::string reply; ///< that reply's text ("550 5.1.1 <x@y>: Recipient address rejected"), or curl's error
};

/// Sends `data` (a composed message with CRLF line ends; libcurl does the dot-stuffing) from
/// `mail_from` (envelope sender; "" = the null sender <>) to one recipient, then QUITs.
///
/// Outcome (RFC 5321 §4.2.1): sent when the server accepted the data. Otherwise decided by the
/// server's last reply (a 221 to QUIT does not count) when it is 4xx or 5xx: 5xx permanent
/// (an AUTH refused with 535 included), 4xx transient. Without such a reply (connection
/// refused, TLS failure, timeout, no STARTTLS though required, misconfiguration) transient,
/// with curl's error in `reply`. An envelope address holding control characters, spaces or
/// angle brackets is refused as permanent before any connection is made.
///
/// Blocking; any thread; thread-safe (each call has its own curl handle). Never throws.
/// Caveat: a timeout after the final "." may leave the mail delivered although the result is
/// transient, so a retry can duplicate it (RFC 5321 §4.5.3.2.6 asks clients to wait 10 minutes
/// there); the deterministic Message-ID lets recipients' software spot the duplicate.
SmtpSendResult smtp_send(const SmtpClientSettings& settings, std::string_view mail_from, std::string_view recipient,
                         std::string_view data);

} // namespace parley::gateways::email
