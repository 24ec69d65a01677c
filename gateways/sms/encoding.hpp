#pragma once
// SMS text encoding: the GSM 03.38 default alphabet with its extension table (3GPP TS 23.038
// §6.2.1, §6.2.1.1), UCS-2 as UTF-16BE, and segmenting a text into concatenated parts
// (3GPP TS 23.040 §9.2.3.24.1). Pure functions: no I/O, no state; any thread may call them
// at the same time.

#include "gateways/sms/sms_errc.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::gateways::sms {

/// SMPP 3.4 §5.2.19 data_coding values this gateway reads or writes.
namespace dcs {
inline constexpr std::uint8_t smsc_default = 0x00; ///< read and written as GSM 03.38, one septet per octet
inline constexpr std::uint8_t ia5 = 0x01;          ///< IA5 / ASCII
inline constexpr std::uint8_t latin1 = 0x03;       ///< ISO-8859-1
inline constexpr std::uint8_t ucs2 = 0x08;         ///< ISO/IEC 10646 UCS-2, big-endian (we send UTF-16)
} // namespace dcs

/// The two alphabets an outbound text is sent in.
enum class Alphabet { gsm7, ucs2 };

/// The data_coding of an alphabet: `dcs::smsc_default` or `dcs::ucs2`.
constexpr std::uint8_t data_coding_of(Alphabet alphabet) noexcept {
  return alphabet == Alphabet::gsm7 ? dcs::smsc_default : dcs::ucs2;
}

/// Message size limits (23.040 §9.2.3.16, §9.2.3.24.1): 140 octets of user data, less a
/// six-octet concatenation header in each part of a longer message.
inline constexpr std::size_t gsm7_single_septets = 160;
inline constexpr std::size_t gsm7_part_septets = 153;
inline constexpr std::size_t ucs2_single_units = 70;
inline constexpr std::size_t ucs2_part_units = 67;
/// The total of an 8-bit concatenation IE is one octet.
inline constexpr std::size_t max_concat_parts = 255;

/// The escape septet that introduces a character of the extension table.
inline constexpr std::uint8_t gsm7_escape = 0x1B;

/// Whether every character of `utf8` is in the GSM 03.38 default alphabet or its extension
/// table (^ { } \ [ ~ ] | € and form feed). False for invalid UTF-8.
bool fits_gsm7(std::string_view utf8) noexcept;

/// GSM-7 when `fits_gsm7`, else UCS-2. `invalid_utf8` for invalid UTF-8.
boost::system::result<Alphabet> choose_alphabet(std::string_view utf8);

/// The unpacked septets of `utf8`, one per octet as SMPP data_coding 0 carries them; a
/// character of the extension table takes two (0x1B and its code). `invalid_utf8`, or
/// `not_gsm7` naming no position (the caller falls back to UCS-2).
boost::system::result<std::string> encode_gsm7(std::string_view utf8);

/// `utf8` as UTF-16BE: UCS-2 for the Basic Multilingual Plane and a surrogate pair for each
/// character beyond it (what phones send and show). `invalid_utf8`.
boost::system::result<std::string> encode_ucs2(std::string_view utf8);

/// Unpacked septets to UTF-8. An escape followed by a code the extension table lacks reads
/// as the default-alphabet character of that code, and escape-escape as a space (23.038
/// §6.2.1.1); a lone escape at the end is dropped. `invalid_septet` for an octet above 0x7F
/// (often an SMSC that sends Latin-1 under data_coding 0: the caller may retry with
/// `decode_latin1`).
boost::system::result<std::string> decode_gsm7(std::string_view septets);

/// UTF-16BE (or UCS-2) to UTF-8. An unpaired surrogate becomes U+FFFD rather than failing
/// the whole message; `odd_ucs2_length` for an odd number of octets.
boost::system::result<std::string> decode_ucs2(std::string_view utf16be);

/// ISO-8859-1 to UTF-8; every octet is a character, so this cannot fail.
std::string decode_latin1(std::string_view octets);

/// The text of a payload under an SMPP data_coding: 0 (and the GSM 03.38 message-class
/// codings 0xF0-0xF3) as GSM-7 septets, 1 as ASCII (`non_ascii` above 0x7F), 3 as Latin-1,
/// 8 as UTF-16BE. Anything else is `unsupported_data_coding`. The payload carries no UDH.
boost::system::result<std::string> decode_text(std::uint8_t data_coding, std::string_view payload);

/// Packs septets (each below 0x80) into octets, least significant bit first (23.038 §6.1.2.1.1),
/// after `fill_bits` zero bits (0-6) that align the text after a UDH; see `udh_fill_bits`.
std::string pack_septets(std::string_view septets, unsigned fill_bits = 0);

/// The inverse of `pack_septets`: `count` septets from `octets` after `fill_bits` bits.
/// Stops early when `octets` runs out, so the result may be shorter than `count`.
std::string unpack_septets(std::string_view octets, std::size_t count, unsigned fill_bits = 0);

/// One SMS of a (possibly concatenated) message. For SMPP: short_message = udh + payload, and
/// esm_class carries the UDHI bit (0x40) when `udh` is non-empty.
struct MessagePart {
  std::string udh;     ///< empty for a single message, else 05 00 03 ref total seq
  std::string payload; ///< unpacked septets (GSM-7) or UTF-16BE octets (UCS-2)

  bool operator==(const MessagePart&) const = default;
};

/// A text split into the parts that carry it.
struct SegmentedText {
  Alphabet alphabet = Alphabet::gsm7;
  std::uint8_t data_coding = dcs::smsc_default;
  std::size_t units = 0; ///< septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text
  std::vector<MessagePart> parts;
};

struct SegmentOptions {
  /// The 8-bit concatenation reference of this message. The caller varies it per
  /// destination (e.g. a counter), so that two long messages in flight do not mix.
  std::uint8_t reference = 0;
  /// Refuse texts that need more parts than this (at most `max_concat_parts`).
  std::size_t max_parts = max_concat_parts;
  /// Force an alphabet: UCS-2 always works; GSM-7 fails with `not_gsm7` where it cannot.
  std::optional<Alphabet> alphabet{};
};

/// Splits `utf8` into SMS parts in the alphabet `choose_alphabet` picks (or the forced one).
/// Up to 160 septets or 70 UTF-16 units it is one part without UDH; a longer text becomes
/// parts of at most 153 septets or 67 units, each with the concatenation UDH. A part never
/// ends between an escape and its extension code, nor between the two halves of a surrogate
/// pair, so every part decodes alone. An empty text is one empty part. `invalid_utf8`,
/// `not_gsm7` (forced GSM-7 only) or `too_many_parts`.
boost::system::result<SegmentedText> segment(std::string_view utf8, const SegmentOptions& options = {});

} // namespace parley::gateways::sms
