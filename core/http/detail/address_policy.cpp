#include "core/http/detail/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace parley::core::http::detail {

// RFC 6890 and the IANA special-purpose address registries.
AddressClass classify_ipv4(const std::array<std::uint8_t, 4>& a) noexcept {
  if (a[0] == 0) return AddressClass::unspecified; // "this network"
  if (a[0] == 10) return AddressClass::private_use;
  if (a[0] == 100 && (a[1] & 0xC0) == 64) return AddressClass::shared;
  if (a[0] == 127) return AddressClass::loopback;
  if (a[0] == 169 && a[1] == 254) return AddressClass::link_local;
  if (a[0] == 172 && (a[1] & 0xF0) == 16) return AddressClass::private_use;
  if (a[0] == 192 && a[1] == 168) return AddressClass::private_use;
  if (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)) return AddressClass::reserved;
  if (a[0] == 198 && (a[1] & 0xFE) == 18) return AddressClass::reserved;
  if (a[0] == 198 && a[1] == 51 && a[2] == 100) return AddressClass::reserved;
  if (a[0] == 203 && a[1] == 0 && a[2] == 113) return AddressClass::reserved;
  if ((a[0] & 0xF0) == 224) return AddressClass::multicast;
  if (a[0] >= 240) return AddressClass::reserved;
  return AddressClass::global;
}

namespace {

bool all_zero(const std::array<std::uint8_t, 16>& a, std::size_t from, std::size_t to) noexcept {
  return std::all_of(a.begin() + static_cast<std::ptrdiff_t>(from), a.begin() + static_cast<std::ptrdiff_t>(to),
                     [](std::uint8_t b) { return b == 0; });
}

AddressClass embedded_ipv4(const std::array<std::uint8_t, 16>& a, std::size_t at) noexcept {
  return classify_ipv4({a[at], a[at + 1], a[at + 2], a[at + 3]});
}

} // namespace

AddressClass classify_ipv6(const std::array<std::uint8_t, 16>& a) noexcept {
  if (all_zero(a, 0, 15)) {
    return a[15] == 0 ? AddressClass::unspecified : a[15] == 1 ? AddressClass::loopback : embedded_ipv4(a, 12);
  }
  if (all_zero(a, 0, 10) && a[10] == 0xFF && a[11] == 0xFF) return embedded_ipv4(a, 12); // IPv4-mapped
  if (all_zero(a, 0, 12)) return embedded_ipv4(a, 12);                                   // IPv4-compatible
  if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xFF && a[3] == 0x9B) {
    if (all_zero(a, 4, 12)) return embedded_ipv4(a, 12); // NAT64 well-known prefix (RFC 6052)
    if (a[4] == 0x00 && a[5] == 0x01) return AddressClass::reserved; // local-use NAT64 (RFC 8215)
  }
  if (a[0] == 0x20 && a[1] == 0x02) return embedded_ipv4(a, 2); // 6to4 (RFC 3056)
  if (a[0] == 0x01 && a[1] == 0x00 && all_zero(a, 2, 8)) return AddressClass::reserved; // discard-only
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8) return AddressClass::reserved; // documentation
  if ((a[0] & 0xFE) == 0xFC) return AddressClass::private_use;
  if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) return AddressClass::link_local;
  if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0) return AddressClass::private_use;
  if (a[0] == 0xFF) return AddressClass::multicast;
  return AddressClass::global;
}

std::optional<AddressClass> classify(const sockaddr* address) noexcept {
  if (address == nullptr) {
    return std::nullopt;
  }
  if (address->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    std::array<std::uint8_t, 4> bytes{};
    std::memcpy(bytes.data(), &in.sin_addr, bytes.size());
    return classify_ipv4(bytes);
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &in6.sin6_addr, bytes.size());
    return classify_ipv6(bytes);
  }
  return std::nullopt;
}

std::optional<AddressClass> classify(std::string_view text) {
  const std::string copy(text);
  std::array<std::uint8_t, 4> v4{};
  if (::inet_pton(AF_INET, copy.c_str(), v4.data()) == 1) {
    return classify_ipv4(v4);
  }
  std::array<std::uint8_t, 16> v6{};
  if (::inet_pton(AF_INET6, copy.c_str(), v6.data()) == 1) {
    return classify_ipv6(v6);
  }
  return std::nullopt;
}

std::string_view describe(AddressClass kind) noexcept {
  switch (kind) {
  case AddressClass::global: return "public";
  case AddressClass::unspecified: return "unspecified";
  case AddressClass::loopback: return "loopback";
  case AddressClass::private_use: return "private";
  case AddressClass::shared: return "shared (carrier-grade NAT)";
  case AddressClass::link_local: return "link-local";
  case AddressClass::multicast: return "multicast";
  case AddressClass::reserved: return "reserved";
  }
  return "unknown";
}

std::string to_string(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address != nullptr && address->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    if (::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text) != nullptr) {
      return text;
    }
  } else if (address != nullptr && address->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    if (::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text) != nullptr) {
      return text;
    }
  }
  return "?";
}

} // namespace parley::core::http::detail
