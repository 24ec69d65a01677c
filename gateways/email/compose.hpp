#pragma once
// Composing the RFC 5322 mail that the gateway sends for a user's chat message: headers
// (RFC 2047 encoded-words for non-ASCII text), a text/plain body in 7bit or quoted-printable
// (RFC 2045), CRLF line ends. Pure functions without I/O; any thread.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::gateways::email {

/// What one outgoing mail says. Every field may hold anything (CR, LF, invalid UTF-8):
/// compose_mail() neutralises it rather than trusting the caller.
struct OutboundMail {
  std::string from_address;            ///< "alice@example.org"
  std::string from_name;               ///< display name, UTF-8, may be empty
  std::string to_address;              ///< "bob@example.org"
  std::string to_name;                 ///< may be empty
  std::string subject;                 ///< UTF-8 (already chosen, never empty: caller supplies a default)
  std::string message_id;              ///< without <>
  std::string in_reply_to;             ///< without <>; empty: no header
  std::vector<std::string> references; ///< without <>, oldest first; empty: no header
  std::string auto_submitted;          ///< "auto-generated", "auto-replied"; empty: no header
  std::string body;                    ///< UTF-8 text, LF or CRLF line ends
  std::chrono::system_clock::time_point date;
  std::vector<std::pair<std::string, std::string>> extra_headers; ///< name, ASCII value (e.g. X-Mailer)
};

/// The message as sent over SMTP DATA (before dot-stuffing, which the SMTP client does):
/// CRLF line ends, every line at most 998 octets (RFC 5322 §2.1.1), header fields folded at
/// 76 columns where a space allows it (76 rather than 78 so that lines holding encoded-words
/// also meet RFC 2047 §2), MIME-Version 1.0, text/plain; charset=utf-8, in 7bit when the body
/// is printable ASCII in lines of at most 78 octets, else quoted-printable.
///
/// Neutralising hostile fields: in header text (subject, names, extra header values) CR, LF
/// and TAB become spaces, other control characters are dropped, runs of whitespace collapse to
/// one space, and invalid UTF-8 becomes U+FFFD. Addresses and message ids lose control
/// characters, whitespace and angle brackets; message ids are cut at 900 octets. An extra header
/// whose name is not a valid field name, or is one this function writes itself (From, To,
/// Subject, Date, Message-ID, In-Reply-To, References, Auto-Submitted, MIME-Version,
/// Content-*), is left out. A non-ASCII address is kept as UTF-8 (RFC 6532); everything else in
/// the header section is ASCII.
std::string compose_mail(const OutboundMail& mail);

/// RFC 2045 §6.7 quoted-printable of text whose lines end in LF or CRLF. Each input line becomes
/// one or more output lines ending in CRLF (a missing final line end is added; an empty input
/// gives an empty output); output lines are at most 76 octets, soft breaks included. Encoded
/// besides what §6.7 requires ('=', non-printable and non-ASCII octets, a lone CR, trailing
/// space or tab): '.' and the 'F' of "From " at the start of an output line, so that neither
/// SMTP dot-stuffing nor mbox "From " quoting can alter the text.
std::string quoted_printable_encode(std::string_view utf8_text);

/// Header text (unstructured, RFC 5322 §3.2.5) cleaned as compose_mail() describes, with each
/// run of words that needs it (non-ASCII, "=?", over 900 octets) turned into RFC 2047
/// encoded-words: charset UTF-8, Q or B whichever is shorter, each at most 66 characters (of the
/// 75 allowed, so that one fits after "Subject: " in 76 columns), none splitting a UTF-8
/// sequence, separated by single spaces where the caller may fold. Text that
/// needs none comes back cleaned only.
std::string encode_header_text(std::string_view utf8);

/// RFC 5322 §3.3 date-time in UTC: "Tue, 09 Jan 2024 13:05:09 +0000".
std::string format_rfc5322_date(std::chrono::system_clock::time_point time);

/// A Message-ID ("LOCAL@domain", without <>) for the mail sent for one stanza. Deterministic,
/// so a retry composes the same Message-ID. LOCAL is a short readable prefix of `stanza_id`
/// (letters, digits, '-', '_', single inner dots; at most 24 octets) and 32 hex digits of
/// SHA-256 over `stanza_id` and `key`, so that any stanza id, however hostile, yields a valid
/// dot-atom and two keys never share an id. `domain` keeps letters, digits, '-' and inner dots
/// ("localhost" if nothing is left).
std::string message_id_for(std::string_view stanza_id, std::string_view key, std::string_view domain);

} // namespace parley::gateways::email
