#pragma once
// Which peer addresses the HTTP client may connect to (the SSRF guard). Not for use outside
// core/http, except by tests.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;

namespace parley::core::http::detail {

/// What kind of address a peer is, as far as the SSRF guard cares. Everything but `global`
/// is refused unless the client allows private addresses.
enum class AddressClass {
  global,      ///< public unicast
  unspecified, ///< 0.0.0.0/8, ::
  loopback,    ///< 127.0.0.0/8, ::1
  private_use, ///< RFC 1918, fc00::/7 (unique local), fec0::/10 (old site-local)
  shared,      ///< 100.64.0.0/10 (RFC 6598 carrier-grade NAT)
  link_local,  ///< 169.254.0.0/16 (cloud metadata services live here), fe80::/10
  multicast,   ///< 224.0.0.0/4, ff00::/8
  reserved,    ///< other special-purpose blocks (RFC 6890): 192.0.0.0/24, 198.18.0.0/15,
               ///< 240.0.0.0/4 including broadcast, 100::/64, 64:ff9b:1::/48
};

/// Classifies an IPv4 address given in network byte order as four bytes.
AddressClass classify_ipv4(const std::array<std::uint8_t, 4>& address) noexcept;

/// Classifies an IPv6 address. Forms that embed an IPv4 address (IPv4-mapped ::ffff:0:0/96,
/// IPv4-compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16) take the class of the embedded
/// address, so ::ffff:127.0.0.1 is loopback.
AddressClass classify_ipv6(const std::array<std::uint8_t, 16>& address) noexcept;

/// Classifies a socket address (AF_INET or AF_INET6); nullopt for any other family.
std::optional<AddressClass> classify(const sockaddr* address) noexcept;

/// Classifies an address literal ("10.0.0.1", "::1", no brackets); nullopt when `text` is not one.
std::optional<AddressClass> classify(std::string_view text);

/// A few words for a log or an error message: "loopback", "private", "link-local", ...
std::string_view describe(AddressClass kind) noexcept;

/// The numeric text form of a socket address ("192.0.2.1", "2001:db8::1"); "?" when unknown.
std::string to_string(const sockaddr* address);

} // namespace parley::core::http::detail
