#pragma once
// IP addresses used as JID domainparts (RFC 7622 §3.2, RFC 3986 §3.2.2). Not for use outside
// core/jid.

#include <string_view>

namespace parley::core::jid::detail {

/// True for an IPv4 address in canonical dotted-decimal form: four parts, each 0-255,
/// without leading zeros ("127.0.0.1", not "127.000.0.01").
bool is_ipv4_dotted_quad(std::string_view text) noexcept;

/// True for the text form of an IPv6 address (RFC 4291 §2.2), without brackets: eight groups
/// of one to four hex digits, at most one "::", optionally ending in a dotted quad. Zone
/// identifiers ("%eth0") are not accepted.
bool is_ipv6_address(std::string_view text) noexcept;

} // namespace parley::core::jid::detail
