#include "gateways/sms/kannel_api.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;
namespace kannel = parley::gateways::sms::kannel;
using Outcome = SendResult::Outcome;

namespace {

const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);

parley::core::http::Request get(std::string query) {
  parley::core::http::Request request;
  request.method = "GET";
  request.query = std::move(query);
  return request;
}

} // namespace

TEST_CASE("Kannel API: paths and the dlr-url") {
  CHECK(kannel::inbound_path("sms.example.com") == "/sms/kannel/sms.example.com/inbound");
  CHECK(kannel::dlr_path("sms.example.com") == "/sms/kannel/sms.example.com/dlr");
  CHECK(kannel::dlr_url("http://10.0.0.5:5280", "sms.example.com", "s3cret", "ab12") ==
        "http://10.0.0.5:5280/sms/kannel/sms.example.com/dlr?secret=s3cret&key=ab12&type=%d&reply=%A");
}

TEST_CASE("Kannel API: the sendsms URL") {
  kannel::Account account{"http://127.0.0.1:13013/cgi-bin/sendsms", "parley", "p&w", ""};
  OutboundSms sms;
  sms.key = "k1";
  sms.from = "+15550001111";
  sms.to = "+15552223333";
  sms.body = "hello world";
  SUBCASE("GSM text: no coding, everything form-encoded") {
    const auto url = kannel::sendsms_url(account, sms, "http://x/dlr?key=k1&type=%d");
    CHECK(url == "http://127.0.0.1:13013/cgi-bin/sendsms?username=parley&password=p%26w&from=%2B15550001111"
                 "&to=%2B15552223333&text=hello+world&charset=UTF-8&dlr-mask=27"
                 "&dlr-url=http%3A%2F%2Fx%2Fdlr%3Fkey%3Dk1%26type%3D%25d");
  }
  SUBCASE("other characters: coding=2 (UCS-2)") {
    sms.body = "caf\xC3\xA9 \xE2\x98\x83";
    const auto url = kannel::sendsms_url(account, sms, "");
    CHECK(url.find("&coding=2") != std::string::npos);
    CHECK(url.find("dlr-url") == std::string::npos);
  }
  SUBCASE("media URLs join the text; an smsc routes") {
    account.smsc = "fake";
    sms.media_urls = {"https://up.example/a.jpg"};
    const auto url = kannel::sendsms_url(account, sms, "");
    CHECK(url.find("text=hello+world%0Ahttps%3A%2F%2Fup.example%2Fa.jpg") != std::string::npos);
    CHECK(url.ends_with("&smsc=fake"));
  }
}

TEST_CASE("Kannel API: sendsms answers") {
  CHECK(kannel::classify_sendsms_response(202, "0: Accepted for delivery", std::nullopt, now).outcome ==
        Outcome::accepted);
  CHECK(kannel::classify_sendsms_response(202, "3: Queued for later delivery", std::nullopt, now).outcome ==
        Outcome::accepted);
  const auto denied = kannel::classify_sendsms_response(403, "Authorization failed for sendsms", std::nullopt, now);
  CHECK(denied.outcome == Outcome::permanent);
  CHECK(denied.reason.find("Authorization failed") != std::string::npos);
  const auto busy = kannel::classify_sendsms_response(503, "Sending failed.", "3", now);
  CHECK(busy.outcome == Outcome::transient);
  REQUIRE(busy.retry_at);
  CHECK(*busy.retry_at == now + std::chrono::seconds(3));
}

TEST_CASE("Kannel API: inbound from a get-url") {
  const auto sms = kannel::parse_inbound(
      get("secret=x&from=%2B15557654321&to=%2B15550100001&text=h%C3%A9+there&charset=UTF-8&id=5416d550-afc3"));
  REQUIRE(sms.has_value());
  CHECK(sms->provider_id == "5416d550-afc3");
  CHECK(sms->from == "+15557654321");
  CHECK(sms->to == "+15550100001");
  CHECK(sms->body == "h\xC3\xA9 there");

  SUBCASE("Latin-1 and UTF-16BE are turned into UTF-8") {
    const auto latin = kannel::parse_inbound(get("from=1&to=2&id=a&text=caf%E9&charset=ISO-8859-1"));
    REQUIRE(latin.has_value());
    CHECK(latin->body == "caf\xC3\xA9");
    const auto ucs2 = kannel::parse_inbound(get("from=1&to=2&id=a&text=%00h%00%E9%26%03&charset=UTF-16BE"));
    REQUIRE(ucs2.has_value());
    CHECK(ucs2->body == "h\xC3\xA9\xE2\x98\x83");
  }
  SUBCASE("what is missing or unreadable is refused") {
    CHECK_FALSE(kannel::parse_inbound(get("from=1&to=2&text=x")).has_value());
    CHECK_FALSE(kannel::parse_inbound(get("to=2&id=a&text=x")).has_value());
    CHECK_FALSE(kannel::parse_inbound(get("from=1&to=2&id=a&text=%FF%FE")).has_value());
    CHECK_FALSE(kannel::parse_inbound(get("from=1&to=2&id=a&text=x&charset=EBCDIC")).has_value());
  }
}

TEST_CASE("Kannel API: inbound from a post-url") {
  parley::core::http::Request request;
  request.method = "POST";
  request.query = "secret=x&id=abc";
  request.headers = {{"content-type", "text/plain; charset=UTF-16BE"},
                     {"x-kannel-from", "+15557654321"},
                     {"x-kannel-to", "+15550100001"}};
  request.body = std::string("\x00h\x00i", 4);
  const auto sms = kannel::parse_inbound(request);
  REQUIRE(sms.has_value());
  CHECK(sms->body == "hi");
  CHECK(sms->from == "+15557654321");
  CHECK(sms->to == "+15550100001");
  CHECK(sms->provider_id == "abc");
}

TEST_CASE("Kannel API: delivery reports") {
  using Kind = DeliveryReport::Kind;
  const auto delivered = kannel::parse_dlr({{"key", "k1"}, {"type", "1"}, {"reply", ""}});
  REQUIRE(delivered.has_value());
  CHECK(delivered->kind == Kind::delivered);
  CHECK(delivered->status == "delivered");
  CHECK(delivered->key == "k1");
  CHECK(delivered->provider_id.empty());
  CHECK(kannel::parse_dlr({{"key", "k1"}, {"type", "8"}, {"reply", "ACK/"}})->kind == Kind::progress);
  const auto failed =
      kannel::parse_dlr({{"key", "k1"}, {"type", "16"}, {"reply", "NACK/0x0000000b/Invalid Destination Address"}});
  REQUIRE(failed.has_value());
  CHECK(failed->kind == Kind::failed);
  CHECK(failed->status == "rejected");
  CHECK(failed->error_code == "0x0000000b");
  CHECK(failed->error_text == "NACK/0x0000000b/Invalid Destination Address");
  CHECK(kannel::parse_dlr({{"key", "k1"}, {"type", "2"}})->status == "undeliverable");
  CHECK_FALSE(kannel::parse_dlr({{"type", "1"}}).has_value());
  CHECK_FALSE(kannel::parse_dlr({{"key", "k1"}, {"type", "%d"}}).has_value());
}
