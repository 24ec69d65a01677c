#include "gateways/sms/delivery_receipt.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;

TEST_CASE("delivery receipt: the format of SMPP 3.4 Appendix B") {
  const auto testling = parse_delivery_receipt("id:0123456789 sub:001 dlvrd:001 submit date:2401011200 "
                                               "done date:2401011201 stat:DELIVRD err:000 text:Hello world");
  REQUIRE(testling.has_value());
  CHECK(testling->id == "0123456789");
  CHECK(testling->submitted == 1u);
  CHECK(testling->delivered == 1u);
  CHECK(testling->submit_date == "2401011200");
  CHECK(testling->done_date == "2401011201");
  CHECK(testling->stat == "DELIVRD");
  CHECK(testling->state == MessageState::delivered);
  CHECK(testling->err == "000");
  CHECK(testling->text == "Hello world");
}

TEST_CASE("delivery receipt: variants SMSCs send") {
  SUBCASE("capitalised Text:, seconds in the dates, hex id") {
    const auto r = parse_delivery_receipt("id:7A3F0B12 sub:001 dlvrd:000 submit date:240101120059 "
                                          "done date:240101120130 stat:UNDELIV err:001 Text:Hi");
    REQUIRE(r.has_value());
    CHECK(r->id == "7A3F0B12");
    CHECK(r->delivered == 0u);
    CHECK(r->submit_date == "240101120059");
    CHECK(r->state == MessageState::undeliverable);
    CHECK(r->err == "001");
    CHECK(r->text == "Hi");
  }
  SUBCASE("no text, other order, underscores, an extra key") {
    const auto r = parse_delivery_receipt("stat:EXPIRED id:42 done_date:2401020000 submit_date:2401010000 "
                                          "err:0 extra:ignored sub:1 dlvrd:0");
    REQUIRE(r.has_value());
    CHECK(r->id == "42");
    CHECK(r->state == MessageState::expired);
    CHECK(r->done_date == "2401020000");
    CHECK(r->submit_date == "2401010000");
    CHECK(r->err == "0 extra:ignored"); // an unknown key belongs to the value before it
    CHECK(r->submitted == 1u);
    CHECK(r->text.empty());
  }
  SUBCASE("the text may contain anything, keys included") {
    const auto r = parse_delivery_receipt("id:1 stat:DELIVRD text:id:2 stat:REJECTD  two spaces ");
    REQUIRE(r.has_value());
    CHECK(r->id == "1");
    CHECK(r->state == MessageState::delivered);
    CHECK(r->text == "id:2 stat:REJECTD  two spaces ");
  }
  SUBCASE("lower-case stat, unknown stat, non-numeric counts") {
    auto r = parse_delivery_receipt("id:1 sub:abc dlvrd: stat:delivrd");
    REQUIRE(r.has_value());
    CHECK(r->state == MessageState::delivered);
    CHECK_FALSE(r->submitted.has_value());
    CHECK_FALSE(r->delivered.has_value());
    r = parse_delivery_receipt("id:1 stat:FAILED");
    REQUIRE(r.has_value());
    CHECK(r->stat == "FAILED");
    CHECK_FALSE(r->state.has_value());
  }
}

TEST_CASE("delivery receipt: id and stat are required") {
  for (const std::string_view bad : {"", "hello", "id:1 err:000", "stat:DELIVRD", "id: stat:DELIVRD",
                                     "id:1 stat:", "xid:1 xstat:DELIVRD", "text:id:1 stat:DELIVRD"}) {
    CAPTURE(bad);
    CHECK(parse_delivery_receipt(bad).error() == smpp_errc::malformed_receipt);
  }
}

TEST_CASE("delivery receipt: every stat word of Appendix B") {
  CHECK(message_state_from_stat("ENROUTE") == MessageState::enroute);
  CHECK(message_state_from_stat("DELIVRD") == MessageState::delivered);
  CHECK(message_state_from_stat("EXPIRED") == MessageState::expired);
  CHECK(message_state_from_stat("DELETED") == MessageState::deleted);
  CHECK(message_state_from_stat("UNDELIV") == MessageState::undeliverable);
  CHECK(message_state_from_stat("ACCEPTD") == MessageState::accepted);
  CHECK(message_state_from_stat("UNKNOWN") == MessageState::unknown);
  CHECK(message_state_from_stat("REJECTD") == MessageState::rejected);
  CHECK_FALSE(message_state_from_stat("DELIVERED").has_value());
  CHECK_FALSE(message_state_from_stat("").has_value());
}
