#pragma once
// Reading inbound mail for the email gateway: the headers a chat message needs, the body as
// plain UTF-8 text without the quoted part of a reply, the attachments' names and sizes, and the
// per-recipient blocks of a delivery status notification (RFC 3464). MIME is parsed by GMime 3;
// everything here is a pure function of its input and safe from any thread.

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::gateways::email {

struct MailAddress {
  std::string address; ///< addr-spec "bob@example.org", domain lowercased; empty if none/unparsable
  std::string name;    ///< display name, RFC 2047 decoded to UTF-8; may be empty
};

struct Attachment {
  std::string filename;     ///< decoded (RFC 2231/2047) to UTF-8; "" if none
  std::string content_type; ///< "application/pdf"
  std::size_t size = 0;     ///< decoded size in bytes
};

/// One recipient's block of an RFC 3464 delivery status notification.
struct DeliveryStatus {
  std::string recipient;  ///< Final-Recipient (or Original-Recipient) address without the "rfc822;" type
  std::string action;     ///< lowercased: "failed", "delayed", "delivered", "relayed", "expanded"
  std::string status;     ///< "5.1.1"
  std::string diagnostic; ///< Diagnostic-Code without its type ("smtp; "), unfolded; may be empty
};

struct ParsedMail {
  MailAddress from;                    ///< first mailbox of From
  MailAddress reply_to;                ///< first mailbox of Reply-To, if any
  std::string subject;                 ///< decoded UTF-8, unfolded, trimmed
  std::string message_id;              ///< without <>; empty if absent
  std::string in_reply_to;             ///< first msg-id of In-Reply-To, without <>
  std::vector<std::string> references; ///< msg-ids of References in order, without <>
  std::string auto_submitted; ///< Auto-Submitted value lowercased, without parameters ("auto-replied"); "" if absent
  std::string precedence;     ///< Precedence lowercased ("bulk"); "" if absent
  bool list = false;          ///< has List-Id or List-Unsubscribe
  std::size_t received_count = 0; ///< number of Received: header fields
  std::string text;               ///< body for chat: see parse_mail
  bool from_html = false;         ///< text came from converting text/html
  bool truncated = false;         ///< text was cut at max_text_bytes
  std::vector<Attachment> attachments;
  /// A delivery status notification (multipart/report; report-type=delivery-status):
  bool is_dsn = false;
  std::vector<DeliveryStatus> dsn;     ///< per-recipient blocks
  std::string dsn_original_message_id; ///< Message-ID of the returned message (message/rfc822 or text/rfc822-headers
                                       ///< part), without <>
};

struct ParseLimits {
  std::size_t max_text_bytes = 64 * 1024; ///< text is cut (at a UTF-8 boundary) beyond this
  std::size_t max_parts = 200;            ///< MIME parts walked at most (deeper/more are ignored)
  std::size_t max_depth = 20;             ///< multipart nesting walked at most
};

/// Parses one RFC 5322 message (as received over SMTP/LMTP DATA, CRLF or LF line ends, 8-bit
/// allowed). Never throws and never crashes on hostile input; returns an error text only when
/// nothing usable is there (not a message at all). Thread-safe (GMime initialised once).
///
/// `text` is the first text/plain part that is not an attachment (walking multipart/alternative,
/// mixed, related, signed), else the first text/html part through html_to_text (`from_html`);
/// converted to UTF-8 from its charset (invalid bytes become U+FFFD; 8-bit text without a
/// charset, or declaring US-ASCII, is read as windows-1252), transfer-decoded, format=flowed joined (RFC 3676 §4.2),
/// passed through trim_quoted_reply, with LF line ends, no control characters but TAB and LF, no trailing whitespace,
/// and cut to `max_text_bytes`. Raw 8-bit header text is read as UTF-8, else windows-1252, else ISO-8859-1. For a DSN,
/// `text` is the human-readable first part and nothing of the returned message becomes text or attachment. Runs on the
/// caller's thread and may take a while for a large message: call it from a worker, not from an I/O strand.
boost::system::result<ParsedMail, std::string> parse_mail(std::string_view raw, const ParseLimits& limits = {});

/// Converts HTML to readable plain text: block elements (p, div, br, li, tr, h1-h6, blockquote) become line breaks,
/// list items get "- ", <a href=U>T</a> becomes "T (U)" when U differs from T, script/style/head dropped, entities
/// decoded (named common ones + numeric), whitespace collapsed, at most one blank line in a row, trimmed. Never throws.
/// The result is valid UTF-8 if the input is (invalid input bytes pass through unchanged).
std::string html_to_text(std::string_view html);

/// Trims the quoted part of a reply: a trailing block of lines starting with '>' together with the attribution line
/// just before it ("On <date>, <name> wrote:", also "Am ... schrieb ...:" is nice-to-have), trailing "-- " signature
/// (RFC 3676 sig separator line "-- " and everything after), and trailing blank lines. Quoted lines interleaved with
/// new text (inline replies) are kept. If trimming would leave nothing, returns the text untrimmed. Never throws. Lines
/// may end in LF or CRLF; the kept part is returned as it was.
/// Beyond that: "--" without its space and Outlook's "-----Original Message-----" (or a line of underscores followed by
/// "From:") cut like "-- "; the attribution may be wrapped over two lines, and must start like "On "/"Am "/"Le " or
/// contain an address, so that "Here is what he wrote:" stays. Only the first separator counts.
std::string trim_quoted_reply(std::string_view text);

/// `text` with every invalid UTF-8 sequence (stray or missing continuation bytes, overlong
/// forms, surrogates, beyond U+10FFFF) replaced by U+FFFD; valid input comes back unchanged.
std::string sanitize_utf8(std::string_view text);

/// Joins the soft line breaks of a format=flowed body (RFC 3676 §4.2): a line ending in a
/// space continues on the next line of the same quote depth; space-stuffing is removed, and with
/// `delete_space` (DelSp=yes) the space before a soft break is too. Input with LF line ends.
std::string unflow_text(std::string_view text, bool delete_space);

} // namespace parley::gateways::email
