#include "gateways/email/mail_parse.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

namespace parley::gateways::email {
namespace {

// ---------------------------------------------------------------------------------------------
// GLib/GMime ownership

struct GObjectUnref {
  void operator()(gpointer object) const noexcept {
    if (object != nullptr) {
      g_object_unref(object);
    }
  }
};
template <class T> using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(gpointer memory) const noexcept { g_free(memory); }
};
using GCharPtr = std::unique_ptr<char, GFree>;

/// The options every parse uses. g_mime_init() keeps a plain counter and registers types
/// without a lock, so it must not run twice at once: the function-local static makes the first
/// caller do it under the C++ initialisation guard. Never freed (lives as long as the process).
GMimeParserOptions* parser_options() {
  static GMimeParserOptions* const options = [] {
    g_mime_init();
    GMimeParserOptions* made = g_mime_parser_options_new();
    // Raw 8-bit header text (RFC 6532 or plain misbehaviour): UTF-8 if it is valid, else the
    // single-byte sets most such mail is written in; ISO-8859-1 accepts any byte, so the chain
    // always ends in valid UTF-8.
    static const char* fallback[] = {"utf-8", "windows-1252", "iso-8859-1", nullptr};
    g_mime_parser_options_set_fallback_charsets(made, fallback);
    g_mime_parser_options_set_rfc2047_compliance_mode(made, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_address_compliance_mode(made, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(made, GMIME_RFC_COMPLIANCE_LOOSE);
    return made;
  }();
  return options;
}

// ---------------------------------------------------------------------------------------------
// Small text helpers

char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::string_view null_safe(const char* text) noexcept {
  return text != nullptr ? std::string_view(text) : std::string_view();
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

/// How the UTF-8 at the start of non-empty `text` reads: `valid` and the sequence's length, or
/// not valid and the length of the maximal subpart to replace by one U+FFFD (Unicode §3.9,
/// "U+FFFD Substitution of Maximal Subparts"), at least 1.
struct Utf8Step {
  std::size_t length;
  bool valid;
};

Utf8Step utf8_step(std::string_view text) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) {
    return {1, true};
  }
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
    high = lead == 0xED ? 0x9F : 0xBF; // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF; // nothing beyond U+10FFFF
  } else {
    return {1, false};
  }
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char min = i == 1 ? low : 0x80;
    const unsigned char max = i == 1 ? high : 0xBF;
    if (i >= text.size() || byte(i) < min || byte(i) > max) {
      return {i, false};
    }
  }
  return {length, true};
}

bool is_valid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Step step = utf8_step(text.substr(i));
    if (!step.valid) {
      return false;
    }
    i += step.length;
  }
  return true;
}

/// Windows-1252 for 8-bit text that declares no charset (or US-ASCII, which it cannot be):
/// the bytes 0x80-0x9F are its typographic characters; the rest is ISO-8859-1.
std::string windows_1252_to_utf8(std::string_view text) {
  static constexpr std::array<std::uint16_t, 32> c1 = {0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                                       0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
                                                       0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                                       0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    append_utf8(out, byte >= 0x80 && byte <= 0x9F ? c1[byte - 0x80] : byte);
  }
  return out;
}

/// CRLF and lone CR become LF.
std::string normalise_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
    } else {
      out += text[i];
    }
  }
  return out;
}

/// The chat text's final form: control characters other than TAB and LF dropped (XML 1.0
/// cannot carry them), trailing whitespace of each line and leading/trailing blank lines gone.
std::string finish_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t line_start = 0;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      while (out.size() > line_start && (out.back() == ' ' || out.back() == '\t')) {
        out.pop_back();
      }
      if (!out.empty()) { // no leading blank lines
        out += '\n';
      }
      line_start = out.size();
    } else if (byte >= 0x20 || c == '\t') {
      out += c;
    }
  }
  while (!out.empty() && is_space(out.back())) {
    out.pop_back();
  }
  return out;
}

/// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence; true if it cut.
bool truncate_utf8(std::string& text, std::size_t max) {
  if (text.size() <= max) {
    return false;
  }
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  text.resize(cut);
  return true;
}

/// A header's text on one line: CR and LF removed (RFC 5322 §2.2.3 unfolding), other control
/// characters turned into spaces, valid UTF-8, trimmed.
std::string clean_header_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : sanitize_utf8(text)) {
    if (c == '\r' || c == '\n') {
      continue;
    }
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7F ? ' ' : c;
  }
  return std::string(trim(out));
}

/// The msg-id in `text` without angle brackets: the first <...>, else the first word.
std::string message_id_from(std::string_view text) {
  text = trim(text);
  if (const auto open = text.find('<'); open != std::string_view::npos) {
    const auto close = text.find('>', open + 1);
    std::string_view id =
        text.substr(open + 1, close == std::string_view::npos ? std::string_view::npos : close - open - 1);
    return clean_header_text(id);
  }
  const auto end = std::find_if(text.begin(), text.end(), is_space);
  return clean_header_text(text.substr(0, static_cast<std::size_t>(end - text.begin())));
}

/// Every msg-id in `text`, in order, through GMime's parser (handles comments and folding).
std::vector<std::string> message_ids_from(std::string_view text) {
  std::vector<std::string> ids;
  const std::string copy(text);
  GMimeReferences* refs = g_mime_references_parse(parser_options(), copy.c_str());
  if (refs == nullptr) {
    return ids;
  }
  const int count = g_mime_references_length(refs);
  for (int i = 0; i < count; ++i) {
    std::string id = clean_header_text(null_safe(g_mime_references_get_message_id(refs, i)));
    if (!id.empty()) {
      ids.push_back(std::move(id));
    }
  }
  g_mime_references_free(refs);
  return ids;
}

/// A header field's value up to the first ';' (its parameters), lowercased and trimmed.
std::string keyword_value(std::string_view value) {
  value = value.substr(0, value.find(';'));
  // RFC 3834 §5 values may carry comments: "auto-replied (vacation)"
  value = value.substr(0, value.find('('));
  return lower(trim(clean_header_text(value)));
}

// ---------------------------------------------------------------------------------------------
// Addresses

std::optional<MailAddress> first_mailbox(InternetAddressList* list, int depth = 0) {
  if (list == nullptr || depth > 2) {
    return std::nullopt;
  }
  const int count = internet_address_list_length(list);
  for (int i = 0; i < count; ++i) {
    InternetAddress* address = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
      MailAddress out;
      out.name = clean_header_text(null_safe(internet_address_get_name(address)));
      const std::string addr =
          clean_header_text(null_safe(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address))));
      const auto at = addr.rfind('@');
      if (at != std::string::npos && at > 0 && at + 1 < addr.size() && addr.find_first_of(" <>") == std::string::npos) {
        out.address = addr.substr(0, at + 1) + lower(addr.substr(at + 1));
      }
      return out;
    }
    if (INTERNET_ADDRESS_IS_GROUP(address)) {
      if (auto member = first_mailbox(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)), depth + 1)) {
        return member;
      }
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Content

/// The decoded (transfer encoding undone) bytes of a leaf part.
std::string decoded_content(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) {
    return {};
  }
  GObjectPtr<GMimeStream> sink(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(content, sink.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
  return bytes == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

/// Decoded size of a leaf part, counted without keeping the bytes.
std::size_t decoded_size(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) {
    return 0;
  }
  GObjectPtr<GMimeStream> sink(g_mime_stream_null_new());
  g_mime_data_wrapper_write_to_stream(content, sink.get());
  return GMIME_STREAM_NULL(sink.get())->written;
}

/// An object as it would be written out (an attached message, or a part GMime did not expect).
std::string serialised(GMimeObject* object) {
  GObjectPtr<GMimeStream> sink(g_mime_stream_mem_new());
  g_mime_object_write_to_stream(object, nullptr, sink.get());
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
  return bytes == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

/// The text of a text/* part as valid UTF-8. Like g_mime_text_part_get_text(), but keeps
/// content after a NUL byte, and reads 8-bit text without a usable charset as windows-1252.
std::string part_text_utf8(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) {
    return {};
  }
  const std::string charset =
      lower(trim(null_safe(g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset"))));
  const bool declared_ascii = charset.empty() || charset == "us-ascii" || charset == "ascii";
  const bool declared_utf8 = charset == "utf-8" || charset == "utf8";
  if (!declared_ascii && !declared_utf8) {
    // GMime's charset filter skips what its iconv cannot convert; nullptr for unknown sets.
    if (GMimeFilter* filter = g_mime_filter_charset_new(charset.c_str(), "UTF-8")) {
      GObjectPtr<GMimeFilter> owned_filter(filter);
      GObjectPtr<GMimeStream> sink(g_mime_stream_mem_new());
      GObjectPtr<GMimeStream> filtered(g_mime_stream_filter_new(sink.get()));
      g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), filter);
      g_mime_data_wrapper_write_to_stream(content, filtered.get());
      g_mime_stream_flush(filtered.get());
      GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
      return bytes == nullptr ? std::string() : sanitize_utf8({reinterpret_cast<const char*>(bytes->data), bytes->len});
    }
  }
  std::string raw = decoded_content(part);
  if (is_valid_utf8(raw)) {
    return raw;
  }
  return declared_utf8 ? sanitize_utf8(raw) : windows_1252_to_utf8(raw);
}

std::string media_type_of(GMimeObject* object) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (type == nullptr) {
    return "application/octet-stream";
  }
  const std::string_view major = null_safe(g_mime_content_type_get_media_type(type));
  const std::string_view minor = null_safe(g_mime_content_type_get_media_subtype(type));
  return clean_header_text(lower(major) + '/' + lower(minor));
}

bool is_media_type(GMimeObject* object, std::string_view major, std::string_view minor) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  return type != nullptr && iequals(null_safe(g_mime_content_type_get_media_type(type)), major) &&
         iequals(null_safe(g_mime_content_type_get_media_subtype(type)), minor);
}

std::string filename_of(GMimeObject* object) {
  if (GMIME_IS_PART(object)) {
    return clean_header_text(null_safe(g_mime_part_get_filename(GMIME_PART(object))));
  }
  const char* name = g_mime_object_get_content_disposition_parameter(object, "filename");
  if (name == nullptr) {
    name = g_mime_object_get_content_type_parameter(object, "name");
  }
  return clean_header_text(null_safe(name));
}

// ---------------------------------------------------------------------------------------------
// RFC 3464 delivery status

struct Field {
  std::string name; // lowercased
  std::string value;
};

/// Header-style blocks separated by blank lines, continuation lines unfolded with one space.
std::vector<std::vector<Field>> field_blocks(std::string_view text) {
  std::vector<std::vector<Field>> blocks(1);
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (trim(line).empty()) {
      if (!blocks.back().empty()) {
        blocks.emplace_back();
      }
    } else if ((line.front() == ' ' || line.front() == '\t') && !blocks.back().empty()) {
      blocks.back().back().value += ' ';
      blocks.back().back().value += trim(line);
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      blocks.back().push_back({lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
    }
    if (end == text.size()) {
      break;
    }
  }
  return blocks;
}

/// "rfc822; bob@example.org" without its type; angle brackets dropped.
std::string without_type(std::string_view value) {
  if (const auto semicolon = value.find(';'); semicolon != std::string_view::npos) {
    value = value.substr(semicolon + 1);
  }
  value = trim(value);
  if (value.size() >= 2 && value.front() == '<' && value.back() == '>') {
    value = value.substr(1, value.size() - 2);
  }
  return clean_header_text(value);
}

void parse_delivery_status(std::string_view text, std::vector<DeliveryStatus>& out) {
  for (const auto& block : field_blocks(text)) {
    DeliveryStatus status;
    std::string original;
    bool per_recipient = false;
    for (const auto& field : block) {
      if (field.name == "final-recipient") {
        status.recipient = without_type(field.value);
        per_recipient = true;
      } else if (field.name == "original-recipient") {
        original = without_type(field.value);
        per_recipient = true;
      } else if (field.name == "action") {
        status.action = keyword_value(field.value);
        per_recipient = true;
      } else if (field.name == "status") {
        const std::string_view value = trim(field.value);
        const auto end = value.find_first_of(" \t(");
        status.status = clean_header_text(value.substr(0, end));
      } else if (field.name == "diagnostic-code") {
        status.diagnostic = without_type(field.value);
      }
    }
    if (!per_recipient) {
      continue; // the per-message block (Reporting-MTA, Arrival-Date, ...)
    }
    if (status.recipient.empty()) {
      status.recipient = std::move(original);
    }
    out.push_back(std::move(status));
  }
}

/// Message-ID of a header block (text/rfc822-headers), without <>; "" if it has none.
std::string message_id_in_headers(std::string_view text) {
  const auto blocks = field_blocks(text); // the header block is the first
  for (const auto& field : blocks.front()) {
    if (field.name == "message-id") {
      return message_id_from(field.value);
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// The MIME tree

class Walker {
public:
  Walker(const ParseLimits& limits, ParsedMail& mail) : limits_(limits), mail_(mail) {}

  void walk(GMimeObject* object, std::size_t depth) {
    if (object == nullptr || parts_ >= limits_.max_parts) {
      return;
    }
    ++parts_;
    if (GMIME_IS_MULTIPART(object)) {
      if (depth >= limits_.max_depth) {
        return;
      }
      GMimeMultipart* multipart = GMIME_MULTIPART(object);
      if (!mail_.is_dsn && is_media_type(object, "multipart", "report") &&
          istarts_with(trim(null_safe(g_mime_object_get_content_type_parameter(object, "report-type"))),
                       "delivery-status")) {
        walk_report(multipart, depth);
        return;
      }
      int count = g_mime_multipart_get_count(multipart);
      // RFC 1847 §2.1: the second part of multipart/signed is the signature, not content.
      if (GMIME_IS_MULTIPART_SIGNED(object)) {
        count = std::min(count, 1);
      }
      for (int i = 0; i < count; ++i) {
        walk(g_mime_multipart_get_part(multipart, i), depth + 1);
      }
    } else if (GMIME_IS_MESSAGE_PART(object)) {
      // A forwarded message stays whole: its text is not the sender's.
      Attachment attachment;
      attachment.filename = filename_of(object);
      attachment.content_type = media_type_of(object);
      if (GMimeMessage* message = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object))) {
        GObjectPtr<GMimeStream> sink(g_mime_stream_null_new());
        g_mime_object_write_to_stream(GMIME_OBJECT(message), nullptr, sink.get());
        attachment.size = GMIME_STREAM_NULL(sink.get())->written;
      }
      mail_.attachments.push_back(std::move(attachment));
    } else if (GMIME_IS_PART(object)) {
      leaf(GMIME_PART(object));
    }
  }

  GMimePart* plain() const noexcept { return plain_; }
  GMimePart* html() const noexcept { return html_; }

private:
  void leaf(GMimePart* part) {
    GMimeObject* object = GMIME_OBJECT(part);
    const bool attachment = g_mime_part_is_attachment(part) != FALSE;
    if (!attachment && GMIME_IS_TEXT_PART(object)) {
      if (plain_ == nullptr && is_media_type(object, "text", "plain")) {
        plain_ = part;
        return;
      }
      if (html_ == nullptr && is_media_type(object, "text", "html")) {
        html_ = part;
        return;
      }
      if (g_mime_part_get_filename(part) == nullptr) {
        return; // inline text beside the body (a list footer, an alternative we did not pick)
      }
    }
    Attachment out;
    out.filename = filename_of(object);
    out.content_type = media_type_of(object);
    out.size = decoded_size(part);
    mail_.attachments.push_back(std::move(out));
  }

  /// RFC 6522 multipart/report: the first part is for people, the second the machine-readable
  /// report, the optional third the returned message or its headers.
  void walk_report(GMimeMultipart* report, std::size_t depth) {
    mail_.is_dsn = true;
    const int count = g_mime_multipart_get_count(report);
    if (count > 0) {
      walk(g_mime_multipart_get_part(report, 0), depth + 1);
    }
    for (int i = 1; i < count && parts_ < limits_.max_parts; ++i) {
      ++parts_;
      GMimeObject* object = g_mime_multipart_get_part(report, i);
      if (object == nullptr) {
        continue;
      }
      if (is_media_type(object, "message", "delivery-status") ||
          is_media_type(object, "message", "global-delivery-status")) {
        parse_delivery_status(content_text(object), mail_.dsn);
      } else if (!mail_.dsn_original_message_id.empty()) {
        continue;
      } else if (GMIME_IS_MESSAGE_PART(object)) {
        if (GMimeMessage* message = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object))) {
          mail_.dsn_original_message_id = clean_header_text(null_safe(g_mime_message_get_message_id(message)));
        }
      } else if (is_media_type(object, "text", "rfc822-headers") ||
                 is_media_type(object, "message", "rfc822-headers") || is_media_type(object, "message", "rfc822") ||
                 is_media_type(object, "message", "global-headers")) {
        mail_.dsn_original_message_id = message_id_in_headers(content_text(object));
      }
    }
  }

  static std::string content_text(GMimeObject* object) {
    if (GMIME_IS_PART(object)) {
      return decoded_content(GMIME_PART(object));
    }
    if (GMIME_IS_MESSAGE_PART(object)) {
      GMimeMessage* message = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
      return message != nullptr ? serialised(GMIME_OBJECT(message)) : std::string();
    }
    return {};
  }

  const ParseLimits& limits_;
  ParsedMail& mail_;
  std::size_t parts_ = 0;
  GMimePart* plain_ = nullptr;
  GMimePart* html_ = nullptr;
};

std::string body_text(GMimePart* part, bool html) {
  std::string text = normalise_newlines(part_text_utf8(part));
  if (html) {
    return trim_quoted_reply(html_to_text(text));
  }
  // Before unflowing: a space-stuffed " >" line (RFC 3676 §4.4) is not a quote.
  text = trim_quoted_reply(text);
  GMimeObject* object = GMIME_OBJECT(part);
  if (iequals(trim(null_safe(g_mime_object_get_content_type_parameter(object, "format"))), "flowed")) {
    const bool delete_space =
        iequals(trim(null_safe(g_mime_object_get_content_type_parameter(object, "delsp"))), "yes");
    text = unflow_text(text, delete_space);
  }
  return text;
}

void read_headers(GMimeMessage* message, ParsedMail& mail) {
  GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(message));
  const int count = headers != nullptr ? g_mime_header_list_get_count(headers) : 0;
  bool have_in_reply_to = false;
  bool have_references = false;
  bool have_auto_submitted = false;
  bool have_precedence = false;
  for (int i = 0; i < count; ++i) {
    GMimeHeader* header = g_mime_header_list_get_header_at(headers, i);
    if (header == nullptr) {
      continue;
    }
    const std::string_view name = null_safe(g_mime_header_get_name(header));
    const std::string_view raw = null_safe(g_mime_header_get_raw_value(header));
    if (iequals(name, "Received")) {
      ++mail.received_count;
    } else if (iequals(name, "List-Id") || iequals(name, "List-Unsubscribe")) {
      mail.list = true;
    } else if (iequals(name, "Auto-Submitted") && !have_auto_submitted) {
      have_auto_submitted = true;
      mail.auto_submitted = keyword_value(raw);
    } else if (iequals(name, "Precedence") && !have_precedence) {
      have_precedence = true;
      mail.precedence = keyword_value(raw);
    } else if (iequals(name, "In-Reply-To") && !have_in_reply_to) {
      have_in_reply_to = true;
      auto ids = message_ids_from(raw);
      if (!ids.empty()) {
        mail.in_reply_to = std::move(ids.front());
      }
    } else if (iequals(name, "References") && !have_references) {
      have_references = true;
      mail.references = message_ids_from(raw);
    } else if (iequals(name, "Message-ID") && mail.message_id.empty()) {
      mail.message_id = message_id_from(raw);
    }
  }
  if (mail.message_id.empty()) {
    mail.message_id = clean_header_text(null_safe(g_mime_message_get_message_id(message)));
  }
  mail.subject = clean_header_text(null_safe(g_mime_message_get_subject(message)));
  if (auto from = first_mailbox(g_mime_message_get_from(message))) {
    mail.from = std::move(*from);
  }
  if (auto reply_to = first_mailbox(g_mime_message_get_reply_to(message))) {
    mail.reply_to = std::move(*reply_to);
  }
}

boost::system::result<ParsedMail, std::string> parse(std::string_view raw, const ParseLimits& limits) {
  if (trim(raw).empty()) {
    return std::string("empty message");
  }
  GMimeParserOptions* options = parser_options();
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GObjectPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options));
  if (message == nullptr) {
    return std::string("not an RFC 5322 message");
  }
  GMimeHeaderList* headers = g_mime_object_get_header_list(GMIME_OBJECT(message.get()));
  if (headers == nullptr || g_mime_header_list_get_count(headers) == 0) {
    return std::string("no header fields");
  }

  ParsedMail mail;
  read_headers(message.get(), mail);

  Walker walker(limits, mail);
  walker.walk(g_mime_message_get_mime_part(message.get()), 0);
  if (GMimePart* part = walker.plain() != nullptr ? walker.plain() : walker.html()) {
    mail.from_html = walker.plain() == nullptr;
    mail.text = finish_text(body_text(part, mail.from_html));
    mail.truncated = truncate_utf8(mail.text, limits.max_text_bytes);
  }
  return mail;
}

// ---------------------------------------------------------------------------------------------
// HTML

struct NamedEntity {
  std::string_view name;
  std::uint32_t code_point;
};

// The entities mail actually uses (HTML 4 Latin-1, punctuation, and the XML five).
constexpr NamedEntity named_entities[] = {
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},        {"quot", '"'},      {"apos", '\''},
    {"nbsp", ' '},      {"ensp", ' '},      {"emsp", ' '},      {"thinsp", ' '},    {"shy", 0xAD},
    {"copy", 0xA9},     {"reg", 0xAE},      {"trade", 0x2122},  {"hellip", 0x2026}, {"mdash", 0x2014},
    {"ndash", 0x2013},  {"lsquo", 0x2018},  {"rsquo", 0x2019},  {"sbquo", 0x201A},  {"ldquo", 0x201C},
    {"rdquo", 0x201D},  {"bdquo", 0x201E},  {"laquo", 0xAB},    {"raquo", 0xBB},    {"lsaquo", 0x2039},
    {"rsaquo", 0x203A}, {"bull", 0x2022},   {"middot", 0xB7},   {"euro", 0x20AC},   {"pound", 0xA3},
    {"yen", 0xA5},      {"cent", 0xA2},     {"sect", 0xA7},     {"para", 0xB6},     {"deg", 0xB0},
    {"plusmn", 0xB1},   {"times", 0xD7},    {"divide", 0xF7},   {"micro", 0xB5},    {"iexcl", 0xA1},
    {"iquest", 0xBF},   {"ordf", 0xAA},     {"ordm", 0xBA},     {"sup1", 0xB9},     {"sup2", 0xB2},
    {"sup3", 0xB3},     {"frac14", 0xBC},   {"frac12", 0xBD},   {"frac34", 0xBE},   {"dagger", 0x2020},
    {"Dagger", 0x2021}, {"permil", 0x2030}, {"larr", 0x2190},   {"rarr", 0x2192},   {"uarr", 0x2191},
    {"darr", 0x2193},   {"harr", 0x2194},   {"hearts", 0x2665}, {"check", 0x2713},  {"zwnj", 0x200C},
    {"zwj", 0x200D},    {"lrm", 0x200E},    {"rlm", 0x200F},    {"Agrave", 0xC0},   {"Aacute", 0xC1},
    {"Acirc", 0xC2},    {"Atilde", 0xC3},   {"Auml", 0xC4},     {"Aring", 0xC5},    {"AElig", 0xC6},
    {"Ccedil", 0xC7},   {"Egrave", 0xC8},   {"Eacute", 0xC9},   {"Ecirc", 0xCA},    {"Euml", 0xCB},
    {"Igrave", 0xCC},   {"Iacute", 0xCD},   {"Icirc", 0xCE},    {"Iuml", 0xCF},     {"ETH", 0xD0},
    {"Ntilde", 0xD1},   {"Ograve", 0xD2},   {"Oacute", 0xD3},   {"Ocirc", 0xD4},    {"Otilde", 0xD5},
    {"Ouml", 0xD6},     {"Oslash", 0xD8},   {"Ugrave", 0xD9},   {"Uacute", 0xDA},   {"Ucirc", 0xDB},
    {"Uuml", 0xDC},     {"Yacute", 0xDD},   {"THORN", 0xDE},    {"szlig", 0xDF},    {"agrave", 0xE0},
    {"aacute", 0xE1},   {"acirc", 0xE2},    {"atilde", 0xE3},   {"auml", 0xE4},     {"aring", 0xE5},
    {"aelig", 0xE6},    {"ccedil", 0xE7},   {"egrave", 0xE8},   {"eacute", 0xE9},   {"ecirc", 0xEA},
    {"euml", 0xEB},     {"igrave", 0xEC},   {"iacute", 0xED},   {"icirc", 0xEE},    {"iuml", 0xEF},
    {"eth", 0xF0},      {"ntilde", 0xF1},   {"ograve", 0xF2},   {"oacute", 0xF3},   {"ocirc", 0xF4},
    {"otilde", 0xF5},   {"ouml", 0xF6},     {"oslash", 0xF8},   {"ugrave", 0xF9},   {"uacute", 0xFA},
    {"ucirc", 0xFB},    {"uuml", 0xFC},     {"yacute", 0xFD},   {"thorn", 0xFE},    {"yuml", 0xFF},
    {"OElig", 0x152},   {"oelig", 0x153},   {"Scaron", 0x160},  {"scaron", 0x161},  {"Yuml", 0x178},
};

/// Decodes the character reference at `html[pos]` ('&'); on success appends it, advances `pos`
/// past it and returns true. Unknown or malformed references stay literal text.
bool decode_entity(std::string_view html, std::size_t& pos, std::string& out) {
  std::size_t i = pos + 1;
  if (i < html.size() && html[i] == '#') {
    ++i;
    const bool hex = i < html.size() && (html[i] == 'x' || html[i] == 'X');
    if (hex) {
      ++i;
    }
    std::uint32_t value = 0;
    const std::size_t digits_start = i;
    for (; i < html.size() && i - digits_start < 8; ++i) {
      const char c = html[i];
      int digit = -1;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (hex && c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (hex && c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      }
      if (digit < 0) {
        break;
      }
      value = value * (hex ? 16U : 10U) + static_cast<std::uint32_t>(digit);
    }
    if (i == digits_start) {
      return false;
    }
    if (i < html.size() && html[i] == ';') {
      ++i;
    }
    if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
      out += replacement_character;
    } else if (value == 0xA0) {
      out += ' ';
    } else {
      append_utf8(out, value);
    }
    pos = i;
    return true;
  }
  std::size_t end = i;
  while (end < html.size() && end - i < 10 &&
         ((html[end] >= 'a' && html[end] <= 'z') || (html[end] >= 'A' && html[end] <= 'Z') ||
          (html[end] >= '0' && html[end] <= '9'))) {
    ++end;
  }
  if (end == i || end >= html.size() || html[end] != ';') {
    return false;
  }
  const std::string_view name = html.substr(i, end - i);
  for (const auto& entity : named_entities) {
    if (entity.name == name) {
      if (entity.code_point != 0xAD) { // a soft hyphen is invisible
        append_utf8(out, entity.code_point);
      }
      pos = end + 1;
      return true;
    }
  }
  return false;
}

std::string decode_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '&' && decode_entity(text, i, out)) {
      continue;
    }
    out += text[i++];
  }
  return out;
}

struct Tag {
  std::string name; // lowercased
  bool closing = false;
  std::string href; // of <a>, entity-decoded
};

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == ':' || c == '_';
}

/// Reads the tag starting at `html[pos]` ('<') up to its '>'; `pos` ends after it.
Tag read_tag(std::string_view html, std::size_t& pos) {
  Tag tag;
  std::size_t i = pos + 1;
  if (i < html.size() && html[i] == '/') {
    tag.closing = true;
    ++i;
  }
  const std::size_t name_start = i;
  while (i < html.size() && is_name_char(html[i])) {
    ++i;
  }
  tag.name = lower(html.substr(name_start, i - name_start));
  // Attributes: name[=value], values quoted or not; a '>' inside quotes does not end the tag.
  while (i < html.size() && html[i] != '>') {
    if (is_space(html[i]) || html[i] == '/') {
      ++i;
      continue;
    }
    const std::size_t attr_start = i;
    while (i < html.size() && !is_space(html[i]) && html[i] != '=' && html[i] != '>') {
      ++i;
    }
    const std::string_view attr = html.substr(attr_start, i - attr_start);
    while (i < html.size() && is_space(html[i])) {
      ++i;
    }
    if (i >= html.size() || html[i] != '=') {
      continue;
    }
    ++i;
    while (i < html.size() && is_space(html[i])) {
      ++i;
    }
    std::string_view value;
    if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
      const char quote = html[i++];
      const auto close = std::min(html.find(quote, i), html.size());
      value = html.substr(i, close - i);
      i = std::min(close + 1, html.size());
    } else {
      const std::size_t value_start = i;
      while (i < html.size() && !is_space(html[i]) && html[i] != '>') {
        ++i;
      }
      value = html.substr(value_start, i - value_start);
    }
    if (tag.name == "a" && iequals(attr, "href")) {
      tag.href = std::string(trim(decode_entities(value)));
    }
  }
  pos = std::min(i + 1, html.size());
  return tag;
}

/// Builds the text: collapses whitespace, and keeps at most one blank line in a row.
class TextSink {
public:
  void text(std::string_view chunk, bool preformatted) {
    for (const char c : chunk) {
      if (preformatted) {
        if (c == '\r') {
          continue;
        }
        if (c == '\n') {
          out_ += '\n';
          pending_space_ = false;
          continue;
        }
        flush_space();
        out_ += c;
      } else if (is_space(c)) {
        pending_space_ = true;
      } else {
        flush_space();
        out_ += c;
      }
    }
  }

  /// Ends the line; with `blank_line`, leaves an empty line too (paragraphs).
  void line_break(bool blank_line) {
    pending_space_ = false;
    while (!out_.empty() && out_.back() == ' ') {
      out_.pop_back();
    }
    if (out_.empty()) {
      return;
    }
    std::size_t newlines = 0;
    for (auto it = out_.rbegin(); it != out_.rend() && *it == '\n'; ++it) {
      ++newlines;
    }
    const std::size_t wanted = blank_line ? 2 : 1;
    for (; newlines < wanted; ++newlines) {
      out_ += '\n';
    }
  }

  /// Text that must not merge with what came before ("- " of a list item).
  void raw(std::string_view chunk) {
    pending_space_ = false;
    out_ += chunk;
  }

  std::size_t size() const noexcept { return out_.size(); }
  std::string_view since(std::size_t pos) const noexcept {
    return std::string_view(out_).substr(std::min(pos, out_.size()));
  }
  std::string& str() noexcept { return out_; }

private:
  void flush_space() {
    if (pending_space_ && !out_.empty() && out_.back() != '\n' && out_.back() != ' ') {
      out_ += ' ';
    }
    pending_space_ = false;
  }

  std::string out_;
  bool pending_space_ = false;
};

/// A link's target differs from its text in more than a scheme or a trailing slash.
bool link_adds_information(std::string_view href, std::string_view text) {
  const auto strip = [](std::string_view s) {
    s = trim(s);
    for (const std::string_view scheme : {"mailto:", "https://", "http://"}) {
      if (istarts_with(s, scheme)) {
        s.remove_prefix(scheme.size());
        break;
      }
    }
    if (istarts_with(s, "www.")) {
      s.remove_prefix(4);
    }
    while (!s.empty() && s.back() == '/') {
      s.remove_suffix(1);
    }
    return s;
  };
  return !iequals(strip(href), strip(text));
}

bool is_paragraph_tag(std::string_view name) noexcept {
  static constexpr std::string_view names[] = {"p",          "h1", "h2", "h3", "h4",    "h5",  "h6",
                                               "blockquote", "ul", "ol", "dl", "table", "pre", "hr"};
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

bool is_line_tag(std::string_view name) noexcept {
  static constexpr std::string_view names[] = {"br",      "div",      "li",     "tr",         "dt",      "dd",
                                               "section", "article",  "header", "footer",     "address", "center",
                                               "form",    "fieldset", "figure", "figcaption", "main",    "nav",
                                               "aside",   "caption",  "tbody",  "thead"};
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

/// `pos` at the first character after the element `name` that starts before it ends (or the end).
std::size_t skip_element(std::string_view html, std::size_t pos, std::string_view name) {
  std::string closing = "</";
  closing += name;
  while (pos < html.size()) {
    const auto lt = html.find("</", pos);
    if (lt == std::string_view::npos) {
      return html.size();
    }
    if (istarts_with(html.substr(lt), closing) &&
        (lt + closing.size() >= html.size() || !is_name_char(html[lt + closing.size()]))) {
      const auto gt = html.find('>', lt);
      return gt == std::string_view::npos ? html.size() : gt + 1;
    }
    pos = lt + 2;
  }
  return html.size();
}

// ---------------------------------------------------------------------------------------------
// Quoted replies

struct Line {
  std::size_t begin = 0;   // offset of the first character
  std::size_t end = 0;     // offset past the content, before any CR LF
  std::string_view text{}; // the content
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto newline = std::min(text.find('\n', pos), text.size());
    std::size_t end = newline;
    if (end > pos && text[end - 1] == '\r') {
      --end;
    }
    lines.push_back({pos, end, text.substr(pos, end - pos)});
    pos = newline + 1;
  }
  return lines;
}

bool is_blank(std::string_view line) noexcept {
  return trim(line).empty();
}

bool is_quoted(std::string_view line) noexcept {
  return !line.empty() && line.front() == '>';
}

/// Ends like "On Tue, 2 Jan 2024, Bob <bob@example.org> wrote:" or one of its kin in a few
/// languages ("Am 02.01.2024 um 10:00 schrieb Bob <bob@example.org>:"): a verb, then ':'.
bool ends_attribution(std::string_view line) noexcept {
  line = trim(line);
  if (line.empty() || line.back() != ':') {
    return false;
  }
  static constexpr std::string_view verbs[] = {"wrote",   "writes",  "schrieb", "écrit", "escribió",
                                               "scritto", "schreef", "napisał", "skrev"};
  const std::string lowered = lower(line);
  return std::any_of(std::begin(verbs), std::end(verbs), [&](std::string_view verb) {
    const auto at = lowered.find(verb);
    return at != std::string::npos && (at == 0 || lowered[at - 1] == ' ');
  });
}

bool starts_attribution(std::string_view line) noexcept {
  line = trim(line);
  static constexpr std::string_view starts[] = {"On ", "Am ", "Le ", "El ", "Il ", "Op ", "Den ", "W dniu "};
  return std::any_of(std::begin(starts), std::end(starts), [&](std::string_view s) { return istarts_with(line, s); });
}

/// Outlook and friends put no '>' before the quoted message, only a separator.
bool is_original_message_separator(const std::vector<Line>& lines, std::size_t i) noexcept {
  const std::string_view line = trim(lines[i].text);
  if (istarts_with(line, "-----Original Message-----") || istarts_with(line, "-----Ursprüngliche Nachricht-----") ||
      istarts_with(line, "-------- Original Message --------")) {
    return true;
  }
  if (line.size() >= 10 && line.find_first_not_of('_') == std::string_view::npos && i + 1 < lines.size()) {
    const std::string_view next = trim(lines[i + 1].text);
    return istarts_with(next, "From:") || istarts_with(next, "Von:") || istarts_with(next, "De :");
  }
  return false;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Public functions

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Step step = utf8_step(text.substr(i));
    if (step.valid) {
      out.append(text.substr(i, step.length));
    } else {
      out += replacement_character;
    }
    i += step.length;
  }
  return out;
}

std::string unflow_text(std::string_view text, bool delete_space) {
  std::string out;
  out.reserve(text.size());
  std::string paragraph;
  std::size_t paragraph_depth = 0;
  bool open = false;
  const auto close = [&] {
    out += paragraph;
    out += '\n';
    paragraph.clear();
    open = false;
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto newline = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, newline - pos);
    pos = newline + 1;
    std::size_t depth = 0;
    while (depth < line.size() && line[depth] == '>') {
      ++depth;
    }
    std::string_view content = line.substr(depth);
    if (!content.empty() && content.front() == ' ') {
      content.remove_prefix(1); // RFC 3676 §4.4 space-stuffing
    }
    // §4.3: the signature separator is never flowed.
    const bool soft = !content.empty() && content.back() == ' ' && content != "-- ";
    if (open && depth != paragraph_depth) {
      close(); // §4.5: a change of quote depth ends the paragraph
    }
    if (!open) {
      paragraph_depth = depth;
      if (depth > 0) {
        paragraph.assign(depth, '>');
        paragraph += ' ';
      }
    }
    if (soft) {
      if (delete_space) {
        content.remove_suffix(1);
      }
      paragraph += content;
      open = true;
    } else {
      paragraph += content;
      close();
    }
  }
  if (open) {
    out += paragraph;
  } else if (!out.empty() && !text.empty() && text.back() != '\n') {
    out.pop_back();
  }
  return out;
}

std::string html_to_text(std::string_view html) {
  try {
    TextSink sink;
    std::size_t pre_depth = 0;
    std::optional<std::pair<std::string, std::size_t>> link; // href, where its text starts
    const auto end_link = [&] {
      if (!link) {
        return;
      }
      const std::string text(trim(sink.since(link->second)));
      const std::string& href = link->first;
      if (!href.empty() && href.front() != '#' && !istarts_with(href, "javascript:") &&
          link_adds_information(href, text)) {
        if (text.empty()) {
          sink.text(href, false);
        } else {
          sink.text(" (", false);
          sink.raw(href);
          sink.raw(")");
        }
      }
      link.reset();
    };
    std::size_t i = 0;
    while (i < html.size()) {
      const char c = html[i];
      if (c == '<') {
        if (html.substr(i, 4) == "<!--") {
          const auto end = html.find("-->", i + 4);
          i = end == std::string_view::npos ? html.size() : end + 3;
          continue;
        }
        if (i + 1 < html.size() && (html[i + 1] == '!' || html[i + 1] == '?')) {
          const auto end = html.find('>', i);
          i = end == std::string_view::npos ? html.size() : end + 1;
          continue;
        }
        const bool tag_start =
            i + 1 < html.size() && (std::isalpha(static_cast<unsigned char>(html[i + 1])) != 0 || html[i + 1] == '/');
        if (!tag_start) {
          sink.text("<", pre_depth > 0);
          ++i;
          continue;
        }
        Tag tag = read_tag(html, i);
        const std::string& name = tag.name;
        if (!tag.closing && (name == "script" || name == "style" || name == "head" || name == "title" ||
                             name == "noscript" || name == "template")) {
          i = skip_element(html, i, name);
          continue;
        }
        if (name == "a") {
          end_link();
          if (!tag.closing) {
            link.emplace(std::move(tag.href), sink.size());
          }
        } else if (name == "li" && !tag.closing) {
          sink.line_break(false);
          sink.raw("- ");
        } else if (name == "pre") {
          sink.line_break(true);
          pre_depth = tag.closing ? (pre_depth > 0 ? pre_depth - 1 : 0) : pre_depth + 1;
        } else if (is_paragraph_tag(name)) {
          sink.line_break(true);
        } else if (is_line_tag(name)) {
          if (name == "br" || !tag.closing || sink.size() > 0) {
            sink.line_break(false);
          }
        } else if (name == "td" || name == "th") {
          if (tag.closing) {
            sink.text(" ", false);
          }
        }
        continue;
      }
      if (c == '&') {
        std::string decoded;
        if (decode_entity(html, i, decoded)) {
          sink.text(decoded, pre_depth > 0);
          continue;
        }
      }
      // Plain text up to the next markup, in one go.
      const auto next = std::min(html.find_first_of("<&", i + 1), html.size());
      sink.text(html.substr(i, next - i), pre_depth > 0);
      i = next;
    }
    end_link();
    return finish_text(sink.str());
  } catch (...) {
    return {};
  }
}

std::string trim_quoted_reply(std::string_view text) {
  try {
    const std::vector<Line> lines = split_lines(text);
    std::size_t keep = lines.size(); // lines [0, keep) survive

    // RFC 3676 §4.3 signature separator, or a client's "original message" separator.
    for (std::size_t i = 0; i < keep; ++i) {
      if (lines[i].text == "-- " || lines[i].text == "--" || is_original_message_separator(lines, i)) {
        keep = i;
        break;
      }
    }
    const auto drop_blank = [&] {
      while (keep > 0 && is_blank(lines[keep - 1].text)) {
        --keep;
      }
    };
    drop_blank();

    // The trailing quote: '>' lines (and blank lines among them) up to the end.
    std::size_t start = keep;
    bool quoted = false;
    while (start > 0 && (is_quoted(lines[start - 1].text) || is_blank(lines[start - 1].text))) {
      --start;
      quoted = quoted || is_quoted(lines[start].text);
    }
    if (quoted) {
      keep = start;
      drop_blank();
      // The attribution line, perhaps wrapped once by the sender's client. A line that merely
      // ends in "wrote:" must also name an address, so "Here is what he wrote:" stays.
      if (keep > 0 && ends_attribution(lines[keep - 1].text)) {
        const std::string_view last = lines[keep - 1].text;
        const auto ends_sentence = [](std::string_view line) {
          line = trim(line);
          return !line.empty() && (line.back() == '.' || line.back() == '!' || line.back() == '?');
        };
        const bool wrapped = !starts_attribution(last) && keep > 1 && starts_attribution(lines[keep - 2].text) &&
                             !ends_sentence(lines[keep - 2].text);
        if (wrapped) {
          keep -= 2;
        } else if (starts_attribution(last) || last.find('@') != std::string_view::npos) {
          --keep;
        }
      }
      drop_blank();
    }

    if (keep == 0) {
      return std::string(text);
    }
    return std::string(text.substr(0, lines[keep - 1].end));
  } catch (...) {
    return std::string(text);
  }
}

boost::system::result<ParsedMail, std::string> parse_mail(std::string_view raw, const ParseLimits& limits) {
  try {
    return parse(raw, limits);
  } catch (const std::exception& e) {
    return std::string("cannot parse the message: ") + e.what();
  } catch (...) {
    return std::string("cannot parse the message");
  }
}

} // namespace parley::gateways::email
