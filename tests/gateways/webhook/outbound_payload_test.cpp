#include "gateways/webhook/outbound_payload.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace parley::gateways::webhook;
using namespace std::chrono;

namespace {

// 2026-11-24T03:37:05Z
constexpr system_clock::time_point example_time =
    sys_days{year{2026} / November / 24} + hours{3} + minutes{37} + seconds{5};

} // namespace

TEST_CASE("outbound payload: members in the documented order") {
  OutboundMessage testling;
  testling.id = "a1b2c3";
  testling.from = "alice@example.com";
  testling.to = "deploy@webhook.example.com";
  testling.body = "ship it";
  testling.type = "chat";
  testling.timestamp = example_time + milliseconds{999};
  CHECK(outbound_payload(testling) ==
        R"({"id":"a1b2c3","from":"alice@example.com","to":"deploy@webhook.example.com","body":"ship it",)"
        R"("timestamp":"2026-11-24T03:37:05Z","type":"chat"})");

  testling.subject = "release";
  testling.thread = "thread-7";
  testling.type = "";
  CHECK(outbound_payload(testling) ==
        R"({"id":"a1b2c3","from":"alice@example.com","to":"deploy@webhook.example.com","body":"ship it",)"
        R"("subject":"release","thread":"thread-7","timestamp":"2026-11-24T03:37:05Z","type":"normal"})");
}

TEST_CASE("outbound payload: escaping and bytes that are not UTF-8") {
  OutboundMessage testling;
  testling.id = "id\"1";
  testling.from = "alice@example.com";
  testling.to = "hook@webhook.example.com";
  testling.body = "quote \" backslash \\ newline \n tab \t nul \x01 caf\xC3\xA9 bad \xFF end";
  testling.type = "chat";
  testling.timestamp = example_time;
  const std::string json = outbound_payload(testling);
  const auto parsed = nlohmann::json::parse(json);
  CHECK(parsed["id"] == "id\"1");
  CHECK(parsed["body"] == "quote \" backslash \\ newline \n tab \t nul \x01 caf\xC3\xA9 bad \xEF\xBF\xBD end");
}

TEST_CASE("RFC 3339 timestamps in UTC") {
  CHECK(rfc3339_utc(system_clock::time_point{}) == "1970-01-01T00:00:00Z");
  CHECK(rfc3339_utc(example_time) == "2026-11-24T03:37:05Z");
  CHECK(rfc3339_utc(sys_days{year{2024} / February / 29} + hours{23} + minutes{59} + seconds{59} +
                    microseconds{999999}) == "2024-02-29T23:59:59Z");
  CHECK(rfc3339_utc(sys_days{year{1969} / December / 31} + hours{23} + minutes{59} + seconds{59}) ==
        "1969-12-31T23:59:59Z");
  CHECK(rfc3339_utc(sys_days{year{2100} / March / 1}) == "2100-03-01T00:00:00Z");
}

TEST_CASE("replies: reply, then text, then body") {
  CHECK(parse_reply(R"({"reply": "deploying 1.4.2"})") == "deploying 1.4.2");
  CHECK(parse_reply(R"({"text": "from text"})") == "from text");
  CHECK(parse_reply(R"({"body": "from body"})") == "from body");
  CHECK(parse_reply(R"({"body": "b", "text": "t", "reply": "r"})") == "r");
  CHECK(parse_reply(R"({"reply": 42, "text": "t"})") == "t");
  CHECK(parse_reply(R"({"reply": "  ", "body": "b"})") == "b");
  CHECK(parse_reply(R"({"reply": "line 1\nline 2", "ok": true})") == "line 1\nline 2");
  CHECK(parse_reply(" \n{\"reply\": \"caf\\u00e9\"}\n") == "caf\xC3\xA9");
}

TEST_CASE("replies: anything else is no reply, not an error") {
  for (const std::string_view body :
       {"", "OK", "ok\n", "null", "true", "42", R"("reply")", R"(["reply", "x"])", R"({})", R"({"ok": true})",
        R"({"reply": null})", R"({"reply": ""})", R"({"reply": {"text": "nested"}})", R"({"reply": ["x"]})",
        R"({"reply": "x")", "{\"reply\": \"caf\xE9\"}", "<html><body>Accepted</body></html>"}) {
    CAPTURE(body);
    CHECK_FALSE(parse_reply(body).has_value());
  }
  const std::string deep = R"({"reply": "x", "n": )" + std::string(100, '[') + std::string(100, ']') + "}";
  CHECK_FALSE(parse_reply(deep).has_value());
}

TEST_CASE("replies are bounded") {
  const std::string long_reply(20000, 'r');
  const auto reply = parse_reply(nlohmann::json{{"reply", long_reply}}.dump());
  REQUIRE(reply.has_value());
  CHECK(reply->size() == 16 * 1024);
  CHECK(reply->ends_with("\xE2\x80\xA6"));
}
