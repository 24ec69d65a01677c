#pragma once
// Why bytes from an SMSC are not a valid SMPP 3.4 PDU, or a PDU cannot be encoded.

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <type_traits>

namespace parley::gateways::sms {

/// Failures of the SMPP PDU codec (smpp_pdu.hpp) and of delivery receipt parsing.
///
/// Wire mapping: `command_status_for` gives the SMPP command_status to answer a bad PDU
/// with (generic_nack, or the response of the command when its id is known).
/// `invalid_command_length` means the stream has lost its framing: answer with generic_nack
/// and close the session.
enum class smpp_errc {
  invalid_command_length = 1, ///< command_length below 16 or above the limit
  unknown_command_id,         ///< a command_id this codec does not implement
  unexpected_body,            ///< a header-only PDU (enquire_link, unbind, ...) with a body
  truncated_body,             ///< a mandatory field runs past command_length
  missing_nul,                ///< a C-octet string lacks its NUL terminator before the end
  string_too_long,            ///< a C-octet string longer than its field allows
  short_message_too_long,     ///< sm_length above 254
  truncated_tlv,              ///< a TLV's header or value runs past command_length
  invalid_tlv_length,         ///< a known TLV with a length its type does not allow
  body_mismatch,              ///< encode: the body does not belong to the command_id
  embedded_nul,               ///< encode: a C-octet string value contains NUL
  malformed_receipt,          ///< a delivery receipt text without id: or stat:
};

/// The category of `smpp_errc`, named "parley.smpp". Thread-safe; lives forever.
const boost::system::error_category& smpp_category() noexcept;

/// Found by argument-dependent lookup, so `return smpp_errc::truncated_body;` works in a
/// function returning `boost::system::result<T>`.
boost::system::error_code make_error_code(smpp_errc e) noexcept;

/// The SMPP 3.4 §5.1.3 command_status that answers a PDU refused with `ec`:
/// ESME_RINVCMDLEN for framing and truncation, ESME_RINVCMDID, ESME_RINVMSGLEN,
/// ESME_RINVPARLEN, ESME_RINVOPTPARSTREAM; ESME_RSYSERR for anything else.
std::uint32_t command_status_for(const boost::system::error_code& ec) noexcept;

} // namespace parley::gateways::sms

template <> struct boost::system::is_error_code_enum<parley::gateways::sms::smpp_errc> : std::true_type {};
