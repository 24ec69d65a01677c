// Fuzzes what an SMSC sends over an SMPP session: a byte stream cut into PDUs, and then what
// the gateway does with a deliver_sm (delivery receipt, UDH, text decoding). Any input must
// give PDUs or clear errors, never a crash, a read out of bounds or a hang; every PDU decoded
// must encode back to bytes that decode to the same PDU.

#include "gateways/sms/delivery_receipt.hpp"
#include "gateways/sms/encoding.hpp"
#include "gateways/sms/smpp_pdu.hpp"
#include "gateways/sms/udh.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

namespace {

using namespace parley::gateways::sms;

void use_deliver_sm(const DeliverSm& deliver) {
  std::string_view user_data =
      deliver.optional.message_payload ? std::string_view(*deliver.optional.message_payload) : deliver.short_message;
  if (is_delivery_receipt(deliver.esm_class)) {
    (void)parse_delivery_receipt(user_data);
    return;
  }
  if ((deliver.esm_class & esm_class::udhi) != 0) {
    const auto udh = parse_udh(user_data);
    if (!udh) {
      return;
    }
    if (udh->header.size() + udh->payload.size() != user_data.size() ||
        (udh->concat && (udh->concat->sequence == 0 || udh->concat->sequence > udh->concat->total))) {
      __builtin_trap();
    }
    user_data = udh->payload;
  }
  (void)decode_text(deliver.data_coding, user_data);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  while (!stream.empty()) {
    auto result = decode(stream);
    if (const auto* need = std::get_if<NeedMore>(&result)) {
      if (need->total <= stream.size()) {
        __builtin_trap(); // asked for bytes it already had
      }
      break;
    }
    if (const auto* error = std::get_if<DecodeError>(&result)) {
      if (error->skip > stream.size() || (error->skip != 0 && error->skip < header_size)) {
        __builtin_trap();
      }
      (void)command_status_for(error->error);
      if (error->skip == 0) {
        break; // framing lost: a session would close here
      }
      stream.remove_prefix(error->skip);
      continue;
    }
    const auto& decoded = std::get<Decoded>(result);
    if (decoded.length < header_size || decoded.length > stream.size()) {
      __builtin_trap();
    }
    const auto bytes = encode(decoded.pdu);
    if (!bytes) {
      __builtin_trap(); // whatever decodes must encode
    }
    // The re-encoded PDU may be a little longer (a NUL the SMSC left out), so a wider limit.
    const auto again = decode(*bytes, DecodeLimits{.max_command_length = std::size_t{1} << 20});
    const auto* same = std::get_if<Decoded>(&again);
    if (same == nullptr || same->length != bytes->size() || !(same->pdu == decoded.pdu)) {
      __builtin_trap();
    }
    if (const auto* deliver = std::get_if<DeliverSm>(&decoded.pdu.body)) {
      use_deliver_sm(*deliver);
    }
    stream.remove_prefix(decoded.length);
  }
  return 0;
}
