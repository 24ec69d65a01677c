#include "gateways/email/compose.hpp"

#include "core/sasl/crypto.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace parley::gateways::email {

namespace {

// RFC 2047 §2 limits a line holding encoded-words to 76 characters; RFC 5322 §2.1.1 asks
// for 78. Folding at 76 satisfies both.
constexpr std::size_t fold_width = 76;
// A word longer than this cannot be folded onto a line of 998 octets with a header name in
// front of it, so it is carried in encoded-words instead.
constexpr std::size_t longest_plain_word = 900;
constexpr std::size_t longest_message_id = 900;
// RFC 2047 §2 allows encoded-words of 75 characters; at most 66 let the first one share the
// line with "Subject: " or "From: " within 76 columns. (Moving it to a line of its own is valid
// too, but Python's email package, for one, then decodes a leading space.)
constexpr std::size_t encoded_word_text = 66 - 12;
constexpr std::size_t encoded_word_octets_b = encoded_word_text / 4 * 3;
constexpr std::size_t longest_field_name = 76;
constexpr std::string_view replacement_character = "\xEF\xBF\xBD";
constexpr std::string_view hex_digits = "0123456789ABCDEF";

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

/// Length of the well-formed UTF-8 sequence at the start of `text`, 0 if it is ill-formed
/// (overlong, surrogate, beyond U+10FFFF, truncated).
std::size_t utf8_sequence(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) {
    return 1;
  }
  std::size_t length = 0;
  char32_t code = 0;
  char32_t least = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, code = lead & 0x1Fu, least = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, code = lead & 0x0Fu, least = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, code = lead & 0x07u, least = 0x10000;
  } else {
    return 0;
  }
  if (text.size() < length) {
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[i]);
    if ((next & 0xC0) != 0x80) {
      return 0;
    }
    code = (code << 6) | (next & 0x3Fu);
  }
  if (code < least || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    return 0;
  }
  return length;
}

/// `text` with every ill-formed UTF-8 octet replaced by U+FFFD.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t length = utf8_sequence(text);
    if (length == 0) {
      out += replacement_character;
      text.remove_prefix(1);
    } else {
      out += text.substr(0, length);
      text.remove_prefix(length);
    }
  }
  return out;
}

/// Header text that cannot break out of its field: valid UTF-8, no control characters, single
/// spaces between words, none at either end.
std::string clean_header_text(std::string_view utf8) {
  const std::string valid = valid_utf8(utf8);
  std::string out;
  out.reserve(valid.size());
  bool pending_space = false;
  for (const char c : valid) {
    const auto octet = static_cast<unsigned char>(c);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
    } else if (octet < 0x20 || octet == 0x7F) {
      continue;
    } else {
      if (pending_space) {
        out += ' ';
        pending_space = false;
      }
      out += c;
    }
  }
  return out;
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    if (end > start) {
      words.push_back(text.substr(start, end - start));
    }
    start = end + 1;
  }
  return words;
}

void append_hex(std::string& out, unsigned char octet) {
  out += '=';
  out += hex_digits[octet >> 4];
  out += hex_digits[octet & 0x0F];
}

/// RFC 2047 §5 (3): the only characters a Q encoded-word may carry as themselves wherever it
/// stands, a phrase included.
bool q_literal(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' || c == '*' ||
         c == '+' || c == '-' || c == '/';
}

std::size_t q_length(std::string_view text) {
  std::size_t length = 0;
  for (const char c : text) {
    length += q_literal(static_cast<unsigned char>(c)) || c == ' ' ? 1 : 3;
  }
  return length;
}

void append_q(std::string& out, std::string_view text) {
  for (const char c : text) {
    const auto octet = static_cast<unsigned char>(c);
    if (c == ' ') {
      out += '_';
    } else if (q_literal(octet)) {
      out += c;
    } else {
      append_hex(out, octet);
    }
  }
}

/// Valid UTF-8 as encoded-words separated by single spaces, cut only between code points.
std::string encoded_words(std::string_view utf8) {
  const bool use_q = q_length(utf8) <= (utf8.size() + 2) / 3 * 4;
  std::string out;
  auto flush = [&](std::string_view chunk) {
    if (chunk.empty()) {
      return;
    }
    if (!out.empty()) {
      out += ' ';
    }
    if (use_q) {
      out += "=?UTF-8?Q?";
      append_q(out, chunk);
    } else {
      out += "=?UTF-8?B?";
      out += core::sasl::crypto::base64_encode(chunk);
    }
    out += "?=";
  };
  std::size_t start = 0;
  std::size_t used = 0;
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const std::size_t length = std::max<std::size_t>(1, utf8_sequence(utf8.substr(pos)));
    const std::size_t cost = use_q ? q_length(utf8.substr(pos, length)) : length;
    const std::size_t room = use_q ? encoded_word_text : encoded_word_octets_b;
    if (used + cost > room) {
      flush(utf8.substr(start, pos - start));
      start = pos;
      used = 0;
    }
    used += cost;
    pos += length;
  }
  flush(utf8.substr(start));
  return out;
}

bool needs_encoding(std::string_view word) {
  return !is_ascii(word) || word.find("=?") != std::string_view::npos || word.size() > longest_plain_word;
}

/// RFC 5322 §3.2.3 atext.
bool is_atext(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

/// A display name as an RFC 5322 phrase: encoded-words if it is not ASCII, a quoted-string if
/// it holds anything but atoms, else as is.
std::string display_name(std::string_view utf8) {
  const std::string text = clean_header_text(utf8);
  if (text.empty()) {
    return text;
  }
  if (!is_ascii(text) || text.size() > longest_plain_word) {
    return encoded_words(text);
  }
  const bool atoms = std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || is_atext(c); });
  if (atoms && text.find("=?") == std::string::npos) {
    return text;
  }
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
    }
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

/// An addr-spec or msg-id body without what could end it or the field: controls, whitespace,
/// angle brackets, ill-formed UTF-8.
std::string clean_token(std::string_view text, std::size_t limit) {
  std::string out;
  for (const char c : valid_utf8(text)) {
    const auto octet = static_cast<unsigned char>(c);
    if (octet <= 0x20 || octet == 0x7F || c == '<' || c == '>') {
      continue;
    }
    out += c;
  }
  if (out.size() > limit) {
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    out.resize(cut);
  }
  return out;
}

std::string mailbox(std::string_view name, std::string_view address) {
  const std::string phrase = display_name(name);
  const std::string addr = clean_token(address, longest_plain_word);
  return phrase.empty() ? addr : phrase + " <" + addr + ">";
}

/// "Name: value" with CRLF, folded before a space where the line would pass `fold_width`.
/// `value` has single spaces between its words (so no line of only whitespace can result).
void append_field(std::string& out, std::string_view name, std::string_view value) {
  std::string line(name);
  line += ':';
  bool first = true;
  for (const std::string_view word : split_words(value)) {
    const bool too_long = line.size() + 1 + word.size() > fold_width;
    // The first word moves to a line of its own only where that helps it fit.
    if (too_long && (!first || 1 + word.size() <= fold_width)) {
      out += line;
      out += "\r\n";
      line.clear();
    }
    line += ' ';
    line += word;
    first = false;
  }
  out += line;
  out += "\r\n";
}

bool is_field_name(std::string_view name) {
  if (name.empty() || name.size() > longest_field_name) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7F && c != ':'; });
}

bool is_own_field(std::string_view name) {
  std::string lowered(name);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  static constexpr std::array<std::string_view, 9> own = {
      "from", "to", "subject", "date", "message-id", "in-reply-to", "references", "auto-submitted", "mime-version"};
  return std::find(own.begin(), own.end(), lowered) != own.end() || lowered.starts_with("content-");
}

/// Calls `line` for each line of `text` (LF or CRLF ends, the CR removed); a final line end
/// does not start another line.
template <class Fn> void for_each_line(std::string_view text, Fn&& line) {
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view current = text.substr(0, end);
    if (end != std::string_view::npos && current.ends_with('\r')) {
      current.remove_suffix(1);
    }
    line(current);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
}

/// RFC 2045 §2.7 7bit data that no transport rewrites: printable ASCII and tab, lines of at
/// most 78 octets, none starting with "From ".
bool fits_7bit(std::string_view body) {
  bool fits = true;
  for_each_line(body, [&](std::string_view line) {
    const bool printable = std::all_of(line.begin(), line.end(), [](char c) {
      const auto octet = static_cast<unsigned char>(c);
      return c == '\t' || (octet >= 0x20 && octet < 0x7F);
    });
    fits = fits && printable && line.size() <= 78 && !line.starts_with("From ");
  });
  return fits;
}

} // namespace

std::string quoted_printable_encode(std::string_view utf8_text) {
  std::string out;
  out.reserve(utf8_text.size() + utf8_text.size() / 8);
  for_each_line(utf8_text, [&](std::string_view line) {
    std::size_t column = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      const auto octet = static_cast<unsigned char>(c);
      const bool last = i + 1 == line.size();
      auto literal = [&] {
        if (c == '=' || (octet < 0x20 && c != '\t') || octet >= 0x7F) {
          return false;
        }
        // §6.7 (3): whitespace at the end of a line is encoded, as transports may strip it.
        if (last && is_wsp(c)) {
          return false;
        }
        // A '.' or "From " opening an output line is encoded so that no transport touches it.
        return column != 0 || (c != '.' && !(c == 'F' && line.substr(i).starts_with("From ")));
      };
      // §6.7 (5): at most 76 characters a line; every line but the last ends in a soft '='.
      const std::size_t limit = last ? 76 : 75;
      if (column + (literal() ? 1 : 3) > limit) {
        out += "=\r\n";
        column = 0;
      }
      if (literal()) {
        out += c;
        column += 1;
      } else {
        append_hex(out, octet);
        column += 3;
      }
    }
    out += "\r\n";
  });
  return out;
}

std::string encode_header_text(std::string_view utf8) {
  const std::string text = clean_header_text(utf8);
  const std::vector<std::string_view> words = split_words(text);
  std::string out;
  std::size_t i = 0;
  while (i < words.size()) {
    if (!out.empty()) {
      out += ' ';
    }
    if (!needs_encoding(words[i])) {
      out += words[i];
      ++i;
      continue;
    }
    // RFC 2047 §6.2: space between two encoded-words is dropped on decoding, so a run of
    // words to encode becomes one text, its spaces encoded too.
    std::size_t end = i + 1;
    while (end < words.size() && needs_encoding(words[end])) {
      ++end;
    }
    const std::size_t from = static_cast<std::size_t>(words[i].data() - text.data());
    const std::size_t to = static_cast<std::size_t>(words[end - 1].data() + words[end - 1].size() - text.data());
    out += encoded_words(std::string_view(text).substr(from, to - from));
    i = end;
  }
  return out;
}

std::string format_rfc5322_date(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto seconds = floor<std::chrono::seconds>(time);
  const auto day = floor<days>(seconds);
  const year_month_day date{day};
  const hh_mm_ss clock{seconds - day};
  static constexpr std::array<const char*, 7> weekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::array<char, 64> buffer{};
  const int length = std::snprintf(buffer.data(), buffer.size(), "%s, %02u %s %04d %02d:%02d:%02d +0000",
                                   weekdays[weekday{day}.c_encoding()], static_cast<unsigned>(date.day()),
                                   months[static_cast<unsigned>(date.month()) - 1], static_cast<int>(date.year()),
                                   static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                                   static_cast<int>(clock.seconds().count()));
  return std::string(buffer.data(), length > 0 ? static_cast<std::size_t>(length) : 0);
}

std::string message_id_for(std::string_view stanza_id, std::string_view key, std::string_view domain) {
  // Letters, digits and the given extras, with single dots only between them (dot-atom-text).
  auto keep = [](std::string_view text, std::string_view extras, std::size_t limit) {
    std::string out;
    for (const char c : text) {
      if (out.size() >= limit) {
        break;
      }
      const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      if (c == '.') {
        if (!out.empty() && out.back() != '.') {
          out += c;
        }
      } else if (alnum || extras.find(c) != std::string_view::npos) {
        out += c;
      }
    }
    while (!out.empty() && out.back() == '.') {
      out.pop_back();
    }
    return out;
  };
  std::string hashed = "parley-email-message-id";
  hashed += '\0';
  hashed += std::to_string(stanza_id.size());
  hashed += ':';
  hashed += stanza_id;
  hashed += key;
  const std::string digest =
      core::sasl::crypto::hex_encode(core::sasl::crypto::hash(core::sasl::ScramHash::sha256, hashed)).substr(0, 32);
  const std::string prefix = keep(stanza_id, "-_", 24);
  std::string host = keep(domain, "-", 253);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  if (host.empty()) {
    host = "localhost";
  }
  return (prefix.empty() ? digest : prefix + '.' + digest) + '@' + host;
}

std::string compose_mail(const OutboundMail& mail) {
  std::string out;
  append_field(out, "Date", format_rfc5322_date(mail.date));
  append_field(out, "From", mailbox(mail.from_name, mail.from_address));
  append_field(out, "To", mailbox(mail.to_name, mail.to_address));
  append_field(out, "Subject", encode_header_text(mail.subject));
  auto msg_id = [](std::string_view id) {
    const std::string clean = clean_token(id, longest_message_id);
    return clean.empty() ? clean : '<' + clean + '>';
  };
  if (const std::string id = msg_id(mail.message_id); !id.empty()) {
    append_field(out, "Message-ID", id);
  }
  if (const std::string id = msg_id(mail.in_reply_to); !id.empty()) {
    append_field(out, "In-Reply-To", id);
  }
  std::string references;
  for (const auto& reference : mail.references) {
    if (const std::string id = msg_id(reference); !id.empty()) {
      references += references.empty() ? id : ' ' + id;
    }
  }
  if (!references.empty()) {
    append_field(out, "References", references);
  }
  if (const std::string value = encode_header_text(mail.auto_submitted); !value.empty()) {
    append_field(out, "Auto-Submitted", value); // RFC 3834 §5
  }
  for (const auto& [name, value] : mail.extra_headers) {
    if (is_field_name(name) && !is_own_field(name)) {
      append_field(out, name, encode_header_text(value));
    }
  }
  append_field(out, "MIME-Version", "1.0");
  append_field(out, "Content-Type", "text/plain; charset=utf-8");
  const std::string body = valid_utf8(mail.body);
  if (fits_7bit(body)) {
    append_field(out, "Content-Transfer-Encoding", "7bit");
    out += "\r\n";
    for_each_line(body, [&](std::string_view line) {
      out += line;
      out += "\r\n";
    });
  } else {
    append_field(out, "Content-Transfer-Encoding", "quoted-printable");
    out += "\r\n";
    out += quoted_printable_encode(body);
  }
  return out;
}

} // namespace parley::gateways::email
