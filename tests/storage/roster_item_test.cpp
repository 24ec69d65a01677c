#include "storage/roster_item.hpp"

#include <doctest/doctest.h>

using namespace parley::storage;

TEST_CASE("roster item: subscription names round-trip") {
  for (auto testling : {Subscription::none, Subscription::to, Subscription::from, Subscription::both}) {
    CHECK(parse_subscription(to_string(testling)) == testling);
  }
  CHECK(to_string(Subscription::both) == "both");
  CHECK_FALSE(parse_subscription("remove").has_value());
  CHECK_FALSE(parse_subscription("").has_value());
  CHECK_FALSE(parse_subscription("Both").has_value());
}
