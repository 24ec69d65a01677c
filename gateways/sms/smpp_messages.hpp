#pragma once
// What the `smpp` provider makes of the gateway's messages and of an SMSC's PDUs: submit_sm
// PDUs for one outbound SMS (GSM-7 or UCS-2, concatenated with a UDH when long), the meaning
// of a deliver_sm (a delivery receipt, or a text or part of one), and the command_status that
// answers it. Pure functions; any thread.

#include "gateways/sms/provider.hpp"
#include "gateways/sms/smpp_pdu.hpp"
#include "gateways/sms/udh.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace parley::gateways::sms::smpp {

/// How our submit_sm PDUs address and mark a message.
struct SubmitOptions {
  std::string service_type;
  std::uint8_t source_ton = ton::international;
  std::uint8_t source_npi = npi::isdn;
  std::uint8_t destination_ton = ton::international;
  std::uint8_t destination_npi = npi::isdn;
  /// registered_delivery 1: a receipt on the final outcome.
  bool delivery_receipts = true;
};

/// `number` ("+15551234567") as an SMPP address: with TON international the '+' is dropped
/// ("15551234567", §5.2.5), otherwise the number goes as it is.
Address to_address(std::string_view number, std::uint8_t ton, std::uint8_t npi);

/// An address from the SMSC as the gateway reads numbers: an international number
/// (TON 1) gets its '+' back; anything else (national, short codes, alphanumeric senders)
/// is passed on as it came.
std::string from_address(const Address& address);

/// The 8-bit concatenation reference of the message with outbox key `key`: the same on every
/// retry (so a handset that got the first parts of an earlier attempt can still join them),
/// and spread over 0-255 across messages.
std::uint8_t concat_reference(std::string_view key) noexcept;

/// The submit_sm PDUs (sequence numbers left 0) that carry `sms.body`, in order: one for a
/// text of up to 160 GSM-7 septets or 70 UCS-2 units, else one per part with the
/// concatenation UDH and the UDHI bit. GSM-7 goes as data_coding 0 (the SMSC default
/// alphabet, one septet per octet), anything else as UCS-2 (data_coding 8, UTF-16BE).
/// `invalid_utf8` or `too_many_parts`.
boost::system::result<std::vector<SubmitSm>> make_submits(const OutboundSms& sms, const SubmitOptions& options);

/// A deliver_sm that carries an SMSC delivery receipt (esm_class message type 0x04).
struct ReceiptPdu {
  DeliveryReport report;
};

/// A deliver_sm that carries text: a whole SMS, or one part of a concatenated one.
struct TextPdu {
  std::string from; ///< as `from_address` reads it
  std::string to;
  std::uint8_t data_coding = 0;
  /// The part's place when the UDH (or the sar_* TLVs) says it is one of several.
  std::optional<ConcatInfo> concat;
  /// The user data without its UDH, not yet decoded (parts are joined before decoding).
  std::string payload;
};

/// A deliver_sm we cannot use: answered with `status` and logged with `reason`.
struct UnusablePdu {
  std::uint32_t status = command_status::esme_rx_p_appn;
  std::string reason;
};

using DeliverSmMeaning = std::variant<ReceiptPdu, TextPdu, UnusablePdu>;

/// Reads one deliver_sm. A receipt's message id comes from the receipted_message_id TLV,
/// else from the id: of its text (SMPP 3.4 Appendix B); its state from the message_state
/// TLV, else from stat:. The user data comes from short_message, or from the
/// message_payload TLV when short_message is empty.
DeliverSmMeaning read_deliver_sm(const DeliverSm& pdu);

/// The text of a (joined) payload under `data_coding`. GSM-7 octets above 0x7F, which SMSCs
/// that mean Latin-1 by data_coding 0 send, are read as Latin-1 rather than refused.
boost::system::result<std::string> payload_text(std::uint8_t data_coding, std::string_view payload);

/// What a receipt's message state means to the sender: delivered, failed for good (expired,
/// deleted, undeliverable, rejected), or only progress (enroute, accepted, unknown).
DeliveryReport::Kind report_kind(MessageState state) noexcept;

/// The stat: word of a message state (Appendix B): "DELIVRD", "UNDELIV", ...
std::string_view stat_word(MessageState state) noexcept;

/// The deliver_sm_resp status for what the gateway made of an inbound SMS: ESME_ROK once it
/// is delivered or stored; ESME_RX_T_APPN (the SMSC tries again) when storage is down;
/// ESME_RX_R_APPN (rejected for good) for a number nobody owns, unusable numbers, or owners
/// who all refused it.
std::uint32_t deliver_sm_status(InboundOutcome outcome) noexcept;

/// Whether an SMSC refusing a submit with `status` asks us to slow down: ESME_RTHROTTLED or
/// ESME_RMSGQFUL.
constexpr bool is_throttling(std::uint32_t status) noexcept {
  return status == command_status::esme_rthrottled || status == command_status::esme_rmsgqful;
}

/// "ESME_RTHROTTLED (0x00000058)", or the hex value alone for a vendor status.
std::string describe_status(std::uint32_t status);

} // namespace parley::gateways::sms::smpp
