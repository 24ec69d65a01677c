#include "gateways/sms/phone_number.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;

namespace {

std::string normalise(std::string_view input, std::string_view country) {
  const auto parsed = PhoneNumber::parse(input, country);
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message());
  return parsed->e164();
}

boost::system::error_code error_of(std::string_view input, std::string_view country) {
  const auto parsed = PhoneNumber::parse(input, country);
  return parsed ? boost::system::error_code() : parsed.error();
}

} // namespace

TEST_CASE("phone numbers: North American national forms") {
  CHECK(normalise("(555) 123-4567", "US") == "+15551234567");
  CHECK(normalise("555.123.4567", "US") == "+15551234567");
  CHECK(normalise("555-123-4567", "US") == "+15551234567");
  CHECK(normalise("5551234567", "US") == "+15551234567");
  CHECK(normalise("1 (555) 123-4567", "US") == "+15551234567");
  CHECK(normalise("1-555-123-4567", "CA") == "+15551234567");
  CHECK(normalise("  555 123 4567\t", "us") == "+15551234567");
}

TEST_CASE("phone numbers: international forms") {
  CHECK(normalise("+44 20 7946 0958", "US") == "+442079460958");
  CHECK(normalise("+44 20 7946 0958", "") == "+442079460958");
  CHECK(normalise("0044 20 7946 0958", "GB") == "+442079460958");
  CHECK(normalise("0044 20 7946 0958", "DE") == "+442079460958");
  CHECK(normalise("00 33 1 23 45 67 89", "FR") == "+33123456789");
  CHECK(normalise("011 44 20 7946 0958", "US") == "+442079460958");
  CHECK(normalise("0011 44 20 7946 0958", "AU") == "+442079460958");
  CHECK(normalise("+1 555 123 4567", "GB") == "+15551234567");
  CHECK(normalise("+49 (30) 123456", "US") == "+4930123456");
  // NANP has no national number starting with 0, so "00" is an international call there.
  CHECK(normalise("0044 20 7946 0958", "US") == "+442079460958");
  // "(0)" inside an international number is the trunk prefix, not part of the number.
  CHECK(normalise("+44 (0)20 7946 0958", "US") == "+442079460958");
  CHECK(normalise("+33 (0)1 23 45 67 89", "") == "+33123456789");
  // Countries outside the table are checked against E.164's limits only.
  CHECK(normalise("+886 2 1234 5678", "") == "+886212345678");
}

TEST_CASE("phone numbers: national forms elsewhere") {
  CHECK(normalise("020 7946 0958", "GB") == "+442079460958");
  CHECK(normalise("07700 900123", "GB") == "+447700900123");
  CHECK(normalise("01 23 45 67 89", "FR") == "+33123456789");
  CHECK(normalise("030 123456", "DE") == "+4930123456");
  CHECK(normalise("0151 23456789", "DE") == "+4915123456789");
  CHECK(normalise("06 1234 5678", "IT") == "+390612345678"); // Italy keeps its leading 0
  CHECK(normalise("+39 06 1234 5678", "") == "+390612345678");
  CHECK(normalise("612 345 678", "ES") == "+34612345678");
  CHECK(normalise("8 (912) 345-67-89", "RU") == "+79123456789");
}

TEST_CASE("phone numbers: parts and the JID localpart") {
  const auto testling = PhoneNumber::parse("+44 20 7946 0958", "GB");
  REQUIRE(testling.has_value());
  CHECK(testling->country_code() == "44");
  CHECK(testling->national_number() == "2079460958");
  CHECK(testling->jid_localpart() == "+442079460958");
  const auto ireland = PhoneNumber::parse("+353 1 234 5678");
  REQUIRE(ireland.has_value());
  CHECK(ireland->country_code() == "353");
  CHECK(ireland->national_number() == "12345678");
  // A localpart already in E.164 form reads back as itself.
  CHECK(PhoneNumber::parse(testling->jid_localpart(), "US").value() == *testling);
}

TEST_CASE("phone numbers: junk gets a clear error") {
  CHECK(error_of("", "US") == phone_errc::empty);
  CHECK(error_of(" - ( ) ", "US") == phone_errc::empty);
  CHECK(error_of("+", "US") == phone_errc::empty);
  CHECK(error_of("555-CALL-NOW", "US") == phone_errc::invalid_character);
  CHECK(error_of("1-800-FLOWERS", "US") == phone_errc::invalid_character);
  CHECK(error_of("555 123 4567 x12", "US") == phone_errc::invalid_character);
  CHECK(error_of("555_123_4567", "US") == phone_errc::invalid_character);
  CHECK(error_of("\xEF\xBC\x95\xEF\xBC\x95\xEF\xBC\x95", "US") == phone_errc::invalid_character); // fullwidth 555
  CHECK(error_of("tel:+15551234567", "US") == phone_errc::invalid_character);
  CHECK(error_of("555+1234567", "US") == phone_errc::misplaced_plus);
  CHECK(error_of("++15551234567", "US") == phone_errc::misplaced_plus);
  CHECK(error_of("+0 123 456 789", "US") == phone_errc::invalid_country_code);
  CHECK(error_of("+00 44 20 7946 0958", "US") == phone_errc::invalid_country_code);
  CHECK(error_of(std::string(65, '1'), "US") == phone_errc::too_long);
}

TEST_CASE("phone numbers: digit counts") {
  CHECK(error_of("123-4567", "US") == phone_errc::too_short);
  CHECK(error_of("555 123 45678", "US") == phone_errc::too_long);
  CHECK(error_of("+1 555 123 456", "") == phone_errc::too_short);
  CHECK(error_of("+44 20", "") == phone_errc::too_short);
  CHECK(error_of("+44 20 7946 0958 1", "") == phone_errc::too_long);
  CHECK(error_of("01 23 45 67 8", "FR") == phone_errc::too_short);
  CHECK(error_of("+1", "") == phone_errc::too_short);
  CHECK(error_of("00", "GB") == phone_errc::too_short);
  // E.164 §6: at most 15 digits, whatever the country.
  CHECK(normalise("+886 1234 5678 9012", "") == "+886123456789012"); // 15 digits
  CHECK(error_of("+886 1234 5678 90123", "") == phone_errc::too_long);
  CHECK(error_of("+888 123", "") == phone_errc::too_short);
}

TEST_CASE("phone numbers: default countries") {
  CHECK(error_of("555 123 4567", "") == phone_errc::no_default_country);
  CHECK(PhoneNumber::parse("555 123 4567").error() == phone_errc::no_default_country);
  CHECK(error_of("555 123 4567", "XX") == phone_errc::unknown_country);
  CHECK(error_of("555 123 4567", "USA") == phone_errc::unknown_country);
  REQUIRE(find_country("gb") != nullptr);
  CHECK(find_country("gb")->calling_code == "44");
  CHECK(find_country("GB")->trunk_prefix == "0");
  CHECK(find_country("US")->international_prefix == "011");
  CHECK(find_country("") == nullptr);
  for (const Country& country : known_countries()) {
    CAPTURE(country.iso);
    CHECK(country.iso.size() == 2);
    CHECK(country_code_length(country.calling_code) == country.calling_code.size());
    CHECK(country.min_national_digits <= country.max_national_digits);
    CHECK(country.calling_code.size() + country.max_national_digits <= 15);
  }
}

TEST_CASE("phone numbers: country code lengths follow E.164's assignments") {
  CHECK(country_code_length("15551234567") == 1);
  CHECK(country_code_length("79123456789") == 1);
  CHECK(country_code_length("442079460958") == 2);
  CHECK(country_code_length("20123") == 2);
  CHECK(country_code_length("27123") == 2);
  CHECK(country_code_length("98123") == 2);
  CHECK(country_code_length("21212345678") == 3); // Morocco
  CHECK(country_code_length("3531234") == 3);
  CHECK(country_code_length("8521234") == 3);
  CHECK(country_code_length("88612") == 3);
  CHECK(country_code_length("") == 0);
}

TEST_CASE("phone numbers: is_e164 accepts only the canonical form") {
  CHECK(is_e164("+15551234567"));
  CHECK(is_e164("+442079460958"));
  CHECK_FALSE(is_e164("15551234567"));
  CHECK_FALSE(is_e164("+1 555 123 4567"));
  CHECK_FALSE(is_e164("+4402079460958"));
  CHECK_FALSE(is_e164("+1555123456"));
  CHECK_FALSE(is_e164(""));
}
