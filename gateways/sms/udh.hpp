#pragma once
// The user data header (UDH) of an SMS as far as concatenation needs it: building the
// 8-bit-reference header of an outbound part, parsing the header of an inbound one.
// 3GPP TS 23.040 §9.2.3.24 (UDH layout), §9.2.3.24.1 (IE 0x00), §9.2.3.24.8 (IE 0x08).
// Pure functions; any thread.

#include "gateways/sms/sms_errc.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::gateways::sms {

/// Information element identifiers of a concatenated short message.
inline constexpr std::uint8_t iei_concat_8bit = 0x00;  ///< ref (1 octet), total, sequence
inline constexpr std::uint8_t iei_concat_16bit = 0x08; ///< ref (2 octets, big-endian), total, sequence

/// Where one part belongs. `sequence` counts from 1 to `total`.
struct ConcatInfo {
  std::uint16_t reference = 0;
  std::uint8_t total = 1;
  std::uint8_t sequence = 1;

  bool operator==(const ConcatInfo&) const = default;
};

/// Whether `total` and `sequence` describe a real part: 1 <= sequence <= total.
constexpr bool is_valid(const ConcatInfo& info) noexcept {
  return info.total >= 1 && info.sequence >= 1 && info.sequence <= info.total;
}

/// The six-octet UDH of one outbound part: 05 00 03 reference total sequence (UDHL 5, one
/// IE 0x00 of three octets).
std::string concat_udh(std::uint8_t reference, std::uint8_t total, std::uint8_t sequence);

/// Fill bits that align GSM-7 text after a UDH of `udh_octets` octets (the UDHL octet
/// included) to a septet boundary (23.040 §9.2.3.24): 1 for the usual six-octet header.
constexpr unsigned udh_fill_bits(std::size_t udh_octets) noexcept {
  return static_cast<unsigned>((7 - (udh_octets * 8) % 7) % 7);
}

/// The septets a UDH of `udh_octets` octets occupies in a GSM-7 message, fill bits included:
/// 7 for the usual six-octet header, which leaves 153 of 160 for text.
constexpr std::size_t udh_septets(std::size_t udh_octets) noexcept {
  return (udh_octets * 8 + 6) / 7;
}

/// A user data split at its header.
struct ParsedUdh {
  std::string_view header;          ///< the whole UDH, UDHL octet included
  std::string_view payload;         ///< what follows it
  std::optional<ConcatInfo> concat; ///< from IE 0x00 or 0x08, when present and valid
};

/// Splits user data whose esm_class has the UDHI bit (0x40) into header and payload.
/// `malformed_udh` when the user data is empty, UDHL points past its end, or an IE's length
/// runs past the header. A concatenation IE of the wrong length, or with total 0, sequence 0
/// or sequence above total, is ignored as 23.040 asks; of several, the last counts. Other IEs
/// (ports, national language shifts, ...) are skipped. The views point into `user_data`.
boost::system::result<ParsedUdh> parse_udh(std::string_view user_data) noexcept;

} // namespace parley::gateways::sms
