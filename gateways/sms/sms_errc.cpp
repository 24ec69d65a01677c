#include "gateways/sms/sms_errc.hpp"

#include <string>

namespace parley::gateways::sms {
namespace {

class SmsCategory final : public boost::system::error_category {
public:
  // A fixed identifier keeps categories equal across shared-library boundaries.
  constexpr SmsCategory() noexcept : boost::system::error_category(0x70a1e7'5350'0001ULL) {}

  const char* name() const noexcept override { return "parley.sms"; }

  std::string message(int value) const override { return describe(value); }

  const char* message(int value, char* /*buffer*/, std::size_t /*len*/) const noexcept override {
    return describe(value);
  }

private:
  static const char* describe(int value) noexcept {
    switch (static_cast<sms_errc>(value)) {
    case sms_errc::invalid_utf8: return "the text is not valid UTF-8";
    case sms_errc::not_gsm7: return "the text has a character outside the GSM 03.38 alphabet";
    case sms_errc::too_many_parts: return "the text is too long for one SMS message";
    case sms_errc::odd_ucs2_length: return "the UCS-2 payload has an odd number of octets";
    case sms_errc::invalid_septet: return "the GSM-7 payload has an octet above 0x7F";
    case sms_errc::non_ascii: return "the IA5 payload has an octet above 0x7F";
    case sms_errc::unsupported_data_coding: return "the data coding is not supported";
    case sms_errc::malformed_udh: return "the user data header is malformed";
    case sms_errc::invalid_concat: return "the concatenation information is invalid";
    case sms_errc::part_too_large: return "the message part is too large to reassemble";
    }
    return "unknown SMS error";
  }
};

constinit const SmsCategory category_instance;

} // namespace

const boost::system::error_category& sms_category() noexcept {
  return category_instance;
}

boost::system::error_code make_error_code(sms_errc e) noexcept {
  return {static_cast<int>(e), category_instance};
}

} // namespace parley::gateways::sms
