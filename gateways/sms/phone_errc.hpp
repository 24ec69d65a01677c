#pragma once
// Why a phone number a user typed (or a JID localpart) is not a usable E.164 number.

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace parley::gateways::sms {

/// Reasons `PhoneNumber::parse` refuses its input.
///
/// Wire mapping: for a stanza to `<number>@sms.example.com`, each is the sender's fault:
/// stanza error `jid-malformed` (modify) with `message()` as text. `unknown_country` is a
/// configuration error (the default country), reported at start-up.
enum class phone_errc {
  empty = 1,            ///< no digits at all
  invalid_character,    ///< a letter or symbol other than the separators space - . ( ) /
  misplaced_plus,       ///< '+' anywhere but at the start
  too_short,            ///< fewer digits than the country's numbers have
  too_long,             ///< more digits than the country's numbers have, or than E.164 allows (15)
  invalid_country_code, ///< an international number whose country code starts with 0
  no_default_country,   ///< a national number, but no default country to place it in
  unknown_country,      ///< an ISO 3166 country code missing from the table of known countries
};

/// The category of `phone_errc`, named "parley.phone". Thread-safe; lives forever.
const boost::system::error_category& phone_category() noexcept;

/// Found by argument-dependent lookup, so `return phone_errc::empty;` works in a function
/// returning `boost::system::result<T>`.
boost::system::error_code make_error_code(phone_errc e) noexcept;

} // namespace parley::gateways::sms

template <> struct boost::system::is_error_code_enum<parley::gateways::sms::phone_errc> : std::true_type {};
