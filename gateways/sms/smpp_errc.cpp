#include "gateways/sms/smpp_errc.hpp"

#include "gateways/sms/smpp_pdu.hpp"

#include <string>

namespace parley::gateways::sms {
namespace {

class SmppCategory final : public boost::system::error_category {
public:
  // A fixed identifier keeps categories equal across shared-library boundaries.
  constexpr SmppCategory() noexcept : boost::system::error_category(0x70a1e7'5350'0002ULL) {}

  const char* name() const noexcept override { return "parley.smpp"; }

  std::string message(int value) const override { return describe(value); }

  const char* message(int value, char* /*buffer*/, std::size_t /*len*/) const noexcept override {
    return describe(value);
  }

private:
  static const char* describe(int value) noexcept {
    switch (static_cast<smpp_errc>(value)) {
    case smpp_errc::invalid_command_length: return "the SMPP command_length is out of bounds";
    case smpp_errc::unknown_command_id: return "the SMPP command_id is not supported";
    case smpp_errc::unexpected_body: return "the SMPP PDU has a body where none belongs";
    case smpp_errc::truncated_body: return "the SMPP PDU body is truncated";
    case smpp_errc::missing_nul: return "an SMPP C-octet string lacks its NUL terminator";
    case smpp_errc::string_too_long: return "an SMPP C-octet string is too long for its field";
    case smpp_errc::short_message_too_long: return "the SMPP short_message is longer than 254 octets";
    case smpp_errc::truncated_tlv: return "an SMPP optional parameter is truncated";
    case smpp_errc::invalid_tlv_length: return "an SMPP optional parameter has an invalid length";
    case smpp_errc::body_mismatch: return "the SMPP body does not match the command_id";
    case smpp_errc::embedded_nul: return "an SMPP C-octet string value contains NUL";
    case smpp_errc::malformed_receipt: return "the SMPP delivery receipt is malformed";
    }
    return "unknown SMPP error";
  }
};

constinit const SmppCategory category_instance;

} // namespace

const boost::system::error_category& smpp_category() noexcept {
  return category_instance;
}

boost::system::error_code make_error_code(smpp_errc e) noexcept {
  return {static_cast<int>(e), category_instance};
}

std::uint32_t command_status_for(const boost::system::error_code& ec) noexcept {
  if (ec.category() != category_instance) {
    return command_status::esme_rsyserr;
  }
  switch (static_cast<smpp_errc>(ec.value())) {
  case smpp_errc::invalid_command_length:
  case smpp_errc::unexpected_body:
  case smpp_errc::truncated_body:
  case smpp_errc::missing_nul: return command_status::esme_rinvcmdlen;
  case smpp_errc::unknown_command_id: return command_status::esme_rinvcmdid;
  case smpp_errc::short_message_too_long: return command_status::esme_rinvmsglen;
  case smpp_errc::string_too_long:
  case smpp_errc::invalid_tlv_length: return command_status::esme_rinvparlen;
  case smpp_errc::truncated_tlv: return command_status::esme_rinvoptparstream;
  case smpp_errc::body_mismatch:
  case smpp_errc::embedded_nul:
  case smpp_errc::malformed_receipt: break;
  }
  return command_status::esme_rsyserr;
}

} // namespace parley::gateways::sms
