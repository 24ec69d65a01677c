#pragma once
// The server side of SMTP (RFC 5321) and LMTP (RFC 2033) without I/O: command lines to
// commands, replies to wire text, and the DATA section to the message it carries. Pure
// functions and values; any thread. Everything here takes untrusted input and never throws
// on it (only allocation failure can throw).

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::gateways::email {

/// The longest command line taken, CRLF excluded. RFC 5321 §4.5.3.1.4 says 512 octets with
/// the CRLF, and lets extensions add to it (SIZE=, BODY=, SMTPUTF8 on MAIL): we take 512
/// without, which costs nothing and spares a client that counts differently.
inline constexpr std::size_t max_command_line = 512;

/// One SMTP/LMTP reply. to_wire() gives "250 2.1.0 Ok\r\n": the enhanced status code (RFC
/// 3463) after the code when not empty, on every line; a reply with more_lines is multi-line,
/// "250-..." for each line but the last. CR, LF and other control characters in the text are
/// sent as spaces, so that no reply can inject another.
struct SmtpReply {
  int code = 250;
  std::string enhanced;
  std::string text;
  std::vector<std::string> more_lines;

  std::string to_wire() const;
  bool positive() const noexcept { return code >= 200 && code < 300; }
  bool operator==(const SmtpReply&) const = default;
};

/// Lets `result<T, SmtpReply>::value()` throw (found by argument-dependent lookup).
[[noreturn]] void throw_exception_from_error(const SmtpReply& reply, const boost::source_location& location);

enum class SmtpVerb { helo, ehlo, lhlo, mail, rcpt, data, rset, noop, quit, vrfy, help, starttls, bdat, auth, unknown };

/// One command line, parsed. `argument` is the raw rest of the line after the verb and one
/// space (for an unknown verb: the whole line). For MAIL and RCPT, `address` is the path
/// without "<>" and without a source route, the domain lowercased (ASCII only), a quoted local
/// part unquoted when it is a plain dot-string (RFC 5321 §4.1.2); "" is the null reverse-path
/// <> (MAIL only). `params` are the ESMTP parameters with upper-cased keywords, in order:
/// MAIL takes SIZE (digits), BODY (7BIT or 8BITMIME) and SMTPUTF8 (no value); RCPT takes none.
struct SmtpCommand {
  SmtpVerb verb = SmtpVerb::unknown;
  std::string argument;
  std::string address;
  std::vector<std::pair<std::string, std::string>> params;

  /// The value of a parameter (keyword upper case), or nullptr.
  const std::string* param(std::string_view keyword) const noexcept;
};

/// Parses one command line (without its CRLF). Errors come back as the reply to send:
/// 500 5.5.6 line too long, 500 5.5.2 syntax error (empty line, NUL, CR), 501 5.5.4 bad or
/// missing arguments, 501 5.1.3 bad address syntax, 555 5.5.4 unknown parameter. Lenient
/// where clients are sloppy: verbs in any case, "MAIL FROM: <a@b>" (a space after the colon)
/// and "MAIL FROM:a@b" (no brackets). An unrecognised verb is no error here: it comes back
/// as SmtpVerb::unknown, for the session to answer as its dialect wants.
boost::system::result<SmtpCommand, SmtpReply> parse_command(std::string_view line);

/// Reads the DATA section (RFC 5321 §4.5.2) incrementally: feed it the bytes that follow the
/// DATA command as they come. It removes the dot-stuffing, finds the end (CRLF.CRLF, and
/// LF.LF from clients that send bare LF), keeps CR and LF as received, and counts the octets
/// of the message. Beyond `max_bytes` it keeps reading to the end but drops the content
/// (memory stays bounded) and reports too_large(). The message starts at the beginning of a
/// line, so ".\r\n" straight away is an empty message. Not thread-safe; one per DATA.
class DataReader {
public:
  explicit DataReader(std::size_t max_bytes);

  /// Consumes bytes; returns how many it took: all of them, or up to and including the
  /// terminator, so that what a client pipelined after it stays with the caller. After
  /// done() it takes nothing.
  std::size_t feed(std::string_view bytes);
  /// The terminating line has been read.
  bool done() const noexcept { return state_ == State::done; }
  /// More than max_bytes of content arrived (the content is then dropped).
  bool too_large() const noexcept { return too_large_; }
  /// Octets of content seen so far (after unstuffing), also those dropped.
  std::size_t size() const noexcept { return size_; }
  /// The message read so far ("" when too large); leaves the reader empty.
  std::string take();

private:
  /// Where in the line the next byte falls. `dot`: a '.' began the line (held back: it is
  /// stuffing or the terminator); `dot_cr`: ".\r" began it.
  enum class State { line_start, mid_line, after_cr, dot, dot_cr, done };
  void emit(char c);
  void emit(std::string_view run);

  std::size_t max_bytes_;
  std::size_t size_ = 0;
  bool too_large_ = false;
  State state_ = State::line_start;
  std::string content_;
};

} // namespace parley::gateways::email
