#include "gateways/sms/phone_number.hpp"

#include <algorithm>
#include <array>

namespace parley::gateways::sms {
namespace {

// Hand-made, for the common cases; see known_countries(). National lengths are those of the
// national significant number (without trunk prefix), wide where numbers vary.
// clang-format off
constexpr std::array<Country, 27> countries = {{
    {"US", "1", "1", "011", 10, 10},
    {"CA", "1", "1", "011", 10, 10},
    {"GB", "44", "0", "00", 7, 10},
    {"IE", "353", "0", "00", 7, 10},
    {"DE", "49", "0", "00", 5, 13},
    {"FR", "33", "0", "00", 9, 9},
    {"ES", "34", "", "00", 9, 9},
    {"IT", "39", "", "00", 6, 11}, // Italian national numbers keep their leading 0
    {"PT", "351", "", "00", 9, 9},
    {"NL", "31", "0", "00", 9, 9},
    {"BE", "32", "0", "00", 8, 9},
    {"CH", "41", "0", "00", 9, 9},
    {"AT", "43", "0", "00", 4, 13},
    {"DK", "45", "", "00", 8, 8},
    {"SE", "46", "0", "00", 7, 13},
    {"NO", "47", "", "00", 8, 8},
    {"FI", "358", "0", "00", 5, 12},
    {"PL", "48", "", "00", 9, 9},
    {"AU", "61", "0", "0011", 9, 9},
    {"NZ", "64", "0", "00", 8, 10},
    {"JP", "81", "0", "010", 9, 10},
    {"IN", "91", "0", "00", 10, 10},
    {"MX", "52", "", "00", 10, 10},
    {"ZA", "27", "0", "00", 9, 9},
    {"SG", "65", "", "000", 8, 8},
    {"HK", "852", "", "001", 8, 8},
    {"RU", "7", "8", "810", 10, 10},
}};
// clang-format on

// ITU-T E.164: a number has at most 15 digits, country code included.
constexpr std::size_t max_e164_digits = 15;
// For countries missing from the table: the shortest national numbers in use have 4 digits.
constexpr std::size_t min_unknown_national_digits = 4;
// Longer input is no phone number, whatever it contains.
constexpr std::size_t max_input_length = 64;

constexpr std::array<std::string_view, 44> two_digit_codes = {
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
};

bool is_separator(char c) noexcept {
  return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

char upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

const Country* find_by_calling_code(std::string_view code) noexcept {
  const auto* found =
      std::find_if(countries.begin(), countries.end(), [code](const Country& c) { return c.calling_code == code; });
  return found != countries.end() ? found : nullptr;
}

// Checks country code and national number of `digits` (no '+') and builds the number.
boost::system::result<PhoneNumber> make_international(std::string_view digits, auto&& construct) {
  if (digits.empty()) {
    return phone_errc::too_short;
  }
  if (digits.front() == '0') {
    return phone_errc::invalid_country_code;
  }
  const std::size_t cc_length = country_code_length(digits);
  if (digits.size() <= cc_length) {
    return phone_errc::too_short;
  }
  const std::string_view cc = digits.substr(0, cc_length);
  std::string_view national = digits.substr(cc_length);
  const Country* home = find_by_calling_code(cc);
  if (home != nullptr && home->trunk_prefix == "0" && national.front() == '0') {
    national.remove_prefix(1); // "+44 (0)20 ...": no national number there starts with 0
  }
  const std::size_t min = home != nullptr ? home->min_national_digits : min_unknown_national_digits;
  const std::size_t max = home != nullptr ? home->max_national_digits : max_e164_digits - cc_length;
  if (national.size() < min) {
    return phone_errc::too_short;
  }
  if (national.size() > max || cc_length + national.size() > max_e164_digits) {
    return phone_errc::too_long;
  }
  std::string e164;
  e164.reserve(1 + cc_length + national.size());
  e164 += '+';
  e164 += cc;
  e164 += national;
  return construct(std::move(e164), cc_length);
}

} // namespace

std::span<const Country> known_countries() noexcept {
  return countries;
}

const Country* find_country(std::string_view iso) noexcept {
  if (iso.size() != 2) {
    return nullptr;
  }
  const char code[2] = {upper(iso[0]), upper(iso[1])};
  const std::string_view wanted(code, 2);
  const auto* found =
      std::find_if(countries.begin(), countries.end(), [wanted](const Country& c) { return c.iso == wanted; });
  return found != countries.end() ? found : nullptr;
}

std::size_t country_code_length(std::string_view digits) noexcept {
  if (digits.empty()) {
    return 0;
  }
  if (digits.front() == '1' || digits.front() == '7') {
    return 1;
  }
  if (digits.size() >= 2 &&
      std::find(two_digit_codes.begin(), two_digit_codes.end(), digits.substr(0, 2)) != two_digit_codes.end()) {
    return 2;
  }
  return 3;
}

boost::system::result<PhoneNumber> PhoneNumber::parse(std::string_view input, const Country* default_country) {
  if (input.size() > max_input_length) {
    return phone_errc::too_long;
  }
  std::string digits;
  bool plus = false;
  for (const char c : input) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == '+') {
      if (plus || !digits.empty()) {
        return phone_errc::misplaced_plus;
      }
      plus = true;
    } else if (!is_separator(c)) {
      return phone_errc::invalid_character;
    }
  }
  if (digits.empty()) {
    return phone_errc::empty;
  }
  const auto construct = [](std::string e164, std::size_t cc_length) {
    return PhoneNumber(std::move(e164), cc_length);
  };
  const std::string_view all(digits);
  if (plus) {
    return make_international(all, construct);
  }
  if (default_country != nullptr) {
    const std::string_view prefix = default_country->international_prefix;
    if (!prefix.empty() && all.starts_with(prefix)) {
      return make_international(all.substr(prefix.size()), construct);
    }
    // In NANP no area code starts with 0 or 1, so "00" can only mean an international call,
    // dialled the European way.
    if (default_country->calling_code == "1" && all.starts_with("00")) {
      return make_international(all.substr(2), construct);
    }
  } else {
    return phone_errc::no_default_country;
  }
  std::string_view national = all;
  const std::string_view trunk = default_country->trunk_prefix;
  if (!trunk.empty() && national.starts_with(trunk)) {
    national.remove_prefix(trunk.size());
  }
  if (national.size() < default_country->min_national_digits) {
    return phone_errc::too_short;
  }
  if (national.size() > default_country->max_national_digits) {
    return phone_errc::too_long;
  }
  return make_international(std::string(default_country->calling_code) + std::string(national), construct);
}

boost::system::result<PhoneNumber> PhoneNumber::parse(std::string_view input, std::string_view default_country_iso) {
  if (default_country_iso.empty()) {
    return parse(input);
  }
  const Country* country = find_country(default_country_iso);
  if (country == nullptr) {
    return phone_errc::unknown_country;
  }
  return parse(input, country);
}

bool is_e164(std::string_view text) {
  auto parsed = PhoneNumber::parse(text);
  return parsed && parsed->e164() == text;
}

} // namespace parley::gateways::sms
