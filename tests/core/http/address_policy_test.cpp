#include "core/http/detail/address_policy.hpp"

#include <doctest/doctest.h>

#include <string_view>

using parley::core::http::detail::AddressClass;
namespace detail = parley::core::http::detail;

namespace {

void check_class(std::string_view literal, AddressClass expected) {
  CAPTURE(literal);
  const auto testling = detail::classify(literal);
  REQUIRE(testling.has_value());
  CHECK(*testling == expected);
}

} // namespace

TEST_CASE("address policy: IPv4 special-purpose blocks") {
  check_class("0.0.0.0", AddressClass::unspecified);
  check_class("0.1.2.3", AddressClass::unspecified);
  check_class("127.0.0.1", AddressClass::loopback);
  check_class("127.255.255.254", AddressClass::loopback);
  check_class("10.0.0.1", AddressClass::private_use);
  check_class("172.16.0.1", AddressClass::private_use);
  check_class("172.31.255.255", AddressClass::private_use);
  check_class("192.168.1.1", AddressClass::private_use);
  check_class("100.64.0.1", AddressClass::shared);
  check_class("100.127.255.255", AddressClass::shared);
  check_class("169.254.169.254", AddressClass::link_local);
  check_class("224.0.0.1", AddressClass::multicast);
  check_class("239.255.255.250", AddressClass::multicast);
  check_class("240.0.0.1", AddressClass::reserved);
  check_class("255.255.255.255", AddressClass::reserved);
  check_class("192.0.0.170", AddressClass::reserved);
  check_class("198.18.0.1", AddressClass::reserved);
  check_class("192.0.2.1", AddressClass::reserved);
}

TEST_CASE("address policy: public IPv4 addresses next to the blocks") {
  check_class("8.8.8.8", AddressClass::global);
  check_class("1.1.1.1", AddressClass::global);
  check_class("11.0.0.1", AddressClass::global);
  check_class("100.63.255.255", AddressClass::global);
  check_class("100.128.0.0", AddressClass::global);
  check_class("126.255.255.255", AddressClass::global);
  check_class("128.0.0.1", AddressClass::global);
  check_class("169.253.255.255", AddressClass::global);
  check_class("172.15.255.255", AddressClass::global);
  check_class("172.32.0.0", AddressClass::global);
  check_class("192.167.255.255", AddressClass::global);
  check_class("192.169.0.0", AddressClass::global);
  check_class("198.20.0.0", AddressClass::global);
  check_class("223.255.255.255", AddressClass::global);
}

TEST_CASE("address policy: IPv6 special-purpose blocks") {
  check_class("::", AddressClass::unspecified);
  check_class("::1", AddressClass::loopback);
  check_class("fc00::1", AddressClass::private_use);
  check_class("fd12:3456:789a::1", AddressClass::private_use);
  check_class("fec0::1", AddressClass::private_use);
  check_class("fe80::1", AddressClass::link_local);
  check_class("febf:ffff::1", AddressClass::link_local);
  check_class("ff02::1", AddressClass::multicast);
  check_class("100::1", AddressClass::reserved);
  check_class("2001:db8::1", AddressClass::reserved);
  check_class("64:ff9b:1::1", AddressClass::reserved);
  check_class("2001:4860:4860::8888", AddressClass::global);
  check_class("2a00:1450::1", AddressClass::global);
  check_class("fbff:ffff::1", AddressClass::global);
  check_class("fe00::1", AddressClass::global);
}

TEST_CASE("address policy: IPv6 forms of IPv4 addresses take the IPv4 class") {
  check_class("::ffff:127.0.0.1", AddressClass::loopback);
  check_class("::ffff:7f00:1", AddressClass::loopback);
  check_class("::ffff:10.1.2.3", AddressClass::private_use);
  check_class("::ffff:169.254.169.254", AddressClass::link_local);
  check_class("::ffff:0.0.0.0", AddressClass::unspecified);
  check_class("::ffff:8.8.8.8", AddressClass::global);
  check_class("::127.0.0.1", AddressClass::loopback);      // IPv4-compatible (deprecated)
  check_class("::192.168.0.1", AddressClass::private_use); // IPv4-compatible (deprecated)
  check_class("64:ff9b::10.0.0.1", AddressClass::private_use);
  check_class("64:ff9b::8.8.8.8", AddressClass::global);
  check_class("2002:7f00:1::1", AddressClass::loopback); // 6to4 of 127.0.0.1
  check_class("2002:a9fe:a9fe::", AddressClass::link_local);
  check_class("2002:808:808::1", AddressClass::global);
}

TEST_CASE("address policy: what is not an address literal") {
  CHECK_FALSE(detail::classify("localhost").has_value());
  CHECK_FALSE(detail::classify("").has_value());
  CHECK_FALSE(detail::classify("[::1]").has_value());
  CHECK_FALSE(detail::classify("127.0.0.1:80").has_value());
  CHECK(detail::describe(AddressClass::link_local) == "link-local");
}
