#include "gateways/sms/twilio_signature.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace parley::gateways::sms;

namespace {

// The example of Twilio's "Webhooks security" documentation.
constexpr std::string_view vector_url = "https://mycompany.com/myapp.php?foo=1&bar=2";
constexpr std::string_view vector_token = "12345";
constexpr std::string_view vector_signature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

FormParams vector_params() {
  return {{"CallSid", "CA1234567890ABCDE"},
          {"Caller", "+12349013030"},
          {"Digits", "1234"},
          {"From", "+12349013030"},
          {"To", "+18005551212"}};
}

} // namespace

TEST_CASE("Twilio signature: the documented example") {
  CHECK(twilio_signature(vector_token, vector_url, vector_params()) == vector_signature);
  CHECK(verify_twilio_signature(vector_token, vector_url, vector_params(), vector_signature));
}

TEST_CASE("Twilio signature: the parameters' order does not matter") {
  FormParams shuffled = vector_params();
  std::reverse(shuffled.begin(), shuffled.end());
  std::swap(shuffled[1], shuffled[3]);
  CHECK(verify_twilio_signature(vector_token, vector_url, shuffled, vector_signature));
}

TEST_CASE("Twilio signature: a wrong token fails") {
  CHECK_FALSE(verify_twilio_signature("12346", vector_url, vector_params(), vector_signature));
  CHECK_FALSE(verify_twilio_signature("", vector_url, vector_params(), vector_signature));
}

TEST_CASE("Twilio signature: tampered parameters, URL or signature fail") {
  FormParams tampered = vector_params();
  tampered[2].second = "1235";
  CHECK_FALSE(verify_twilio_signature(vector_token, vector_url, tampered, vector_signature));

  FormParams added = vector_params();
  added.emplace_back("Body", "hi");
  CHECK_FALSE(verify_twilio_signature(vector_token, vector_url, added, vector_signature));

  FormParams removed = vector_params();
  removed.pop_back();
  CHECK_FALSE(verify_twilio_signature(vector_token, vector_url, removed, vector_signature));

  CHECK_FALSE(verify_twilio_signature(vector_token, "https://mycompany.com/myapp.php?foo=1&bar=3", vector_params(),
                                      vector_signature));
  CHECK_FALSE(verify_twilio_signature(vector_token, vector_url, vector_params(), "0/KCTR6DLpKmkAf8muzZqo1nDgR="));
  CHECK_FALSE(verify_twilio_signature(vector_token, vector_url, vector_params(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
  CHECK_FALSE(verify_twilio_signature(vector_token, vector_url, vector_params(), ""));
}

TEST_CASE("Twilio signature: repeated names sort by value too") {
  // Python: base64(hmac.new(b"12345", url + "BodyaBodybFrom+1", sha1))
  const FormParams params{{"Body", "b"}, {"From", "+1"}, {"Body", "a"}};
  CHECK(twilio_signature(vector_token, vector_url, params) == "/WQU5I9XBvIjCJBfqatzgj5wMTY=");
}
