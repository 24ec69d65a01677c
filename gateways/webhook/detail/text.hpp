#pragma once
// UTF-8 helpers shared by the webhook parsers. Not for other modules.

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::gateways::webhook::detail {

/// "…", U+2026, three bytes.
inline constexpr std::string_view ellipsis = "\xE2\x80\xA6";

/// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF.
bool is_valid_utf8(std::string_view text) noexcept;

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character
/// boundary. `text` must be valid UTF-8.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) noexcept;

/// `text` if it fits in `max_bytes`, else its longest prefix that ends on a character
/// boundary and leaves room for `ellipsis`, followed by it. `text` must be valid UTF-8 and
/// `max_bytes` at least the size of `ellipsis`.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);

/// `text` without leading and trailing ASCII whitespace (space, tab, CR, LF).
std::string_view trim(std::string_view text) noexcept;

/// The first line of `text` (up to the first CR or LF), trimmed.
std::string_view first_line(std::string_view text) noexcept;

/// `first_line(text)`, cut to `max_bytes` with `ellipsis` when cut, and followed by
/// `ellipsis` when `text` has further non-blank lines.
std::string headline(std::string_view text, std::size_t max_bytes);

} // namespace parley::gateways::webhook::detail
