#include "gateways/sms/retry_after.hpp"
#include "gateways/sms/twilio_api.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;
namespace twilio = parley::gateways::sms::twilio;
using Outcome = SendResult::Outcome;

namespace {

const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);

} // namespace

TEST_CASE("Twilio API: URLs and paths") {
  CHECK(twilio::messages_url("https://api.twilio.com", "AC123") ==
        "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
  CHECK(twilio::messages_url("http://127.0.0.1:8080", "AC 1/2") ==
        "http://127.0.0.1:8080/2010-04-01/Accounts/AC%201%2F2/Messages.json");
  CHECK(twilio::inbound_path("sms.example.com") == "/sms/twilio/sms.example.com/inbound");
  CHECK(twilio::status_path("sms.example.com") == "/sms/twilio/sms.example.com/status");
  CHECK(twilio::status_callback_url("https://xmpp.example.com", "sms.example.com", "ab12") ==
        "https://xmpp.example.com/sms/twilio/sms.example.com/status?key=ab12");
}

TEST_CASE("Twilio API: the create form") {
  OutboundSms sms;
  sms.key = "k1";
  sms.from = "+15550001111";
  sms.to = "+15552223333";
  sms.body = "hello";
  const auto form = twilio::message_form(sms, "https://x/cb?key=k1");
  const parley::core::http::FormFields expected = {
      {"From", "+15550001111"}, {"To", "+15552223333"}, {"Body", "hello"}, {"StatusCallback", "https://x/cb?key=k1"}};
  CHECK(form == expected);

  SUBCASE("media without text: no Body, one MediaUrl each") {
    sms.body.clear();
    sms.media_urls = {"https://a/1.jpg", "https://a/2.png"};
    const auto mms = twilio::message_form(sms, "");
    const parley::core::http::FormFields mms_expected = {{"From", "+15550001111"},
                                                         {"To", "+15552223333"},
                                                         {"MediaUrl", "https://a/1.jpg"},
                                                         {"MediaUrl", "https://a/2.png"}};
    CHECK(mms == mms_expected);
  }
}

TEST_CASE("Twilio API: a 201 is accepted with its sid") {
  const auto result = twilio::classify_create_response(
      201, R"({"sid": "SM0123", "status": "queued", "error_code": null, "error_message": null})", std::nullopt, now);
  CHECK(result.outcome == Outcome::accepted);
  CHECK(result.provider_id == "SM0123");
  CHECK(result.reason.find("SM0123") != std::string::npos);
}

TEST_CASE("Twilio API: a 2xx without JSON is accepted all the same") {
  const auto result = twilio::classify_create_response(200, "OK", std::nullopt, now);
  CHECK(result.outcome == Outcome::accepted);
  CHECK(result.provider_id.empty());
}

TEST_CASE("Twilio API: a 2xx that reports failure is permanent") {
  const auto result = twilio::classify_create_response(
      201, R"({"sid": "SM1", "status": "failed", "error_code": 30007, "error_message": "Filtered"})", std::nullopt,
      now);
  CHECK(result.outcome == Outcome::permanent);
  CHECK(result.reason.find("30007") != std::string::npos);
  CHECK(result.reason.find("Filtered") != std::string::npos);
}

TEST_CASE("Twilio API: 4xx is permanent with Twilio's code and message") {
  const auto result = twilio::classify_create_response(
      400,
      R"({"code": 21211, "message": "The 'To' number +1555 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})",
      std::nullopt, now);
  CHECK(result.outcome == Outcome::permanent);
  CHECK(result.reason.find("400") != std::string::npos);
  CHECK(result.reason.find("21211") != std::string::npos);
  CHECK(result.reason.find("not a valid phone number") != std::string::npos);
  CHECK(twilio::classify_create_response(401, R"({"code": 20003, "message": "Authenticate"})", std::nullopt, now)
            .outcome == Outcome::permanent);
}

TEST_CASE("Twilio API: 429 and 5xx are transient; Retry-After is honoured") {
  const auto busy =
      twilio::classify_create_response(429, R"({"code": 20429, "message": "Too Many Requests"})", "7", now);
  CHECK(busy.outcome == Outcome::transient);
  REQUIRE(busy.retry_at);
  CHECK(*busy.retry_at == now + std::chrono::seconds(7));
  CHECK(busy.reason.find("20429") != std::string::npos);
  const auto down = twilio::classify_create_response(503, "", "Wed, 21 Oct 2015 07:28:00 GMT", now);
  CHECK(down.outcome == Outcome::transient);
  REQUIRE(down.retry_at);
  CHECK(*down.retry_at == std::chrono::system_clock::from_time_t(1445412480));
  CHECK(twilio::classify_create_response(500, "", std::nullopt, now).outcome == Outcome::transient);
  CHECK_FALSE(twilio::classify_create_response(500, "", "soon", now).retry_at);
  CHECK(*parse_retry_after("999999", now) == now + std::chrono::hours(24));
}

TEST_CASE("Twilio API: an incoming message") {
  const parley::core::http::FormFields form = {{"ToCountry", "US"},
                                               {"MessageSid", "SM9"},
                                               {"SmsSid", "SM9"},
                                               {"AccountSid", "AC1"},
                                               {"From", "+15557654321"},
                                               {"To", "+15551234567"},
                                               {"Body", "hi there"},
                                               {"NumMedia", "2"},
                                               {"MediaContentType1", "image/png"},
                                               {"MediaUrl1", "https://media.example/2"},
                                               {"MediaUrl0", "https://media.example/1"}};
  auto sms = twilio::parse_inbound(form);
  REQUIRE(sms.has_value());
  CHECK(sms->provider_id == "SM9");
  CHECK(sms->from == "+15557654321");
  CHECK(sms->to == "+15551234567");
  CHECK(sms->body == "hi there");
  CHECK(sms->media_urls == std::vector<std::string>{"https://media.example/1", "https://media.example/2"});
  CHECK(sms->media_types.size() == 2);

  const auto typed = twilio::parse_inbound({{"MessageSid", "MM1"},
                                            {"From", "+1"},
                                            {"To", "+2"},
                                            {"NumMedia", "2"},
                                            {"MediaContentType1", "video/mp4"},
                                            {"MediaUrl1", "https://media.example/v"},
                                            {"MediaUrl0", "https://media.example/i"},
                                            {"MediaContentType0", "image/jpeg"},
                                            {"MediaContentTypeX", "junk/junk"}});
  REQUIRE(typed.has_value());
  CHECK(typed->media_urls == std::vector<std::string>{"https://media.example/i", "https://media.example/v"});
  CHECK(typed->media_types == std::vector<std::string>{"image/jpeg", "video/mp4"});

  CHECK_FALSE(twilio::parse_inbound({{"From", "+1"}, {"To", "+2"}}).has_value());
  CHECK_FALSE(twilio::parse_inbound({{"MessageSid", "SM1"}, {"To", "+2"}}).has_value());
  CHECK_FALSE(
      twilio::parse_inbound({{"MessageSid", "SM1"}, {"From", "+1"}, {"To", "+2"}, {"MediaUrl0", "file:///etc/passwd"}})
          .has_value());
  const auto old_style = twilio::parse_inbound({{"SmsSid", "SM2"}, {"From", "+1"}, {"To", "+2"}});
  REQUIRE(old_style.has_value());
  CHECK(old_style->provider_id == "SM2");
  CHECK(old_style->body.empty());
}

TEST_CASE("Twilio API: status callbacks") {
  auto delivered = twilio::parse_status({{"MessageSid", "SM1"}, {"MessageStatus", "delivered"}}, "k1");
  REQUIRE(delivered.has_value());
  CHECK(delivered->kind == DeliveryReport::Kind::delivered);
  CHECK(delivered->key == "k1");
  CHECK(delivered->provider_id == "SM1");

  auto failed =
      twilio::parse_status({{"MessageSid", "SM1"}, {"MessageStatus", "undelivered"}, {"ErrorCode", "30003"}}, "");
  REQUIRE(failed.has_value());
  CHECK(failed->kind == DeliveryReport::Kind::failed);
  CHECK(failed->error_code == "30003");
  CHECK(twilio::parse_status({{"MessageSid", "SM1"}, {"MessageStatus", "failed"}}, "")->kind ==
        DeliveryReport::Kind::failed);
  CHECK(twilio::parse_status({{"MessageSid", "SM1"}, {"MessageStatus", "sent"}}, "")->kind ==
        DeliveryReport::Kind::progress);
  CHECK(twilio::parse_status({{"SmsSid", "SM1"}, {"SmsStatus", "delivered"}}, "")->kind ==
        DeliveryReport::Kind::delivered);

  CHECK_FALSE(twilio::parse_status({{"MessageSid", "SM1"}}, "k").has_value());
  CHECK_FALSE(twilio::parse_status({{"MessageStatus", "sent"}}, "").has_value());
}
