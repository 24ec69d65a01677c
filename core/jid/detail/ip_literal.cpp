#include "core/jid/detail/ip_literal.hpp"

#include <cstddef>

namespace parley::core::jid::detail {
namespace {

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_decimal_octet(std::string_view part) noexcept {
  if (part.empty() || part.size() > 3) {
    return false;
  }
  int value = 0;
  for (const char c : part) {
    if (!is_digit(c)) {
      return false;
    }
    value = value * 10 + (c - '0');
  }
  // RFC 3986 dec-octet: no leading zeros, which some resolvers would read as octal.
  return value <= 255 && (part.size() == 1 || part.front() != '0');
}

bool is_hex_group(std::string_view group) noexcept {
  if (group.empty() || group.size() > 4) {
    return false;
  }
  for (const char c : group) {
    if (!is_hex(c)) {
      return false;
    }
  }
  return true;
}

} // namespace

bool is_ipv4_dotted_quad(std::string_view text) noexcept {
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = text.find('.');
    if ((part < 3) != (dot != std::string_view::npos)) {
      return false;
    }
    if (!is_decimal_octet(text.substr(0, dot))) {
      return false;
    }
    text.remove_prefix(dot == std::string_view::npos ? text.size() : dot + 1);
  }
  return true;
}

bool is_ipv6_address(std::string_view text) noexcept {
  const std::size_t n = text.size();
  std::size_t groups = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (text.starts_with("::")) {
    compressed = true;
    i = 2;
  } else if (text.starts_with(':')) {
    return false;
  }
  while (i < n) {
    std::size_t end = text.find(':', i);
    if (end == std::string_view::npos) {
      end = n;
    }
    const std::string_view piece = text.substr(i, end - i);
    if (piece.find('.') != std::string_view::npos) {
      // An embedded IPv4 address stands for the last two groups.
      if (end != n || !is_ipv4_dotted_quad(piece)) {
        return false;
      }
      groups += 2;
      break;
    }
    if (!is_hex_group(piece)) {
      return false;
    }
    ++groups;
    if (end == n) {
      break;
    }
    if (end + 1 < n && text[end + 1] == ':') {
      if (compressed) {
        return false;
      }
      compressed = true;
      i = end + 2;
    } else if (end + 1 == n) {
      return false;
    } else {
      i = end + 1;
    }
  }
  // "::" stands for at least one group of zeros.
  return compressed ? groups <= 7 : groups == 8;
}

} // namespace parley::core::jid::detail
