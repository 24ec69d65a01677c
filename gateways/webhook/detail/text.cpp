#include "gateways/webhook/detail/text.hpp"

#include <cassert>

namespace parley::gateways::webhook::detail {

bool is_valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    // RFC 3629 §4: the second byte's range depends on the first.
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c == 0xE0) {
      n = 3;
      lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = 3;
    } else if (c == 0xED) {
      n = 3;
      hi = 0x9F;
    } else if (c == 0xF0) {
      n = 4;
      lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = 4;
    } else if (c == 0xF4) {
      n = 4;
      hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < n || p[1] < lo || p[1] > hi) {
      return false;
    }
    for (std::size_t i = 2; i < n; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) {
        return false;
      }
    }
    p += n;
  }
  return true;
}

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) {
    return text;
  }
  std::size_t cut = max_bytes;
  // Back up over continuation bytes so the cut falls before a lead byte.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return text.substr(0, cut);
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  assert(max_bytes >= ellipsis.size());
  if (text.size() <= max_bytes) {
    return std::string(text);
  }
  std::string out(utf8_prefix(text, max_bytes - ellipsis.size()));
  out += ellipsis;
  return out;
}

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view blanks = " \t\r\n";
  const std::size_t begin = text.find_first_not_of(blanks);
  if (begin == std::string_view::npos) {
    return {};
  }
  const std::size_t end = text.find_last_not_of(blanks);
  return text.substr(begin, end - begin + 1);
}

std::string_view first_line(std::string_view text) noexcept {
  text = trim(text);
  return trim(text.substr(0, text.find_first_of("\r\n")));
}

std::string headline(std::string_view text, std::size_t max_bytes) {
  const std::string_view trimmed = trim(text);
  const std::string_view line = first_line(trimmed);
  std::string out = truncate_utf8(line, max_bytes);
  const bool more_lines = line.size() < trimmed.size();
  if (more_lines && out.size() == line.size()) {
    out += ellipsis;
  }
  return out;
}

} // namespace parley::gateways::webhook::detail
