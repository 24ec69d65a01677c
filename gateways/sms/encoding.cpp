#include "gateways/sms/encoding.hpp"

#include "gateways/sms/udh.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace parley::gateways::sms {
namespace {

// 3GPP TS 23.038 §6.2.1: the default alphabet, indexed by septet. 0x1B is the escape to the
// extension table and stands for no character of its own.
constexpr char32_t no_char = 0xFFFF;
// clang-format off
constexpr std::array<char32_t, 128> basic_table = {
    0x0040, 0x00A3, 0x0024, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, // @ £ $ ¥ è é ù ì
    0x00F2, 0x00C7, 0x000A, 0x00D8, 0x00F8, 0x000D, 0x00C5, 0x00E5, // ò Ç LF Ø ø CR Å å
    0x0394, 0x005F, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, // Δ _ Φ Γ Λ Ω Π Ψ
    0x03A3, 0x0398, 0x039E, no_char, 0x00C6, 0x00E6, 0x00DF, 0x00C9, // Σ Θ Ξ ESC Æ æ ß É
    0x0020, 0x0021, 0x0022, 0x0023, 0x00A4, 0x0025, 0x0026, 0x0027, // SP ! " # ¤ % & '
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F, // ( ) * + , - . /
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037, // 0-7
    0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F, // 8 9 : ; < = > ?
    0x00A1, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047, // ¡ A-G
    0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F, // H-O
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057, // P-W
    0x0058, 0x0059, 0x005A, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, // X Y Z Ä Ö Ñ Ü §
    0x00BF, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067, // ¿ a-g
    0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F, // h-o
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077, // p-w
    0x0078, 0x0079, 0x007A, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0, // x y z ä ö ñ ü à
};
// clang-format on

// 23.038 §6.2.1.1: the extension table, reached through the escape septet.
constexpr std::array<std::pair<std::uint8_t, char32_t>, 10> extension_table = {{
    {0x0A, 0x000C}, // form feed
    {0x14, U'^'},
    {0x28, U'{'},
    {0x29, U'}'},
    {0x2F, U'\\'},
    {0x3C, U'['},
    {0x3D, U'~'},
    {0x3E, U']'},
    {0x40, U'|'},
    {0x65, 0x20AC}, // €
}};

// What a character costs in GSM-7: a basic septet, an escape pair, or nothing representable.
constexpr int not_in_gsm7 = -1;
constexpr int extension_flag = 0x100;

// Code points below U+0100 that the default alphabet or the extension table holds, by code
// point: the septet, the extension code | extension_flag, or not_in_gsm7.
constexpr std::array<int, 256> latin_lookup = [] {
  std::array<int, 256> table{};
  table.fill(not_in_gsm7);
  for (std::size_t septet = 0; septet < basic_table.size(); ++septet) {
    if (basic_table[septet] < 0x100) {
      table[basic_table[septet]] = static_cast<int>(septet);
    }
  }
  for (const auto& [code, character] : extension_table) {
    if (character < 0x100) {
      table[character] = code | extension_flag;
    }
  }
  return table;
}();

int gsm7_code(char32_t c) noexcept {
  if (c < 0x100) {
    return latin_lookup[c];
  }
  if (c == 0x20AC) {
    return 0x65 | extension_flag;
  }
  if (c >= 0x0393 && c <= 0x03A9) { // the Greek capitals of the default alphabet
    const auto* found = std::find(basic_table.begin(), basic_table.end(), c);
    if (found != basic_table.end()) {
      return static_cast<int>(found - basic_table.begin());
    }
  }
  return not_in_gsm7;
}

// Reads the character at `at` (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF) and moves `at` past it; false when the bytes there are not one.
bool next_char(std::string_view text, std::size_t& at, char32_t& out) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(at);
  if (lead < 0x80) {
    out = lead;
    ++at;
    return true;
  }
  std::size_t length = 0;
  std::uint8_t low = 0x80;
  std::uint8_t high = 0xBF;
  char32_t c = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    c = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    c = lead & 0x0Fu;
    if (lead == 0xE0) {
      low = 0xA0; // no overlong three-byte forms
    } else if (lead == 0xED) {
      high = 0x9F; // no UTF-16 surrogates
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    c = lead & 0x07u;
    if (lead == 0xF0) {
      low = 0x90; // no overlong four-byte forms
    } else if (lead == 0xF4) {
      high = 0x8F; // nothing past U+10FFFF
    }
  } else {
    return false;
  }
  if (text.size() - at < length) {
    return false;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const std::uint8_t b = byte(at + i);
    if (b < (i == 1 ? low : 0x80) || b > (i == 1 ? high : 0xBF)) {
      return false;
    }
    c = (c << 6) | (b & 0x3Fu);
  }
  out = c;
  at += length;
  return true;
}

bool decode_utf8(std::string_view text, std::vector<char32_t>& out) {
  out.clear();
  out.reserve(text.size());
  std::size_t at = 0;
  char32_t c = 0;
  while (at < text.size()) {
    if (!next_char(text, at, c)) {
      return false;
    }
    out.push_back(c);
  }
  return true;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Appends one character's septets; `code` as gsm7_code returns it (never not_in_gsm7).
void append_gsm7(std::string& out, int code) {
  if ((code & extension_flag) != 0) {
    out.push_back(static_cast<char>(gsm7_escape));
  }
  out.push_back(static_cast<char>(code & 0x7F));
}

void append_utf16be(std::string& out, char32_t c) {
  const auto unit = [&out](std::uint32_t u) {
    out.push_back(static_cast<char>(u >> 8));
    out.push_back(static_cast<char>(u & 0xFF));
  };
  if (c < 0x10000) {
    unit(c);
  } else {
    const std::uint32_t v = c - 0x10000;
    unit(0xD800 | (v >> 10));
    unit(0xDC00 | (v & 0x3FF));
  }
}

std::size_t gsm7_cost(int code) noexcept {
  return (code & extension_flag) != 0 ? 2 : 1;
}

std::size_t ucs2_cost(char32_t c) noexcept {
  return c < 0x10000 ? 1 : 2;
}

} // namespace

bool fits_gsm7(std::string_view utf8) noexcept {
  std::size_t at = 0;
  char32_t c = 0;
  while (at < utf8.size()) {
    if (!next_char(utf8, at, c) || gsm7_code(c) == not_in_gsm7) {
      return false;
    }
  }
  return true;
}

boost::system::result<Alphabet> choose_alphabet(std::string_view utf8) {
  std::size_t at = 0;
  char32_t c = 0;
  Alphabet alphabet = Alphabet::gsm7;
  while (at < utf8.size()) {
    if (!next_char(utf8, at, c)) {
      return sms_errc::invalid_utf8;
    }
    if (gsm7_code(c) == not_in_gsm7) {
      alphabet = Alphabet::ucs2; // keep going: a later byte may still make the text invalid
    }
  }
  return alphabet;
}

boost::system::result<std::string> encode_gsm7(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::size_t at = 0;
  char32_t c = 0;
  bool representable = true;
  while (at < utf8.size()) {
    if (!next_char(utf8, at, c)) {
      return sms_errc::invalid_utf8;
    }
    const int code = gsm7_code(c);
    if (code == not_in_gsm7) {
      representable = false;
    } else if (representable) {
      append_gsm7(out, code);
    }
  }
  if (!representable) {
    return sms_errc::not_gsm7;
  }
  return out;
}

boost::system::result<std::string> encode_ucs2(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size() * 2);
  std::size_t at = 0;
  char32_t c = 0;
  while (at < utf8.size()) {
    if (!next_char(utf8, at, c)) {
      return sms_errc::invalid_utf8;
    }
    append_utf16be(out, c);
  }
  return out;
}

boost::system::result<std::string> decode_gsm7(std::string_view septets) {
  std::string out;
  out.reserve(septets.size());
  for (std::size_t i = 0; i < septets.size(); ++i) {
    const auto septet = static_cast<std::uint8_t>(septets[i]);
    if (septet > 0x7F) {
      return sms_errc::invalid_septet;
    }
    if (septet != gsm7_escape) {
      append_utf8(out, basic_table[septet]);
      continue;
    }
    if (i + 1 == septets.size()) {
      break; // a lone escape at the end stands for nothing
    }
    const auto code = static_cast<std::uint8_t>(septets[++i]);
    if (code > 0x7F) {
      return sms_errc::invalid_septet;
    }
    if (code == gsm7_escape) {
      out.push_back(' '); // 23.038 §6.2.1.1: reserved for a further table; shown as a space
      continue;
    }
    const auto* found = std::find_if(extension_table.begin(), extension_table.end(),
                                     [code](const auto& entry) { return entry.first == code; });
    // 23.038 §6.2.1.1: a code the extension table lacks shows as its default-alphabet character.
    append_utf8(out, found != extension_table.end() ? found->second : basic_table[code]);
  }
  return out;
}

boost::system::result<std::string> decode_ucs2(std::string_view utf16be) {
  if (utf16be.size() % 2 != 0) {
    return sms_errc::odd_ucs2_length;
  }
  constexpr char32_t replacement = 0xFFFD;
  const auto unit = [&](std::size_t i) {
    return static_cast<char32_t>(static_cast<std::uint8_t>(utf16be[2 * i]) << 8 |
                                 static_cast<std::uint8_t>(utf16be[2 * i + 1]));
  };
  const std::size_t units = utf16be.size() / 2;
  std::string out;
  out.reserve(units * 3);
  for (std::size_t i = 0; i < units; ++i) {
    const char32_t u = unit(i);
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i + 1 < units && unit(i + 1) >= 0xDC00 && unit(i + 1) <= 0xDFFF) {
        append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (unit(i + 1) - 0xDC00));
        ++i;
      } else {
        append_utf8(out, replacement);
      }
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      append_utf8(out, replacement);
    } else {
      append_utf8(out, u);
    }
  }
  return out;
}

std::string decode_latin1(std::string_view octets) {
  std::string out;
  out.reserve(octets.size() * 2);
  for (const char octet : octets) {
    append_utf8(out, static_cast<std::uint8_t>(octet));
  }
  return out;
}

boost::system::result<std::string> decode_text(std::uint8_t data_coding, std::string_view payload) {
  switch (data_coding) {
  case dcs::smsc_default:
  case 0xF0: // 23.038 §4 "data coding/message class": bit 2 clear is the default alphabet
  case 0xF1:
  case 0xF2:
  case 0xF3: return decode_gsm7(payload);
  case dcs::ia5:
    if (std::any_of(payload.begin(), payload.end(), [](char c) { return static_cast<std::uint8_t>(c) > 0x7F; })) {
      return sms_errc::non_ascii;
    }
    return std::string(payload);
  case dcs::latin1: return decode_latin1(payload);
  case dcs::ucs2: return decode_ucs2(payload);
  default: return sms_errc::unsupported_data_coding;
  }
}

std::string pack_septets(std::string_view septets, unsigned fill_bits) {
  fill_bits %= 8;
  const std::size_t bits = fill_bits + 7 * septets.size();
  std::string out((bits + 7) / 8, '\0');
  for (std::size_t i = 0; i < septets.size(); ++i) {
    const unsigned value = static_cast<std::uint8_t>(septets[i]) & 0x7Fu;
    const std::size_t position = fill_bits + 7 * i;
    const std::size_t index = position / 8;
    const unsigned shift = position % 8;
    out[index] = static_cast<char>(static_cast<std::uint8_t>(out[index]) | ((value << shift) & 0xFFu));
    if (shift > 1) { // the septet straddles two octets
      out[index + 1] = static_cast<char>(static_cast<std::uint8_t>(out[index + 1]) | (value >> (8 - shift)));
    }
  }
  return out;
}

std::string unpack_septets(std::string_view octets, std::size_t count, unsigned fill_bits) {
  fill_bits %= 8;
  std::string out;
  out.reserve(std::min(count, octets.size() * 8 / 7 + 1));
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t position = fill_bits + 7 * i;
    const std::size_t index = position / 8;
    const unsigned shift = position % 8;
    if (index >= octets.size() || (shift > 1 && index + 1 >= octets.size())) {
      break;
    }
    unsigned value = static_cast<std::uint8_t>(octets[index]) >> shift;
    if (shift > 1) {
      value |= static_cast<unsigned>(static_cast<std::uint8_t>(octets[index + 1])) << (8 - shift);
    }
    out.push_back(static_cast<char>(value & 0x7Fu));
  }
  return out;
}

boost::system::result<SegmentedText> segment(std::string_view utf8, const SegmentOptions& options) {
  std::vector<char32_t> chars;
  if (!decode_utf8(utf8, chars)) {
    return sms_errc::invalid_utf8;
  }
  std::vector<int> codes(chars.size());
  bool all_gsm7 = true;
  for (std::size_t i = 0; i < chars.size(); ++i) {
    codes[i] = gsm7_code(chars[i]);
    all_gsm7 = all_gsm7 && codes[i] != not_in_gsm7;
  }
  SegmentedText result;
  result.alphabet = options.alphabet.value_or(all_gsm7 ? Alphabet::gsm7 : Alphabet::ucs2);
  if (result.alphabet == Alphabet::gsm7 && !all_gsm7) {
    return sms_errc::not_gsm7;
  }
  const bool gsm7 = result.alphabet == Alphabet::gsm7;
  result.data_coding = data_coding_of(result.alphabet);
  const auto cost = [&](std::size_t i) { return gsm7 ? gsm7_cost(codes[i]) : ucs2_cost(chars[i]); };
  const auto append = [&](std::string& out, std::size_t i) {
    if (gsm7) {
      append_gsm7(out, codes[i]);
    } else {
      append_utf16be(out, chars[i]);
    }
  };
  for (std::size_t i = 0; i < chars.size(); ++i) {
    result.units += cost(i);
  }

  if (result.units <= (gsm7 ? gsm7_single_septets : ucs2_single_units)) {
    MessagePart& only = result.parts.emplace_back();
    for (std::size_t i = 0; i < chars.size(); ++i) {
      append(only.payload, i);
    }
    return result;
  }

  // Characters are placed whole, so an escape pair or a surrogate pair that would straddle
  // the limit moves to the next part, which then starts with it.
  const std::size_t limit = gsm7 ? gsm7_part_septets : ucs2_part_units;
  const std::size_t max_parts = std::clamp<std::size_t>(options.max_parts, 1, max_concat_parts);
  std::size_t used = 0;
  result.parts.emplace_back();
  for (std::size_t i = 0; i < chars.size(); ++i) {
    if (used + cost(i) > limit) {
      if (result.parts.size() == max_parts) {
        return sms_errc::too_many_parts;
      }
      result.parts.emplace_back();
      used = 0;
    }
    append(result.parts.back().payload, i);
    used += cost(i);
  }
  const auto total = static_cast<std::uint8_t>(result.parts.size());
  for (std::size_t i = 0; i < result.parts.size(); ++i) {
    result.parts[i].udh = concat_udh(options.reference, total, static_cast<std::uint8_t>(i + 1));
  }
  return result;
}

} // namespace parley::gateways::sms
