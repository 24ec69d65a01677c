#include "gateways/sms/smpp_window.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;

namespace {

constexpr auto submit_sm_resp = static_cast<std::uint32_t>(CommandId::submit_sm_resp);
constexpr auto enquire_link_resp = static_cast<std::uint32_t>(CommandId::enquire_link_resp);
constexpr auto generic_nack = static_cast<std::uint32_t>(CommandId::generic_nack);

} // namespace

TEST_CASE("SmppWindow hands out sequence numbers from 1 and closes a request by its response") {
  SmppWindow<std::string> testling(3);
  const auto first = testling.open(CommandId::submit_sm, "a");
  const auto second = testling.open(CommandId::enquire_link, "b");
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(*first == 1);
  CHECK(*second == 2);
  CHECK(testling.size() == 2);

  const auto closed = testling.close(1, submit_sm_resp);
  REQUIRE(closed.has_value());
  CHECK(closed->command == CommandId::submit_sm);
  CHECK(closed->value == "a");
  CHECK(testling.size() == 1);
  CHECK_FALSE(testling.close(1, submit_sm_resp).has_value()); // answered already
}

TEST_CASE("SmppWindow refuses a request once `capacity` are outstanding") {
  SmppWindow<int> testling(2);
  REQUIRE(testling.open(CommandId::submit_sm, 1));
  REQUIRE(testling.open(CommandId::submit_sm, 2));
  CHECK(testling.full());
  CHECK_FALSE(testling.open(CommandId::submit_sm, 3).has_value());
  REQUIRE(testling.close(2, submit_sm_resp));
  CHECK_FALSE(testling.full());
  const auto third = testling.open(CommandId::submit_sm, 3);
  REQUIRE(third.has_value());
  CHECK(*third == 3);
}

TEST_CASE("SmppWindow ignores a response to another command or to a number it never sent") {
  SmppWindow<int> testling(4);
  REQUIRE(testling.open(CommandId::enquire_link, 7));
  CHECK_FALSE(testling.close(1, submit_sm_resp).has_value());
  CHECK_FALSE(testling.close(99, enquire_link_resp).has_value());
  CHECK(testling.size() == 1);
  const auto closed = testling.close(1, enquire_link_resp);
  REQUIRE(closed.has_value());
  CHECK(closed->value == 7);
}

TEST_CASE("SmppWindow: generic_nack closes whatever request it names") {
  SmppWindow<int> testling(4);
  REQUIRE(testling.open(CommandId::submit_sm, 1));
  REQUIRE(testling.open(CommandId::bind_transceiver, 2));
  const auto nacked = testling.close(2, generic_nack);
  REQUIRE(nacked.has_value());
  CHECK(nacked->command == CommandId::bind_transceiver);
  CHECK(testling.size() == 1);
}

TEST_CASE("SmppWindow wraps after 0x7FFFFFFF to 1") {
  constexpr std::uint32_t top = SmppWindow<int>::max_sequence;
  CHECK(top == 0x7FFFFFFFu);
  SmppWindow<int> testling(3, top - 1);
  REQUIRE(testling.open(CommandId::submit_sm, 0) == top - 1);
  REQUIRE(testling.open(CommandId::submit_sm, 0) == top);
  REQUIRE(testling.open(CommandId::submit_sm, 0) == 1u); // the top bit stays clear
  REQUIRE(testling.close(top - 1, submit_sm_resp));
  REQUIRE(testling.close(1, submit_sm_resp));
  CHECK(testling.open(CommandId::submit_sm, 0) == 2u);

  // A request left unanswered across the wrap does not stop the numbering.
  SmppWindow<int> slow(2, top);
  REQUIRE(slow.open(CommandId::submit_sm, 0) == top); // never answered
  for (std::uint32_t expected = 1; expected < 5; ++expected) {
    REQUIRE(slow.open(CommandId::enquire_link, 0) == expected);
    REQUIRE(slow.close(expected, enquire_link_resp));
  }
  CHECK(slow.size() == 1);
}

TEST_CASE("SmppWindow::abandon forgets a request whose sender gave up") {
  SmppWindow<int> testling(1);
  const auto sequence = testling.open(CommandId::submit_sm, 5);
  REQUIRE(sequence.has_value());
  CHECK(testling.abandon(*sequence) == 5);
  CHECK_FALSE(testling.close(*sequence, submit_sm_resp).has_value()); // the late response finds nothing
  CHECK_FALSE(testling.full());
}

TEST_CASE("SmppWindow::clear hands back every outstanding value (the connection is gone)") {
  SmppWindow<int> testling(5);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(testling.open(CommandId::submit_sm, i * 10));
  }
  const auto values = testling.clear();
  CHECK(values == std::vector<int>{0, 10, 20});
  CHECK(testling.size() == 0);
  CHECK(testling.open(CommandId::submit_sm, 1) == 4u); // numbering goes on
}
