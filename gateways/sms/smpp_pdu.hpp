#pragma once
// SMPP 3.4 PDUs (SMPP v3.4 Issue 1.2, §3 and §4): the subset an ESME needs to bind as a
// transceiver, submit messages, take deliveries and receipts, and keep the link alive.
// Encoding and decoding are pure functions of bytes: no I/O, no state; any thread.

#include "gateways/sms/smpp_errc.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace parley::gateways::sms {

/// §5.1.2 command_id values. Responses are the request's id with the top bit set.
enum class CommandId : std::uint32_t {
  generic_nack = 0x80000000,
  bind_receiver = 0x00000001,
  bind_receiver_resp = 0x80000001,
  bind_transmitter = 0x00000002,
  bind_transmitter_resp = 0x80000002,
  submit_sm = 0x00000004,
  submit_sm_resp = 0x80000004,
  deliver_sm = 0x00000005,
  deliver_sm_resp = 0x80000005,
  unbind = 0x00000006,
  unbind_resp = 0x80000006,
  bind_transceiver = 0x00000009,
  bind_transceiver_resp = 0x80000009,
  enquire_link = 0x00000015,
  enquire_link_resp = 0x80000015,
};

inline constexpr std::uint32_t response_bit = 0x80000000;

constexpr bool is_response(CommandId id) noexcept {
  return (static_cast<std::uint32_t>(id) & response_bit) != 0;
}

/// The response to a request: its id with the top bit set.
constexpr CommandId response_to(CommandId request) noexcept {
  return static_cast<CommandId>(static_cast<std::uint32_t>(request) | response_bit);
}

/// The wire name ("submit_sm"); "" for an id outside `CommandId`.
std::string_view command_name(std::uint32_t command_id) noexcept;

/// §5.1.3 command_status values, named as the specification names them.
namespace command_status {
inline constexpr std::uint32_t esme_rok = 0x00000000;
inline constexpr std::uint32_t esme_rinvmsglen = 0x00000001;
inline constexpr std::uint32_t esme_rinvcmdlen = 0x00000002;
inline constexpr std::uint32_t esme_rinvcmdid = 0x00000003;
inline constexpr std::uint32_t esme_rinvbndsts = 0x00000004;
inline constexpr std::uint32_t esme_ralybnd = 0x00000005;
inline constexpr std::uint32_t esme_rinvprtflg = 0x00000006;
inline constexpr std::uint32_t esme_rinvregdlvflg = 0x00000007;
inline constexpr std::uint32_t esme_rsyserr = 0x00000008;
inline constexpr std::uint32_t esme_rinvsrcadr = 0x0000000A;
inline constexpr std::uint32_t esme_rinvdstadr = 0x0000000B;
inline constexpr std::uint32_t esme_rinvmsgid = 0x0000000C;
inline constexpr std::uint32_t esme_rbindfail = 0x0000000D;
inline constexpr std::uint32_t esme_rinvpaswd = 0x0000000E;
inline constexpr std::uint32_t esme_rinvsysid = 0x0000000F;
inline constexpr std::uint32_t esme_rcancelfail = 0x00000011;
inline constexpr std::uint32_t esme_rreplacefail = 0x00000013;
inline constexpr std::uint32_t esme_rmsgqful = 0x00000014;
inline constexpr std::uint32_t esme_rinvsertyp = 0x00000015;
inline constexpr std::uint32_t esme_rinvnumdests = 0x00000033;
inline constexpr std::uint32_t esme_rinvdlname = 0x00000034;
inline constexpr std::uint32_t esme_rinvdestflag = 0x00000040;
inline constexpr std::uint32_t esme_rinvsubrep = 0x00000042;
inline constexpr std::uint32_t esme_rinvesmclass = 0x00000043;
inline constexpr std::uint32_t esme_rcntsubdl = 0x00000044;
inline constexpr std::uint32_t esme_rsubmitfail = 0x00000045;
inline constexpr std::uint32_t esme_rinvsrcton = 0x00000048;
inline constexpr std::uint32_t esme_rinvsrcnpi = 0x00000049;
inline constexpr std::uint32_t esme_rinvdstton = 0x00000050;
inline constexpr std::uint32_t esme_rinvdstnpi = 0x00000051;
inline constexpr std::uint32_t esme_rinvsystyp = 0x00000053;
inline constexpr std::uint32_t esme_rinvrepflag = 0x00000054;
inline constexpr std::uint32_t esme_rinvnummsgs = 0x00000055;
inline constexpr std::uint32_t esme_rthrottled = 0x00000058;
inline constexpr std::uint32_t esme_rinvsched = 0x00000061;
inline constexpr std::uint32_t esme_rinvexpiry = 0x00000062;
inline constexpr std::uint32_t esme_rinvdftmsgid = 0x00000063;
inline constexpr std::uint32_t esme_rx_t_appn = 0x00000064;
inline constexpr std::uint32_t esme_rx_p_appn = 0x00000065;
inline constexpr std::uint32_t esme_rx_r_appn = 0x00000066;
inline constexpr std::uint32_t esme_rqueryfail = 0x00000067;
inline constexpr std::uint32_t esme_rinvoptparstream = 0x000000C0;
inline constexpr std::uint32_t esme_roptparnotallwd = 0x000000C1;
inline constexpr std::uint32_t esme_rinvparlen = 0x000000C2;
inline constexpr std::uint32_t esme_rmissingoptparam = 0x000000C3;
inline constexpr std::uint32_t esme_rinvoptparamval = 0x000000C4;
inline constexpr std::uint32_t esme_rdeliveryfailure = 0x000000FE;
inline constexpr std::uint32_t esme_runknownerr = 0x000000FF;
} // namespace command_status

/// The specification's name of a command_status ("ESME_RTHROTTLED"); "" for values it does
/// not define (0x400-0x4FF are the SMSC vendor's own).
std::string_view command_status_name(std::uint32_t status) noexcept;

/// Whether a submit refused with `status` may succeed later unchanged: the SMSC is
/// throttling (ESME_RTHROTTLED), its queue is full (ESME_RMSGQFUL), or it failed
/// internally (ESME_RSYSERR). Such submits are retried with backoff; others fail for good.
bool is_transient(std::uint32_t status) noexcept;

/// §5.2.12 esm_class bits.
namespace esm_class {
inline constexpr std::uint8_t udhi = 0x40;              ///< short_message starts with a UDH
inline constexpr std::uint8_t message_type_mask = 0x3C; ///< bits 5-2
inline constexpr std::uint8_t delivery_receipt = 0x04;  ///< message type: SMSC delivery receipt
} // namespace esm_class

/// Whether a deliver_sm with this esm_class carries an SMSC delivery receipt (§5.2.12).
constexpr bool is_delivery_receipt(std::uint8_t esm) noexcept {
  return (esm & esm_class::message_type_mask) == esm_class::delivery_receipt;
}

/// §5.2.17 registered_delivery values for the SMSC delivery receipt.
namespace registered_delivery {
inline constexpr std::uint8_t none = 0x00;
inline constexpr std::uint8_t on_final_outcome = 0x01; ///< delivered or failed
inline constexpr std::uint8_t on_failure = 0x02;
} // namespace registered_delivery

/// §5.2.5 type of number and §5.2.6 numbering plan indicator values in common use.
namespace ton {
inline constexpr std::uint8_t unknown = 0x00;
inline constexpr std::uint8_t international = 0x01;
inline constexpr std::uint8_t national = 0x02;
inline constexpr std::uint8_t alphanumeric = 0x05;
} // namespace ton
namespace npi {
inline constexpr std::uint8_t unknown = 0x00;
inline constexpr std::uint8_t isdn = 0x01; ///< E.164
} // namespace npi

/// The interface_version of SMPP 3.4.
inline constexpr std::uint8_t interface_version_34 = 0x34;

/// §5.3.2 optional parameter tags this codec reads and writes.
namespace tlv_tag {
inline constexpr std::uint16_t receipted_message_id = 0x001E;
inline constexpr std::uint16_t user_message_reference = 0x0204;
inline constexpr std::uint16_t sar_msg_ref_num = 0x020C;
inline constexpr std::uint16_t sar_total_segments = 0x020E;
inline constexpr std::uint16_t sar_segment_seqnum = 0x020F;
inline constexpr std::uint16_t sc_interface_version = 0x0210;
inline constexpr std::uint16_t network_error_code = 0x0423;
inline constexpr std::uint16_t message_payload = 0x0424;
inline constexpr std::uint16_t message_state = 0x0427;
} // namespace tlv_tag

/// §5.2.28 message_state values (also what a delivery receipt's stat: says).
enum class MessageState : std::uint8_t {
  enroute = 1,
  delivered = 2,
  expired = 3,
  deleted = 4,
  undeliverable = 5,
  accepted = 6,
  unknown = 7,
  rejected = 8,
};

/// Whether no later state follows: everything but enroute.
constexpr bool is_final(MessageState state) noexcept {
  return state != MessageState::enroute;
}

/// Field sizes of §4, the NUL terminator included.
namespace field_max {
inline constexpr std::size_t system_id = 16;
inline constexpr std::size_t password = 9;
inline constexpr std::size_t system_type = 13;
inline constexpr std::size_t address_range = 41;
inline constexpr std::size_t service_type = 6;
inline constexpr std::size_t address = 21;
inline constexpr std::size_t time = 17;
inline constexpr std::size_t message_id = 65;
inline constexpr std::size_t short_message = 254; ///< octets, no terminator
} // namespace field_max

/// §5.3.2.31 network_error_code: the network type (1 ANSI-136, 2 IS-95, 3 GSM, ...) and its code.
struct NetworkErrorCode {
  std::uint8_t network_type = 0;
  std::uint16_t error_code = 0;
  bool operator==(const NetworkErrorCode&) const = default;
};

/// The optional parameters (TLVs) this codec knows; the decoder skips all others. A TLV
/// given twice counts with its last value.
struct OptionalParams {
  std::optional<std::string> receipted_message_id; ///< C-octet string, at most 64 characters
  std::optional<std::uint8_t> message_state;       ///< a `MessageState`, kept raw
  std::optional<NetworkErrorCode> network_error_code;
  std::optional<std::uint16_t> sar_msg_ref_num;
  std::optional<std::uint8_t> sar_total_segments;
  std::optional<std::uint8_t> sar_segment_seqnum;
  std::optional<std::uint16_t> user_message_reference;
  std::optional<std::uint8_t> sc_interface_version;
  std::optional<std::string> message_payload; ///< instead of short_message, up to 64 KiB
  bool operator==(const OptionalParams&) const = default;
};

/// A type of number, numbering plan and address (source_addr, destination_addr, address_range).
struct Address {
  std::uint8_t ton = 0;
  std::uint8_t npi = 0;
  std::string address;
  bool operator==(const Address&) const = default;
};

/// §4.1.1, §4.1.3, §4.1.5 bind_transmitter, bind_receiver, bind_transceiver.
struct Bind {
  std::string system_id;
  std::string password;
  std::string system_type;
  std::uint8_t interface_version = interface_version_34;
  Address address_range;
  bool operator==(const Bind&) const = default;
};

/// §4.1.2, §4.1.4, §4.1.6 the bind responses. An SMSC refusing a bind may omit the body.
struct BindResp {
  std::string system_id;
  OptionalParams optional; ///< sc_interface_version
  bool operator==(const BindResp&) const = default;
};

/// The mandatory fields shared by submit_sm (§4.4.1) and deliver_sm (§4.6.1).
struct ShortMessageFields {
  std::string service_type;
  Address source;
  Address destination;
  std::uint8_t esm_class = 0;
  std::uint8_t protocol_id = 0;
  std::uint8_t priority_flag = 0;
  std::string schedule_delivery_time; ///< "" (immediate) or 16 characters
  std::string validity_period;        ///< "" (SMSC default) or 16 characters
  std::uint8_t registered_delivery = 0;
  std::uint8_t replace_if_present_flag = 0;
  std::uint8_t data_coding = 0;
  std::uint8_t sm_default_msg_id = 0;
  std::string short_message; ///< at most 254 octets; sm_length is its size
  OptionalParams optional;
  bool operator==(const ShortMessageFields&) const = default;
};

struct SubmitSm : ShortMessageFields {
  bool operator==(const SubmitSm&) const = default;
};

struct DeliverSm : ShortMessageFields {
  bool operator==(const DeliverSm&) const = default;
};

/// §4.4.2 submit_sm_resp. The SMSC omits the body when it refuses the submit.
struct SubmitSmResp {
  std::string message_id;
  bool operator==(const SubmitSmResp&) const = default;
};

/// §4.6.2 deliver_sm_resp; message_id is unused and sent empty.
struct DeliverSmResp {
  std::string message_id;
  bool operator==(const DeliverSmResp&) const = default;
};

/// The body of a PDU. `std::monostate` for the header-only commands: generic_nack,
/// enquire_link(_resp), unbind(_resp).
using PduBody = std::variant<std::monostate, Bind, BindResp, SubmitSm, SubmitSmResp, DeliverSm, DeliverSmResp>;

/// One PDU. command_length is not stored: the encoder computes it.
struct Pdu {
  CommandId command_id = CommandId::enquire_link;
  std::uint32_t command_status = command_status::esme_rok;
  std::uint32_t sequence_number = 0;
  PduBody body;
  bool operator==(const Pdu&) const = default;
};

/// The 16-octet header, raw: command_id may be one `CommandId` lacks.
struct Header {
  std::uint32_t command_length = 0;
  std::uint32_t command_id = 0;
  std::uint32_t command_status = 0;
  std::uint32_t sequence_number = 0;
  bool operator==(const Header&) const = default;
};

inline constexpr std::size_t header_size = 16;

/// The body alternative that belongs to a command.
bool body_matches(CommandId id, const PduBody& body) noexcept;

/// The wire bytes of `pdu`. `body_mismatch` when the body does not belong to the
/// command_id (see `PduBody`), `string_too_long` or `embedded_nul` for a C-octet string
/// that does not fit its field, `short_message_too_long`, and `invalid_tlv_length` for a
/// message_payload or receipted_message_id too long for its TLV.
boost::system::result<std::string> encode(const Pdu& pdu);

/// Convenience builders for the PDUs a session sends without a body of its own.
Pdu make_generic_nack(std::uint32_t sequence_number, std::uint32_t status);
Pdu make_enquire_link(std::uint32_t sequence_number);
/// The response to a header-only request (enquire_link, unbind): the same sequence number.
Pdu make_empty_response(CommandId request, std::uint32_t sequence_number,
                        std::uint32_t status = command_status::esme_rok);

struct DecodeLimits {
  /// Frames longer than this are refused before their body is read (§3.2: the length is
  /// unbounded on the wire, but a deliver_sm with a 64 KiB message_payload fits).
  std::size_t max_command_length = std::size_t{64} * 1024;
};

/// `decode` needs the buffer to hold at least `total` octets from its start.
struct NeedMore {
  std::size_t total = 0;
};

/// One PDU, the first `length` octets of the buffer.
struct Decoded {
  Pdu pdu;
  std::size_t length = 0;
};

/// The first frame of the buffer is not a valid PDU.
struct DecodeError {
  boost::system::error_code error;
  /// The header when all 16 octets were there: its sequence number goes into the
  /// generic_nack (or the command's response) that answers the error.
  std::optional<Header> header;
  /// Octets to drop to reach the next PDU; 0 when the framing itself is lost
  /// (`invalid_command_length`) and the session must be closed.
  std::size_t skip = 0;
};

using DecodeResult = std::variant<NeedMore, Decoded, DecodeError>;

/// Decodes the first PDU in `buffer`, which holds bytes as they came from the socket.
/// Returns `NeedMore` until the whole frame is there, so that nothing is decided on half a
/// PDU, except a command_length out of bounds, refused as soon as its four octets arrive.
/// Reads nothing outside `buffer`. Unknown optional parameters are skipped. A response may
/// omit its body (SMSCs do when they refuse a request); its fields then read as empty.
DecodeResult decode(std::string_view buffer, const DecodeLimits& limits = {});

} // namespace parley::gateways::sms
