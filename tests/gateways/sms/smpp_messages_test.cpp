#include "gateways/sms/smpp_messages.hpp"

#include "gateways/sms/encoding.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;
using namespace parley::gateways::sms::smpp;

namespace {

std::string bytes(std::initializer_list<unsigned> octets) {
  std::string out;
  for (const unsigned o : octets) {
    out.push_back(static_cast<char>(o));
  }
  return out;
}

OutboundSms sms(std::string body, std::string key = "key-1") {
  OutboundSms out;
  out.key = std::move(key);
  out.from = "+15550100001";
  out.to = "+447700900123";
  out.body = std::move(body);
  return out;
}

std::string repeat(std::string_view piece, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) {
    out += piece;
  }
  return out;
}

} // namespace

TEST_CASE("make_submits: a short GSM-7 text is one submit_sm in the SMSC default alphabet") {
  const auto testling = make_submits(sms("Hello [world] €5"), SubmitOptions{});
  REQUIRE(testling.has_value());
  REQUIRE(testling->size() == 1);
  const auto& submit = testling->front();
  CHECK(submit.source == Address{ton::international, npi::isdn, "15550100001"});
  CHECK(submit.destination == Address{ton::international, npi::isdn, "447700900123"});
  CHECK(submit.data_coding == dcs::smsc_default);
  CHECK(submit.esm_class == 0);
  CHECK(submit.registered_delivery == registered_delivery::on_final_outcome);
  // One septet per octet; the extension characters take an escape each.
  CHECK(submit.short_message == *encode_gsm7("Hello [world] €5"));
  CHECK(submit.short_message.size() == 19);
  CHECK(encode(Pdu{CommandId::submit_sm, 0, 1, submit}).has_value());
}

TEST_CASE("make_submits: a long GSM-7 text goes in 153-septet parts with the concatenation UDH") {
  const std::string text = repeat("0123456789", 20); // 200 septets
  const auto testling = make_submits(sms(text), SubmitOptions{});
  REQUIRE(testling.has_value());
  REQUIRE(testling->size() == 2);
  const std::uint8_t reference = concat_reference("key-1");
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& part = (*testling)[i];
    CHECK(part.esm_class == esm_class::udhi);
    CHECK(part.data_coding == dcs::smsc_default);
    CHECK(part.short_message.substr(0, 6) == bytes({0x05, 0x00, 0x03, reference, 0x02, static_cast<unsigned>(i + 1)}));
  }
  CHECK((*testling)[0].short_message.size() == 6 + 153);
  CHECK((*testling)[1].short_message.size() == 6 + 47);
  CHECK((*testling)[0].short_message.substr(6) + (*testling)[1].short_message.substr(6) == text);
}

TEST_CASE("make_submits: other characters go as UCS-2 in 67-unit parts, surrogate pairs kept whole") {
  SUBCASE("one part up to 70 units") {
    const auto testling = make_submits(sms("Grüße ☃"), SubmitOptions{});
    REQUIRE(testling.has_value());
    REQUIRE(testling->size() == 1);
    CHECK(testling->front().data_coding == dcs::ucs2);
    CHECK(testling->front().short_message == *encode_ucs2("Grüße ☃"));
  }
  SUBCASE("an emoji that would straddle units 67 and 68 moves to the next part") {
    const std::string text = repeat("☃", 66) + "😀" + repeat("x", 10); // 66 + 2 + 10 units
    const auto testling = make_submits(sms(text), SubmitOptions{});
    REQUIRE(testling.has_value());
    REQUIRE(testling->size() == 2);
    const auto first = (*testling)[0].short_message.substr(6);
    const auto second = (*testling)[1].short_message.substr(6);
    CHECK(first.size() == 66 * 2);
    CHECK(*decode_ucs2(first) == repeat("☃", 66));
    CHECK(*decode_ucs2(second) == "😀" + repeat("x", 10));
  }
}

TEST_CASE("make_submits follows the configured addressing and receipt request") {
  SubmitOptions options;
  options.source_ton = ton::national;
  options.source_npi = npi::isdn;
  options.destination_ton = ton::unknown;
  options.destination_npi = npi::unknown;
  options.delivery_receipts = false;
  options.service_type = "CMT";
  const auto testling = make_submits(sms("hi"), options);
  REQUIRE(testling.has_value());
  const auto& submit = testling->front();
  CHECK(submit.source == Address{ton::national, npi::isdn, "+15550100001"}); // only TON 1 drops the '+'
  CHECK(submit.destination == Address{ton::unknown, npi::unknown, "+447700900123"});
  CHECK(submit.registered_delivery == registered_delivery::none);
  CHECK(submit.service_type == "CMT");
}

TEST_CASE("make_submits refuses invalid UTF-8") {
  const auto testling = make_submits(sms(bytes({0x61, 0xC3})), SubmitOptions{});
  REQUIRE_FALSE(testling.has_value());
  CHECK(testling.error() == sms_errc::invalid_utf8);
}

TEST_CASE("concat_reference is stable per key and differs between keys") {
  CHECK(concat_reference("abc") == concat_reference("abc"));
  int differing = 0;
  for (int i = 0; i < 50; ++i) {
    differing += concat_reference("key-" + std::to_string(i)) != concat_reference("key-" + std::to_string(i + 1));
  }
  CHECK(differing > 40);
}

TEST_CASE("from_address gives international numbers their '+' back and leaves the rest") {
  CHECK(from_address(Address{ton::international, npi::isdn, "15557654321"}) == "+15557654321");
  CHECK(from_address(Address{ton::international, npi::isdn, "+15557654321"}) == "+15557654321");
  CHECK(from_address(Address{ton::national, npi::isdn, "07700900123"}) == "07700900123");
  CHECK(from_address(Address{ton::alphanumeric, npi::unknown, "MyBank"}) == "MyBank");
  CHECK(from_address(Address{ton::unknown, npi::unknown, "12345"}) == "12345");
}

TEST_CASE("read_deliver_sm: a delivery receipt with receipted_message_id and message_state") {
  DeliverSm pdu;
  pdu.esm_class = esm_class::delivery_receipt;
  pdu.short_message =
      "id:999 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:hi";
  pdu.optional.receipted_message_id = "3e8"; // the TLV wins over the text's id
  pdu.optional.message_state = static_cast<std::uint8_t>(MessageState::delivered);
  const auto testling = read_deliver_sm(pdu);
  const auto* receipt = std::get_if<ReceiptPdu>(&testling);
  REQUIRE(receipt != nullptr);
  CHECK(receipt->report.provider_id == "3e8");
  CHECK(receipt->report.status == "DELIVRD");
  CHECK(receipt->report.kind == DeliveryReport::Kind::delivered);
  CHECK(receipt->report.error_code.empty());
}

TEST_CASE("read_deliver_sm: a receipt with only its text, failed, with the network's error") {
  DeliverSm pdu;
  pdu.esm_class = esm_class::delivery_receipt;
  pdu.short_message =
      "id:1a2b sub:001 dlvrd:000 submit date:2401011200 done date:2401011201 stat:UNDELIV err:034 text:";
  const auto testling = read_deliver_sm(pdu);
  const auto* receipt = std::get_if<ReceiptPdu>(&testling);
  REQUIRE(receipt != nullptr);
  CHECK(receipt->report.provider_id == "1a2b");
  CHECK(receipt->report.status == "UNDELIV");
  CHECK(receipt->report.kind == DeliveryReport::Kind::failed);
  CHECK(receipt->report.error_code == "034");
  CHECK(receipt->report.error_text.find("UNDELIV") != std::string::npos);

  SUBCASE("network_error_code is taken over err:") {
    pdu.optional.network_error_code = NetworkErrorCode{3, 11};
    const auto again = read_deliver_sm(pdu);
    CHECK(std::get<ReceiptPdu>(again).report.error_code == "3:11");
  }
}

TEST_CASE("read_deliver_sm: states that are progress, and receipts that cannot be read") {
  DeliverSm pdu;
  pdu.esm_class = esm_class::delivery_receipt;
  pdu.short_message = "id:77 stat:ENROUTE";
  CHECK(std::get<ReceiptPdu>(read_deliver_sm(pdu)).report.kind == DeliveryReport::Kind::progress);
  pdu.short_message = "id:77 stat:EXPIRED";
  CHECK(std::get<ReceiptPdu>(read_deliver_sm(pdu)).report.kind == DeliveryReport::Kind::failed);

  pdu.short_message = "nothing a receipt has";
  const auto unreadable = read_deliver_sm(pdu);
  REQUIRE(std::holds_alternative<UnusablePdu>(unreadable));
  CHECK(std::get<UnusablePdu>(unreadable).status == command_status::esme_rx_p_appn);

  pdu.short_message = "id:77 stat:WHATEVER";
  CHECK(std::holds_alternative<UnusablePdu>(read_deliver_sm(pdu)));
  pdu.optional.message_state = 2; // the TLV saves it
  CHECK(std::get<ReceiptPdu>(read_deliver_sm(pdu)).report.kind == DeliveryReport::Kind::delivered);
}

TEST_CASE("read_deliver_sm: a text, whole or a part by UDH or by sar_* TLVs") {
  DeliverSm pdu;
  pdu.source = Address{ton::international, npi::isdn, "15557654321"};
  pdu.destination = Address{ton::international, npi::isdn, "15550100001"};
  pdu.data_coding = dcs::ucs2;
  pdu.short_message = *encode_ucs2("hé");

  auto testling = read_deliver_sm(pdu);
  const auto* text = std::get_if<TextPdu>(&testling);
  REQUIRE(text != nullptr);
  CHECK(text->from == "+15557654321");
  CHECK(text->to == "+15550100001");
  CHECK(text->data_coding == dcs::ucs2);
  CHECK_FALSE(text->concat.has_value());
  CHECK(*payload_text(text->data_coding, text->payload) == "hé");

  SUBCASE("with a concatenation UDH") {
    pdu.esm_class = esm_class::udhi;
    pdu.short_message = concat_udh(0x42, 3, 2) + *encode_ucs2("hé");
    testling = read_deliver_sm(pdu);
    text = std::get_if<TextPdu>(&testling);
    REQUIRE(text != nullptr);
    REQUIRE(text->concat.has_value());
    CHECK(*text->concat == ConcatInfo{0x42, 3, 2});
    CHECK(text->payload == *encode_ucs2("hé"));
  }
  SUBCASE("with sar_* TLVs") {
    pdu.optional.sar_msg_ref_num = 0x1234;
    pdu.optional.sar_total_segments = 2;
    pdu.optional.sar_segment_seqnum = 1;
    testling = read_deliver_sm(pdu);
    REQUIRE(std::get<TextPdu>(testling).concat == ConcatInfo{0x1234, 2, 1});
    pdu.optional.sar_segment_seqnum = 3;
    CHECK(std::holds_alternative<UnusablePdu>(read_deliver_sm(pdu)));
  }
  SUBCASE("in message_payload") {
    pdu.short_message.clear();
    pdu.optional.message_payload = *encode_ucs2("long one");
    CHECK(*payload_text(dcs::ucs2, std::get<TextPdu>(read_deliver_sm(pdu)).payload) == "long one");
  }
  SUBCASE("a UDH that runs past the user data is refused") {
    pdu.esm_class = esm_class::udhi;
    pdu.short_message = bytes({0x09, 0x00, 0x03});
    const auto refused = read_deliver_sm(pdu);
    REQUIRE(std::holds_alternative<UnusablePdu>(refused));
    CHECK(std::get<UnusablePdu>(refused).status == command_status::esme_rx_p_appn);
  }
}

TEST_CASE("payload_text reads Latin-1 sent as data_coding 0 instead of refusing it") {
  CHECK(*payload_text(dcs::smsc_default, *encode_gsm7("@ok")) == "@ok");
  CHECK(*payload_text(dcs::smsc_default, bytes({0x63, 0x61, 0x66, 0xE9})) == "café");
  CHECK_FALSE(payload_text(0x04, "x").has_value()); // 8-bit binary is no text
}

TEST_CASE("deliver_sm_status: OK only once delivered or stored; storage trouble is transient") {
  CHECK(deliver_sm_status(InboundOutcome::delivered) == command_status::esme_rok);
  CHECK(deliver_sm_status(InboundOutcome::not_stored) == command_status::esme_rx_t_appn);
  CHECK(deliver_sm_status(InboundOutcome::unknown_number) == command_status::esme_rx_r_appn);
  CHECK(deliver_sm_status(InboundOutcome::invalid) == command_status::esme_rx_r_appn);
  CHECK(deliver_sm_status(InboundOutcome::refused) == command_status::esme_rx_r_appn);
}

TEST_CASE("is_throttling and describe_status") {
  CHECK(is_throttling(command_status::esme_rthrottled));
  CHECK(is_throttling(command_status::esme_rmsgqful));
  CHECK_FALSE(is_throttling(command_status::esme_rsyserr));
  CHECK(describe_status(command_status::esme_rthrottled) == "ESME_RTHROTTLED (0x00000058)");
  CHECK(describe_status(0x400) == "0x00000400");
}
