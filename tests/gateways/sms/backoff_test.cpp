#include "gateways/sms/backoff.hpp"

#include <doctest/doctest.h>

using namespace parley::gateways::sms;
using namespace std::chrono_literals;

TEST_CASE("Backoff doubles from the first delay up to the last and starts over after reset") {
  Backoff testling(500ms, 3000ms);
  CHECK(testling.current() == 0ms);
  CHECK(testling.next() == 500ms);
  CHECK(testling.next() == 1000ms);
  CHECK(testling.next() == 2000ms);
  CHECK(testling.next() == 3000ms);
  CHECK(testling.next() == 3000ms);
  CHECK(testling.current() == 3000ms);
  testling.reset();
  CHECK(testling.next() == 500ms);
}

TEST_CASE("Backoff jitter takes at most half of the delay away") {
  Backoff testling(1000ms, 8000ms);
  CHECK(testling.next(1.0) == 500ms);
  CHECK(testling.next(0.5) == 1500ms); // 2000 less a quarter
  CHECK(testling.next(7.0) == 2000ms); // clamped to 1: half of 4000
  CHECK(testling.current() == 4000ms); // the jitter does not slow the doubling
}

TEST_CASE("Backoff keeps the last delay at least the first") {
  Backoff testling(2000ms, 10ms);
  CHECK(testling.next() == 2000ms);
  CHECK(testling.next() == 2000ms);
}
