#include "router/auth/answer_cache.hpp"

#include <doctest/doctest.h>

#include <string>

using parley::router::auth::AnswerCache;
using namespace std::chrono_literals;

TEST_CASE("AnswerCache: a confirmed password is known for the ttl, and only that password") {
  AnswerCache testling(60s);
  const auto t0 = AnswerCache::Clock::now();
  CHECK_FALSE(testling.password_confirmed("alice", "example.com", "secret", t0));
  testling.confirm_password("alice", "example.com", "secret", t0);
  CHECK(testling.password_confirmed("alice", "example.com", "secret", t0 + 59s));
  CHECK_FALSE(testling.password_confirmed("alice", "example.com", "secret", t0 + 60s));
  CHECK_FALSE(testling.password_confirmed("alice", "example.com", "Secret", t0 + 1s));
  CHECK_FALSE(testling.password_confirmed("alice", "example.org", "secret", t0 + 1s));
  CHECK_FALSE(testling.password_confirmed("bob", "example.com", "secret", t0 + 1s));
  // user and domain are not run together: "al"+"ice..." is another key.
  CHECK_FALSE(testling.password_confirmed("alic", "eexample.com", "secret", t0 + 1s));
}

TEST_CASE("AnswerCache: the newest confirmed password replaces the older one") {
  AnswerCache testling(60s);
  const auto t0 = AnswerCache::Clock::now();
  testling.confirm_password("alice", "example.com", "old", t0);
  testling.confirm_password("alice", "example.com", "new", t0 + 1s);
  CHECK(testling.password_confirmed("alice", "example.com", "new", t0 + 2s));
  CHECK_FALSE(testling.password_confirmed("alice", "example.com", "old", t0 + 2s));
}

TEST_CASE("AnswerCache: existence is remembered both ways") {
  AnswerCache testling(10s);
  const auto t0 = AnswerCache::Clock::now();
  CHECK_FALSE(testling.exists("alice", "example.com", t0).has_value());
  testling.remember_exists("alice", "example.com", true, t0);
  testling.remember_exists("nobody", "example.com", false, t0);
  CHECK(testling.exists("alice", "example.com", t0 + 9s) == true);
  CHECK(testling.exists("nobody", "example.com", t0 + 9s) == false);
  CHECK_FALSE(testling.exists("alice", "example.com", t0 + 10s).has_value());
  CHECK_FALSE(testling.exists("alice", "example.org", t0).has_value());
}

TEST_CASE("AnswerCache: a zero ttl remembers nothing") {
  AnswerCache testling(0s);
  const auto t0 = AnswerCache::Clock::now();
  testling.confirm_password("alice", "example.com", "secret", t0);
  testling.remember_exists("alice", "example.com", true, t0);
  CHECK_FALSE(testling.password_confirmed("alice", "example.com", "secret", t0));
  CHECK_FALSE(testling.exists("alice", "example.com", t0).has_value());
  CHECK(testling.size() == 0);
}

TEST_CASE("AnswerCache: memory stays bounded") {
  AnswerCache testling(60s, 4);
  const auto t0 = AnswerCache::Clock::now();
  for (int i = 0; i < 4; ++i) {
    testling.remember_exists("old" + std::to_string(i), "example.com", true, t0);
  }
  CHECK(testling.size() == 4);
  SUBCASE("expired entries go first") {
    testling.remember_exists("fresh", "example.com", true, t0 + 61s);
    CHECK(testling.size() == 1);
    CHECK(testling.exists("fresh", "example.com", t0 + 62s) == true);
  }
  SUBCASE("when all are fresh, all go") {
    testling.remember_exists("fresh", "example.com", true, t0 + 1s);
    CHECK(testling.size() == 1);
    CHECK_FALSE(testling.exists("old0", "example.com", t0 + 2s).has_value());
  }
}
