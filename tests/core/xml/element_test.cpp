#include "core/xml/element.hpp"

#include "core/xml/namespaces.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>

using namespace parley::core::xml;

TEST_CASE("attributes: get, set, replace, remove, namespaced") {
  Element testling("message", std::string(ns::client));
  CHECK(testling.name() == "message");
  CHECK(testling.ns() == ns::client);
  CHECK_FALSE(testling.attribute("to"));
  testling.set_attribute("to", "a@b");
  testling.set_attribute("lang", "en", ns::xml);
  CHECK(testling.attribute("to") == "a@b");
  CHECK(testling.attribute("lang", ns::xml) == "en");
  CHECK_FALSE(testling.attribute("lang"));
  testling.set_attribute("to", "c@d");
  CHECK(testling.attribute("to") == "c@d");
  CHECK(testling.attributes().size() == 2);
  CHECK(testling.remove_attribute("to"));
  CHECK_FALSE(testling.remove_attribute("to"));
  CHECK_FALSE(testling.attribute("to"));
  CHECK(testling.attributes().size() == 1);
}

TEST_CASE("children: add, find, iterate, text") {
  Element testling("message", std::string(ns::client));
  testling.add_text("a");
  Element& body = testling.add_child(Element("body", std::string(ns::client)));
  body.add_text("hello");
  body.add_text(" world");
  body.add_text("");
  testling.add_text("b");
  testling.add_child(Element("thread", std::string(ns::client))).add_text("t1");
  testling.add_child(Element("x", "urn:x"));
  testling.add_child(Element("body", std::string(ns::client))).add_text("second");
  testling.add_text("c");
  testling.add_text("d");

  CHECK(testling.text() == "abcd");
  CHECK(testling.nodes().size() == 7);
  CHECK(testling.nodes().back().text() == "cd");
  REQUIRE(testling.child("body", ns::client) != nullptr);
  CHECK(testling.child("body", ns::client)->text() == "hello world");
  CHECK(testling.child("body", "urn:other") == nullptr);
  CHECK(testling.child("x", "urn:x") != nullptr);
  CHECK(testling.first_child()->name() == "body");

  std::string names;
  for (const Element& c : testling.children()) {
    names += std::string(c.name()) + ",";
  }
  CHECK(names == "body,thread,x,body,");
  std::string bodies;
  for (const Element& c : std::as_const(testling).children("body", ns::client)) {
    bodies += c.text() + ";";
  }
  CHECK(bodies == "hello world;second;");
  CHECK(testling.children("nothing", "").empty());

  for (Element& c : testling.children("body", ns::client)) {
    c.set_attribute("seen", "1");
  }
  CHECK(testling.child("body", ns::client)->attribute("seen") == "1");

  CHECK(testling.remove_children("body", ns::client) == 2);
  CHECK(testling.child("body", ns::client) == nullptr);
  // The text around the removed elements merged back into single nodes.
  CHECK(testling.nodes().size() == 4);
  testling.clear_children();
  CHECK(testling.nodes().empty());
  CHECK(testling.first_child() == nullptr);
}

TEST_CASE("equality is structural; attribute order does not matter") {
  Element a("iq", std::string(ns::client));
  a.set_attribute("type", "get");
  a.set_attribute("id", "1");
  a.add_child(Element("ping", std::string(ns::ping)));
  Element testling("iq", std::string(ns::client));
  testling.set_attribute("id", "1");
  testling.set_attribute("type", "get");
  testling.add_child(Element("ping", std::string(ns::ping)));
  CHECK(a == testling);
  testling.set_attribute("id", "2");
  CHECK_FALSE(a == testling);
  testling.set_attribute("id", "1");
  testling.first_child()->set_ns("urn:other");
  CHECK_FALSE(a == testling);
  testling.first_child()->set_ns(std::string(ns::ping));
  testling.add_text("x");
  CHECK_FALSE(a == testling);
}

TEST_CASE("copies are deep, moves leave a usable element") {
  Element testling("a", "urn:a");
  testling.add_child(Element("b", "urn:a")).add_text("t");
  Element copy = testling;
  copy.child("b", "urn:a")->add_text("u");
  CHECK(testling.child("b", "urn:a")->text() == "t");
  Element moved = std::move(copy);
  CHECK(moved.child("b", "urn:a")->text() == "tu");
  copy = Element("c");
  CHECK(copy.name() == "c");
  CHECK(copy.ns().empty());
}
