#pragma once
// Phone numbers as people type them, normalised to ITU-T E.164 ("+15551234567"), the form
// SMS providers take and the localpart of a number's JID on the SMS gateway domain
// (+15551234567@sms.example.com). Pure functions and values; any thread.

#include "gateways/sms/phone_errc.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace parley::gateways::sms {

/// The dialling rules of one country, as far as normalising a number needs them.
struct Country {
  std::string_view iso;                  ///< ISO 3166-1 alpha-2, upper case: "US"
  std::string_view calling_code;         ///< E.164 country code, 1-3 digits: "1"
  std::string_view trunk_prefix;         ///< dialled before a national number at home: "0", "1", or "" for none
  std::string_view international_prefix; ///< dialled before a country code: "00", "011", "0011", ...
  std::uint8_t min_national_digits = 0;  ///< of the national significant number (after the country code)
  std::uint8_t max_national_digits = 0;
};

/// The countries this build knows: a small hand-made table of common ones (North America,
/// most of western Europe, and a few large others), not a numbering-plan database. Length
/// ranges are wide where a country's numbers vary in length. A number from any other country
/// is still accepted in international form (+CC...), checked only against E.164's limits.
std::span<const Country> known_countries() noexcept;

/// The known country with this ISO code (either case), or nullptr.
const Country* find_country(std::string_view iso) noexcept;

/// A valid number in E.164 form.
class PhoneNumber {
public:
  /// Normalises what a user typed: digits with the separators space, tab, - . ( ) /, and
  /// either a leading '+' and the country code, or the default country's international
  /// prefix and a country code ("0044 20 7946 0958", "011 44 20 7946 0958" in NANP, where
  /// "00" is taken as well since no national number starts with 0), or a national number
  /// of `default_country`, with or without its trunk prefix ("(555) 123-4567",
  /// "1-555-123-4567", "020 7946 0958"). A trunk prefix written inside an international
  /// number ("+44 (0)20 7946 0958") is dropped for countries whose trunk prefix is 0.
  ///
  /// Checks: at most 15 digits in all (E.164 §6), a country code that does not start with
  /// 0, and for known countries the length of the national number. Letters (vanity numbers,
  /// "ext."), other symbols and misplaced '+' are refused. `default_country` may be nullptr:
  /// then only international forms are accepted (`no_default_country`).
  ///
  /// Also the way to read the localpart of a JID on the gateway domain.
  static boost::system::result<PhoneNumber> parse(std::string_view input, const Country* default_country);

  /// As above without a default country: international forms only.
  static boost::system::result<PhoneNumber> parse(std::string_view input) {
    return parse(input, static_cast<const Country*>(nullptr));
  }

  /// As above with the default country given by its ISO code; "" for none, and
  /// `unknown_country` for a code missing from `known_countries`.
  static boost::system::result<PhoneNumber> parse(std::string_view input, std::string_view default_country_iso);

  /// "+15551234567".
  const std::string& e164() const noexcept { return e164_; }
  /// "1": the country code, without '+'.
  std::string_view country_code() const noexcept { return std::string_view(e164_).substr(1, country_code_length_); }
  /// "5551234567": the national significant number.
  std::string_view national_number() const noexcept { return std::string_view(e164_).substr(1 + country_code_length_); }
  /// The localpart of this number's JID on the SMS gateway domain: the E.164 form.
  const std::string& jid_localpart() const noexcept { return e164_; }

  bool operator==(const PhoneNumber&) const = default;

private:
  PhoneNumber(std::string e164, std::size_t country_code_length)
      : e164_(std::move(e164)), country_code_length_(country_code_length) {}

  std::string e164_;
  std::size_t country_code_length_ = 0;
};

/// Whether `text` is already a valid number in canonical E.164 form ("+15551234567",
/// no separators), as stored numbers and JID localparts should be.
bool is_e164(std::string_view text);

/// The length of the country code at the start of `digits` (1-3), from the structure of
/// ITU-T E.164's assignments: 1 and 7 alone, a fixed list of two-digit codes, three digits
/// otherwise.
std::size_t country_code_length(std::string_view digits) noexcept;

} // namespace parley::gateways::sms
