#include "gateways/sms/udh.hpp"

namespace parley::gateways::sms {

std::string concat_udh(std::uint8_t reference, std::uint8_t total, std::uint8_t sequence) {
  std::string udh(6, '\0');
  udh[0] = '\x05'; // UDHL: the five octets that follow
  udh[1] = static_cast<char>(iei_concat_8bit);
  udh[2] = '\x03';
  udh[3] = static_cast<char>(reference);
  udh[4] = static_cast<char>(total);
  udh[5] = static_cast<char>(sequence);
  return udh;
}

boost::system::result<ParsedUdh> parse_udh(std::string_view user_data) noexcept {
  if (user_data.empty()) {
    return sms_errc::malformed_udh;
  }
  const std::size_t udhl = static_cast<std::uint8_t>(user_data[0]);
  if (udhl + 1 > user_data.size()) {
    return sms_errc::malformed_udh;
  }
  ParsedUdh parsed;
  parsed.header = user_data.substr(0, udhl + 1);
  parsed.payload = user_data.substr(udhl + 1);
  const auto octet = [&](std::size_t i) { return static_cast<std::uint8_t>(parsed.header[i]); };
  std::size_t at = 1;
  while (at < parsed.header.size()) {
    if (at + 2 > parsed.header.size()) {
      return sms_errc::malformed_udh;
    }
    const std::uint8_t iei = octet(at);
    const std::size_t length = octet(at + 1);
    const std::size_t data = at + 2;
    if (data + length > parsed.header.size()) {
      return sms_errc::malformed_udh;
    }
    std::optional<ConcatInfo> concat;
    if (iei == iei_concat_8bit && length == 3) {
      concat = ConcatInfo{octet(data), octet(data + 1), octet(data + 2)};
    } else if (iei == iei_concat_16bit && length == 4) {
      concat =
          ConcatInfo{static_cast<std::uint16_t>(octet(data) << 8 | octet(data + 1)), octet(data + 2), octet(data + 3)};
    }
    // 23.040 §9.2.3.24.1: a zero or out-of-range total or sequence means "ignore the IE".
    if (concat && is_valid(*concat)) {
      parsed.concat = concat;
    }
    at = data + length;
  }
  return parsed;
}

} // namespace parley::gateways::sms
