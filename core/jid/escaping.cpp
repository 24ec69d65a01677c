#include "core/jid/escaping.hpp"

#include <array>
#include <optional>

namespace parley::core::jid {
namespace {

struct Escape {
  char character;
  std::string_view hex; // lowercase, as XEP-0106 §3.1 requires
};

// XEP-0106 §3.2: the nine characters disallowed in a localpart, and the escaping character.
constexpr std::array<Escape, 10> escapes = {{
    {' ', "20"},
    {'"', "22"},
    {'&', "26"},
    {'\'', "27"},
    {'/', "2f"},
    {':', "3a"},
    {'<', "3c"},
    {'>', "3e"},
    {'@', "40"},
    {'\\', "5c"},
}};

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// The character that the two characters after a backslash at `text[pos]` stand for, if they
/// form one of the ten escape sequences.
std::optional<char> escaped_char_at(std::string_view text, std::size_t pos, bool ignore_case) noexcept {
  if (pos + 2 >= text.size() || text[pos] != '\\') {
    return std::nullopt;
  }
  char hex[2] = {text[pos + 1], text[pos + 2]};
  if (ignore_case) {
    hex[0] = ascii_lower(hex[0]);
    hex[1] = ascii_lower(hex[1]);
  }
  for (const Escape& e : escapes) {
    if (e.hex[0] == hex[0] && e.hex[1] == hex[1]) {
      return e.character;
    }
  }
  return std::nullopt;
}

const Escape* escape_for(char c) noexcept {
  for (const Escape& e : escapes) {
    if (e.character == c) {
      return &e;
    }
  }
  return nullptr;
}

} // namespace

std::string escape_localpart(std::string_view unescaped) {
  const std::size_t first = unescaped.find_first_not_of(' ');
  if (first == std::string_view::npos) {
    return {};
  }
  unescaped = unescaped.substr(first, unescaped.find_last_not_of(' ') - first + 1);

  std::string out;
  out.reserve(unescaped.size());
  for (std::size_t i = 0; i < unescaped.size(); ++i) {
    const char c = unescaped[i];
    if (c == '\\') {
      // XEP-0106 §4.1 rule 7: only a backslash that starts something that reads as an escape
      // sequence is itself escaped (table examples 9 to 12).
      out += escaped_char_at(unescaped, i, true) ? std::string_view("\\5c") : "\\";
    } else if (const Escape* e = escape_for(c)) {
      out.push_back('\\');
      out += e->hex;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string unescape_localpart(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (const std::optional<char> c = escaped_char_at(escaped, i, false)) {
      out.push_back(*c);
      i += 2;
    } else {
      out.push_back(escaped[i]);
    }
  }
  return out;
}

} // namespace parley::core::jid
