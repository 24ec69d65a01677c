#include "core/jid/detail/prep.hpp"

#include "core/jid/detail/ip_literal.hpp"
#include "core/jid/detail/utf8.hpp"
#include "core/jid/jid_errc.hpp"

#include <punycode.h>
#include <stringprep.h>

#include <array>
#include <cstring>
#include <vector>

namespace parley::core::jid::detail {
namespace {

using boost::system::error_code;

error_code fail(jid_errc e) noexcept {
  return make_error_code(e);
}

/// RFC 1034 §3.1 / RFC 1123 §2.1: a DNS label is at most 63 bytes.
constexpr std::size_t max_label_size = 63;
constexpr std::string_view ace_prefix = "xn--";

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool is_ldh(char32_t c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

using ByteTable = std::array<bool, 256>;

// ASCII bytes that Nodeprep keeps as they are, or (A-Z) only case folds: everything printable
// except space (RFC 3454 C.1.1) and the eight characters of RFC 6122 Appendix A.5. Controls
// are prohibited (C.2.1).
constexpr ByteTable local_fast_bytes = [] {
  ByteTable table{};
  for (int c = 0x21; c <= 0x7E; ++c) {
    table[static_cast<std::size_t>(c)] = true;
  }
  for (const char c : std::string_view("\"&'/:<>@")) {
    table[static_cast<unsigned char>(c)] = false;
  }
  return table;
}();

// ASCII bytes that Resourceprep keeps as they are: everything printable, space included
// (Resourceprep prohibits only non-ASCII spaces, C.1.2). It does not fold case.
constexpr ByteTable resource_fast_bytes = [] {
  ByteTable table{};
  for (int c = 0x20; c <= 0x7E; ++c) {
    table[static_cast<std::size_t>(c)] = true;
  }
  return table;
}();

/// Appends `text` to `out` with A-Z folded to a-z.
void append_ascii_lower(std::string_view text, std::string& out) {
  const std::size_t begin = out.size();
  out += text;
  for (std::size_t i = begin; i < out.size(); ++i) {
    out[i] = ascii_lower(out[i]);
  }
}

bool all_in(std::string_view text, const ByteTable& table) noexcept {
  for (const char c : text) {
    if (!table[static_cast<unsigned char>(c)]) {
      return false;
    }
  }
  return true;
}

bool starts_with_ace_prefix(std::string_view label) noexcept {
  if (label.size() < ace_prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < ace_prefix.size(); ++i) {
    if (ascii_lower(label[i]) != ace_prefix[i]) {
      return false;
    }
  }
  return true;
}

/// Runs one stringprep profile over `raw` (well-formed UTF-8 without NUL, at most
/// max_raw_part_size bytes) into `prepared`.
error_code run_stringprep(std::string_view raw, const Stringprep_profile* profile, jid_errc invalid,
                          std::string& prepared) {
  // stringprep() works in place on a NUL-terminated buffer of `maxlen` bytes and reports
  // STRINGPREP_TOO_SMALL_BUFFER when the result would not fit.
  std::array<char, max_raw_part_size + 1> buffer;
  std::memcpy(buffer.data(), raw.data(), raw.size());
  buffer[raw.size()] = '\0';
  const int rc = stringprep(buffer.data(), buffer.size(), static_cast<Stringprep_profile_flags>(0), profile);
  switch (rc) {
  case STRINGPREP_OK: break;
  case STRINGPREP_TOO_SMALL_BUFFER: return fail(jid_errc::too_long);
  case STRINGPREP_MALLOC_ERROR: return fail(jid_errc::no_memory);
  default: return fail(invalid);
  }
  prepared.assign(buffer.data());
  return {};
}

/// The slow path shared by the localpart and the resourcepart.
error_code prepare_with_profile(std::string_view raw, const Stringprep_profile* profile, jid_errc invalid,
                                std::string& out) {
  if (!is_valid_utf8(raw)) {
    return fail(jid_errc::invalid_utf8);
  }
  // U+0000 is prohibited by both profiles (C.2.1) and would end libidn's C string early.
  if (raw.find('\0') != std::string_view::npos) {
    return fail(invalid);
  }
  std::string prepared;
  if (const error_code ec = run_stringprep(raw, profile, invalid, prepared)) {
    return ec;
  }
  if (prepared.empty()) {
    // Everything was mapped to nothing (e.g. only U+00AD SOFT HYPHEN).
    return fail(invalid);
  }
  if (prepared.size() > max_part_size) {
    return fail(jid_errc::too_long);
  }
  out += prepared;
  return {};
}

bool is_ldh_label(std::string_view label) noexcept {
  if (label.empty() || label.size() > max_label_size || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (const char c : label) {
    if (!is_ldh(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

/// Checks a prepared label that contains non-ASCII characters (a U-label) with the IDNA2003
/// ToASCII steps 3-8 (RFC 3490 §4.1, UseSTD3ASCIIRules set) and appends it. When
/// `expected_punycode` is given, the label must encode to exactly that.
error_code append_u_label(std::string_view label, std::string& out, const std::string_view* expected_punycode) {
  std::u32string code_points;
  decode_utf8(label, code_points);
  for (const char32_t cp : code_points) {
    if (cp < 0x80 && !is_ldh(cp)) {
      return fail(jid_errc::invalid_domainpart);
    }
  }
  if (code_points.empty() || code_points.front() == U'-' || code_points.back() == U'-' ||
      starts_with_ace_prefix(label)) {
    return fail(jid_errc::invalid_domainpart);
  }
  const std::vector<punycode_uint> input(code_points.begin(), code_points.end());
  std::array<char, max_label_size - ace_prefix.size()> encoded;
  std::size_t encoded_size = encoded.size();
  if (punycode_encode(input.size(), input.data(), nullptr, &encoded_size, encoded.data()) != punycode_success) {
    // Too long as an A-label, or not encodable at all.
    return fail(jid_errc::invalid_domainpart);
  }
  if (expected_punycode != nullptr && std::string_view(encoded.data(), encoded_size) != *expected_punycode) {
    return fail(jid_errc::invalid_domainpart);
  }
  out += label;
  return {};
}

/// Converts an A-label (lowercase ASCII, starting with "xn--") to its U-label and appends it.
/// RFC 7622 §3.2.1 wants U-labels in the domainpart; the A-label must be the exact encoding of
/// a prepared U-label, so that two different A-labels never name the same domain.
error_code append_a_label(std::string_view label, std::string& out) {
  if (label.size() > max_label_size) {
    return fail(jid_errc::invalid_domainpart);
  }
  const std::string_view payload = label.substr(ace_prefix.size());
  std::array<punycode_uint, max_label_size> decoded;
  std::size_t decoded_size = decoded.size();
  if (payload.empty() ||
      punycode_decode(payload.size(), payload.data(), &decoded_size, decoded.data(), nullptr) != punycode_success) {
    return fail(jid_errc::invalid_domainpart);
  }
  std::string u_label;
  bool non_ascii = false;
  for (std::size_t i = 0; i < decoded_size; ++i) {
    const char32_t cp = decoded[i];
    if (cp == 0 || !is_scalar_value(cp)) {
      return fail(jid_errc::invalid_domainpart);
    }
    non_ascii = non_ascii || cp >= 0x80;
    append_utf8(cp, u_label);
  }
  if (!non_ascii) {
    return fail(jid_errc::invalid_domainpart);
  }
  std::string prepared;
  if (const error_code ec = run_stringprep(u_label, stringprep_nameprep, jid_errc::invalid_domainpart, prepared)) {
    return ec == jid_errc::no_memory ? ec : fail(jid_errc::invalid_domainpart);
  }
  if (prepared != u_label) {
    return fail(jid_errc::invalid_domainpart);
  }
  return append_u_label(prepared, out, &payload);
}

/// Prepares one label of a host name (never empty) and appends it. `ascii` says that the
/// label is known to be all ASCII.
error_code append_label(std::string_view label, bool ascii, std::string& out, PrepMode mode) {
  std::string prepared;
  std::string_view text = label;
  if (mode == PrepMode::libidn_only || !(ascii || is_ascii(label))) {
    // Nameprep is applied label by label, as IDNA2003 ToASCII does, so that its bidi rule
    // (RFC 3454 §6) sees one label at a time.
    if (const error_code ec = run_stringprep(label, stringprep_nameprep, jid_errc::invalid_domainpart, prepared)) {
      return ec;
    }
    if (prepared.empty()) {
      return fail(jid_errc::invalid_domainpart);
    }
    text = prepared;
    if (!is_ascii(text)) {
      return append_u_label(text, out, nullptr);
    }
  }
  // Fold straight into `out`; the caller drops the whole domainpart if a label fails.
  const std::size_t begin = out.size();
  append_ascii_lower(text, out);
  const std::string_view lower = std::string_view(out).substr(begin);
  if (lower.starts_with(ace_prefix)) {
    const std::string a_label(lower);
    out.resize(begin);
    return append_a_label(a_label, out);
  }
  if (!is_ldh_label(lower)) {
    return fail(jid_errc::invalid_domainpart);
  }
  return {};
}

/// IDNA2003 (RFC 3490 §3.1) treats U+3002, U+FF0E and U+FF61 as label separators.
std::string map_label_separators(std::string_view text) {
  static constexpr std::array<std::string_view, 3> separators = {"\xE3\x80\x82", "\xEF\xBC\x8E", "\xEF\xBD\xA1"};
  std::string mapped;
  mapped.reserve(text.size());
  while (!text.empty()) {
    bool replaced = false;
    for (const std::string_view separator : separators) {
      if (text.starts_with(separator)) {
        mapped.push_back('.');
        text.remove_prefix(separator.size());
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      mapped.push_back(text.front());
      text.remove_prefix(1);
    }
  }
  return mapped;
}

bool is_digits_and_dots(std::string_view text) noexcept {
  for (const char c : text) {
    if (c != '.' && (c < '0' || c > '9')) {
      return false;
    }
  }
  return true;
}

error_code prepare_host_name(std::string_view text, bool ascii, std::string& out, PrepMode mode) {
  while (true) {
    const std::size_t dot = text.find('.');
    const std::string_view label = text.substr(0, dot);
    if (label.empty()) {
      return fail(jid_errc::invalid_domainpart);
    }
    if (const error_code ec = append_label(label, ascii, out, mode)) {
      return ec;
    }
    if (dot == std::string_view::npos) {
      return {};
    }
    out.push_back('.');
    text.remove_prefix(dot + 1);
  }
}

} // namespace

error_code prepare_localpart(std::string_view raw, std::string& out, PrepMode mode) {
  if (raw.size() > max_raw_part_size) {
    return fail(jid_errc::too_long);
  }
  if (mode == PrepMode::fast && all_in(raw, local_fast_bytes)) {
    if (raw.size() > max_part_size) {
      return fail(jid_errc::too_long);
    }
    append_ascii_lower(raw, out);
    return {};
  }
  return prepare_with_profile(raw, stringprep_xmpp_nodeprep, jid_errc::invalid_localpart, out);
}

error_code prepare_resourcepart(std::string_view raw, std::string& out, PrepMode mode) {
  if (raw.size() > max_raw_part_size) {
    return fail(jid_errc::too_long);
  }
  if (mode == PrepMode::fast && all_in(raw, resource_fast_bytes)) {
    if (raw.size() > max_part_size) {
      return fail(jid_errc::too_long);
    }
    out += raw;
    return {};
  }
  return prepare_with_profile(raw, stringprep_xmpp_resourceprep, jid_errc::invalid_resourcepart, out);
}

error_code prepare_domainpart(std::string_view raw, std::string& out, PrepMode mode) {
  if (raw.size() > max_raw_part_size) {
    return fail(jid_errc::too_long);
  }
  std::string mapped;
  std::string_view text = raw;
  const bool ascii = is_ascii(raw);
  if (!ascii) {
    if (!is_valid_utf8(raw)) {
      return fail(jid_errc::invalid_utf8);
    }
    mapped = map_label_separators(raw);
    text = mapped;
  }
  if (text.find('\0') != std::string_view::npos) {
    return fail(jid_errc::invalid_domainpart);
  }
  // RFC 7622 §3.2: a trailing dot is stripped before any other canonicalisation.
  if (text.ends_with('.')) {
    text.remove_suffix(1);
  }
  if (text.empty()) {
    return fail(jid_errc::invalid_domainpart);
  }

  const std::size_t start = out.size();
  if (text.front() == '[') {
    if (text.size() < 2 || text.back() != ']' || !is_ipv6_address(text.substr(1, text.size() - 2))) {
      return fail(jid_errc::invalid_domainpart);
    }
    append_ascii_lower(text, out);
    return {};
  }

  if (const error_code ec = prepare_host_name(text, ascii, out, mode)) {
    out.resize(start);
    return ec;
  }
  const std::string_view prepared = std::string_view(out).substr(start);
  jid_errc error{};
  if (prepared.size() > max_part_size) {
    error = jid_errc::too_long;
  } else if (is_digits_and_dots(prepared) && !is_ipv4_dotted_quad(prepared)) {
    // Only digits and dots is meant as an IPv4 address; anything else would be ambiguous.
    error = jid_errc::invalid_domainpart;
  }
  if (error != jid_errc{}) {
    out.resize(start);
    return fail(error);
  }
  return {};
}

} // namespace parley::core::jid::detail
