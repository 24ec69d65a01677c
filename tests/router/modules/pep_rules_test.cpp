// router/modules/pep_rules: node configuration and its forms, publish-options preconditions
// (XEP-0060 §7.1.5), notifications, and the XEP-0115 verification string.
#include "router/modules/pep_rules.hpp"

#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
#include "router/modules/data_form.hpp"

#include <doctest/doctest.h>

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

Element options(const std::string& fields) {
  return parse("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
               "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>" +
               fields + "</x>");
}

std::string field(const std::string& var, const std::string& value) {
  return "<field var='" + var + "'><value>" + value + "</value></field>";
}

} // namespace

TEST_CASE("node config: defaults are XEP-0163's and survive a round trip through storage") {
  const NodeConfig defaults;
  CHECK(defaults.access == AccessModel::presence);
  CHECK(defaults.max_items == 1);
  CHECK(defaults.persist_items);
  CHECK(defaults.send_last);
  CHECK(parse_node_config(serialize(defaults)) == defaults);

  NodeConfig changed;
  changed.access = AccessModel::whitelist;
  changed.max_items = 1000;
  changed.send_last = false;
  changed.notify_retract = false;
  changed.title = "my\nbookmarks";
  const NodeConfig back = parse_node_config(serialize(changed));
  CHECK(back.access == AccessModel::whitelist);
  CHECK(back.max_items == 1000);
  CHECK_FALSE(back.send_last);
  CHECK_FALSE(back.notify_retract);
  CHECK(back.title == "my bookmarks"); // one line per field
  CHECK(parse_node_config("garbage\naccess=open\nmax_items=x") .access == AccessModel::open);
  CHECK(parse_node_config("max_items=x").max_items == 1);
}

TEST_CASE("publish-options: bookmarks (XEP-0402) and OMEMO (XEP-0384) forms apply") {
  NodeConfig config;
  CHECK_FALSE(apply_form(options(field("pubsub#persist_items", "true") + field("pubsub#max_items", "max") +
                                 field("pubsub#send_last_published_item", "never") +
                                 field("pubsub#access_model", "whitelist")),
                         config));
  CHECK(config.access == AccessModel::whitelist);
  CHECK(config.max_items == max_pep_items);
  CHECK_FALSE(config.send_last);

  NodeConfig omemo;
  CHECK_FALSE(apply_form(options(field("pubsub#access_model", "open")), omemo));
  CHECK(omemo.access == AccessModel::open);
}

TEST_CASE("publish-options: unknown options and values are refused and change nothing") {
  NodeConfig config;
  auto bad = apply_form(options(field("pubsub#access_model", "open") + field("pubsub#frobnicate", "1")), config);
  REQUIRE(bad);
  CHECK(bad->find("pubsub#frobnicate") != std::string::npos);
  CHECK(config.access == AccessModel::presence);
  CHECK(apply_form(options(field("pubsub#access_model", "roster")), config));
  CHECK(apply_form(options(field("pubsub#max_items", "0")), config));
  CHECK(apply_form(options(field("pubsub#max_items", "-3")), config));
  CHECK(apply_form(options(field("pubsub#persist_items", "maybe")), config));
  CHECK(config == NodeConfig{});
  // Fields that describe what the service always does are accepted.
  CHECK_FALSE(apply_form(options(field("pubsub#deliver_payloads", "1") + field("pubsub#publish_model", "publishers")),
                         config));
}

TEST_CASE("preconditions: met when every option given is the node's, else the field is named") {
  NodeConfig node;
  node.access = AccessModel::open;
  CHECK_FALSE(check_preconditions(options(field("pubsub#access_model", "open")), node));
  CHECK_FALSE(check_preconditions(options(""), node));
  auto differs = check_preconditions(options(field("pubsub#access_model", "presence")), node);
  REQUIRE(differs);
  CHECK(differs->find("pubsub#access_model") != std::string::npos);
  node.max_items = max_pep_items;
  CHECK_FALSE(check_preconditions(options(field("pubsub#max_items", "max")), node));
  CHECK(check_preconditions(options(field("pubsub#max_items", "10")), node));
  CHECK(check_preconditions(options(field("pubsub#whatever", "1")), node));
}

TEST_CASE("config form: FORM_TYPE node_config and the current values, and it applies back") {
  NodeConfig config;
  config.access = AccessModel::open;
  config.max_items = 7;
  const Element form = config_form(config);
  const DataForm read = DataForm::parse(form);
  CHECK(read.form_type() == pubsub_node_config_form);
  CHECK(read.value("pubsub#access_model") == "open");
  CHECK(read.value("pubsub#max_items") == "7");
  NodeConfig back;
  CHECK_FALSE(apply_form(form, back));
  CHECK(back == config);
}

TEST_CASE("events: items, retract, delete as headline messages from the owner") {
  const Element payload = parse("<metadata xmlns='urn:xmpp:avatar:metadata'/>");
  const Element msg = event_message("alice@example.com", "bob@example.com/phone", "urn:xmpp:avatar:metadata", "abc",
                                    &payload);
  CHECK(msg.attribute("type") == "headline");
  CHECK(msg.attribute("from") == "alice@example.com");
  const Element* items = msg.child("event", ns::pubsub_event)->child("items", ns::pubsub_event);
  REQUIRE(items != nullptr);
  CHECK(items->attribute("node") == "urn:xmpp:avatar:metadata");
  CHECK(items->child("item", ns::pubsub_event)->attribute("id") == "abc");
  CHECK(items->child("item", ns::pubsub_event)->child("metadata", "urn:xmpp:avatar:metadata") != nullptr);

  const Element retract = retract_message("a@x", "b@x/r", "n", "i1");
  CHECK(retract.child("event", ns::pubsub_event)->child("items", ns::pubsub_event)->child("retract", ns::pubsub_event)
            ->attribute("id") == "i1");
  const Element del = node_event_message("a@x", "b@x/r", "delete", "n");
  CHECK(del.child("event", ns::pubsub_event)->child("delete", ns::pubsub_event)->attribute("node") == "n");
}

TEST_CASE("pubsub errors carry the stanza condition and the pubsub one") {
  const Element iq = parse("<iq type='set' id='1' from='a@x/r'><pubsub xmlns='http://jabber.org/protocol/pubsub'/></iq>");
  const Element error = pubsub_error(iq, parley::core::stanza::stanza_errc::conflict, "precondition-not-met", "why");
  const Element* e = error.child("error", ns::client);
  REQUIRE(e != nullptr);
  CHECK(e->child("conflict", ns::stanzas) != nullptr);
  CHECK(e->child("precondition-not-met", pubsub_errors_ns) != nullptr);
  const Element unsupported =
      pubsub_error(iq, parley::core::stanza::stanza_errc::feature_not_implemented, "unsupported", "", "subscribe");
  CHECK(unsupported.child("error", ns::client)->child("unsupported", pubsub_errors_ns)->attribute("feature") ==
        "subscribe");
}

TEST_CASE("caps: XEP-0115 §5.2 simple example") {
  const Element query = parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
                              "<identity category='client' name='Exodus 0.9.1' type='pc'/>"
                              "<feature var='http://jabber.org/protocol/caps'/>"
                              "<feature var='http://jabber.org/protocol/disco#info'/>"
                              "<feature var='http://jabber.org/protocol/disco#items'/>"
                              "<feature var='http://jabber.org/protocol/muc'/></query>");
  auto s = caps_verification_string(query);
  REQUIRE(s);
  CHECK(*s == "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<"
              "http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<");
  CHECK(caps_hash("sha-1", *s) == "QgayPKawpkPSDYmwT/WM94uAlu0=");
  CHECK_FALSE(caps_hash("md5", *s));
}

TEST_CASE("caps: XEP-0115 §5.3 complex example with languages and an extended form") {
  const Element query = parse(
      "<query xmlns='http://jabber.org/protocol/disco#info'>"
      "<identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>"
      "<identity xml:lang='el' category='client' name='\xce\xa8 0.11' type='pc'/>"
      "<feature var='http://jabber.org/protocol/caps'/>"
      "<feature var='http://jabber.org/protocol/disco#info'/>"
      "<feature var='http://jabber.org/protocol/disco#items'/>"
      "<feature var='http://jabber.org/protocol/muc'/>"
      "<x xmlns='jabber:x:data' type='result'>"
      "<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>"
      "<field var='ip_version'><value>ipv4</value><value>ipv6</value></field>"
      "<field var='os'><value>Mac</value></field>"
      "<field var='os_version'><value>10.5.1</value></field>"
      "<field var='software'><value>Psi</value></field>"
      "<field var='software_version'><value>0.11</value></field></x></query>");
  auto s = caps_verification_string(query);
  REQUIRE(s);
  CHECK(caps_hash("sha-1", *s) == "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}

TEST_CASE("caps: duplicates or a visible FORM_TYPE cannot be verified (§5.4)") {
  CHECK_FALSE(caps_verification_string(parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
                                             "<feature var='a'/><feature var='a'/></query>")));
  CHECK_FALSE(caps_verification_string(parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
                                             "<identity category='client' type='pc'/>"
                                             "<identity category='client' type='pc'/></query>")));
  CHECK_FALSE(caps_verification_string(
      parse("<query xmlns='http://jabber.org/protocol/disco#info'><x xmlns='jabber:x:data' type='result'>"
            "<field var='FORM_TYPE'><value>urn:x</value></field></x></query>")));
  // '<' inside a field would let another answer produce the same string.
  CHECK_FALSE(caps_verification_string(parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
                                             "<identity category='client' type='pc' name='x&lt;y'/></query>")));
  CHECK_FALSE(caps_verification_string(parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
                                             "<feature var='a&lt;b'/></query>")));
  const Element features = parse("<query xmlns='http://jabber.org/protocol/disco#info'>"
                                 "<feature var='urn:xmpp:avatar:metadata+notify'/><feature var='b'/></query>");
  CHECK(disco_features(features) == std::vector<std::string>{"b", "urn:xmpp:avatar:metadata+notify"});
}

TEST_CASE("avatars: the vCard photo, its hash, and back (XEP-0153, XEP-0398)") {
  const Element vcard = parse("<vCard xmlns='vcard-temp'><FN>A</FN><PHOTO><TYPE>image/jpeg</TYPE>"
                              "<BINVAL>aGVs\nbG8=</BINVAL></PHOTO></vCard>");
  auto image = vcard_photo(vcard);
  REQUIRE(image);
  CHECK(image->type == "image/jpeg");
  CHECK(image->bytes == "hello");
  CHECK(sha1_hex("hello") == "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
  CHECK_FALSE(vcard_photo(parse("<vCard xmlns='vcard-temp'><PHOTO><EXTVAL>http://x</EXTVAL></PHOTO></vCard>")));
  CHECK_FALSE(vcard_photo(parse("<vCard xmlns='vcard-temp'><PHOTO><BINVAL>not base64!</BINVAL></PHOTO></vCard>")));

  const Element replaced = with_photo(vcard, AvatarImage{"image/png", "png!"});
  CHECK(replaced.child("FN", ns::vcard) != nullptr);
  CHECK(vcard_photo(replaced)->bytes == "png!");
  CHECK(vcard_photo(replaced)->type == "image/png");
  CHECK_FALSE(vcard_photo(with_photo(vcard, std::nullopt)));

  const Element meta = parse("<metadata xmlns='urn:xmpp:avatar:metadata'>"
                             "<info id='a' type='image/png' bytes='1' url='https://elsewhere/a.png'/>"
                             "<info id='b' type='image/webp' bytes='2'/></metadata>");
  auto info = stored_avatar_info(meta);
  REQUIRE(info);
  CHECK(info->id == "b");
  CHECK(info->type == "image/webp");
  CHECK_FALSE(stored_avatar_info(parse("<metadata xmlns='urn:xmpp:avatar:metadata'/>")));
  const Element built = avatar_metadata_payload(AvatarImage{"image/png", "abc"}, "id1");
  CHECK(built.child("info", avatar_metadata_node)->attribute("bytes") == "3");
  CHECK(avatar_data_payload(AvatarImage{"image/png", "hello"}).text() == "aGVsbG8=");
}

TEST_CASE("avatars: the hash goes into presence unless the client sent an empty photo (XEP-0398 4)") {
  Element plain = parse("<presence/>");
  CHECK(stamp_avatar_hash(plain, "abc"));
  CHECK(plain.child("x", vcard_update_ns)->child("photo", vcard_update_ns)->text() == "abc");
  CHECK_FALSE(stamp_avatar_hash(plain, "abc")); // already there

  Element not_ready = parse("<presence><x xmlns='vcard-temp:x:update'><photo/></x></presence>");
  CHECK_FALSE(stamp_avatar_hash(not_ready, "abc"));
  CHECK(not_ready.child("x", vcard_update_ns)->child("photo", vcard_update_ns)->text().empty());

  Element empty_x = parse("<presence><x xmlns='vcard-temp:x:update'/></presence>");
  CHECK(stamp_avatar_hash(empty_x, "abc"));
  Element stale = parse("<presence><x xmlns='vcard-temp:x:update'><photo>old</photo></x></presence>");
  CHECK(stamp_avatar_hash(stale, "abc"));
  CHECK(stale.child("x", vcard_update_ns)->child("photo", vcard_update_ns)->text() == "abc");
  std::size_t xs = 0;
  for (const Element& x : stale.children("x", vcard_update_ns)) {
    (void)x;
    ++xs;
  }
  CHECK(xs == 1);
}
