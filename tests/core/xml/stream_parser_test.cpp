#include "core/xml/stream_parser.hpp"

#include "core/xml/namespaces.hpp"
#include "tests/core/xml/stream_recorder.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>

using namespace parley::core::xml;
using parley::core::xml::test::all_splits;
using parley::core::xml::test::c2s_header;
using parley::core::xml::test::Event;
using parley::core::xml::test::Outcome;
using parley::core::xml::test::recording;
using parley::core::xml::test::run;

namespace {

/// Runs `doc` with every split and checks that they all agree; returns the outcome.
Outcome run_all(std::string_view doc, StreamParser::Limits limits = {}) {
  const Outcome whole = run(doc, 0, limits);
  for (int split : all_splits()) {
    INFO("split " << split);
    CHECK(run(doc, split, limits) == whole);
  }
  return whole;
}

std::string stream(std::string_view body) {
  return std::string(c2s_header) + std::string(body);
}

boost::system::error_code errc(stream_errc e) {
  return make_error_code(e);
}

} // namespace

TEST_CASE("a c2s session: header, stanzas and close, whatever the split") {
  const std::string doc =
      stream("<message to='juliet@example.com' type='chat' id='m1'><body>Art thou not Romeo?</body></message>"
             "\n  "
             "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>"
             "<presence xml:lang='fr'><show>away</show><status>Absente</status></presence>"
             " </stream:stream>");
  const Outcome out = run_all(doc);
  CHECK_FALSE(out.error);
  REQUIRE(out.events.size() == 5);
  REQUIRE(out.events[0].kind == Event::Kind::open);
  const StreamHeader& header = out.events[0].header;
  CHECK(header.to() == "example.com");
  CHECK_FALSE(header.from());
  CHECK_FALSE(header.id());
  CHECK(header.version() == "1.0");
  CHECK(header.lang() == "en");
  CHECK(header.content_ns() == ns::client);
  CHECK(header.stream_prefix() == "stream");
  CHECK(header.namespace_for("stream") == ns::streams);

  const Element& message = out.events[1].element;
  CHECK(message.name() == "message");
  CHECK(message.ns() == ns::client);
  CHECK(message.attribute("to") == "juliet@example.com");
  CHECK(message.attribute("id") == "m1");
  REQUIRE(message.child("body", ns::client) != nullptr);
  CHECK(message.child("body", ns::client)->text() == "Art thou not Romeo?");

  const Element& iq = out.events[2].element;
  CHECK(iq.name() == "iq");
  REQUIRE(iq.first_child() != nullptr);
  CHECK(iq.first_child()->name() == "query");
  CHECK(iq.first_child()->ns() == ns::roster);

  const Element& presence = out.events[3].element;
  CHECK(presence.attribute("lang", ns::xml) == "fr");
  CHECK_FALSE(presence.attribute("lang"));
  CHECK(presence.child("show", ns::client)->text() == "away");
  CHECK(out.events[4].kind == Event::Kind::close);
}

TEST_CASE("a complete stanza is delivered as soon as its end tag is fed") {
  Outcome out;
  StreamParser testling(recording(out));
  REQUIRE_FALSE(testling.feed(std::string(c2s_header)));
  CHECK(testling.opened());
  CHECK(out.events.size() == 1);

  REQUIRE_FALSE(testling.feed("<message/>"));
  CHECK(out.events.size() == 2);

  REQUIRE_FALSE(testling.feed("<message><body>hi</body></message>"));
  CHECK(out.events.size() == 3);

  // Byte by byte: nothing before the final '>', the element right after it.
  const std::string stanza = "<iq type='get' id='a>b'><ping xmlns='urn:xmpp:ping'/></iq>";
  for (std::size_t i = 0; i < stanza.size(); ++i) {
    REQUIRE_FALSE(testling.feed(stanza.substr(i, 1)));
    CHECK(out.events.size() == (i + 1 == stanza.size() ? 4U : 3U));
  }
  CHECK(out.events.back().element.attribute("id") == "a>b");
  CHECK_FALSE(testling.closed());
}

TEST_CASE("the stream header is reported as soon as its start tag is complete") {
  Outcome out;
  StreamParser testling(recording(out));
  const std::string header(c2s_header);
  for (std::size_t i = 0; i < header.size(); ++i) {
    REQUIRE_FALSE(testling.feed(header.substr(i, 1)));
    CHECK(out.events.size() == (i + 1 == header.size() ? 1U : 0U));
  }
  // Without an XML declaration too.
  Outcome bare;
  StreamParser second(recording(bare));
  REQUIRE_FALSE(second.feed("<stream:stream xmlns='jabber:client' "
                            "xmlns:stream='http://etherx.jabber.org/streams'>"));
  CHECK(bare.opened());
}

TEST_CASE("namespace prefixes are resolved") {
  SUBCASE("default namespace inherited, redeclared and undeclared") {
    const Outcome out =
        run_all(stream("<iq type='set' id='1'><query xmlns='jabber:iq:roster'><item jid='a@b'><group>G</group>"
                       "</item></query><x xmlns=''><y/></x></iq>"));
    REQUIRE_FALSE(out.error);
    const Element& iq = out.elements.at(0);
    CHECK(iq.ns() == ns::client);
    const Element* query = iq.child("query", ns::roster);
    REQUIRE(query != nullptr);
    const Element* item = query->child("item", ns::roster);
    REQUIRE(item != nullptr);
    CHECK(item->child("group", ns::roster)->text() == "G");
    const Element* x = iq.child("x", "");
    REQUIRE(x != nullptr);
    CHECK(x->child("y", "") != nullptr);
  }
  SUBCASE("prefixed payload elements and attributes") {
    const Outcome out =
        run_all(stream("<message><foo:x xmlns:foo='urn:example:foo' foo:a='1' b='2'><foo:y/><z/></foo:x>"
                       "</message>"));
    REQUIRE_FALSE(out.error);
    const Element* x = out.elements.at(0).child("x", "urn:example:foo");
    REQUIRE(x != nullptr);
    CHECK(x->attribute("a", "urn:example:foo") == "1");
    CHECK_FALSE(x->attribute("a"));
    CHECK(x->attribute("b") == "2");
    CHECK(x->child("y", "urn:example:foo") != nullptr);
    CHECK(x->child("z", ns::client) != nullptr); // unprefixed: the default namespace
  }
  SUBCASE("prefixes declared on the stream header (server dialback)") {
    const Outcome out = run_all("<stream:stream xmlns='jabber:server' xmlns:db='jabber:server:dialback' "
                                "xmlns:stream='http://etherx.jabber.org/streams' to='a.example' from='b.example' "
                                "version='1.0'><db:result from='b.example' to='a.example'>key</db:result>"
                                "<stream:features/></stream:stream>");
    REQUIRE_FALSE(out.error);
    CHECK(out.events.at(0).header.content_ns() == ns::server);
    CHECK(out.events.at(0).header.namespace_for("db") == ns::dialback);
    const auto elements = out.elements;
    REQUIRE(elements.size() == 2);
    CHECK(elements[0].name() == "result");
    CHECK(elements[0].ns() == ns::dialback);
    CHECK(elements[0].text() == "key");
    CHECK(elements[1].name() == "features");
    CHECK(elements[1].ns() == ns::streams);
  }
  SUBCASE("an undeclared prefix is not namespace-well-formed") {
    CHECK(run_all(stream("<foo:message/>")).error == errc(stream_errc::not_well_formed));
    CHECK(run_all(stream("<message foo:a='1'/>")).error == errc(stream_errc::not_well_formed));
  }
}

TEST_CASE("predefined entities and character references are decoded") {
  const Outcome out = run_all(stream("<message id='x&amp;y&#38;z&#x26;w&lt;&gt;&apos;&quot;' title='&#38;#38;'>"
                                     "<body>a &amp; b &lt; c &gt; d &apos; &quot; &#169; &#x1F600; &#38;</body>"
                                     "<subject>line\r\nnext&#13;&#10;end</subject></message>"));
  REQUIRE_FALSE(out.error);
  const Element& m = out.elements.at(0);
  CHECK(m.attribute("id") == "x&y&z&w<>'\"");
  CHECK(m.attribute("title") == "&#38;");
  CHECK(m.child("body", ns::client)->text() == "a & b < c > d ' \" \xC2\xA9 \xF0\x9F\x98\x80 &");
  // XML 1.0 §2.11: a literal CR LF is one LF; a CR written as a reference stays.
  CHECK(m.child("subject", ns::client)->text() == "line\nnext\r\nend");
}

TEST_CASE("text is kept exactly: whitespace, CDATA and multibyte UTF-8") {
  const Outcome out = run_all(stream("<message><body>  two  spaces\t</body><body><![CDATA[<b>&amp;</b>]]></body>"
                                     "<body>\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xE4\xB8\x96\xE7\x95\x8C "
                                     "\xF0\x9F\x8E\x89</body></message>"));
  REQUIRE_FALSE(out.error);
  const auto bodies = out.elements.at(0).children("body", ns::client);
  auto it = bodies.begin();
  CHECK(it->text() == "  two  spaces\t");
  ++it;
  CHECK(it->text() == "<b>&amp;</b>");
  ++it;
  CHECK(it->text() == "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xE4\xB8\x96\xE7\x95\x8C "
                      "\xF0\x9F\x8E\x89");
}

TEST_CASE("restricted XML ends the stream (RFC 6120 §11.1)") {
  SUBCASE("billion laughs: refused at the DOCTYPE, nothing expanded") {
    std::string doc = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>";
    doc += "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>";
    for (int i = 2; i <= 9; ++i) {
      doc += "<!ENTITY lol" + std::to_string(i) + " '";
      for (int j = 0; j < 10; ++j) {
        doc += "&lol" + std::to_string(i - 1) + ";";
      }
      doc += "'>";
    }
    doc += "]><stream:stream xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams'><message><body>&lol9;</body>"
           "</message>";
    const auto start = std::chrono::steady_clock::now();
    const Outcome out = run_all(doc);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    CHECK(out.error == errc(stream_errc::restricted_xml));
    CHECK(out.events.empty());
  }
  SUBCASE("billion laughs inside the stream: the entity is undefined, never expanded") {
    const Outcome out = run_all(stream("<message><body>&lol9;</body></message>"));
    CHECK(out.error == errc(stream_errc::restricted_xml));
    CHECK(out.elements.empty());
  }
  SUBCASE("XXE: an external entity is never loaded") {
    const Outcome out = run_all("<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>"
                                "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                                "<message><body>&xxe;</body></message>");
    CHECK(out.error == errc(stream_errc::restricted_xml));
    CHECK(out.events.empty());
  }
  SUBCASE("XXE via an external DTD") {
    const Outcome out =
        run_all("<?xml version='1.0'?><!DOCTYPE stream SYSTEM 'file:///etc/passwd'>"
                "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    CHECK(out.error == errc(stream_errc::restricted_xml));
    CHECK(out.events.empty());
  }
  SUBCASE("a DOCTYPE is refused as soon as it is seen, before its end arrives") {
    Outcome out;
    StreamParser testling(recording(out));
    CHECK(testling.feed("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>") == errc(stream_errc::restricted_xml));
  }
  SUBCASE("undefined entity references: in text and in attribute values") {
    CHECK(run_all(stream("<message><body>&foo;</body></message>")).error == errc(stream_errc::restricted_xml));
    CHECK(run_all(stream("<message id='&foo;'/>")).error == errc(stream_errc::restricted_xml));
    CHECK(run_all(stream("<message>&xxe;</message>")).error == errc(stream_errc::restricted_xml));
  }
  SUBCASE("comments, before the stream, between stanzas and inside one") {
    CHECK(run_all("<?xml version='1.0'?><!-- hi --><stream:stream/>").error == errc(stream_errc::restricted_xml));
    CHECK(run_all(stream("<message/><!-- hi --><message/>")).error == errc(stream_errc::restricted_xml));
    const Outcome inside = run_all(stream("<message><!-- hi --></message>"));
    CHECK(inside.error == errc(stream_errc::restricted_xml));
    CHECK(inside.elements.empty());
  }
  SUBCASE("processing instructions other than the XML declaration") {
    CHECK(run_all("<?xml version='1.0'?><?foo bar?><stream:stream/>").error == errc(stream_errc::restricted_xml));
    CHECK(run_all(stream("<message><?foo bar?></message>")).error == errc(stream_errc::restricted_xml));
    CHECK(run_all(stream("<?xml version='1.0'?>")).error == errc(stream_errc::not_well_formed));
  }
}

TEST_CASE("malformed XML is not-well-formed") {
  for (const char* body : {
           "<message></presence>",
           "<message a='1' a='2'/>",
           "<message a=1/>",
           "<message a='<'/>",
           "<message><body>a & b</body></message>",
           "<message><body>&#1;</body></message>",         // not an XML Char
           "<message><body>\x01</body></message>",
           "<1message/>",
           "<message/></stream:stream2>",
           "<message>]]></message>",
       }) {
    INFO(std::string(body));
    // libxml2 waits for a ';' after '&' and for a '>' outside quotes before it looks at a
    // tag: the stanza that follows provides both.
    CHECK(run_all(stream(std::string(body) + "<message id=';'/>")).error == errc(stream_errc::not_well_formed));
  }
}

TEST_CASE("bytes that break UTF-8 are unsupported-encoding, split anywhere") {
  // RFC 6120 §4.9.3.22
  for (const char* body : {
           "<message><body>\xC3\x28</body></message>",     // truncated sequence
           "<message><body>\xED\xA0\x80</body></message>", // surrogate
           "<message><body>\xC0\xAF</body></message>",     // overlong
           "<message><body>\xF4\x90\x80\x80</body></message>", // past U+10FFFF
           "<message id='\xFF'/>",
           "<message><body>\x80</body></message>",         // stray continuation byte
       }) {
    INFO(std::string(body));
    CHECK(run_all(stream(std::string(body) + "<message id=';'/>")).error ==
          errc(stream_errc::unsupported_encoding));
  }
  // Valid multi-byte text split inside its sequences is fine.
  CHECK_FALSE(run_all(stream("<message><body>h\xC3\xA9llo \xF0\x9F\x98\x80 \xE2\x9C\x93</body></message>")).error);
}

TEST_CASE("after an error every feed returns the same error and reports nothing") {
  Outcome out;
  StreamParser testling(recording(out));
  CHECK(testling.feed(stream("<message></presence>")) == errc(stream_errc::not_well_formed));
  const auto events = out.events.size();
  CHECK(testling.feed("<message/>") == errc(stream_errc::not_well_formed));
  CHECK(testling.error() == errc(stream_errc::not_well_formed));
  CHECK(out.events.size() == events);
}

TEST_CASE("the root element must be <stream:stream> in the streams namespace") {
  // RFC 6120 §4.9.3.10 invalid-namespace.
  CHECK(run_all("<stream xmlns='jabber:client'>").error == errc(stream_errc::invalid_namespace));
  CHECK(run_all("<stream:stream xmlns='jabber:client' xmlns:stream='http://wrong.example.org/'>").error ==
        errc(stream_errc::invalid_namespace));
  CHECK(run_all("<html><body>GET / HTTP/1.1</body></html>").error == errc(stream_errc::invalid_namespace));
  CHECK(run_all("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>").error ==
        errc(stream_errc::invalid_namespace));
  // RFC 6120 §4.9.3.2 bad-namespace-prefix.
  CHECK(run_all("<foobar:stream xmlns='jabber:client' "
                "xmlns:foobar='http://etherx.jabber.org/streams'>")
            .error == errc(stream_errc::bad_namespace_prefix));
  CHECK(run_all("<stream xmlns='http://etherx.jabber.org/streams'>").error == errc(stream_errc::bad_namespace_prefix));
  // Whatever the content namespace, the header is reported: the session judges it.
  const Outcome odd = run_all("<stream:stream xmlns='urn:other' "
                              "xmlns:stream='http://etherx.jabber.org/streams'>");
  CHECK_FALSE(odd.error);
  CHECK(odd.events.at(0).header.content_ns() == "urn:other");
}

TEST_CASE("only UTF-8 is accepted (RFC 6120 §11.6)") {
  CHECK(run_all("<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream "
                "xmlns:stream='http://etherx.jabber.org/streams'>")
            .error == errc(stream_errc::unsupported_encoding));
  CHECK(run_all("<?xml version='1.0' encoding='UTF-16'?><stream:stream "
                "xmlns:stream='http://etherx.jabber.org/streams'>")
            .error == errc(stream_errc::unsupported_encoding));
  std::string utf16 = "\xFF\xFE";
  for (const char c : std::string_view("<?xml version='1.0'?><stream:stream>")) {
    utf16 += c;
    utf16 += '\0';
  }
  CHECK(run_all(utf16).error == errc(stream_errc::unsupported_encoding));
  // UTF-16 without a byte order mark, UTF-32, UTF-16 big endian, EBCDIC (XML 1.0 Appendix F).
  CHECK(run_all(utf16.substr(2)).error == errc(stream_errc::unsupported_encoding));
  CHECK(run_all(std::string("\0\0\0<\0\0\0?", 8)).error == errc(stream_errc::unsupported_encoding));
  CHECK(run_all(std::string("\xFE\xFF\0<\0?", 6)).error == errc(stream_errc::unsupported_encoding));
  CHECK(run_all("\x4C\x6F\xA7\x94\x93\x40").error == errc(stream_errc::unsupported_encoding));
  CHECK(run_all("<?xml version='1.0' encoding = \"Shift_JIS\"?><stream:stream>").error ==
        errc(stream_errc::unsupported_encoding));
  for (const char* decl : {"<?xml version='1.0' encoding='UTF-8'?>", "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
                           "<?xml version='1.0' encoding = 'UTF8' standalone='yes'?>",
                           "\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?>", "\xEF\xBB\xBF", ""}) {
    INFO(decl);
    const Outcome ok = run_all(std::string(decl) + "<stream:stream xmlns='jabber:client' "
                                                   "xmlns:stream='http://etherx.jabber.org/streams'><message/>");
    CHECK_FALSE(ok.error);
    CHECK(ok.elements.size() == 1);
  }
}

TEST_CASE("text between stanzas: whitespace is a keepalive, anything else bad-format") {
  const Outcome ok = run_all(stream(" \n\t\r\n <message/>   \n <message/>  "));
  CHECK_FALSE(ok.error);
  CHECK(ok.elements.size() == 2);
  CHECK(run_all(stream("<message/>hello<message/>")).error == errc(stream_errc::bad_format));
  CHECK(run_all(stream("<message/><![CDATA[x]]>")).error == errc(stream_errc::bad_format));
}

TEST_CASE("input after </stream:stream> is ignored") {
  Outcome out;
  StreamParser testling(recording(out));
  CHECK_FALSE(testling.feed(stream("<message/></stream:stream><garbage")));
  CHECK(testling.closed());
  CHECK_FALSE(testling.feed("more garbage <<<"));
  CHECK_FALSE(testling.error());
  REQUIRE(out.events.size() == 3);
  CHECK(out.events.back().kind == Event::Kind::close);
}

TEST_CASE("limits: stanza size") {
  StreamParser::Limits limits;
  limits.max_stanza_bytes = 100;
  const std::string prefix = "<message><body>";
  const std::string suffix = "</body></message>";
  const auto stanza = [&](std::size_t total) {
    return prefix + std::string(total - prefix.size() - suffix.size(), 'x') + suffix;
  };
  SUBCASE("exactly the limit passes, one byte more does not") {
    const Outcome ok = run_all(stream("\n" + stanza(100) + "  " + stanza(100)), limits);
    CHECK_FALSE(ok.error);
    CHECK(ok.elements.size() == 2);
    const Outcome too_big = run_all(stream(stanza(100) + stanza(101)), limits);
    CHECK(too_big.error == errc(stream_errc::policy_violation));
    CHECK(too_big.elements.size() == 1);
  }
  SUBCASE("an endless start tag is refused while it is still growing") {
    StreamParser testling({}, limits);
    REQUIRE_FALSE(testling.feed(std::string(c2s_header)));
    boost::system::error_code ec = testling.feed("<message to='");
    std::size_t fed = 0;
    while (!ec && fed < 10000) {
      ec = testling.feed("aaaaaaaaaa");
      fed += 10;
    }
    CHECK(ec == errc(stream_errc::policy_violation));
    CHECK(fed <= 100);
  }
  SUBCASE("endless text inside a stanza") {
    StreamParser testling({}, limits);
    REQUIRE_FALSE(testling.feed(stream("<message><body>")));
    boost::system::error_code ec;
    std::size_t fed = 0;
    while (!ec && fed < 100000) {
      ec = testling.feed(std::string(1000, 'y'));
      fed += 1000;
    }
    CHECK(ec == errc(stream_errc::policy_violation));
    CHECK(fed <= 1000);
  }
  SUBCASE("endless whitespace between stanzas is fine") {
    StreamParser testling({}, limits);
    REQUIRE_FALSE(testling.feed(std::string(c2s_header)));
    for (int i = 0; i < 1000; ++i) {
      REQUIRE_FALSE(testling.feed(std::string(1000, ' ')));
    }
    CHECK_FALSE(testling.feed("<message/>"));
  }
  SUBCASE("one large feed with many small stanzas is fine") {
    std::string many;
    for (int i = 0; i < 20000; ++i) {
      many += "<message id='" + std::to_string(i) + "'/>";
    }
    const Outcome out = run(stream(many), 0, limits);
    CHECK_FALSE(out.error);
    CHECK(out.elements.size() == 20000);
  }
  SUBCASE("limits change at run time") {
    StreamParser testling({}, limits);
    REQUIRE_FALSE(testling.feed(stream(stanza(100))));
    StreamParser::Limits raised = limits;
    raised.max_stanza_bytes = 1000;
    testling.set_limits(raised);
    CHECK(testling.limits().max_stanza_bytes == 1000);
    CHECK_FALSE(testling.feed(stanza(1000)));
    testling.set_limits(limits);
    CHECK(testling.feed(stanza(101)) == errc(stream_errc::policy_violation));
  }
}

TEST_CASE("limits: header size") {
  StreamParser::Limits limits;
  limits.max_header_bytes = 200;
  const std::string pad(200, 'x');
  CHECK(run_all("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='" + pad + "'>", limits).error ==
        errc(stream_errc::policy_violation));
  CHECK(run_all("<?xml version='1.0'?>" + std::string(300, ' ') +
                    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
                limits)
            .error == errc(stream_errc::policy_violation));
  CHECK_FALSE(run_all(std::string(c2s_header), limits).error);
}

TEST_CASE("limits: nesting depth") {
  StreamParser::Limits limits;
  limits.max_depth = 3;
  CHECK_FALSE(run_all(stream("<a><b><c/></b></a>"), limits).error);
  CHECK(run_all(stream("<a><b><c><d/></c></b></a>"), limits).error == errc(stream_errc::policy_violation));
  // Deep nesting with the default limit, never completed.
  std::string deep;
  for (int i = 0; i < 100000; ++i) {
    deep += "<a>";
  }
  CHECK(run(stream(deep), 0).error == errc(stream_errc::policy_violation));
}

TEST_CASE("limits: attributes per element, namespace declarations included") {
  StreamParser::Limits limits;
  limits.max_attributes = 5; // the test header has 3 attributes and 2 declarations
  CHECK_FALSE(run_all(stream("<a xmlns='urn:a' xmlns:p='urn:p' b='1' p:c='2' e='4'/>"), limits).error);
  CHECK(run_all(stream("<a xmlns='urn:a' xmlns:p='urn:p' b='1' p:c='2' d='3' e='4'/>"), limits).error ==
        errc(stream_errc::policy_violation));
  CHECK(run_all("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/"
                "streams' a='1' b='2' c='3' d='4'>",
                limits)
            .error == errc(stream_errc::policy_violation));
  // '=', '>' and quotes inside values, CDATA sections and comments are not attributes.
  CHECK_FALSE(run_all(stream("<a b='x=y=z=w=v=u>\"' c=\"'='='='=\"/>"
                             "<m><body><![CDATA[it's a='1' b=\"2\" c='3' d='4' e='5' f='6']]>"
                             "</body></m><n x='1'/>"),
                      limits)
                  .error);
  CHECK(run_all(stream("<m/><!-- a='1' b='2' c='3' d='4' e='5' f='6' --><m/>"), limits).error ==
        errc(stream_errc::restricted_xml));
}

TEST_CASE("a start tag with very many attributes is refused before libxml2 parses it") {
  // libxml2 2.9 checks attributes for duplicates in quadratic time: 30000 of them would cost
  // about half a second of CPU.
  std::string tag = "<message";
  for (int i = 0; i < 30000; ++i) {
    tag += " a" + std::to_string(i) + "=''";
  }
  StreamParser::Limits limits;
  limits.max_stanza_bytes = 1024 * 1024;
  // The tag is not even finished: libxml2 would still be waiting for its '>'.
  const Outcome out = run(stream("<presence/>" + tag), 0, limits);
  CHECK(out.error == errc(stream_errc::policy_violation));
  CHECK(out.elements.size() == 1);
  CHECK(run(stream("<presence/>" + tag), -9, limits) == out);
}

TEST_CASE("reset() from on_element after <starttls/> discards the rest of the chunk") {
  Outcome out;
  StreamParser* parser = nullptr;
  auto callbacks = recording(out);
  callbacks.on_element = [&](Element e) {
    const bool starttls = e.name() == "starttls";
    out.events.push_back({Event::Kind::element, {}, std::move(e)});
    if (starttls) {
      parser->reset();
      CHECK_FALSE(parser->opened());
    }
  };
  StreamParser testling(std::move(callbacks));
  parser = &testling;
  // The TLS ClientHello may follow in the same read; it is not XML and must not be parsed.
  CHECK_FALSE(testling.feed(stream("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                                   "\x16\x03\x01\x02\x00\x01\x00\x01\xfc<message/>")));
  REQUIRE(out.events.size() == 2);
  CHECK_FALSE(testling.opened());
  CHECK_FALSE(testling.error());
  // The restarted stream begins with a new header (RFC 6120 §5.4.3.3).
  CHECK_FALSE(testling.feed(stream("<message/>")));
  REQUIRE(out.events.size() == 4);
  CHECK(out.events[2].kind == Event::Kind::open);
  CHECK(out.events[3].element.name() == "message");
}

TEST_CASE("reset() at other moments") {
  SUBCASE("between feeds, in the middle of a stanza") {
    Outcome out;
    StreamParser testling(recording(out));
    REQUIRE_FALSE(testling.feed(stream("<message><body>half")));
    testling.reset();
    CHECK_FALSE(testling.opened());
    REQUIRE_FALSE(testling.feed(stream("<presence/>")));
    REQUIRE(out.events.size() == 3);
    CHECK(out.events[2].element.name() == "presence");
  }
  SUBCASE("after an error") {
    Outcome out;
    StreamParser testling(recording(out));
    REQUIRE_FALSE(testling.feed("<junk")); // incomplete: nothing to judge yet
    REQUIRE(testling.feed(">") == errc(stream_errc::invalid_namespace));
    testling.reset();
    CHECK_FALSE(testling.error());
    CHECK_FALSE(testling.feed(stream("<message/>")));
  }
  SUBCASE("from on_open and from on_close") {
    Outcome out;
    StreamParser* parser = nullptr;
    int opens = 0;
    auto callbacks = recording(out);
    callbacks.on_open = [&](StreamHeader) {
      if (++opens == 1) {
        parser->reset();
      }
    };
    callbacks.on_close = [&] { parser->reset(); };
    StreamParser testling(std::move(callbacks));
    parser = &testling;
    CHECK_FALSE(testling.feed(stream("<message/>")));
    CHECK(out.elements.empty());
    CHECK_FALSE(testling.feed(stream("<message/></stream:stream>")));
    CHECK(out.elements.size() == 1);
    CHECK_FALSE(testling.closed());
    CHECK_FALSE(testling.feed(stream("<presence/>")));
    CHECK(out.elements.size() == 2);
  }
}

TEST_CASE("an exception from a callback is rethrown by feed and fails the stream") {
  StreamParser::Callbacks callbacks;
  callbacks.on_element = [](Element) { throw std::runtime_error("boom"); };
  StreamParser testling(std::move(callbacks));
  CHECK_THROWS_AS(testling.feed(stream("<message/><message/>")), std::runtime_error);
  CHECK(testling.error() == errc(stream_errc::internal_server_error));
  CHECK(testling.feed("<message/>") == errc(stream_errc::internal_server_error));
}

TEST_CASE("many distinct names: the libxml2 context is recycled without visible effect") {
  std::string body;
  for (int i = 0; i < 300; ++i) {
    const std::string n = std::to_string(i);
    body += "<message id='" + n + "'><x" + n + " xmlns='urn:test:" + n + "' a" + n + "='v'>" + "text " + n + "<p" + n +
            ":y xmlns:p" + n + "='urn:p:" + n + "'/></x" + n + "></message>";
    body += (i % 3 == 0) ? "\r\n" : (i % 3 == 1 ? " " : "");
  }
  const std::string doc = "<stream:stream xmlns='jabber:client' xmlns:db='jabber:server:dialback' "
                          "xmlns:stream='http://etherx.jabber.org/streams' xmlns:e='urn:a&amp;b'>" +
                          body + "<db:result/><e:x/></stream:stream>";
  const Outcome reference = run(doc, 0);
  REQUIRE_FALSE(reference.error);
  REQUIRE(reference.elements.size() == 302);
  CHECK(reference.elements.back().ns() == "urn:a&b");
  StreamParser::Limits limits;
  limits.max_interned_names = 40;
  for (int split : all_splits()) {
    INFO("split " << split);
    CHECK(run(doc, split, limits) == reference);
  }
}

TEST_CASE("an empty feed changes nothing") {
  StreamParser testling({});
  CHECK_FALSE(testling.feed(""));
  CHECK_FALSE(testling.opened());
  CHECK_FALSE(testling.feed(stream("")));
  CHECK(testling.opened());
  CHECK_FALSE(testling.feed(""));
}

TEST_CASE("trim() between stanzas frees libxml2's state without visible effect") {
  const std::string doc = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
                          "xmlns:e='urn:a&amp;b' to='example.com' version='1.0'>"
                          "<message id='1'><body>one</body></message>\n "
                          "<e:x a='&amp;'/><message id='2'><body>two</body></message> \r\n"
                          "<presence/></stream:stream>";
  const Outcome reference = run(doc, 0);
  REQUIRE_FALSE(reference.error);
  REQUIRE(reference.elements.size() == 4);
  for (int split : {1, 3, 7, 16, -1, -2, -3}) {
    INFO("split " << split);
    Outcome out;
    StreamParser testling(recording(out));
    std::size_t trimmed = 0;
    std::mt19937 rng(static_cast<unsigned>(split < 0 ? -split : split));
    std::uniform_int_distribution<std::size_t> size(1, 17);
    for (std::size_t i = 0; i < doc.size() && !out.error;) {
      const std::size_t n = split > 0 ? static_cast<std::size_t>(split) : size(rng);
      out.error = testling.feed(std::string_view(doc).substr(i, n));
      i += n;
      // As a session does whenever it would wait for more input.
      trimmed += testling.trim() ? 1 : 0;
    }
    CHECK(out == reference);
    CHECK(trimmed > 0);
  }
}

TEST_CASE("trim() refuses while anything is held back") {
  Outcome out;
  StreamParser testling(recording(out));
  CHECK_FALSE(testling.trim()); // no stream yet
  CHECK_FALSE(testling.feed(stream("<message><body>par")));
  CHECK_FALSE(testling.trim()); // inside a stanza
  CHECK_FALSE(testling.feed("tial</body></message><pres"));
  CHECK_FALSE(testling.trim()); // an unfinished start tag waits in libxml2's buffer
  CHECK_FALSE(testling.feed("ence/>  "));
  CHECK(testling.trim());       // only whitespace is left over
  CHECK_FALSE(testling.trim()); // nothing left to free
  CHECK_FALSE(testling.feed("<iq type='get' id='x'/></stream:stream>"));
  REQUIRE(out.elements.size() == 3);
  CHECK(out.elements[2].name() == "iq");
  CHECK(out.closed());
  CHECK_FALSE(testling.trim()); // closed
}

TEST_CASE("after trim() limits and errors still apply, and reset() starts over") {
  StreamParser::Limits limits;
  limits.max_stanza_bytes = 64;
  Outcome out;
  StreamParser testling(recording(out), limits);
  CHECK_FALSE(testling.feed(stream("<presence/>")));
  REQUIRE(testling.trim());
  CHECK(testling.feed("<message><body>" + std::string(100, 'x') + "</body></message>") ==
        errc(stream_errc::policy_violation));

  Outcome again;
  StreamParser other(recording(again));
  CHECK_FALSE(other.feed(stream("<presence/>")));
  REQUIRE(other.trim());
  CHECK(other.feed("<a><b></a>") == errc(stream_errc::not_well_formed));

  Outcome restarted;
  StreamParser third(recording(restarted));
  CHECK_FALSE(third.feed(stream("<presence/>")));
  REQUIRE(third.trim());
  third.reset();
  CHECK_FALSE(third.opened());
  CHECK_FALSE(third.feed(stream("<iq type='get' id='1'/>")));
  CHECK(third.opened());
  REQUIRE(restarted.elements.size() == 2);
  CHECK(restarted.elements[1].name() == "iq");
}
