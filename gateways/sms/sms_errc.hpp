#pragma once
// Why a text could not be encoded, decoded, segmented or reassembled as SMS.

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace parley::gateways::sms {

/// Failures of the SMS text layer (encoding.hpp, udh.hpp, reassembly.hpp).
///
/// Wire mapping: on the outbound path (a stanza to SMS) `invalid_utf8`, `not_gsm7` and
/// `too_many_parts` are the sender's fault (stanza error `bad-request` or `not-acceptable`,
/// text from `message()`). On the inbound path every enumerator means the provider sent
/// something unusable; the message is refused or logged, never delivered half-decoded.
enum class sms_errc {
  invalid_utf8 = 1,        ///< the text is not well-formed UTF-8 (RFC 3629)
  not_gsm7,                ///< GSM-7 was asked for, but a character is outside GSM 03.38
  too_many_parts,          ///< the text needs more concatenated parts than allowed
  odd_ucs2_length,         ///< a UCS-2 payload with an odd number of octets
  invalid_septet,          ///< an unpacked GSM-7 payload with an octet above 0x7F
  non_ascii,               ///< an IA5 (data_coding 1) payload with an octet above 0x7F
  unsupported_data_coding, ///< a data_coding this gateway cannot turn into text
  malformed_udh,           ///< the user data header runs past the user data, or an IE past the header
  invalid_concat,          ///< concatenation info with total 0, sequence 0 or sequence above total
  part_too_large,          ///< one part alone exceeds the reassembly byte budget
};

/// The category of `sms_errc`, named "parley.sms". Thread-safe; lives forever.
const boost::system::error_category& sms_category() noexcept;

/// Found by argument-dependent lookup, so `return sms_errc::invalid_utf8;` works in a
/// function returning `boost::system::result<T>`.
boost::system::error_code make_error_code(sms_errc e) noexcept;

} // namespace parley::gateways::sms

template <> struct boost::system::is_error_code_enum<parley::gateways::sms::sms_errc> : std::true_type {};
