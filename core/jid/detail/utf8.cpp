#include "core/jid/detail/utf8.hpp"

#include <cstdint>

namespace parley::core::jid::detail {

bool is_ascii(std::string_view text) noexcept {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return false;
    }
  }
  return true;
}

bool is_valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p != end) {
    const unsigned char lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    std::size_t trail = 0;
    // Bounds of the first continuation byte; they exclude overlong forms, surrogates and
    // code points above U+10FFFF (RFC 3629 §4).
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      trail = 1;
    } else if (lead == 0xE0) {
      trail = 2;
      low = 0xA0;
    } else if (lead == 0xED) {
      trail = 2;
      high = 0x9F;
    } else if (lead >= 0xE1 && lead <= 0xEF) {
      trail = 2;
    } else if (lead == 0xF0) {
      trail = 3;
      low = 0x90;
    } else if (lead >= 0xF1 && lead <= 0xF3) {
      trail = 3;
    } else if (lead == 0xF4) {
      trail = 3;
      high = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= trail) {
      return false;
    }
    if (p[1] < low || p[1] > high) {
      return false;
    }
    for (std::size_t i = 2; i <= trail; ++i) {
      if ((p[i] & 0xC0) != 0x80) {
        return false;
      }
    }
    p += trail + 1;
  }
  return true;
}

void decode_utf8(std::string_view text, std::u32string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p != end) {
    const unsigned char lead = *p;
    char32_t cp = 0;
    std::size_t trail = 0;
    if (lead < 0x80) {
      cp = lead;
    } else if (lead < 0xE0) {
      cp = lead & 0x1Fu;
      trail = 1;
    } else if (lead < 0xF0) {
      cp = lead & 0x0Fu;
      trail = 2;
    } else {
      cp = lead & 0x07u;
      trail = 3;
    }
    ++p;
    for (std::size_t i = 0; i < trail && p != end; ++i, ++p) {
      cp = (cp << 6) | (*p & 0x3Fu);
    }
    out.push_back(cp);
  }
}

void append_utf8(char32_t cp, std::string& out) {
  const auto byte = [](std::uint32_t v) { return static_cast<char>(static_cast<unsigned char>(v)); };
  const std::uint32_t v = cp;
  if (v < 0x80) {
    out.push_back(byte(v));
  } else if (v < 0x800) {
    out.push_back(byte(0xC0 | (v >> 6)));
    out.push_back(byte(0x80 | (v & 0x3F)));
  } else if (v < 0x10000) {
    out.push_back(byte(0xE0 | (v >> 12)));
    out.push_back(byte(0x80 | ((v >> 6) & 0x3F)));
    out.push_back(byte(0x80 | (v & 0x3F)));
  } else {
    out.push_back(byte(0xF0 | (v >> 18)));
    out.push_back(byte(0x80 | ((v >> 12) & 0x3F)));
    out.push_back(byte(0x80 | ((v >> 6) & 0x3F)));
    out.push_back(byte(0x80 | (v & 0x3F)));
  }
}

} // namespace parley::core::jid::detail
