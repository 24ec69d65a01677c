#include "core/sasl/crypto.hpp"
#include "core/sasl/scram_server.hpp"

#include <doctest/doctest.h>

using namespace parley::core::sasl;

namespace {
ScramSecrets secrets_for(ScramHash hash, std::string_view password, std::string_view salt_b64) {
  return derive_secrets(hash, password, crypto::base64_decode(salt_b64).value(), 4096);
}
} // namespace

TEST_CASE("SCRAM-SHA-1 follows the RFC 5802 section 5 example") {
  ScramServer testling(ScramHash::sha1, false, {}, false);
  testling.set_server_nonce_for_test("3rfcNHYJY1ZVvWVs7j");
  auto user = testling.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  REQUIRE(user.has_value());
  CHECK(*user == "user");
  CHECK(testling.server_first(secrets_for(ScramHash::sha1, "pencil", "QSXCR+Q6sek8bf92")) ==
        "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
  auto final = testling.client_final(
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  REQUIRE(final.has_value());
  CHECK(*final == "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

TEST_CASE("SCRAM-SHA-256 follows the RFC 7677 section 3 example") {
  ScramServer testling(ScramHash::sha256, false, {}, false);
  testling.set_server_nonce_for_test("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  auto user = testling.client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  REQUIRE(user.has_value());
  CHECK(testling.server_first(secrets_for(ScramHash::sha256, "pencil", "W22ZaJ0SNY7soEsUEjb6gQ==")) ==
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  auto final = testling.client_final("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                     "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  REQUIRE(final.has_value());
  CHECK(*final == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

TEST_CASE("SCRAM rejects a wrong proof, a wrong nonce and an unknown user") {
  SUBCASE("wrong proof") {
    ScramServer testling(ScramHash::sha1, false, {}, false);
    testling.set_server_nonce_for_test("3rfcNHYJY1ZVvWVs7j");
    REQUIRE(testling.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
    testling.server_first(secrets_for(ScramHash::sha1, "not-pencil", "QSXCR+Q6sek8bf92"));
    auto final = testling.client_final(
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
    REQUIRE(final.has_error());
    CHECK(final.error() == SaslFailure::not_authorized);
  }
  SUBCASE("nonce not extended by the server's") {
    ScramServer testling(ScramHash::sha1, false, {}, false);
    testling.set_server_nonce_for_test("3rfcNHYJY1ZVvWVs7j");
    REQUIRE(testling.client_first("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
    testling.server_first(secrets_for(ScramHash::sha1, "pencil", "QSXCR+Q6sek8bf92"));
    auto final = testling.client_final("c=biws,r=fyko+d2lbbFgONRv9qkxdawL,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
    REQUIRE(final.has_error());
    CHECK(final.error() == SaslFailure::not_authorized);
  }
  SUBCASE("unknown user still gets a challenge, then fails") {
    ScramServer testling(ScramHash::sha256, false, {}, false);
    REQUIRE(testling.client_first("n,,n=nobody,r=abcdef"));
    const auto first = testling.server_first(std::nullopt);
    CHECK(first.starts_with("r=abcdef"));
    CHECK(first.find(",s=") != std::string::npos);
    auto final = testling.client_final("c=biws,r=" + first.substr(2, first.find(',') - 2) + ",p=AAAA");
    REQUIRE(final.has_error());
    CHECK(final.error() == SaslFailure::not_authorized);
  }
}

TEST_CASE("SCRAM client-first-message syntax errors are malformed-request") {
  for (const char* bad : {"", "n", "n,", "x,,n=user,r=abc", "n,,r=abc,n=user", "n,,n=us=er,r=abc", "n,,n=,r=abc",
                          "n,b=x,n=user,r=abc", "n,,n=user,r=", "p=tls-exporter,,n=user,r=abc"}) {
    CAPTURE(bad);
    ScramServer testling(ScramHash::sha1, false, {}, false);
    auto r = testling.client_first(bad);
    REQUIRE(r.has_error());
    CHECK(r.error() == SaslFailure::malformed_request);
  }
}

TEST_CASE("saslname escapes decode") {
  ScramServer testling(ScramHash::sha1, false, {}, false);
  auto r = testling.client_first("n,a=ad=2Cmin=3D,n=us=2Cer=3D,r=abc");
  REQUIRE(r.has_value());
  CHECK(*r == "us,er=");
  CHECK(testling.authzid() == "ad,min=");
}

TEST_CASE("SCRAM-PLUS checks the channel binding data") {
  const std::vector<ChannelBinding> bindings{{"tls-exporter", std::string("\x01\x02\x03\x04", 4)}};
  const auto secrets = secrets_for(ScramHash::sha256, "pencil", "W22ZaJ0SNY7soEsUEjb6gQ==");
  // Compute a valid client proof for the exchange with a given cbind input.
  auto run = [&](const std::string& cbind_input) {
    ScramServer testling(ScramHash::sha256, true, bindings, true);
    testling.set_server_nonce_for_test("SERVER");
    REQUIRE(testling.client_first("p=tls-exporter,,n=user,r=CLIENT"));
    const auto server_first = testling.server_first(secrets);
    const std::string without_proof = "c=" + crypto::base64_encode(cbind_input) + ",r=CLIENTSERVER";
    const std::string auth_message = "n=user,r=CLIENT," + server_first + "," + without_proof;
    const auto salted = crypto::pbkdf2(ScramHash::sha256, "pencil", crypto::base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==").value(), 4096);
    const auto client_key = crypto::hmac(ScramHash::sha256, salted, "Client Key");
    const auto signature = crypto::hmac(ScramHash::sha256, crypto::hash(ScramHash::sha256, client_key), auth_message);
    std::string proof(client_key.size(), '\0');
    for (std::size_t i = 0; i < proof.size(); ++i) {
      proof[i] = static_cast<char>(client_key[i] ^ signature[i]);
    }
    return testling.client_final(without_proof + ",p=" + crypto::base64_encode(proof));
  };
  CHECK(run(std::string("p=tls-exporter,,") + std::string("\x01\x02\x03\x04", 4)).has_value());
  auto bad = run(std::string("p=tls-exporter,,") + std::string("\x01\x02\x03\x05", 4));
  REQUIRE(bad.has_error());
  CHECK(bad.error() == SaslFailure::not_authorized);
}

TEST_CASE("the 'y' flag is refused as a downgrade only when the caller says so") {
  ScramServer strict(ScramHash::sha256, false, {{"tls-exporter", "x"}}, true);
  auto r = strict.client_first("y,,n=user,r=abc");
  REQUIRE(r.has_error());
  CHECK(r.error() == SaslFailure::not_authorized);
  ScramServer lenient(ScramHash::sha256, false, {{"tls-exporter", "x"}}, false);
  CHECK(lenient.client_first("y,,n=user,r=abc").has_value());
}

TEST_CASE("PLAIN parsing and password verification") {
  auto ok = parse_plain(std::string("\0alice\0secret", 13));
  REQUIRE(ok.has_value());
  CHECK(ok->authzid.empty());
  CHECK(ok->authcid == "alice");
  CHECK(ok->password == "secret");
  CHECK(parse_plain("alice").has_error());
  CHECK(parse_plain(std::string("\0\0secret", 8)).has_error());
  CHECK(parse_plain(std::string("\0a\0b\0c", 6)).has_error());
  const auto secrets = derive_secrets(ScramHash::sha256, "secret", 4096);
  CHECK(verify_password(ScramHash::sha256, secrets, "secret"));
  CHECK_FALSE(verify_password(ScramHash::sha256, secrets, "Secret"));
}

TEST_CASE("an unoffered channel-binding type is refused without counting as a password failure") {
  ScramServer testling(ScramHash::sha256, true, {{"tls-exporter", "x"}}, true);
  auto r = testling.client_first("p=tls-unique,,n=user,r=abc");
  REQUIRE(r.has_error());
  CHECK(r.error() == SaslFailure::unsupported_channel_binding);
  CHECK(wire_name(r.error()) == "not-authorized");
}
