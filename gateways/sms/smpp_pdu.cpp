#include "gateways/sms/smpp_pdu.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>

namespace parley::gateways::sms {
namespace {

using boost::system::error_code;

// Reads big-endian integers, C-octet strings and octet strings from a body; never past its end.
class Reader {
public:
  explicit Reader(std::string_view data) noexcept : data_(data) {}

  std::size_t remaining() const noexcept { return data_.size() - at_; }
  bool empty() const noexcept { return at_ == data_.size(); }

  bool u8(std::uint8_t& out) noexcept {
    if (remaining() < 1) {
      return false;
    }
    out = octet(at_++);
    return true;
  }

  bool u16(std::uint16_t& out) noexcept {
    if (remaining() < 2) {
      return false;
    }
    out = static_cast<std::uint16_t>(octet(at_) << 8 | octet(at_ + 1));
    at_ += 2;
    return true;
  }

  bool octets(std::size_t n, std::string_view& out) noexcept {
    if (remaining() < n) {
      return false;
    }
    out = data_.substr(at_, n);
    at_ += n;
    return true;
  }

  // §3.1 C-octet string: characters and a NUL, at most `max` octets with the NUL.
  error_code c_string(std::string& out, std::size_t max) {
    const std::string_view window = data_.substr(at_, std::min(max, remaining()));
    const std::size_t nul = window.find('\0');
    if (nul == std::string_view::npos) {
      return remaining() > max ? smpp_errc::string_too_long : smpp_errc::missing_nul;
    }
    out.assign(window.substr(0, nul));
    at_ += nul + 1;
    return {};
  }

private:
  std::uint8_t octet(std::size_t i) const noexcept { return static_cast<std::uint8_t>(data_[i]); }

  std::string_view data_;
  std::size_t at_ = 0;
};

class Writer {
public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v & 0xFF));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v & 0xFFFF));
  }
  void octets(std::string_view v) { out_.append(v); }

  error_code c_string(std::string_view v, std::size_t max) {
    if (v.find('\0') != std::string_view::npos) {
      return smpp_errc::embedded_nul;
    }
    if (v.size() + 1 > max) {
      return smpp_errc::string_too_long;
    }
    out_.append(v);
    out_.push_back('\0');
    return {};
  }

  void tlv(std::uint16_t tag, std::string_view value) {
    u16(tag);
    u16(static_cast<std::uint16_t>(value.size()));
    octets(value);
  }

  std::string& bytes() noexcept { return out_; }

private:
  std::string out_;
};

std::string be_bytes(std::uint32_t v, std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[n - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  }
  return out;
}

std::uint32_t be32(std::string_view bytes) noexcept {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    v = v << 8 | static_cast<std::uint8_t>(bytes[i]);
  }
  return v;
}

bool is_header_only(CommandId id) noexcept {
  switch (id) {
  case CommandId::generic_nack:
  case CommandId::enquire_link:
  case CommandId::enquire_link_resp:
  case CommandId::unbind:
  case CommandId::unbind_resp: return true;
  default: return false;
  }
}

// ---- optional parameters

error_code read_tlvs(Reader& reader, OptionalParams& out) {
  while (!reader.empty()) {
    std::uint16_t tag = 0;
    std::uint16_t length = 0;
    std::string_view value;
    if (!reader.u16(tag) || !reader.u16(length) || !reader.octets(length, value)) {
      return smpp_errc::truncated_tlv;
    }
    const auto octet = [&](std::size_t i) { return static_cast<std::uint8_t>(value[i]); };
    const auto need = [&](std::size_t size) { return value.size() == size; };
    switch (tag) {
    case tlv_tag::receipted_message_id:
      // A C-octet string; some SMSCs leave out the NUL, which costs nothing to accept as long
      // as the id still fits the field with one.
      value = value.substr(0, value.find('\0'));
      if (value.size() + 1 > field_max::message_id) {
        return smpp_errc::invalid_tlv_length;
      }
      out.receipted_message_id = std::string(value);
      break;
    case tlv_tag::message_state:
      if (!need(1)) {
        return smpp_errc::invalid_tlv_length;
      }
      out.message_state = octet(0);
      break;
    case tlv_tag::network_error_code:
      if (!need(3)) {
        return smpp_errc::invalid_tlv_length;
      }
      out.network_error_code = NetworkErrorCode{octet(0), static_cast<std::uint16_t>(octet(1) << 8 | octet(2))};
      break;
    case tlv_tag::sar_msg_ref_num:
      if (!need(2)) {
        return smpp_errc::invalid_tlv_length;
      }
      out.sar_msg_ref_num = static_cast<std::uint16_t>(octet(0) << 8 | octet(1));
      break;
    case tlv_tag::sar_total_segments:
      if (!need(1)) {
        return smpp_errc::invalid_tlv_length;
      }
      out.sar_total_segments = octet(0);
      break;
    case tlv_tag::sar_segment_seqnum:
      if (!need(1)) {
        return smpp_errc::invalid_tlv_length;
      }
      out.sar_segment_seqnum = octet(0);
      break;
    case tlv_tag::user_message_reference:
      if (!need(2)) {
        return smpp_errc::invalid_tlv_length;
      }
      out.user_message_reference = static_cast<std::uint16_t>(octet(0) << 8 | octet(1));
      break;
    case tlv_tag::sc_interface_version:
      if (!need(1)) {
        return smpp_errc::invalid_tlv_length;
      }
      out.sc_interface_version = octet(0);
      break;
    case tlv_tag::message_payload: out.message_payload = std::string(value); break;
    default: break; // §3.2.4: an ESME ignores optional parameters it does not support
    }
  }
  return {};
}

error_code write_tlvs(Writer& writer, const OptionalParams& params) {
  if (params.receipted_message_id) {
    const std::string& id = *params.receipted_message_id;
    if (id.find('\0') != std::string::npos) {
      return smpp_errc::embedded_nul;
    }
    if (id.size() + 1 > field_max::message_id) {
      return smpp_errc::invalid_tlv_length;
    }
    writer.tlv(tlv_tag::receipted_message_id, std::string_view(id.c_str(), id.size() + 1));
  }
  if (params.message_state) {
    writer.tlv(tlv_tag::message_state, be_bytes(*params.message_state, 1));
  }
  if (params.network_error_code) {
    writer.tlv(tlv_tag::network_error_code, be_bytes(params.network_error_code->network_type, 1) +
                                                be_bytes(params.network_error_code->error_code, 2));
  }
  if (params.sar_msg_ref_num) {
    writer.tlv(tlv_tag::sar_msg_ref_num, be_bytes(*params.sar_msg_ref_num, 2));
  }
  if (params.sar_total_segments) {
    writer.tlv(tlv_tag::sar_total_segments, be_bytes(*params.sar_total_segments, 1));
  }
  if (params.sar_segment_seqnum) {
    writer.tlv(tlv_tag::sar_segment_seqnum, be_bytes(*params.sar_segment_seqnum, 1));
  }
  if (params.user_message_reference) {
    writer.tlv(tlv_tag::user_message_reference, be_bytes(*params.user_message_reference, 2));
  }
  if (params.sc_interface_version) {
    writer.tlv(tlv_tag::sc_interface_version, be_bytes(*params.sc_interface_version, 1));
  }
  if (params.message_payload) {
    if (params.message_payload->size() > std::numeric_limits<std::uint16_t>::max()) {
      return smpp_errc::invalid_tlv_length;
    }
    writer.tlv(tlv_tag::message_payload, *params.message_payload);
  }
  return {};
}

// ---- bodies

boost::system::result<Bind> read_bind(Reader& reader) {
  Bind bind;
  if (auto ec = reader.c_string(bind.system_id, field_max::system_id)) {
    return ec;
  }
  if (auto ec = reader.c_string(bind.password, field_max::password)) {
    return ec;
  }
  if (auto ec = reader.c_string(bind.system_type, field_max::system_type)) {
    return ec;
  }
  if (!reader.u8(bind.interface_version) || !reader.u8(bind.address_range.ton) || !reader.u8(bind.address_range.npi)) {
    return smpp_errc::truncated_body;
  }
  if (auto ec = reader.c_string(bind.address_range.address, field_max::address_range)) {
    return ec;
  }
  return bind;
}

error_code read_address(Reader& reader, Address& address) {
  if (!reader.u8(address.ton) || !reader.u8(address.npi)) {
    return smpp_errc::truncated_body;
  }
  return reader.c_string(address.address, field_max::address);
}

error_code read_short_message_fields(Reader& reader, ShortMessageFields& sm) {
  if (auto ec = reader.c_string(sm.service_type, field_max::service_type)) {
    return ec;
  }
  if (auto ec = read_address(reader, sm.source)) {
    return ec;
  }
  if (auto ec = read_address(reader, sm.destination)) {
    return ec;
  }
  if (!reader.u8(sm.esm_class) || !reader.u8(sm.protocol_id) || !reader.u8(sm.priority_flag)) {
    return smpp_errc::truncated_body;
  }
  if (auto ec = reader.c_string(sm.schedule_delivery_time, field_max::time)) {
    return ec;
  }
  if (auto ec = reader.c_string(sm.validity_period, field_max::time)) {
    return ec;
  }
  std::uint8_t sm_length = 0;
  if (!reader.u8(sm.registered_delivery) || !reader.u8(sm.replace_if_present_flag) || !reader.u8(sm.data_coding) ||
      !reader.u8(sm.sm_default_msg_id) || !reader.u8(sm_length)) {
    return smpp_errc::truncated_body;
  }
  if (sm_length > field_max::short_message) {
    return smpp_errc::short_message_too_long;
  }
  std::string_view text;
  if (!reader.octets(sm_length, text)) {
    return smpp_errc::truncated_body;
  }
  sm.short_message.assign(text);
  return read_tlvs(reader, sm.optional);
}

error_code write_address(Writer& writer, const Address& address) {
  writer.u8(address.ton);
  writer.u8(address.npi);
  return writer.c_string(address.address, field_max::address);
}

error_code write_short_message_fields(Writer& writer, const ShortMessageFields& sm) {
  if (sm.short_message.size() > field_max::short_message) {
    return smpp_errc::short_message_too_long;
  }
  if (auto ec = writer.c_string(sm.service_type, field_max::service_type)) {
    return ec;
  }
  if (auto ec = write_address(writer, sm.source)) {
    return ec;
  }
  if (auto ec = write_address(writer, sm.destination)) {
    return ec;
  }
  writer.u8(sm.esm_class);
  writer.u8(sm.protocol_id);
  writer.u8(sm.priority_flag);
  if (auto ec = writer.c_string(sm.schedule_delivery_time, field_max::time)) {
    return ec;
  }
  if (auto ec = writer.c_string(sm.validity_period, field_max::time)) {
    return ec;
  }
  writer.u8(sm.registered_delivery);
  writer.u8(sm.replace_if_present_flag);
  writer.u8(sm.data_coding);
  writer.u8(sm.sm_default_msg_id);
  writer.u8(static_cast<std::uint8_t>(sm.short_message.size()));
  writer.octets(sm.short_message);
  return write_tlvs(writer, sm.optional);
}

boost::system::result<PduBody> read_body(std::uint32_t command_id, std::string_view body) {
  Reader reader(body);
  OptionalParams ignored;
  switch (static_cast<CommandId>(command_id)) {
  case CommandId::generic_nack:
  case CommandId::enquire_link:
  case CommandId::enquire_link_resp:
  case CommandId::unbind:
  case CommandId::unbind_resp:
    if (!body.empty()) {
      return smpp_errc::unexpected_body;
    }
    return PduBody{};
  case CommandId::bind_receiver:
  case CommandId::bind_transmitter:
  case CommandId::bind_transceiver: {
    auto bind = read_bind(reader);
    if (!bind) {
      return bind.error();
    }
    // SMPP 3.4 defines no optional parameters for a bind; later versions might send some.
    if (auto ec = read_tlvs(reader, ignored)) {
      return ec;
    }
    return PduBody{std::move(*bind)};
  }
  case CommandId::bind_receiver_resp:
  case CommandId::bind_transmitter_resp:
  case CommandId::bind_transceiver_resp: {
    BindResp resp;
    if (!body.empty()) {
      if (auto ec = reader.c_string(resp.system_id, field_max::system_id)) {
        return ec;
      }
      if (auto ec = read_tlvs(reader, resp.optional)) {
        return ec;
      }
    }
    return PduBody{std::move(resp)};
  }
  case CommandId::submit_sm:
  case CommandId::deliver_sm: {
    ShortMessageFields fields;
    if (auto ec = read_short_message_fields(reader, fields)) {
      return ec;
    }
    if (static_cast<CommandId>(command_id) == CommandId::submit_sm) {
      return PduBody{SubmitSm{std::move(fields)}};
    }
    return PduBody{DeliverSm{std::move(fields)}};
  }
  case CommandId::submit_sm_resp:
  case CommandId::deliver_sm_resp: {
    std::string message_id;
    if (!body.empty()) {
      if (auto ec = reader.c_string(message_id, field_max::message_id)) {
        return ec;
      }
      if (auto ec = read_tlvs(reader, ignored)) { // SMPP 5.0 adds some here
        return ec;
      }
    }
    if (static_cast<CommandId>(command_id) == CommandId::submit_sm_resp) {
      return PduBody{SubmitSmResp{std::move(message_id)}};
    }
    return PduBody{DeliverSmResp{std::move(message_id)}};
  }
  }
  return smpp_errc::unknown_command_id;
}

} // namespace

std::string_view command_name(std::uint32_t command_id) noexcept {
  switch (static_cast<CommandId>(command_id)) {
  case CommandId::generic_nack: return "generic_nack";
  case CommandId::bind_receiver: return "bind_receiver";
  case CommandId::bind_receiver_resp: return "bind_receiver_resp";
  case CommandId::bind_transmitter: return "bind_transmitter";
  case CommandId::bind_transmitter_resp: return "bind_transmitter_resp";
  case CommandId::submit_sm: return "submit_sm";
  case CommandId::submit_sm_resp: return "submit_sm_resp";
  case CommandId::deliver_sm: return "deliver_sm";
  case CommandId::deliver_sm_resp: return "deliver_sm_resp";
  case CommandId::unbind: return "unbind";
  case CommandId::unbind_resp: return "unbind_resp";
  case CommandId::bind_transceiver: return "bind_transceiver";
  case CommandId::bind_transceiver_resp: return "bind_transceiver_resp";
  case CommandId::enquire_link: return "enquire_link";
  case CommandId::enquire_link_resp: return "enquire_link_resp";
  }
  return {};
}

std::string_view command_status_name(std::uint32_t status) noexcept {
  namespace cs = command_status;
  switch (status) {
  case cs::esme_rok: return "ESME_ROK";
  case cs::esme_rinvmsglen: return "ESME_RINVMSGLEN";
  case cs::esme_rinvcmdlen: return "ESME_RINVCMDLEN";
  case cs::esme_rinvcmdid: return "ESME_RINVCMDID";
  case cs::esme_rinvbndsts: return "ESME_RINVBNDSTS";
  case cs::esme_ralybnd: return "ESME_RALYBND";
  case cs::esme_rinvprtflg: return "ESME_RINVPRTFLG";
  case cs::esme_rinvregdlvflg: return "ESME_RINVREGDLVFLG";
  case cs::esme_rsyserr: return "ESME_RSYSERR";
  case cs::esme_rinvsrcadr: return "ESME_RINVSRCADR";
  case cs::esme_rinvdstadr: return "ESME_RINVDSTADR";
  case cs::esme_rinvmsgid: return "ESME_RINVMSGID";
  case cs::esme_rbindfail: return "ESME_RBINDFAIL";
  case cs::esme_rinvpaswd: return "ESME_RINVPASWD";
  case cs::esme_rinvsysid: return "ESME_RINVSYSID";
  case cs::esme_rcancelfail: return "ESME_RCANCELFAIL";
  case cs::esme_rreplacefail: return "ESME_RREPLACEFAIL";
  case cs::esme_rmsgqful: return "ESME_RMSGQFUL";
  case cs::esme_rinvsertyp: return "ESME_RINVSERTYP";
  case cs::esme_rinvnumdests: return "ESME_RINVNUMDESTS";
  case cs::esme_rinvdlname: return "ESME_RINVDLNAME";
  case cs::esme_rinvdestflag: return "ESME_RINVDESTFLAG";
  case cs::esme_rinvsubrep: return "ESME_RINVSUBREP";
  case cs::esme_rinvesmclass: return "ESME_RINVESMCLASS";
  case cs::esme_rcntsubdl: return "ESME_RCNTSUBDL";
  case cs::esme_rsubmitfail: return "ESME_RSUBMITFAIL";
  case cs::esme_rinvsrcton: return "ESME_RINVSRCTON";
  case cs::esme_rinvsrcnpi: return "ESME_RINVSRCNPI";
  case cs::esme_rinvdstton: return "ESME_RINVDSTTON";
  case cs::esme_rinvdstnpi: return "ESME_RINVDSTNPI";
  case cs::esme_rinvsystyp: return "ESME_RINVSYSTYP";
  case cs::esme_rinvrepflag: return "ESME_RINVREPFLAG";
  case cs::esme_rinvnummsgs: return "ESME_RINVNUMMSGS";
  case cs::esme_rthrottled: return "ESME_RTHROTTLED";
  case cs::esme_rinvsched: return "ESME_RINVSCHED";
  case cs::esme_rinvexpiry: return "ESME_RINVEXPIRY";
  case cs::esme_rinvdftmsgid: return "ESME_RINVDFTMSGID";
  case cs::esme_rx_t_appn: return "ESME_RX_T_APPN";
  case cs::esme_rx_p_appn: return "ESME_RX_P_APPN";
  case cs::esme_rx_r_appn: return "ESME_RX_R_APPN";
  case cs::esme_rqueryfail: return "ESME_RQUERYFAIL";
  case cs::esme_rinvoptparstream: return "ESME_RINVOPTPARSTREAM";
  case cs::esme_roptparnotallwd: return "ESME_ROPTPARNOTALLWD";
  case cs::esme_rinvparlen: return "ESME_RINVPARLEN";
  case cs::esme_rmissingoptparam: return "ESME_RMISSINGOPTPARAM";
  case cs::esme_rinvoptparamval: return "ESME_RINVOPTPARAMVAL";
  case cs::esme_rdeliveryfailure: return "ESME_RDELIVERYFAILURE";
  case cs::esme_runknownerr: return "ESME_RUNKNOWNERR";
  default: return {};
  }
}

bool is_transient(std::uint32_t status) noexcept {
  return status == command_status::esme_rthrottled || status == command_status::esme_rmsgqful ||
         status == command_status::esme_rsyserr;
}

bool body_matches(CommandId id, const PduBody& body) noexcept {
  if (is_header_only(id)) {
    return std::holds_alternative<std::monostate>(body);
  }
  switch (id) {
  case CommandId::bind_receiver:
  case CommandId::bind_transmitter:
  case CommandId::bind_transceiver: return std::holds_alternative<Bind>(body);
  case CommandId::bind_receiver_resp:
  case CommandId::bind_transmitter_resp:
  case CommandId::bind_transceiver_resp: return std::holds_alternative<BindResp>(body);
  case CommandId::submit_sm: return std::holds_alternative<SubmitSm>(body);
  case CommandId::submit_sm_resp: return std::holds_alternative<SubmitSmResp>(body);
  case CommandId::deliver_sm: return std::holds_alternative<DeliverSm>(body);
  case CommandId::deliver_sm_resp: return std::holds_alternative<DeliverSmResp>(body);
  default: return false;
  }
}

boost::system::result<std::string> encode(const Pdu& pdu) {
  if (!body_matches(pdu.command_id, pdu.body)) {
    return smpp_errc::body_mismatch;
  }
  Writer writer;
  writer.u32(0); // command_length, patched below
  writer.u32(static_cast<std::uint32_t>(pdu.command_id));
  writer.u32(pdu.command_status);
  writer.u32(pdu.sequence_number);
  const error_code ec = std::visit(
      [&writer](const auto& body) -> error_code {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return {};
        } else if constexpr (std::is_same_v<T, Bind>) {
          if (auto e = writer.c_string(body.system_id, field_max::system_id)) {
            return e;
          }
          if (auto e = writer.c_string(body.password, field_max::password)) {
            return e;
          }
          if (auto e = writer.c_string(body.system_type, field_max::system_type)) {
            return e;
          }
          writer.u8(body.interface_version);
          writer.u8(body.address_range.ton);
          writer.u8(body.address_range.npi);
          return writer.c_string(body.address_range.address, field_max::address_range);
        } else if constexpr (std::is_same_v<T, BindResp>) {
          if (auto e = writer.c_string(body.system_id, field_max::system_id)) {
            return e;
          }
          return write_tlvs(writer, body.optional);
        } else if constexpr (std::is_same_v<T, SubmitSm> || std::is_same_v<T, DeliverSm>) {
          return write_short_message_fields(writer, body);
        } else {
          static_assert(std::is_same_v<T, SubmitSmResp> || std::is_same_v<T, DeliverSmResp>);
          return writer.c_string(body.message_id, field_max::message_id);
        }
      },
      pdu.body);
  if (ec) {
    return ec;
  }
  std::string& bytes = writer.bytes();
  const std::string length = be_bytes(static_cast<std::uint32_t>(bytes.size()), 4);
  std::copy(length.begin(), length.end(), bytes.begin());
  return std::move(bytes);
}

Pdu make_generic_nack(std::uint32_t sequence_number, std::uint32_t status) {
  return Pdu{CommandId::generic_nack, status, sequence_number, {}};
}

Pdu make_enquire_link(std::uint32_t sequence_number) {
  return Pdu{CommandId::enquire_link, command_status::esme_rok, sequence_number, {}};
}

Pdu make_empty_response(CommandId request, std::uint32_t sequence_number, std::uint32_t status) {
  return Pdu{response_to(request), status, sequence_number, {}};
}

DecodeResult decode(std::string_view buffer, const DecodeLimits& limits) {
  if (buffer.size() < 4) {
    return NeedMore{header_size};
  }
  const std::uint32_t length = be32(buffer);
  std::optional<Header> header;
  if (buffer.size() >= header_size) {
    header = Header{length, be32(buffer.substr(4)), be32(buffer.substr(8)), be32(buffer.substr(12))};
  }
  if (length < header_size || length > std::max(limits.max_command_length, header_size)) {
    return DecodeError{smpp_errc::invalid_command_length, header, 0};
  }
  if (buffer.size() < length) {
    return NeedMore{length};
  }
  auto body = read_body(header->command_id, buffer.substr(header_size, length - header_size));
  if (!body) {
    return DecodeError{body.error(), header, length};
  }
  return Decoded{Pdu{static_cast<CommandId>(header->command_id), header->command_status, header->sequence_number,
                     std::move(*body)},
                 length};
}

} // namespace parley::gateways::sms
