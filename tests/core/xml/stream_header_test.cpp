#include "core/xml/stream_header.hpp"

#include "core/xml/namespaces.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::core::xml;

TEST_CASE("a header built to send") {
  StreamHeader testling(std::string(ns::client));
  CHECK(testling.content_ns() == ns::client);
  CHECK(testling.stream_prefix() == "stream");
  CHECK_FALSE(testling.to());
  testling.set_from("example.com");
  testling.set_id("abc");
  testling.set_version("1.0");
  testling.set_lang("en");
  CHECK(testling.from() == "example.com");
  CHECK(testling.id() == "abc");
  CHECK(testling.version() == "1.0");
  CHECK(testling.lang() == "en");
  CHECK(testling.attribute("lang", ns::xml) == "en");
  testling.set_id("def");
  CHECK(testling.id() == "def");
  CHECK(testling.attributes().size() == 4);
  testling.declare_namespace("db", std::string(ns::dialback));
  CHECK(testling.namespace_for("db") == ns::dialback);
  testling.set_content_ns(std::string(ns::server));
  CHECK(testling.content_ns() == ns::server);
  CHECK(testling.namespaces().size() == 2);
  CHECK_FALSE(testling.namespace_for("x"));
}

TEST_CASE("an empty header has no content namespace") {
  StreamHeader testling;
  CHECK(testling.content_ns().empty());
  CHECK(testling.namespaces().empty());
  CHECK(testling == StreamHeader());
}
