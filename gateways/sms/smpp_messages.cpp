#include "gateways/sms/smpp_messages.hpp"

#include "gateways/sms/delivery_receipt.hpp"
#include "gateways/sms/encoding.hpp"

#include <algorithm>
#include <cstdio>

namespace parley::gateways::sms::smpp {

Address to_address(std::string_view number, std::uint8_t ton, std::uint8_t npi) {
  Address address;
  address.ton = ton;
  address.npi = npi;
  if (ton == ton::international && number.starts_with('+')) {
    number.remove_prefix(1);
  }
  address.address = std::string(number);
  return address;
}

std::string from_address(const Address& address) {
  const std::string_view text = address.address;
  const bool digits =
      !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (address.ton == ton::international && digits) {
    return "+" + address.address;
  }
  return address.address;
}

std::uint8_t concat_reference(std::string_view key) noexcept {
  // FNV-1a, folded to one octet.
  std::uint32_t hash = 2166136261u;
  for (const char c : key) {
    hash ^= static_cast<std::uint8_t>(c);
    hash *= 16777619u;
  }
  return static_cast<std::uint8_t>((hash >> 24) ^ (hash >> 16) ^ (hash >> 8) ^ hash);
}

boost::system::result<std::vector<SubmitSm>> make_submits(const OutboundSms& sms, const SubmitOptions& options) {
  SegmentOptions segmenting;
  segmenting.reference = concat_reference(sms.key);
  auto text = segment(sms.body, segmenting);
  if (!text) {
    return text.error();
  }
  std::vector<SubmitSm> submits;
  submits.reserve(text->parts.size());
  for (auto& part : text->parts) {
    SubmitSm submit;
    submit.service_type = options.service_type;
    submit.source = to_address(sms.from, options.source_ton, options.source_npi);
    submit.destination = to_address(sms.to, options.destination_ton, options.destination_npi);
    submit.registered_delivery =
        options.delivery_receipts ? registered_delivery::on_final_outcome : registered_delivery::none;
    submit.data_coding = text->data_coding;
    if (!part.udh.empty()) {
      submit.esm_class = esm_class::udhi;
    }
    submit.short_message = std::move(part.udh) + std::move(part.payload);
    submits.push_back(std::move(submit));
  }
  return submits;
}

std::string_view stat_word(MessageState state) noexcept {
  switch (state) {
  case MessageState::enroute: return "ENROUTE";
  case MessageState::delivered: return "DELIVRD";
  case MessageState::expired: return "EXPIRED";
  case MessageState::deleted: return "DELETED";
  case MessageState::undeliverable: return "UNDELIV";
  case MessageState::accepted: return "ACCEPTD";
  case MessageState::unknown: return "UNKNOWN";
  case MessageState::rejected: return "REJECTD";
  }
  return "UNKNOWN";
}

DeliveryReport::Kind report_kind(MessageState state) noexcept {
  switch (state) {
  case MessageState::delivered: return DeliveryReport::Kind::delivered;
  case MessageState::expired:
  case MessageState::deleted:
  case MessageState::undeliverable:
  case MessageState::rejected: return DeliveryReport::Kind::failed;
  case MessageState::enroute:
  case MessageState::accepted:
  case MessageState::unknown: return DeliveryReport::Kind::progress;
  }
  return DeliveryReport::Kind::progress;
}

std::string describe_status(std::uint32_t status) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(status));
  const auto name = command_status_name(status);
  if (name.empty()) {
    return hex;
  }
  return std::string(name) + " (" + hex + ")";
}

namespace {

DeliverSmMeaning read_receipt(const DeliverSm& pdu, std::string_view user_data) {
  // The text is informative (Appendix B); the TLVs, where the SMSC sends them, are normative.
  auto text = parse_delivery_receipt(user_data);
  std::optional<MessageState> state;
  if (pdu.optional.message_state) {
    const auto raw = *pdu.optional.message_state;
    if (raw >= static_cast<std::uint8_t>(MessageState::enroute) &&
        raw <= static_cast<std::uint8_t>(MessageState::rejected)) {
      state = static_cast<MessageState>(raw);
    }
  }
  if (!state && text) {
    state = text->state;
  }
  std::string id;
  if (pdu.optional.receipted_message_id && !pdu.optional.receipted_message_id->empty()) {
    id = *pdu.optional.receipted_message_id;
  } else if (text) {
    id = text->id;
  }
  if (id.empty()) {
    return UnusablePdu{command_status::esme_rx_p_appn,
                       "a delivery receipt without receipted_message_id and without a readable id: (" +
                           std::string(user_data.substr(0, 120)) + ")"};
  }
  if (!state) {
    return UnusablePdu{command_status::esme_rx_p_appn, "a delivery receipt for " + id +
                                                           " without message_state and with an unknown stat: (" +
                                                           std::string(user_data.substr(0, 120)) + ")"};
  }
  ReceiptPdu receipt;
  receipt.report.provider_id = std::move(id);
  receipt.report.status = std::string(stat_word(*state));
  receipt.report.kind = report_kind(*state);
  if (text && !text->err.empty() && text->err.find_first_not_of('0') != std::string::npos) {
    receipt.report.error_code = text->err;
  }
  if (pdu.optional.network_error_code && pdu.optional.network_error_code->error_code != 0) {
    const auto& network = *pdu.optional.network_error_code;
    receipt.report.error_code = std::to_string(network.network_type) + ":" + std::to_string(network.error_code);
  }
  if (receipt.report.kind == DeliveryReport::Kind::failed) {
    receipt.report.error_text = "the SMSC reports " + receipt.report.status;
  }
  return receipt;
}

} // namespace

DeliverSmMeaning read_deliver_sm(const DeliverSm& pdu) {
  std::string_view user_data = pdu.short_message;
  if (user_data.empty() && pdu.optional.message_payload) {
    user_data = *pdu.optional.message_payload;
  }
  if (is_delivery_receipt(pdu.esm_class)) {
    return read_receipt(pdu, user_data);
  }
  if ((pdu.esm_class & esm_class::message_type_mask) != 0) {
    // Intermediate notifications, SME acknowledgements: nothing for the user to read.
    return UnusablePdu{command_status::esme_rok,
                       "a deliver_sm with esm_class " + std::to_string(pdu.esm_class) + " that carries no message"};
  }
  TextPdu text;
  text.from = from_address(pdu.source);
  text.to = from_address(pdu.destination);
  text.data_coding = pdu.data_coding;
  if ((pdu.esm_class & esm_class::udhi) != 0) {
    auto parsed = parse_udh(user_data);
    if (!parsed) {
      return UnusablePdu{command_status::esme_rx_p_appn,
                         "a deliver_sm from " + text.from + " with a malformed user data header"};
    }
    text.payload = std::string(parsed->payload);
    if (parsed->concat && parsed->concat->total > 1) {
      text.concat = parsed->concat;
    }
  } else {
    text.payload = std::string(user_data);
  }
  if (!text.concat && pdu.optional.sar_msg_ref_num && pdu.optional.sar_total_segments &&
      pdu.optional.sar_segment_seqnum && *pdu.optional.sar_total_segments > 1) {
    ConcatInfo info{*pdu.optional.sar_msg_ref_num, *pdu.optional.sar_total_segments, *pdu.optional.sar_segment_seqnum};
    if (!is_valid(info)) {
      return UnusablePdu{command_status::esme_rx_p_appn,
                         "a deliver_sm from " + text.from + " with sar_segment_seqnum outside 1..total"};
    }
    text.concat = info;
  }
  return text;
}

boost::system::result<std::string> payload_text(std::uint8_t data_coding, std::string_view payload) {
  auto text = decode_text(data_coding, payload);
  if (!text && text.error() == sms_errc::invalid_septet) {
    return decode_latin1(payload);
  }
  return text;
}

std::uint32_t deliver_sm_status(InboundOutcome outcome) noexcept {
  switch (outcome) {
  case InboundOutcome::delivered: return command_status::esme_rok;
  case InboundOutcome::not_stored: return command_status::esme_rx_t_appn;
  case InboundOutcome::unknown_number:
  case InboundOutcome::invalid:
  case InboundOutcome::refused: return command_status::esme_rx_r_appn;
  }
  return command_status::esme_rx_t_appn;
}

} // namespace parley::gateways::sms::smpp
