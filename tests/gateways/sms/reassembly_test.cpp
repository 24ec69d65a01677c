#include "gateways/sms/reassembly.hpp"

#include "gateways/sms/udh.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;
using namespace std::chrono_literals;

namespace {

std::string bytes(std::initializer_list<unsigned> octets) {
  std::string out;
  for (const unsigned o : octets) {
    out.push_back(static_cast<char>(o));
  }
  return out;
}

const Reassembler::Clock::time_point t0{};

} // namespace

TEST_CASE("parse_udh reads the 8-bit concatenation IE") {
  const std::string user_data = concat_udh(0x2A, 3, 2) + "hello";
  const auto testling = parse_udh(user_data);
  REQUIRE(testling.has_value());
  CHECK(testling->header == bytes({0x05, 0x00, 0x03, 0x2A, 0x03, 0x02}));
  CHECK(testling->payload == "hello");
  REQUIRE(testling->concat.has_value());
  CHECK(*testling->concat == ConcatInfo{0x2A, 3, 2});
}

TEST_CASE("parse_udh reads the 16-bit concatenation IE") {
  const std::string user_data = bytes({0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01}) + "x";
  const auto testling = parse_udh(user_data);
  REQUIRE(testling.has_value());
  CHECK(testling->payload == "x");
  REQUIRE(testling->concat.has_value());
  CHECK(*testling->concat == ConcatInfo{0x1234, 2, 1});
}

TEST_CASE("parse_udh skips other IEs and keeps the last concatenation IE") {
  // Application port addressing (0x05, four octets), then concatenation.
  const std::string ports = bytes({0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x09, 0x02, 0x01}) + "p";
  auto testling = parse_udh(ports);
  REQUIRE(testling.has_value());
  CHECK(testling->payload == "p");
  CHECK(testling->concat == ConcatInfo{9, 2, 1});

  const std::string twice = bytes({0x0B, 0x00, 0x03, 0x01, 0x02, 0x01, 0x08, 0x04, 0x00, 0x05, 0x03, 0x03});
  CHECK(parse_udh(twice).value().concat == ConcatInfo{5, 3, 3});

  const std::string none = bytes({0x03, 0x24, 0x01, 0x01}) + "t"; // a national language shift
  testling = parse_udh(none);
  REQUIRE(testling.has_value());
  CHECK_FALSE(testling->concat.has_value());
  CHECK(testling->payload == "t");

  CHECK(parse_udh(bytes({0x00})).value().payload.empty());
}

TEST_CASE("parse_udh ignores concatenation IEs with impossible numbers or lengths") {
  for (const std::string& user_data : {bytes({0x05, 0x00, 0x03, 0x01, 0x00, 0x01}),    // total 0
                                       bytes({0x05, 0x00, 0x03, 0x01, 0x02, 0x00}),    // sequence 0
                                       bytes({0x05, 0x00, 0x03, 0x01, 0x02, 0x03}),    // sequence > total
                                       bytes({0x04, 0x00, 0x02, 0x01, 0x02}),          // 8-bit IE too short
                                       bytes({0x05, 0x08, 0x03, 0x01, 0x02, 0x01})}) { // 16-bit IE too short
    const auto testling = parse_udh(user_data);
    REQUIRE(testling.has_value());
    CHECK_FALSE(testling->concat.has_value());
  }
  // An invalid IE after a valid one leaves the valid one.
  CHECK(parse_udh(bytes({0x0A, 0x00, 0x03, 0x01, 0x02, 0x01, 0x00, 0x03, 0x01, 0x00, 0x01})).value().concat ==
        ConcatInfo{1, 2, 1});
}

TEST_CASE("parse_udh refuses headers that run past their end") {
  CHECK(parse_udh("").error() == sms_errc::malformed_udh);
  CHECK(parse_udh(bytes({0x05, 0x00, 0x03, 0x01})).error() == sms_errc::malformed_udh);
  CHECK(parse_udh(bytes({0x01, 0x00})).error() == sms_errc::malformed_udh);             // IE without length
  CHECK(parse_udh(bytes({0x03, 0x00, 0x03, 0x01})).error() == sms_errc::malformed_udh); // IE past UDHL
  CHECK(parse_udh(bytes({0xFF})).error() == sms_errc::malformed_udh);
}

TEST_CASE("Reassembler: parts in any order complete the message in sequence order") {
  Reassembler testling;
  auto r = testling.add("+15551234567", {7, 3, 3}, "three", t0);
  REQUIRE(r.has_value());
  CHECK(r.value().status == Reassembler::Status::pending);
  r = testling.add("+15551234567", {7, 3, 1}, "one,", t0 + 1s);
  CHECK(r.value().status == Reassembler::Status::pending);
  CHECK(testling.pending_sets() == 1);
  r = testling.add("+15551234567", {7, 3, 2}, "two,", t0 + 2s);
  REQUIRE(r.has_value());
  CHECK(r.value().status == Reassembler::Status::complete);
  CHECK(r.value().payload == "one,two,three");
  CHECK(testling.pending_sets() == 0);
  CHECK(testling.pending_bytes() == 0);
}

TEST_CASE("Reassembler: duplicates are ignored, the first copy counts") {
  Reassembler testling;
  CHECK(testling.add("a", {1, 2, 1}, "first", t0).value().status == Reassembler::Status::pending);
  CHECK(testling.add("a", {1, 2, 1}, "again", t0).value().status == Reassembler::Status::duplicate);
  const auto r = testling.add("a", {1, 2, 2}, "-second", t0);
  CHECK(r.value().status == Reassembler::Status::complete);
  CHECK(r.value().payload == "first-second");
}

TEST_CASE("Reassembler: a single part completes at once, and invalid numbers are refused") {
  Reassembler testling;
  const auto r = testling.add("a", {0, 1, 1}, "alone", t0);
  CHECK(r.value().status == Reassembler::Status::complete);
  CHECK(r.value().payload == "alone");
  CHECK(testling.pending_sets() == 0);
  CHECK(testling.add("a", {1, 0, 0}, "x", t0).error() == sms_errc::invalid_concat);
  CHECK(testling.add("a", {1, 2, 0}, "x", t0).error() == sms_errc::invalid_concat);
  CHECK(testling.add("a", {1, 2, 3}, "x", t0).error() == sms_errc::invalid_concat);
}

TEST_CASE("Reassembler: sets are keyed by source, reference and total") {
  Reassembler testling;
  CHECK(testling.add("alice", {1, 2, 1}, "A1", t0).value().status == Reassembler::Status::pending);
  CHECK(testling.add("bob", {1, 2, 1}, "B1", t0).value().status == Reassembler::Status::pending);
  CHECK(testling.add("alice", {2, 2, 1}, "C1", t0).value().status == Reassembler::Status::pending);
  CHECK(testling.add("alice", {1, 3, 1}, "D1", t0).value().status == Reassembler::Status::pending);
  CHECK(testling.pending_sets() == 4);
  CHECK(testling.add("bob", {1, 2, 2}, "B2", t0).value().payload == "B1B2");
  CHECK(testling.add("alice", {1, 2, 2}, "A2", t0).value().payload == "A1A2");
  CHECK(testling.pending_sets() == 2);
}

TEST_CASE("Reassembler: incomplete sets expire after the timeout") {
  Reassembler testling(Reassembler::Limits{.timeout = 60s});
  CHECK(testling.add("a", {1, 3, 2}, "two", t0).value().status == Reassembler::Status::pending);
  CHECK(testling.add("b", {1, 2, 1}, "b1", t0 + 30s).value().status == Reassembler::Status::pending);
  CHECK(testling.expire(t0 + 59s).empty());

  auto expired = testling.expire(t0 + 60s);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].source == "a");
  CHECK(expired[0].reference == 1);
  CHECK(expired[0].total == 3);
  REQUIRE(expired[0].parts.size() == 1);
  CHECK(expired[0].parts[0] == std::pair<std::uint8_t, std::string>{2, "two"});
  CHECK(testling.pending_sets() == 1);

  // What arrives later starts afresh and cannot complete the expired set.
  CHECK(testling.add("a", {1, 3, 1}, "one", t0 + 61s).value().status == Reassembler::Status::pending);
  CHECK(testling.add("a", {1, 3, 3}, "three", t0 + 61s).value().status == Reassembler::Status::pending);

  expired = testling.expire(t0 + 200s);
  CHECK(expired.size() == 2);
  CHECK(testling.pending_sets() == 0);
  CHECK(testling.pending_bytes() == 0);
}

TEST_CASE("Reassembler: the cap on pending sets evicts the oldest") {
  Reassembler testling(Reassembler::Limits{.max_pending_sets = 3});
  for (std::uint16_t ref = 0; ref < 5; ++ref) {
    CHECK(testling.add("s", {ref, 2, 1}, "x", t0).value().status == Reassembler::Status::pending);
    CHECK(testling.pending_sets() <= 3);
  }
  CHECK(testling.evicted() == 2);
  // References 0 and 1 are gone; 2, 3 and 4 still complete.
  CHECK(testling.add("s", {0, 2, 2}, "y", t0).value().status == Reassembler::Status::pending);
  CHECK(testling.evicted() == 3); // making room for the restarted set 0 dropped set 2
  CHECK(testling.add("s", {4, 2, 2}, "y", t0).value().payload == "xy");
  CHECK(testling.add("s", {3, 2, 2}, "y", t0).value().payload == "xy");
}

TEST_CASE("Reassembler: the byte budget evicts the oldest, and refuses a part larger than itself") {
  Reassembler testling(Reassembler::Limits{.max_pending_bytes = 100});
  CHECK(testling.add("s", {1, 2, 1}, std::string(40, 'a'), t0).value().status == Reassembler::Status::pending);
  CHECK(testling.add("s", {2, 2, 1}, std::string(40, 'b'), t0).value().status == Reassembler::Status::pending);
  CHECK(testling.pending_bytes() == 82);
  CHECK(testling.add("s", {3, 2, 1}, std::string(40, 'c'), t0).value().status == Reassembler::Status::pending);
  CHECK(testling.evicted() == 1);
  CHECK(testling.pending_bytes() <= 100);
  CHECK(testling.add("s", {4, 2, 1}, std::string(100, 'd'), t0).error() == sms_errc::part_too_large);

  // The set being completed is the oldest and must go itself: it restarts with this part.
  Reassembler tight(Reassembler::Limits{.max_pending_bytes = 50});
  CHECK(tight.add("s", {1, 3, 1}, std::string(30, 'a'), t0).value().status == Reassembler::Status::pending);
  CHECK(tight.add("s", {1, 3, 2}, std::string(30, 'b'), t0).value().status == Reassembler::Status::pending);
  CHECK(tight.evicted() == 1);
  CHECK(tight.pending_bytes() == 31);
}

TEST_CASE("Reassembler: parts redelivered after completion are duplicates within the window") {
  Reassembler testling(Reassembler::Limits{.timeout = 60s, .duplicate_window = 120s});
  CHECK(testling.add("a", {9, 2, 1}, "one", t0).value().status == Reassembler::Status::pending);
  CHECK(testling.add("a", {9, 2, 2}, "two", t0).value().status == Reassembler::Status::complete);
  CHECK(testling.remembered_sets() == 1);
  // The SMSC missed our acknowledgements and sends both again.
  CHECK(testling.add("a", {9, 2, 1}, "one", t0 + 30s).value().status == Reassembler::Status::duplicate);
  CHECK(testling.add("a", {9, 2, 2}, "two", t0 + 30s).value().status == Reassembler::Status::duplicate);
  CHECK(testling.pending_sets() == 0);
  // Another source, reference or total is another message.
  CHECK(testling.add("b", {9, 2, 1}, "x", t0 + 30s).value().status == Reassembler::Status::pending);
  CHECK(testling.add("a", {9, 3, 1}, "x", t0 + 30s).value().status == Reassembler::Status::pending);
  // After the window the key is free again.
  CHECK(testling.expire(t0 + 119s).size() == 2);
  CHECK(testling.remembered_sets() == 1);
  CHECK(testling.expire(t0 + 120s).empty());
  CHECK(testling.remembered_sets() == 0);
  CHECK(testling.add("a", {9, 2, 1}, "new", t0 + 121s).value().status == Reassembler::Status::pending);
  CHECK(testling.add("a", {9, 2, 2}, "er", t0 + 122s).value().payload == "newer");

  Reassembler forgetful(Reassembler::Limits{.duplicate_window = 0s});
  CHECK(forgetful.add("a", {9, 2, 1}, "one", t0).value().status == Reassembler::Status::pending);
  CHECK(forgetful.add("a", {9, 2, 2}, "two", t0).value().status == Reassembler::Status::complete);
  CHECK(forgetful.remembered_sets() == 0);
  CHECK(forgetful.add("a", {9, 2, 1}, "one", t0).value().status == Reassembler::Status::pending);
}

TEST_CASE("Reassembler: the memory of completed sets is bounded") {
  Reassembler testling(Reassembler::Limits{.max_pending_sets = 4});
  for (std::uint16_t ref = 0; ref < 10; ++ref) {
    CHECK(testling.add("s", {ref, 2, 1}, "a", t0).value().status == Reassembler::Status::pending);
    CHECK(testling.add("s", {ref, 2, 2}, "b", t0).value().status == Reassembler::Status::complete);
    CHECK(testling.remembered_sets() <= 4);
  }
  // The same key completing again and again, each time after the window, does not grow it.
  Reassembler again(Reassembler::Limits{.max_pending_sets = 2, .duplicate_window = 1s});
  for (int i = 0; i < 10; ++i) {
    const auto at = t0 + i * 2s;
    CHECK(again.add("s", {1, 2, 1}, "a", at).value().status == Reassembler::Status::pending);
    CHECK(again.add("s", {1, 2, 2}, "b", at).value().status == Reassembler::Status::complete);
    CHECK(again.remembered_sets() == 1);
  }
  CHECK(testling.add("s", {9, 2, 1}, "a", t0).value().status == Reassembler::Status::duplicate);
  CHECK(testling.add("s", {0, 2, 1}, "a", t0).value().status == Reassembler::Status::pending);
}

TEST_CASE("Reassembler::release lets the parts of a refused message make a new set") {
  Reassembler testling;
  REQUIRE(testling.add("+1555", ConcatInfo{9, 2, 1}, "ab", t0)->status == Reassembler::Status::pending);
  REQUIRE(testling.add("+1555", ConcatInfo{9, 2, 2}, "cd", t0)->status == Reassembler::Status::complete);
  // Redelivered by the SMSC: without release, a duplicate of the completed set.
  CHECK(testling.add("+1555", ConcatInfo{9, 2, 1}, "ab", t0 + 1s)->status == Reassembler::Status::duplicate);
  CHECK(testling.release("+1555", 9, 2));
  CHECK_FALSE(testling.release("+1555", 9, 2));
  CHECK(testling.add("+1555", ConcatInfo{9, 2, 2}, "cd", t0 + 2s)->status == Reassembler::Status::pending);
  const auto again = testling.add("+1555", ConcatInfo{9, 2, 1}, "ab", t0 + 3s);
  REQUIRE(again.has_value());
  CHECK(again->status == Reassembler::Status::complete);
  CHECK(again->payload == "abcd");
}
