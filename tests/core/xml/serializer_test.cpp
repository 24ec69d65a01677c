#include "core/xml/serializer.hpp"

#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/stream_parser.hpp"
#include "tests/core/xml/stream_recorder.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace parley::core::xml;
using parley::core::xml::test::c2s_header;
using parley::core::xml::test::Outcome;
using parley::core::xml::test::run;

namespace {

Element el(std::string name, std::string_view ns) {
  return Element(std::move(name), std::string(ns));
}

} // namespace

TEST_CASE("escaping of text and attribute values") {
  std::string out;
  escape_text(out, "a & b < c > d ' \" \t\n\r]]>");
  CHECK(out == "a &amp; b &lt; c &gt; d ' \" \t\n&#13;]]&gt;");
  out.clear();
  escape_attribute(out, "a & b < c > d ' \" \t\n\r");
  CHECK(out == "a &amp; b &lt; c &gt; d &apos; &quot; &#9;&#10;&#13;");
}

TEST_CASE("what XML cannot carry becomes U+FFFD; valid UTF-8 passes untouched") {
  const std::string fffd = "\xEF\xBF\xBD";
  std::string out;
  escape_text(out, std::string("a\x01"
                               "b\x1F"
                               "c",
                               5));
  CHECK(out == "a" + fffd + "b" + fffd + "c");
  out.clear();
  escape_text(out, std::string("\0", 1));
  CHECK(out == fffd);
  for (const char* bad : {"\xC3\x28", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF5\x80\x80\x80",
                          "\xF4\x90\x80\x80", "\xEF\xBF\xBE", "\xEF\xBF\xBF", "\xE2\x82", "\xFF"}) {
    INFO(bad);
    out.clear();
    escape_text(out, bad);
    CHECK(out.find("\xEF\xBF\xBD") != std::string::npos);
    CHECK(out.find(bad) == std::string::npos);
  }
  const std::string good = "\xC2\xA9 \xE2\x82\xAC \xED\x9F\xBF \xEF\xBF\xBD \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
  out.clear();
  escape_text(out, good);
  CHECK(out == good);
}

TEST_CASE("namespaces are declared only where they change") {
  Element iq = el("iq", ns::client);
  iq.set_attribute("type", "result");
  iq.set_attribute("id", "1");
  Element& query = iq.add_child(el("query", ns::roster));
  Element& item = query.add_child(el("item", ns::roster));
  item.set_attribute("jid", "a@b");
  item.add_child(el("group", ns::roster)).add_text("Friends");
  query.add_child(el("back", ns::client));

  CHECK(serialize(iq, ns::client) == "<iq type='result' id='1'><query xmlns='jabber:iq:roster'><item jid='a@b'>"
                                     "<group>Friends</group></item><back xmlns='jabber:client'/></query></iq>");
  CHECK(serialize(iq) == "<iq xmlns='jabber:client' type='result' id='1'><query xmlns='jabber:iq:roster'>"
                         "<item jid='a@b'><group>Friends</group></item><back xmlns='jabber:client'/></query>"
                         "</iq>");
  // An element in no namespace under a default one must undeclare it.
  Element m = el("message", ns::client);
  m.add_child(Element("x"));
  CHECK(serialize(m, ns::client) == "<message><x xmlns=''/></message>");
  CHECK(serialize(Element("x")) == "<x/>");
}

TEST_CASE("namespaced attributes: xml: predefined, others with a generated prefix") {
  Element p = el("presence", ns::client);
  p.set_attribute("lang", "fr", ns::xml);
  p.set_attribute("a", "1", "urn:a");
  p.set_attribute("b", "2", "urn:b");
  p.set_attribute("c", "3", "urn:a");
  p.set_attribute("xmlns", "urn:bogus"); // a declaration stored as an attribute is skipped
  p.set_attribute("bogus", "urn:bogus", ns::xmlns);
  CHECK(serialize(p, ns::client) == "<presence xml:lang='fr' xmlns:ns1='urn:a' ns1:a='1' xmlns:ns2='urn:b' ns2:b='2' "
                                    "ns1:c='3'/>");
  // An attribute in the element's own namespace still needs a prefix.
  Element x = el("x", "urn:a");
  x.set_attribute("a", "1", "urn:a");
  CHECK(serialize(x, "urn:a") == "<x xmlns:ns1='urn:a' ns1:a='1'/>");
}

TEST_CASE("inside a stream: stream-namespace elements keep the stream prefix") {
  StreamHeader header(std::string(ns::client));
  const Scope scope = scope_of(header);
  CHECK(scope.default_ns == ns::client);
  CHECK(scope.stream_prefix == "stream");

  Element features = el("features", ns::streams);
  features.add_child(el("starttls", ns::tls)).add_child(el("required", ns::tls));
  features.add_child(el("mechanisms", ns::sasl)).add_child(el("mechanism", ns::sasl)).add_text("PLAIN");
  std::string out;
  serialize_into(out, features, scope);
  CHECK(out == "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
               "</starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN"
               "</mechanism></mechanisms></stream:features>");

  Element error = el("error", ns::streams);
  error.add_child(el("not-well-formed", ns::stream_errors));
  out.clear();
  serialize_into(out, error, scope);
  CHECK(out == "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
               "</stream:error>");
  // Without a stream prefix in scope the namespace is declared.
  CHECK(serialize(error) == "<error xmlns='http://etherx.jabber.org/streams'><not-well-formed "
                            "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>");
  // An element in the XML namespace can only be written with the xml: prefix.
  CHECK(serialize(el("foo", ns::xml), ns::client) == "<xml:foo/>");
}

TEST_CASE("stream open and close") {
  StreamHeader header(std::string(ns::client));
  header.set_from("example.com");
  header.set_id("c2s-1");
  header.set_version("1.0");
  header.set_lang("en");
  CHECK(serialize_stream_open(header) ==
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='c2s-1' "
        "version='1.0' xml:lang='en'>");
  CHECK(serialize_stream_close(header) == "</stream:stream>");

  StreamHeader s2s(std::string(ns::server));
  s2s.declare_namespace("db", std::string(ns::dialback));
  s2s.set_to("b.example");
  s2s.set_attribute("x", "1", ns::dialback);
  s2s.set_attribute("y", "2", "urn:other");
  CHECK(serialize_stream_open(s2s, false) ==
        "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
        "xmlns:db='jabber:server:dialback' to='b.example' db:x='1' xmlns:ns1='urn:other' "
        "ns1:y='2'>");

  // What we write, our parser reads back.
  const Outcome out = run(serialize_stream_open(s2s) + "<db:result/>" + serialize_stream_close(s2s), 0);
  REQUIRE_FALSE(out.error);
  REQUIRE(out.events.size() == 3);
  CHECK(out.events[0].header.to() == "b.example");
  CHECK(out.events[0].header.attribute("x", ns::dialback) == "1");
  CHECK(out.events[0].header.attribute("y", "urn:other") == "2");
  CHECK(out.events[1].element.ns() == ns::dialback);
  CHECK(out.closed());
}

TEST_CASE("round trip: parse, serialize, parse again gives equal elements") {
  const std::vector<std::string> stanzas = {
      "<message to='juliet@example.com' from='romeo@example.net/orchard' type='chat' id='m1'>"
      "<body>Wherefore art thou, Romeo?</body><thread>e0ffe42b</thread></message>",
      "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>"
      "balcony</resource></bind></iq>",
      "<iq type='result' id='r1'><query xmlns='jabber:iq:roster' ver='v1'><item jid='a@b' "
      "name='A &amp; B' subscription='both'><group>Friends</group><group>Co&lt;workers"
      "</group></item></query></iq>",
      "<iq type='get' id='d1' to='example.com'><query "
      "xmlns='http://jabber.org/protocol/disco#info' node='n#1'/></iq>",
      "<presence xml:lang='fr'><show>away</show><status xml:lang='en'>Out</status>"
      "<status>Dehors</status><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
      "node='http://x' ver='abc='/></presence>",
      "<message><p:x xmlns:p='urn:example:p' p:a='1' b='2'><p:y p:c='3'/><z/></p:x>"
      "<q:w xmlns:q='urn:example:q' xmlns:r='urn:example:r' r:k='v' q:k='w'/></message>",
      "<message id='esc&apos;&quot;&lt;&gt;&amp;&#9;&#10;&#13;'><body>&lt;tag&gt; &amp; "
      "&apos;quotes&quot; ]]&gt; tab\there cr&#13;lf&#10;</body></message>",
      "<message><body>\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xE4\xB8\x96\xE7\x95\x8C "
      "\xF0\x9F\x8E\x89 \xC3\xA9</body></message>",
      "<message><body><![CDATA[<not-a-tag attr=\"&amp;\"/>]]></body></message>",
      "<a xmlns=''><b xmlns='urn:b'><c xmlns=''/></b></a>",
      "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms "
      "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>"
      "</mechanisms></stream:features>",
      "<message xmlns='jabber:client'><forwarded xmlns='urn:xmpp:forward:0'><message "
      "xmlns='jabber:client' from='x'><body>inner</body></message></forwarded></message>",
      "<presence><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' "
      "role='participant'/></x><xml:weird/></presence>",
  };
  for (const std::string& stanza : stanzas) {
    INFO(stanza);
    const Outcome first = run(std::string(c2s_header) + stanza, 0);
    REQUIRE_FALSE(first.error);
    REQUIRE(first.elements.size() == 1);
    const Element& original = first.elements[0];

    // As written into a c2s stream.
    const StreamHeader header = first.events[0].header;
    std::string written;
    serialize_into(written, original, scope_of(header));
    const Outcome second = run(serialize_stream_open(header) + written, -7);
    REQUIRE_FALSE(second.error);
    REQUIRE(second.elements.size() == 1);
    CHECK(second.elements[0] == original);

    // Standalone, with no namespace in scope.
    const auto third = parse_element(serialize(original));
    REQUIRE(third.has_value());
    CHECK(*third == original);

    // Kept for later in a jabber:client context.
    const auto fourth = parse_element(serialize(original, ns::client), ns::client);
    REQUIRE(fourth.has_value());
    CHECK(*fourth == original);
  }
}
