#include "gateways/sms/sms_stanzas.hpp"

#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;
namespace ns = parley::core::xml::ns;
using parley::core::xml::Element;

namespace {

Element parse(std::string_view xml) {
  auto element = parley::core::xml::parse_element(xml, ns::client);
  REQUIRE(element.has_value());
  return *element;
}

} // namespace

TEST_CASE("SMS stanzas: outbound text and OOB media") {
  SUBCASE("plain text") {
    const auto testling = outbound_content(parse("<message><body>hello</body></message>"));
    CHECK(testling.body == "hello");
    CHECK(testling.media_urls.empty());
  }
  SUBCASE("a shared file: the body is the URL, sent as media only") {
    const auto testling =
        outbound_content(parse("<message><body>https://up.example/a.jpg</body>"
                               "<x xmlns='jabber:x:oob'><url> https://up.example/a.jpg </url></x></message>"));
    CHECK(testling.body.empty());
    CHECK(testling.media_urls == std::vector<std::string>{"https://up.example/a.jpg"});
  }
  SUBCASE("text with media keeps the text; other schemes and repeats are dropped") {
    const auto testling =
        outbound_content(parse("<message><body>look</body>"
                               "<x xmlns='jabber:x:oob'><url>https://up.example/a.jpg</url></x>"
                               "<x xmlns='jabber:x:oob'><url>https://up.example/a.jpg</url></x>"
                               "<x xmlns='jabber:x:oob'><url>file:///etc/passwd</url></x></message>"));
    CHECK(testling.body == "look");
    CHECK(testling.media_urls == std::vector<std::string>{"https://up.example/a.jpg"});
  }
  SUBCASE("an upload URL of our own as body and OOB goes as MediaUrl, not as text") {
    const std::string url = "https://xmpp.example.com/upload/0123456789abcdef0123456789abcdef/cat.jpg";
    const auto testling = outbound_content(
        parse("<message><body>" + url + "</body><x xmlns='jabber:x:oob'><url>" + url + "</url></x></message>"));
    CHECK(testling.body.empty());
    CHECK(testling.media_urls == std::vector<std::string>{url});
  }
  SUBCASE("several files: a body of their URLs alone is not sent as text") {
    const auto testling =
        outbound_content(parse("<message><body>https://up.example/a.jpg\nhttps://up.example/b.png\n</body>"
                               "<x xmlns='jabber:x:oob'><url>https://up.example/a.jpg</url></x>"
                               "<x xmlns='jabber:x:oob'><url>https://up.example/b.png</url></x></message>"));
    CHECK(testling.body.empty());
    CHECK(testling.media_urls.size() == 2);
  }
  SUBCASE("a body with a URL that is not an attachment stays") {
    const auto testling =
        outbound_content(parse("<message><body>https://up.example/a.jpg https://elsewhere.example/</body>"
                               "<x xmlns='jabber:x:oob'><url>https://up.example/a.jpg</url></x></message>"));
    CHECK(testling.body == "https://up.example/a.jpg https://elsewhere.example/");
  }
}

TEST_CASE("SMS stanzas: an inbound SMS") {
  InboundSms sms;
  sms.provider_id = "SM1";
  sms.from = "+15557654321";
  sms.to = "+15551234567";
  sms.body = "hi";
  SUBCASE("text") {
    const auto testling = inbound_message(sms, "+15557654321@sms.example", "alice@example", "sms-SM1");
    CHECK(testling.attribute("from") == "+15557654321@sms.example");
    CHECK(testling.attribute("to") == "alice@example");
    CHECK(testling.attribute("type") == "chat");
    CHECK(testling.attribute("id") == "sms-SM1");
    REQUIRE(testling.child("body", ns::client));
    CHECK(testling.child("body", ns::client)->text() == "hi");
    CHECK(testling.child("x", ns::oob) == nullptr);
  }
  SUBCASE("MMS: OOB and the URL in the body") {
    sms.media_urls = {"https://media.example/1"};
    const auto testling = inbound_message(sms, "+15557654321@sms.example", "alice@example", "sms-SM1");
    CHECK(testling.child("body", ns::client)->text() == "hi\nhttps://media.example/1");
    const Element* x = testling.child("x", ns::oob);
    REQUIRE(x);
    CHECK(x->child("url", ns::oob)->text() == "https://media.example/1");
  }
  SUBCASE("media alone: the body is the URL") {
    sms.body.clear();
    sms.media_urls = {"https://media.example/1", "https://media.example/2"};
    const auto testling = inbound_message(sms, "+15557654321@sms.example", "alice@example", "sms-SM1");
    CHECK(testling.child("body", ns::client)->text() == "https://media.example/1\nhttps://media.example/2");
    int count = 0;
    for ([[maybe_unused]] const auto& x : testling.children("x", ns::oob)) {
      ++count;
    }
    CHECK(count == 2);
  }
}

TEST_CASE("SMS stanzas: a receipt") {
  const auto testling = receipt_message("+1555@sms.example", "alice@example/phone", "r1", "m1");
  CHECK(parley::core::xml::serialize(testling, ns::client) ==
        "<message from='+1555@sms.example' to='alice@example/phone' id='r1'>"
        "<received xmlns='urn:xmpp:receipts' id='m1'/></message>");
}

TEST_CASE("SMS stanzas: a failed delivery") {
  const auto original = parse("<message id='m1' from='alice@example/phone' to='+15551234567@sms.example' "
                              "type='chat'><body>hello</body></message>");
  DeliveryReport report;
  report.provider_id = "SM1";
  report.status = "undelivered";
  report.kind = DeliveryReport::Kind::failed;
  report.error_code = "30003";
  const auto testling = failure_message(original, "twilio", report);
  CHECK(testling.attribute("type") == "error");
  CHECK(testling.attribute("id") == "m1");
  CHECK(testling.attribute("to") == "alice@example/phone");
  CHECK(testling.attribute("from") == "+15551234567@sms.example");
  const Element* error = testling.child("error", ns::client);
  REQUIRE(error);
  CHECK(error->attribute("type") == "cancel");
  CHECK(error->child("service-unavailable", ns::stanzas) != nullptr);
  const Element* text = error->child("text", ns::stanzas);
  REQUIRE(text);
  CHECK(text->text().find("+15551234567") != std::string::npos);
  CHECK(text->text().find("undelivered") != std::string::npos);
  CHECK(text->text().find("30003") != std::string::npos);
  const Element* detail = error->child("delivery-failed", sms_error_ns);
  REQUIRE(detail);
  CHECK(detail->attribute("code") == "30003");
  CHECK(detail->attribute("status") == "undelivered");
  CHECK(detail->attribute("provider") == "twilio");
}
