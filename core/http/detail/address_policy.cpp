#include "core/http/detail/address_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace parley::core::http::detail {

namespace {

template <std::size_t N> struct Block {
  std::array<std::uint8_t, N> prefix;
  unsigned length; // in bits
  AddressClass kind;
};

template <std::size_t N> bool in_block(const std::array<std::uint8_t, N>& address, const Block<N>& block) noexcept {
  const unsigned whole = block.length / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (address[i] != block.prefix[i]) {
      return false;
    }
  }
  if (const unsigned rest = block.length % 8; rest != 0) {
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (address[whole] & mask) == (block.prefix[whole] & mask);
  }
  return true;
}

// RFC 6890 and the IANA special-purpose address registries: every block that is not
// globally reachable.
constexpr Block<4> ipv4_blocks[] = {
    {{0, 0, 0, 0}, 8, AddressClass::unspecified}, // "this network"
    {{10, 0, 0, 0}, 8, AddressClass::private_use},
    {{100, 64, 0, 0}, 10, AddressClass::shared},
    {{127, 0, 0, 0}, 8, AddressClass::loopback},
    {{169, 254, 0, 0}, 16, AddressClass::link_local},
    {{172, 16, 0, 0}, 12, AddressClass::private_use},
    {{192, 0, 0, 0}, 24, AddressClass::reserved}, // IETF protocol assignments
    {{192, 0, 2, 0}, 24, AddressClass::reserved}, // documentation
    {{192, 168, 0, 0}, 16, AddressClass::private_use},
    {{198, 18, 0, 0}, 15, AddressClass::reserved}, // benchmarking
    {{198, 51, 100, 0}, 24, AddressClass::reserved},
    {{203, 0, 113, 0}, 24, AddressClass::reserved},
    {{224, 0, 0, 0}, 4, AddressClass::multicast},
    {{240, 0, 0, 0}, 4, AddressClass::reserved}, // including 255.255.255.255
};

constexpr Block<16> ipv6_blocks[] = {
    {{0x01, 0x00}, 64, AddressClass::reserved},                         // discard-only
    {{0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01}, 48, AddressClass::reserved}, // local-use NAT64
    {{0x20, 0x01, 0x0D, 0xB8}, 32, AddressClass::reserved},             // documentation
    {{0xFC}, 7, AddressClass::private_use},                             // unique local
    {{0xFE, 0x80}, 10, AddressClass::link_local},
    {{0xFE, 0xC0}, 10, AddressClass::private_use}, // site-local (deprecated)
    {{0xFF}, 8, AddressClass::multicast},
};

// IPv6 forms that carry an IPv4 address, and where it sits.
struct Embedding {
  Block<16> block;
  std::size_t offset;
};
constexpr Embedding ipv4_embeddings[] = {
    {{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 96, AddressClass::global}, 12}, // IPv4-mapped
    {{{}, 96, AddressClass::global}, 12},                                         // IPv4-compatible
    {{{0x00, 0x64, 0xFF, 0x9B}, 96, AddressClass::global}, 12},                   // NAT64 (RFC 6052)
    {{{0x20, 0x02}, 16, AddressClass::global}, 2},                                // 6to4 (RFC 3056)
};

} // namespace

AddressClass classify_ipv4(const std::array<std::uint8_t, 4>& address) noexcept {
  for (const auto& block : ipv4_blocks) {
    if (in_block(address, block)) {
      return block.kind;
    }
  }
  return AddressClass::global;
}

AddressClass classify_ipv6(const std::array<std::uint8_t, 16>& address) noexcept {
  constexpr std::array<std::uint8_t, 16> unspecified{};
  constexpr std::array<std::uint8_t, 16> loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (address == unspecified) {
    return AddressClass::unspecified;
  }
  if (address == loopback) {
    return AddressClass::loopback;
  }
  for (const auto& [block, offset] : ipv4_embeddings) {
    if (in_block(address, block)) {
      return classify_ipv4({address[offset], address[offset + 1], address[offset + 2], address[offset + 3]});
    }
  }
  for (const auto& block : ipv6_blocks) {
    if (in_block(address, block)) {
      return block.kind;
    }
  }
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
