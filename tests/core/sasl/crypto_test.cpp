#include "core/sasl/crypto.hpp"
#include "core/sasl/scram_credentials.hpp"

#include <doctest/doctest.h>

using namespace parley::core::sasl;

TEST_CASE("base64 follows RFC 4648 section 10 test vectors") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [raw, encoded] : vectors) {
    CAPTURE(raw);
    CHECK(crypto::base64_encode(raw) == encoded);
    auto decoded = crypto::base64_decode(encoded);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == raw);
  }
  CHECK(crypto::base64_decode("Zm9").has_error());
  CHECK(crypto::base64_decode("Zm 9").has_error());
  CHECK(crypto::base64_decode("Z=9v").has_error());
  CHECK(crypto::base64_decode("Zm9v\n").has_error());
}

TEST_CASE("SASLprep maps and refuses per RFC 4013 section 3 examples") {
  CHECK(saslprep("I\xC2\xAD" "X").value() == "IX");      // SOFT HYPHEN mapped to nothing
  CHECK(saslprep("user").value() == "user");
  CHECK(saslprep("USER").value() == "USER");              // case preserved
  CHECK(saslprep("\xC2\xAA").value() == "a");              // NFKC of FEMININE ORDINAL
  CHECK(saslprep("\xE2\x85\xA8").value() == "IX");         // ROMAN NUMERAL NINE
  CHECK(saslprep("\x07").has_error());                     // prohibited control character
  CHECK(saslprep("\xD8\xA7" "1").has_error());             // bidi: RandALCat then L/digit
}

TEST_CASE("constant-time comparison") {
  CHECK(crypto::equal_constant_time("abc", "abc"));
  CHECK_FALSE(crypto::equal_constant_time("abc", "abd"));
  CHECK_FALSE(crypto::equal_constant_time("abc", "abcd"));
}
