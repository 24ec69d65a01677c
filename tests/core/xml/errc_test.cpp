#include "core/xml/errc.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::core::xml;

TEST_CASE("every RFC 6120 §4.9.3 condition has its wire name") {
  CHECK(wire_name(stream_errc::bad_format) == "bad-format");
  CHECK(wire_name(stream_errc::not_well_formed) == "not-well-formed");
  CHECK(wire_name(stream_errc::restricted_xml) == "restricted-xml");
  CHECK(wire_name(stream_errc::see_other_host) == "see-other-host");
  CHECK(wire_name(stream_errc::unsupported_version) == "unsupported-version");
  int count = 0;
  for (int i = static_cast<int>(stream_errc::bad_format); i <= static_cast<int>(stream_errc::unsupported_version);
       ++i) {
    const auto e = static_cast<stream_errc>(i);
    INFO(i);
    CHECK(stream_errc_from_wire(wire_name(e)) == e);
    ++count;
  }
  CHECK(count == 25);
  CHECK_FALSE(stream_errc_from_wire("xml-not-well-formed"));
  CHECK_FALSE(stream_errc_from_wire(""));
}

TEST_CASE("stream_errc is an error_code enum; zero is success") {
  const boost::system::error_code ec = stream_errc::policy_violation;
  CHECK(ec);
  CHECK(ec == stream_errc::policy_violation);
  CHECK(ec != stream_errc::not_well_formed);
  CHECK(&ec.category() == &stream_category());
  CHECK(ec.message() == "policy-violation");
  CHECK(std::string(stream_category().name()) == "xmpp-stream");
  CHECK_FALSE(boost::system::error_code());
  CHECK(make_error_code(stream_errc::reset).value() == 16);
}
