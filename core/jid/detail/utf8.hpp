#pragma once
// UTF-8 checks and conversions for JID preparation. Not for use outside core/jid.

#include <string>
#include <string_view>

namespace parley::core::jid::detail {

/// True when every byte is below 0x80.
bool is_ascii(std::string_view text) noexcept;

/// True when `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates,
/// nothing above U+10FFFF, no truncated sequences. U+0000 is well-formed.
bool is_valid_utf8(std::string_view text) noexcept;

/// Decodes `text`, which must be well-formed UTF-8, appending its code points to `out`.
void decode_utf8(std::string_view text, std::u32string& out);

/// True for a Unicode scalar value: at most U+10FFFF and not a surrogate.
constexpr bool is_scalar_value(char32_t cp) noexcept {
  return cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
}

/// Appends the UTF-8 form of `cp`, which must be a Unicode scalar value.
void append_utf8(char32_t cp, std::string& out);

} // namespace parley::core::jid::detail
