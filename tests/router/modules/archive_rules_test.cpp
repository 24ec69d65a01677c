// router/modules/archive_rules: what goes into a message archive (XEP-0313 §5.1) and the
// stanza ids it hands out (XEP-0359).
#include "router/modules/archive_rules.hpp"

#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace parley::router::modules;
using parley::core::xml::Element;
namespace ns = parley::core::xml::ns;

namespace {

Element parse(const std::string& xml) {
  auto parsed = parley::core::xml::parse_element(xml, ns::client);
  REQUIRE(parsed.has_value());
  return std::move(*parsed);
}

} // namespace

TEST_CASE("archivable: chat and normal messages with a body, and the store hint") {
  CHECK(archivable(parse("<message type='chat'><body>hi</body></message>")));
  CHECK(archivable(parse("<message><body>no type is normal</body></message>")));
  CHECK(archivable(parse("<message type='normal'><body>hi</body></message>")));
  CHECK(archivable(parse("<message type='chat'><store xmlns='urn:xmpp:hints'/>"
                         "<encrypted xmlns='eu.siacs.conversations.axolotl'/></message>")));
  CHECK_FALSE(archivable(parse("<message type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/>"
                               "</message>")));
}

TEST_CASE("archivable: never groupchat, headline, error, carbons, archive results or no-store") {
  CHECK_FALSE(archivable(parse("<message type='groupchat'><body>x</body></message>")));
  CHECK_FALSE(archivable(parse("<message type='headline'><body>x</body></message>")));
  CHECK_FALSE(archivable(parse("<message type='error'><body>x</body></message>")));
  CHECK_FALSE(archivable(parse("<message type='chat'><body>x</body><no-store xmlns='urn:xmpp:hints'/></message>")));
  CHECK_FALSE(archivable(
      parse("<message type='chat'><body>x</body><no-permanent-store xmlns='urn:xmpp:hints'/></message>")));
  CHECK_FALSE(archivable(parse("<message type='chat'><body>x</body><received xmlns='urn:xmpp:carbons:2'/></message>")));
  CHECK_FALSE(archivable(parse("<message><body>x</body><result xmlns='urn:xmpp:mam:2' id='1'/></message>")));
}

TEST_CASE("room_archivable: bodies and subjects, not no-store") {
  CHECK(room_archivable(parse("<message type='groupchat'><body>x</body></message>")));
  CHECK(room_archivable(parse("<message type='groupchat'><subject>topic</subject></message>")));
  CHECK_FALSE(room_archivable(parse("<message type='groupchat'><active xmlns='http://jabber.org/protocol/chatstates'/>"
                                    "</message>")));
  CHECK_FALSE(room_archivable(
      parse("<message type='groupchat'><body>x</body><no-store xmlns='urn:xmpp:hints'/></message>")));
}

TEST_CASE("strip_stanza_ids removes only the ids that claim to be ours, keeping order and text") {
  Element msg = parse("<message from='b@x' to='a@x' type='chat'><body>one</body>"
                      "<stanza-id xmlns='urn:xmpp:sid:0' by='a@x' id='forged'/>"
                      "<stanza-id xmlns='urn:xmpp:sid:0' by='room@conf.x' id='theirs'/>"
                      "<origin-id xmlns='urn:xmpp:sid:0' id='o1'/></message>");
  strip_stanza_ids(msg, "a@x");
  const std::string out = parley::core::xml::serialize(msg, ns::client);
  CHECK(out.find("forged") == std::string::npos);
  CHECK(out.find("id='theirs'") != std::string::npos);
  CHECK(out.find("origin-id") != std::string::npos);
  CHECK(out.find("<body>one</body>") != std::string::npos);
  CHECK(msg.attribute("from") == std::optional<std::string_view>("b@x"));

  Element untouched = parse("<message><body>x</body><stanza-id xmlns='urn:xmpp:sid:0' by='c@x' id='1'/></message>");
  const Element before = untouched;
  strip_stanza_ids(untouched, "a@x");
  CHECK(untouched == before);
}

TEST_CASE("add_stanza_id and new_archive_id") {
  Element msg = parse("<message><body>x</body></message>");
  add_stanza_id(msg, "a@x", "abc");
  const Element* sid = msg.child("stanza-id", ns::stanza_id);
  REQUIRE(sid != nullptr);
  CHECK(sid->attribute("by") == std::optional<std::string_view>("a@x"));
  CHECK(sid->attribute("id") == std::optional<std::string_view>("abc"));

  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_archive_id();
    CHECK(id.size() == 24);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}
