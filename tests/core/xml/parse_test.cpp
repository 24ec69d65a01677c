#include "core/xml/parse.hpp"

#include "core/xml/namespaces.hpp"
#include "core/xml/serializer.hpp"
#include "tests/core/xml/stream_recorder.hpp"

#include <doctest/doctest.h>

using namespace parley::core::xml;

TEST_CASE("parse_element reads one element") {
  auto testling = parse_element("<message to='a@b'><body>hi</body></message>", ns::client);
  REQUIRE(testling);
  CHECK(testling->name() == "message");
  CHECK(testling->ns() == ns::client);
  CHECK(testling->child("body", ns::client)->text() == "hi");

  auto no_ns = parse_element("  <a xmlns='urn:a'><b/></a>\n");
  REQUIRE(no_ns);
  CHECK(no_ns->ns() == "urn:a");

  auto unqualified = parse_element("<a/>");
  REQUIRE(unqualified);
  CHECK(unqualified->ns().empty());
}

TEST_CASE("parse_element reverses serialize") {
  Element m("message", std::string(ns::client));
  m.set_attribute("type", "chat");
  m.add_child(Element("body", std::string(ns::client))).add_text("a < b & 'c'");
  m.add_child(Element("delay", std::string(ns::delay))).set_attribute("stamp", "2024");
  auto testling = parse_element(serialize(m, ns::client), ns::client);
  REQUIRE(testling);
  CHECK(*testling == m);
}

TEST_CASE("parse_element refuses anything but one element") {
  const auto error_of = [](std::string_view xml) {
    auto r = parse_element(xml, ns::client);
    return r ? boost::system::error_code() : r.error();
  };
  CHECK(error_of("") == stream_errc::bad_format);
  CHECK(error_of("<a/><b/>") == stream_errc::bad_format);
  CHECK(error_of("text") == stream_errc::bad_format);
  CHECK(error_of("<a/></stream:stream>") == stream_errc::bad_format);
  CHECK(error_of("<a>") == stream_errc::not_well_formed);
  CHECK(error_of("<a></b>") == stream_errc::not_well_formed);
  CHECK(error_of("<a>&ent;</a>") == stream_errc::restricted_xml);
  CHECK(error_of("<!-- c --><a/>") == stream_errc::restricted_xml);
}

TEST_CASE("parse_element takes back large output of serialize(); explicit limits still apply") {
  Element m("message", std::string(ns::client));
  m.set_attribute("id", std::string(50000, '\'')); // six bytes each once escaped
  m.add_child(Element("body", std::string(ns::client))).add_text(std::string(300 * 1024, 'x'));
  for (int i = 0; i < 100; ++i) {
    m.set_attribute("a" + std::to_string(i), "v", "urn:a:" + std::to_string(i)); // 200 with declarations
  }
  const std::string xml = serialize(m, ns::client);
  auto testling = parse_element(xml, ns::client);
  REQUIRE(testling.has_value());
  CHECK(*testling == m);
  auto limited = parse_element(xml, ns::client, StreamParser::Limits{});
  REQUIRE_FALSE(limited.has_value());
  CHECK(limited.error() == stream_errc::policy_violation);
}
