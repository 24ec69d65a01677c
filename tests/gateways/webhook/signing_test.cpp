#include "gateways/webhook/signing.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::webhook;
using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

// The test vector of the Standard Webhooks reference libraries (e.g. python/tests/test_webhooks.py,
// javascript/src/index.test.ts); checked independently with Python's hmac module.
constexpr std::string_view vector_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view vector_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr sys_seconds vector_time{seconds{1614265330}};
constexpr std::string_view vector_body = R"({"test": 2432232314})";
constexpr std::string_view vector_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

StandardWebhookHeaders vector_headers(std::string_view signature = vector_signature) {
  return {vector_id, "1614265330", signature};
}

boost::system::error_code error_of(const boost::system::result<void>& r) {
  return r ? boost::system::error_code() : r.error();
}

} // namespace

TEST_CASE("Standard Webhooks: sign reproduces the reference libraries' vector") {
  auto testling = sign(vector_secret, vector_id, vector_time, vector_body);
  REQUIRE(testling.has_value());
  CHECK(*testling == vector_signature);
}

TEST_CASE("Standard Webhooks: a secret without whsec_ is the key's raw bytes") {
  // Python: base64(hmac.new(b"correct horse battery staple", b"msg_2KW....1674087231.{...}", sha256))
  auto testling = sign("correct horse battery staple", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
                       sys_seconds{seconds{1674087231}}, R"({"type":"contact.created"})");
  REQUIRE(testling.has_value());
  CHECK(*testling == "v1,ZPeqMaM78UVs80G1Ul/Gv2jyMwoe4hQZjaJHeDqk/P8=");

  CHECK(signing_key("correct horse").value() == "correct horse");
  CHECK(signing_key("whsec_Zm9vYmFy").value() == "foobar");
}

TEST_CASE("Standard Webhooks: secrets and ids that cannot sign") {
  CHECK(signing_key("").error() == signature_errc::invalid_secret);
  CHECK(signing_key("whsec_").error() == signature_errc::invalid_secret);
  CHECK(signing_key("whsec_not base64!").error() == signature_errc::invalid_secret);
  CHECK(signing_key("whsec_Zm9vYmE").error() == signature_errc::invalid_secret); // padding required
  CHECK(sign("", vector_id, vector_time, vector_body).error() == signature_errc::invalid_secret);
  CHECK(sign(vector_secret, "", vector_time, vector_body).error() == signature_errc::invalid_message_id);
  CHECK(sign(vector_secret, "msg.1", vector_time, vector_body).error() == signature_errc::invalid_message_id);
}

TEST_CASE("Standard Webhooks: verify accepts the vector within the tolerance") {
  CHECK(verify(vector_secret, vector_headers(), vector_body, vector_time).has_value());
  CHECK(verify(vector_secret, vector_headers(), vector_body, vector_time + seconds{300}).has_value());
  CHECK(verify(vector_secret, vector_headers(), vector_body, vector_time - seconds{300}).has_value());
  CHECK(error_of(verify(vector_secret, vector_headers(), vector_body, vector_time + seconds{301})) ==
        signature_errc::timestamp_too_old);
  CHECK(error_of(verify(vector_secret, vector_headers(), vector_body, vector_time - seconds{301})) ==
        signature_errc::timestamp_too_new);
  // A caller-chosen tolerance.
  CHECK(error_of(verify(vector_secret, vector_headers(), vector_body, vector_time + seconds{61}, seconds{60})) ==
        signature_errc::timestamp_too_old);
  CHECK(verify(vector_secret, vector_headers(), vector_body, vector_time + seconds{3600}, seconds{3600}).has_value());
}

TEST_CASE("Standard Webhooks: verify names each missing header") {
  StandardWebhookHeaders headers = vector_headers();
  headers.id.reset();
  CHECK(error_of(verify(vector_secret, headers, vector_body, vector_time)) == signature_errc::missing_id);
  headers = vector_headers();
  headers.timestamp.reset();
  CHECK(error_of(verify(vector_secret, headers, vector_body, vector_time)) == signature_errc::missing_timestamp);
  headers = vector_headers();
  headers.signature.reset();
  CHECK(error_of(verify(vector_secret, headers, vector_body, vector_time)) == signature_errc::missing_signature);
  CHECK(error_of(verify(vector_secret, {}, vector_body, vector_time)) == signature_errc::missing_id);
}

TEST_CASE("Standard Webhooks: verify refuses malformed ids and timestamps") {
  StandardWebhookHeaders headers = vector_headers();
  for (const std::string_view id : {"", "msg.p5jXN8AQM9LWM0D4loKWxJek", "."}) {
    CAPTURE(id);
    headers.id = id;
    CHECK(error_of(verify(vector_secret, headers, vector_body, vector_time)) == signature_errc::malformed_id);
  }
  headers = vector_headers();
  for (const std::string_view ts : {"", "abc", "-1614265330", "+1614265330", "1614265330.5", "1614265330s",
                                    "0x60379ef2", "1 614265330", "1234567890123456789"}) {
    CAPTURE(ts);
    headers.timestamp = ts;
    CHECK(error_of(verify(vector_secret, headers, vector_body, vector_time)) == signature_errc::malformed_timestamp);
  }
  // Surrounding whitespace is not part of the value (RFC 9110 §5.5).
  headers.timestamp = " 1614265330 ";
  CHECK(verify(vector_secret, headers, vector_body, vector_time).has_value());
}

TEST_CASE("Standard Webhooks: the timestamp is signed as sent") {
  // Python: the vector's key over "msg_p5j....01614265330.{body}"
  StandardWebhookHeaders headers = vector_headers("v1,HIx6LAZYyqSIVlrnt3IQyW4sH3DpS7I7MvDYauyP37k=");
  headers.timestamp = "01614265330";
  CHECK(verify(vector_secret, headers, vector_body, vector_time).has_value());
  // The vector's own signature does not cover the zero-padded form.
  headers.signature = vector_signature;
  CHECK(error_of(verify(vector_secret, headers, vector_body, vector_time)) == signature_errc::no_matching_signature);
}

TEST_CASE("Standard Webhooks: any v1 entry of a space-delimited list may match") {
  const std::string good(vector_signature);
  const std::string bad = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=";
  for (const std::string& header : {good, bad + " " + good, good + " " + bad, "v1a,hnO3f9T8Ytu9HwrXslvumlUpq== " + good,
                                    "  " + bad + "   " + good + "  ", "garbage " + good}) {
    CAPTURE(header);
    CHECK(verify(vector_secret, vector_headers(header), vector_body, vector_time).has_value());
  }
  const std::string signature_only = good.substr(3);
  for (const std::string& header :
       {bad, std::string(), std::string(" "), "v2," + signature_only, signature_only, "v1a," + signature_only,
        "V1," + signature_only, good + "x", "v1, " + signature_only, good.substr(0, good.size() - 1)}) {
    CAPTURE(header);
    CHECK(error_of(verify(vector_secret, vector_headers(header), vector_body, vector_time)) ==
          signature_errc::no_matching_signature);
  }
}

TEST_CASE("Standard Webhooks: any change to id, timestamp, body or secret breaks the signature") {
  CHECK(error_of(verify(vector_secret, vector_headers(), R"({"test": 2432232315})", vector_time)) ==
        signature_errc::no_matching_signature);
  CHECK(error_of(verify(vector_secret, vector_headers(), R"({"test":2432232314})", vector_time)) ==
        signature_errc::no_matching_signature);
  StandardWebhookHeaders headers = vector_headers();
  headers.id = "msg_p5jXN8AQM9LWM0D4loKWxJel";
  CHECK(error_of(verify(vector_secret, headers, vector_body, vector_time)) == signature_errc::no_matching_signature);
  headers = vector_headers();
  headers.timestamp = "1614265331";
  CHECK(error_of(verify(vector_secret, headers, vector_body, vector_time)) == signature_errc::no_matching_signature);
  CHECK(error_of(verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx", vector_headers(), vector_body, vector_time)) ==
        signature_errc::no_matching_signature);
  // The same characters taken as a raw key are a different key.
  CHECK(error_of(verify("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", vector_headers(), vector_body, vector_time)) ==
        signature_errc::no_matching_signature);
  CHECK(error_of(verify("whsec_", vector_headers(), vector_body, vector_time)) == signature_errc::invalid_secret);
}

TEST_CASE("Standard Webhooks: what sign makes, verify accepts") {
  const std::string secret = "whsec_" + std::string("c2VjcmV0LWtleS1vZi10d2VudHktZm91ci1ieXRlcw==");
  const std::string body = "line one\nline two \xE2\x9C\x93";
  const sys_seconds now{seconds{1'800'000'000}};
  auto signature = sign(secret, "msg_1", now, body);
  REQUIRE(signature.has_value());
  CHECK(verify(secret, {"msg_1", "1800000000", *signature}, body, now).has_value());
}

TEST_CASE("GitHub: X-Hub-Signature-256 matches GitHub's documented example") {
  // docs.github.com, "Validating webhook deliveries": secret "It's a Secret to Everybody".
  constexpr std::string_view secret = "It's a Secret to Everybody";
  constexpr std::string_view expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  auto testling = github_signature(secret, "Hello, World!");
  REQUIRE(testling.has_value());
  CHECK(*testling == expected);

  CHECK(verify_github(secret, expected, "Hello, World!").has_value());
  CHECK(
      verify_github(secret, "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17", "Hello, World!")
          .has_value());
  CHECK(verify_github(secret, " sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17 ",
                      "Hello, World!")
            .has_value());
}

TEST_CASE("GitHub: X-Hub-Signature-256 failures") {
  constexpr std::string_view secret = "It's a Secret to Everybody";
  constexpr std::string_view good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  CHECK(error_of(verify_github(secret, std::nullopt, "Hello, World!")) == signature_errc::missing_signature);
  CHECK(error_of(verify_github(secret, good, "Hello, World?")) == signature_errc::no_matching_signature);
  CHECK(error_of(verify_github("It's a Secret to Everybody!", good, "Hello, World!")) ==
        signature_errc::no_matching_signature);
  for (const std::string_view header :
       {std::string_view(), std::string_view("sha256="), good.substr(7),
        std::string_view("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
        good.substr(0, good.size() - 1),
        std::string_view("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1g"),
        std::string_view("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17a")}) {
    CAPTURE(header);
    CHECK(error_of(verify_github(secret, header, "Hello, World!")) == signature_errc::malformed_signature);
  }
  CHECK(github_signature("", "Hello, World!").error() == signature_errc::invalid_secret);
  CHECK(error_of(verify_github("", good, "Hello, World!")) == signature_errc::invalid_secret);
}

TEST_CASE("Bearer tokens") {
  constexpr std::string_view token = "s3cr3t-t0ken_with.chars~+/=";
  CHECK(check_bearer("Bearer s3cr3t-t0ken_with.chars~+/=", token).has_value());
  CHECK(check_bearer("bearer s3cr3t-t0ken_with.chars~+/=", token).has_value());
  CHECK(check_bearer("BEARER   s3cr3t-t0ken_with.chars~+/=  ", token).has_value());

  CHECK(error_of(check_bearer(std::nullopt, token)) == signature_errc::missing_authorization);
  for (const std::string_view header : {"", "Bearer", "Bearer ", "Bearers3cr3t", "Basic czNjcjN0", "Token s3cr3t",
                                        "Bearer s3cr3t t0ken", "s3cr3t-t0ken_with.chars~+/="}) {
    CAPTURE(header);
    CHECK(error_of(check_bearer(header, token)) == signature_errc::malformed_authorization);
  }
  for (const std::string_view header : {"Bearer s3cr3t-t0ken_with.chars~+/", "Bearer s3cr3t-t0ken_with.chars~+/==",
                                        "Bearer S3CR3T-T0KEN_WITH.CHARS~+/=", "Bearer x"}) {
    CAPTURE(header);
    CHECK(error_of(check_bearer(header, token)) == signature_errc::invalid_token);
  }
  CHECK(error_of(check_bearer("Bearer x", "")) == signature_errc::invalid_secret);
}

TEST_CASE("signature_errc messages and category") {
  const boost::system::error_code ec = signature_errc::timestamp_too_old;
  CHECK(std::string(ec.category().name()) == "parley.webhook.signature");
  CHECK(ec.message() == "the webhook-timestamp is too far in the past");
  for (int value = 1; value <= static_cast<int>(signature_errc::invalid_token); ++value) {
    const boost::system::error_code e(value, signature_category());
    CAPTURE(value);
    CHECK(e.message() != "unknown webhook signature error");
    CHECK(e.failed());
  }
}
