#include "gateways/email/smtp_protocol.hpp"

#include <array>
#include <stdexcept>
#include <utility>

namespace parley::gateways::email {

namespace {

SmtpReply make_reply(int code, std::string_view enhanced, std::string text) {
  return SmtpReply{code, std::string(enhanced), std::move(text), {}};
}

SmtpReply syntax_error() { return make_reply(500, "5.5.2", "Syntax error"); }
SmtpReply bad_address() { return make_reply(501, "5.1.3", "Bad address syntax"); }

char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool is_alnum(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
// RFC 6531: with SMTPUTF8, addresses may carry UTF-8; any octet above 0x7f is taken as such.
bool is_utf8_octet(char c) noexcept { return static_cast<unsigned char>(c) >= 0x80; }

// RFC 5322 atext.
bool is_atext(char c) noexcept {
  if (is_alnum(c) || is_utf8_octet(c)) {
    return true;
  }
  constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
  return specials.find(c) != std::string_view::npos;
}

std::string_view trim_spaces(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view skip_spaces(std::string_view s) noexcept {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  return s;
}

// A dot-string in the strict sense: atoms joined by single dots.
bool is_strict_dot_string(std::string_view s) noexcept {
  if (s.empty() || s.front() == '.' || s.back() == '.') {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') {
        return false;
      }
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

// Domain or address literal, lowercased; false if it is neither. Lenient: '_' in labels
// (seen in the wild), hyphens anywhere.
bool parse_domain(std::string_view domain, std::string& out) {
  if (domain.empty() || domain.size() > 255) {
    return false;
  }
  if (domain.front() == '[') {
    // RFC 5321 §4.1.3 address literal: checked for its shape only, not as an IP address.
    if (domain.size() < 3 || domain.back() != ']') {
      return false;
    }
    for (const char c : domain.substr(1, domain.size() - 2)) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 33 || u > 126 || c == '[' || c == ']' || c == '\\') {
        return false;
      }
    }
  } else {
    std::size_t label = 0;
    for (const char c : domain) {
      if (c == '.') {
        if (label == 0) {
          return false;
        }
        label = 0;
      } else if (is_alnum(c) || c == '-' || c == '_' || is_utf8_octet(c)) {
        ++label;
      } else {
        return false;
      }
    }
    if (label == 0) {
      return false; // empty last label, or a trailing dot
    }
  }
  for (const char c : domain) {
    out += ascii_lower(c);
  }
  return true;
}

// Mailbox = Local-part "@" Domain (RFC 5321 §4.1.2), or RCPT's bare "Postmaster".
boost::system::result<std::string, SmtpReply> parse_mailbox(std::string_view mailbox) {
  std::string address;
  std::string_view rest;
  if (!mailbox.empty() && mailbox.front() == '"') {
    std::string content;
    std::size_t i = 1;
    bool closed = false;
    for (; i < mailbox.size(); ++i) {
      const char c = mailbox[i];
      const auto u = static_cast<unsigned char>(c);
      if (c == '\\') {
        // quoted-pairSMTP: backslash and one printable ASCII character
        if (i + 1 >= mailbox.size()) {
          return bad_address();
        }
        const auto next = static_cast<unsigned char>(mailbox[i + 1]);
        if (next < 32 || next > 126) {
          return bad_address();
        }
        content += mailbox[++i];
      } else if (c == '"') {
        closed = true;
        ++i;
        break;
      } else if ((u >= 32 && u <= 126) || is_utf8_octet(c)) {
        content += c;
      } else {
        return bad_address();
      }
    }
    if (!closed || i >= mailbox.size() || mailbox[i] != '@') {
      return bad_address();
    }
    // RFC 5321 §4.1.2: a quoted local part that could be a dot-string is the dot-string.
    if (is_strict_dot_string(content)) {
      address = std::move(content);
    } else {
      address += '"';
      for (const char c : content) {
        if (c == '"' || c == '\\') {
          address += '\\';
        }
        address += c;
      }
      address += '"';
    }
    rest = mailbox.substr(i + 1);
  } else {
    const auto at = mailbox.find('@');
    if (at == std::string_view::npos) {
      // RFC 5321 §4.1.1.3: "RCPT TO:<Postmaster>" without a domain must be accepted.
      if (iequals(mailbox, "postmaster")) {
        return std::string("postmaster");
      }
      return bad_address();
    }
    const auto local = mailbox.substr(0, at);
    if (local.empty()) {
      return bad_address();
    }
    // Lenient on dot placement ("first..last@"): the MTA in front has taken it already.
    for (const char c : local) {
      if (!is_atext(c) && c != '.') {
        return bad_address();
      }
    }
    address.assign(local);
    rest = mailbox.substr(at + 1);
  }
  address += '@';
  if (!parse_domain(rest, address)) {
    return bad_address();
  }
  return address;
}

// A source route "@a,@b" (RFC 5321 §4.1.2, obsolete): checked, then dropped (§C).
bool valid_route(std::string_view route) {
  std::string ignored;
  while (!route.empty()) {
    const auto comma = route.find(',');
    const auto hop = route.substr(0, comma);
    if (hop.size() < 2 || hop.front() != '@' || !parse_domain(hop.substr(1), ignored)) {
      return false;
    }
    if (comma == std::string_view::npos) {
      return true;
    }
    route.remove_prefix(comma + 1);
    if (route.empty()) {
      return false;
    }
  }
  return false;
}

struct ParsedPath {
  std::string address;
  std::string_view rest;
};

// "<path> params" or, leniently, "path params".
boost::system::result<ParsedPath, SmtpReply> parse_path(std::string_view s, bool allow_null) {
  const bool bracketed = !s.empty() && s.front() == '<';
  const char end_char = bracketed ? '>' : ' ';
  std::size_t i = bracketed ? 1 : 0;
  bool in_quotes = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (in_quotes) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == end_char) {
      break;
    }
  }
  if (in_quotes || i > s.size() || (bracketed && i == s.size())) {
    return bad_address();
  }
  std::string_view inner = s.substr(bracketed ? 1 : 0, i - (bracketed ? 1 : 0));
  std::string_view rest = bracketed ? s.substr(i + 1) : s.substr(i);
  if (!rest.empty() && rest.front() != ' ') {
    return bad_address(); // "<a@b>junk"
  }
  if (inner.empty()) {
    if (!bracketed || !allow_null) {
      return bad_address();
    }
    return ParsedPath{std::string(), rest};
  }
  if (inner.front() == '@') {
    const auto colon = inner.find(':');
    if (colon == std::string_view::npos || !valid_route(inner.substr(0, colon))) {
      return bad_address();
    }
    inner.remove_prefix(colon + 1);
  }
  auto mailbox = parse_mailbox(inner);
  if (!mailbox) {
    return mailbox.error();
  }
  return ParsedPath{std::move(*mailbox), rest};
}

boost::system::result<void, SmtpReply> parse_params(std::string_view s, SmtpVerb verb, SmtpCommand& command) {
  for (s = skip_spaces(s); !s.empty(); s = skip_spaces(s)) {
    const auto token = s.substr(0, s.find(' '));
    s.remove_prefix(token.size());
    const auto eq = token.find('=');
    const auto keyword = token.substr(0, eq);
    if (keyword.empty() || !is_alnum(keyword.front())) {
      return make_reply(501, "5.5.4", "Bad parameter syntax");
    }
    std::string key;
    for (const char c : keyword) {
      if (!is_alnum(c) && c != '-') {
        return make_reply(501, "5.5.4", "Bad parameter syntax");
      }
      key += ascii_upper(c);
    }
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = token.substr(eq + 1);
      if (value.empty()) {
        return make_reply(501, "5.5.4", "Bad parameter syntax");
      }
      for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 33 || u > 126 || c == '=') && !is_utf8_octet(c)) {
          return make_reply(501, "5.5.4", "Bad parameter syntax");
        }
      }
    }
    if (command.param(key) != nullptr) {
      return make_reply(501, "5.5.4", "Duplicate parameter " + key);
    }
    // Only what EHLO/LHLO advertises: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531).
    if (verb == SmtpVerb::mail && key == "SIZE") {
      if (value.empty() || value.size() > 20) {
        return make_reply(501, "5.5.4", "Bad SIZE value");
      }
      for (const char c : value) {
        if (!is_digit(c)) {
          return make_reply(501, "5.5.4", "Bad SIZE value");
        }
      }
    } else if (verb == SmtpVerb::mail && key == "BODY") {
      if (!iequals(value, "7BIT") && !iequals(value, "8BITMIME")) {
        return make_reply(501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
      }
    } else if (verb == SmtpVerb::mail && key == "SMTPUTF8") {
      if (eq != std::string_view::npos) {
        return make_reply(501, "5.5.4", "SMTPUTF8 takes no value");
      }
    } else {
      return make_reply(555, "5.5.4", "Unsupported parameter " + key);
    }
    command.params.emplace_back(std::move(key), std::string(value));
  }
  return {};
}

struct VerbName {
  std::string_view name;
  SmtpVerb verb;
};

constexpr std::array<VerbName, 14> verb_names{{
    {"HELO", SmtpVerb::helo},
    {"EHLO", SmtpVerb::ehlo},
    {"LHLO", SmtpVerb::lhlo},
    {"MAIL", SmtpVerb::mail},
    {"RCPT", SmtpVerb::rcpt},
    {"DATA", SmtpVerb::data},
    {"RSET", SmtpVerb::rset},
    {"NOOP", SmtpVerb::noop},
    {"QUIT", SmtpVerb::quit},
    {"VRFY", SmtpVerb::vrfy},
    {"HELP", SmtpVerb::help},
    {"STARTTLS", SmtpVerb::starttls},
    {"BDAT", SmtpVerb::bdat},
    {"AUTH", SmtpVerb::auth},
}};

void append_sanitized(std::string& out, std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
}

} // namespace

std::string SmtpReply::to_wire() const {
  std::string out;
  const int shown = (code < 0 ? -code : code) % 1000;
  const std::array<char, 3> digits{static_cast<char>('0' + shown / 100), static_cast<char>('0' + shown / 10 % 10),
                                   static_cast<char>('0' + shown % 10)};
  auto line = [&](std::string_view content, bool last) {
    out.append(digits.data(), digits.size());
    if (!last || !enhanced.empty() || !content.empty()) {
      out += last ? ' ' : '-';
    }
    append_sanitized(out, enhanced);
    if (!enhanced.empty() && !content.empty()) {
      out += ' ';
    }
    append_sanitized(out, content);
    out += "\r\n";
  };
  line(text, more_lines.empty());
  for (std::size_t i = 0; i < more_lines.size(); ++i) {
    line(more_lines[i], i + 1 == more_lines.size());
  }
  return out;
}

void throw_exception_from_error(const SmtpReply& reply, const boost::source_location&) {
  auto wire = reply.to_wire();
  wire.resize(wire.size() - 2);
  throw std::runtime_error("SMTP error reply: " + wire);
}

const std::string* SmtpCommand::param(std::string_view keyword) const noexcept {
  for (const auto& [key, value] : params) {
    if (key == keyword) {
      return &value;
    }
  }
  return nullptr;
}

boost::system::result<SmtpCommand, SmtpReply> parse_command(std::string_view line) {
  if (line.size() > max_command_line) {
    return make_reply(500, "5.5.6", "Line too long");
  }
  if (line.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos) {
    return syntax_error();
  }
  line = trim_spaces(line);
  if (line.empty()) {
    return syntax_error();
  }
  const auto verb_text = line.substr(0, line.find(' '));
  const auto rest = skip_spaces(line.substr(verb_text.size()));

  SmtpCommand command;
  for (const auto& [name, verb] : verb_names) {
    if (iequals(verb_text, name)) {
      command.verb = verb;
      break;
    }
  }
  if (command.verb == SmtpVerb::unknown) {
    command.argument.assign(line);
    return command;
  }
  command.argument.assign(rest);

  switch (command.verb) {
  case SmtpVerb::helo:
  case SmtpVerb::ehlo:
  case SmtpVerb::lhlo:
    if (rest.empty()) {
      return make_reply(501, "5.5.4", "Syntax: " + std::string(verb_text) + " hostname");
    }
    break;
  case SmtpVerb::data:
  case SmtpVerb::rset:
  case SmtpVerb::quit:
  case SmtpVerb::starttls:
    if (!rest.empty()) {
      return make_reply(501, "5.5.4", "Syntax: no arguments allowed");
    }
    break;
  case SmtpVerb::vrfy:
    if (rest.empty()) {
      return make_reply(501, "5.5.4", "Syntax: VRFY address");
    }
    break;
  case SmtpVerb::mail:
  case SmtpVerb::rcpt: {
    const bool mail = command.verb == SmtpVerb::mail;
    const std::string_view prefix = mail ? "FROM:" : "TO:";
    if (!istarts_with(rest, prefix)) {
      return make_reply(501, "5.5.4", mail ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
    }
    const auto path_text = skip_spaces(rest.substr(prefix.size()));
    if (path_text.empty()) {
      return make_reply(501, "5.5.4", mail ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
    }
    auto path = parse_path(path_text, mail);
    if (!path) {
      return path.error();
    }
    command.address = std::move(path->address);
    if (auto params = parse_params(path->rest, command.verb, command); !params) {
      return params.error();
    }
    break;
  }
  default:
    break;
  }
  return command;
}

DataReader::DataReader(std::size_t max_bytes) : max_bytes_(max_bytes) {}

void DataReader::emit(std::string_view run) {
  size_ += run.size();
  if (too_large_) {
    return;
  }
  if (size_ > max_bytes_) {
    too_large_ = true;
    std::string().swap(content_); // give the memory back now, not at the end of the DATA
    return;
  }
  content_.append(run);
}

void DataReader::emit(char c) { emit(std::string_view(&c, 1)); }

std::size_t DataReader::feed(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && state_ != State::done) {
    const char c = bytes[i];
    switch (state_) {
    case State::mid_line: {
      // The bulk of a message: copy up to the next line end in one go.
      const auto end = bytes.find_first_of("\r\n", i);
      const auto stop = end == std::string_view::npos ? bytes.size() : end;
      emit(bytes.substr(i, stop - i));
      i = stop;
      if (i < bytes.size()) {
        emit(bytes[i]);
        state_ = bytes[i] == '\r' ? State::after_cr : State::line_start;
        ++i;
      }
      continue;
    }
    case State::line_start:
      if (c == '.') {
        state_ = State::dot;
        ++i;
        continue;
      }
      break;
    case State::dot:
      if (c == '\r') {
        state_ = State::dot_cr;
        ++i;
        continue;
      }
      if (c == '\n') {
        state_ = State::done; // LF.LF from a client that sends bare LF
        return i + 1;
      }
      break; // the dot was stuffing (RFC 5321 §4.5.2) and stays dropped
    case State::dot_cr:
      if (c == '\n') {
        state_ = State::done;
        return i + 1;
      }
      // ".\r" and no LF: the dot was stuffing, the CR is content; look at c again.
      emit('\r');
      state_ = State::after_cr;
      continue;
    case State::after_cr:
    case State::done:
      break;
    }
    emit(c);
    ++i;
    // Only LF ends a line: a '.' after a bare CR starts nothing.
    state_ = c == '\n' ? State::line_start : c == '\r' ? State::after_cr : State::mid_line;
  }
  return i;
}

std::string DataReader::take() { return std::exchange(content_, std::string()); }

} // namespace parley::gateways::email
