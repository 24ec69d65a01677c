// The storage conformance suite, block lists part: XEP-0191 (BlockStore). Like
// conformance_test.cpp, every backend listed in backends.hpp must pass every test here, through
// the interfaces only.

#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"
#include "tests/storage/backends.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using namespace parley::storage;

namespace {

template <class Backend> std::unique_ptr<Storage> open_storage(Backend& backend) {
  auto opened = backend.open();
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message()));
  return std::move(*opened);
}

Timestamp at(std::int64_t microseconds) {
  return Timestamp(std::chrono::microseconds(microseconds));
}

using Jids = std::vector<std::string>;

} // namespace

TEST_CASE_TEMPLATE("blocks: block adds a JID once, unblock removes it once", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& blocks = testling->blocks();

  CHECK(blocks.blocked("alice@example.com").value().empty());
  CHECK(blocks.block("alice@example.com", "bob@example.com", at(1'700'000'000'123'456)).value() == true);
  CHECK(blocks.blocked("alice@example.com").value() == Jids{"bob@example.com"});

  // Blocking again changes nothing.
  CHECK(blocks.block("alice@example.com", "bob@example.com", at(2)).value() == false);
  CHECK(blocks.blocked("alice@example.com").value() == Jids{"bob@example.com"});

  CHECK(blocks.unblock("alice@example.com", "bob@example.com").value() == true);
  CHECK(blocks.unblock("alice@example.com", "bob@example.com").value() == false);
  CHECK(blocks.blocked("alice@example.com").value().empty());

  // And blocking after an unblock counts anew.
  CHECK(blocks.block("alice@example.com", "bob@example.com", at(3)).value() == true);
  CHECK(blocks.blocked("alice@example.com").value() == Jids{"bob@example.com"});
}

TEST_CASE_TEMPLATE("blocks: a list belongs to one user, and JIDs are compared exactly as stored", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& blocks = testling->blocks();

  // A bare JID, a full JID and a domain are three entries; none implies another here.
  REQUIRE(blocks.block("alice@example.com", "bob@example.com", at(1)).value());
  CHECK(blocks.block("alice@example.com", "bob@example.com/phone", at(1)).value() == true);
  CHECK(blocks.block("alice@example.com", "example.com", at(1)).value() == true);
  CHECK(blocks.block("carol@example.com", "bob@example.com", at(1)).value() == true);

  CHECK(blocks.unblock("alice@example.com", "bob@example.com/laptop").value() == false);
  CHECK(blocks.unblock("alice@example.com", "Bob@example.com").value() == false);
  CHECK(blocks.unblock("alice@example.org", "bob@example.com").value() == false);
  CHECK(blocks.unblock("alice@example.com", "bob@example.com").value() == true);

  CHECK(blocks.blocked("alice@example.com").value() == Jids{"bob@example.com/phone", "example.com"});
  CHECK(blocks.blocked("carol@example.com").value() == Jids{"bob@example.com"});
  CHECK(blocks.blocked("bob@example.com").value().empty());
  // The user is a bare JID, compared exactly: not a username, not a prefix.
  CHECK(blocks.blocked("alice").value().empty());
  CHECK(blocks.blocked("Alice@example.com").value().empty());
}

TEST_CASE_TEMPLATE("blocks: unblock_all empties one user's list and says how many went", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& blocks = testling->blocks();

  CHECK(blocks.unblock_all("alice@example.com").value() == 0);
  REQUIRE(blocks.block("alice@example.com", "bob@example.com", at(1)));
  REQUIRE(blocks.block("alice@example.com", "carol@example.com/home", at(2)));
  REQUIRE(blocks.block("alice@example.com", "spam.example.net", at(3)));
  REQUIRE(blocks.block("bob@example.com", "alice@example.com", at(4)));

  CHECK(blocks.unblock_all("alice@example.com").value() == 3);
  CHECK(blocks.blocked("alice@example.com").value().empty());
  CHECK(blocks.unblock_all("alice@example.com").value() == 0);
  CHECK(blocks.blocked("bob@example.com").value() == Jids{"alice@example.com"});
  CHECK(blocks.users("", 10).value() == Jids{"bob@example.com"});

  CHECK(blocks.block("alice@example.com", "bob@example.com", at(5)).value() == true);
  CHECK(blocks.blocked("alice@example.com").value() == Jids{"bob@example.com"});
}

TEST_CASE_TEMPLATE("blocks: blocked lists bytewise, whatever the order of blocking", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& blocks = testling->blocks();

  // Byte order: 'B' < 'b' < any UTF-8 lead byte; "example.com" < "example.com/" < "example.com0".
  for (const char* jid : {"\xc3\xa9lise@example.com", "bob@example.com/z", "example.com0", "bob@example.com",
                          "Bob@example.com", "example.com", "bob@example.com/Phone", "b@example.com"}) {
    REQUIRE(blocks.block("alice@example.com", jid, at(1)).value());
  }
  CHECK(blocks.blocked("alice@example.com").value() == Jids{"Bob@example.com", "b@example.com", "bob@example.com",
                                                            "bob@example.com/Phone", "bob@example.com/z", "example.com",
                                                            "example.com0", "\xc3\xa9lise@example.com"});
}

TEST_CASE_TEMPLATE("blocks: users pages through the users with a non-empty list", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& blocks = testling->blocks();

  CHECK(blocks.users("", 10).value().empty());
  // 11 users, blocked out of order, some with several entries, one whose list is emptied again.
  Jids expected;
  for (int u = 0; u < 11; ++u) {
    expected.push_back("user" + std::to_string(100 + u) + "@example.com");
  }
  for (int u = 10; u >= 0; --u) {
    for (int j = 0; j <= u % 3; ++j) {
      REQUIRE(blocks.block(expected[static_cast<std::size_t>(u)], "spam" + std::to_string(j) + "@example.net",
                           at(u * 10 + j)));
    }
  }
  REQUIRE(blocks.block("gone@example.com", "spam@example.net", at(1)));
  REQUIRE(blocks.unblock("gone@example.com", "spam@example.net").value());
  REQUIRE(blocks.block("zed@example.com", "spam@example.net", at(1)));
  REQUIRE(blocks.unblock_all("zed@example.com").value() == 1);

  Jids walked;
  std::string after;
  for (;;) {
    const auto page = blocks.users(after, 4).value();
    CHECK(page.size() <= 4);
    walked.insert(walked.end(), page.begin(), page.end());
    if (page.size() < 4) {
      break;
    }
    after = page.back();
  }
  CHECK(walked == expected);

  // Strictly after `after`, which need not be a user itself.
  CHECK(blocks.users("user103@example.com", 2).value() == Jids{"user104@example.com", "user105@example.com"});
  CHECK(blocks.users("user103", 1).value() == Jids{"user103@example.com"});
  CHECK(blocks.users("user110@example.com", 10).value().empty());
  CHECK(blocks.users("a", 1).value() == Jids{"user100@example.com"});
  // One entry per user, however long the list.
  CHECK(blocks.users("", 100).value().size() == 11);
}

TEST_CASE_TEMPLATE("blocks: empty arguments and a zero limit are refused and change nothing", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& blocks = testling->blocks();
  REQUIRE(blocks.block("u", "j", at(1)));

  CHECK(blocks.block("", "j", at(1)).error() == storage_errc::invalid_argument);
  CHECK(blocks.block("u", "", at(1)).error() == storage_errc::invalid_argument);
  CHECK(blocks.block("", "", at(1)).error() == storage_errc::invalid_argument);
  CHECK(blocks.unblock("", "j").error() == storage_errc::invalid_argument);
  CHECK(blocks.unblock("u", "").error() == storage_errc::invalid_argument);
  CHECK(blocks.unblock_all("").error() == storage_errc::invalid_argument);
  CHECK(blocks.blocked("").error() == storage_errc::invalid_argument);
  CHECK(blocks.users("", 0).error() == storage_errc::invalid_argument);
  CHECK(blocks.users("u", 0).error() == storage_errc::invalid_argument);

  CHECK(blocks.blocked("u").value() == Jids{"j"});
  CHECK(blocks.users("", 10).value() == Jids{"u"});
}

TEST_CASE_TEMPLATE("blocks: block lists are their own concern", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& blocks = testling->blocks();

  // A user's account and roster do not make a block list, and a block list needs no account.
  REQUIRE(testling->users().create_user("alice", {}));
  RosterItem bob;
  bob.jid = "bob@example.com";
  REQUIRE(testling->roster().upsert_item("alice", bob));
  CHECK(blocks.users("", 10).value().empty());
  CHECK(blocks.block("nobody@example.com", "bob@example.com", at(1)).value() == true);
  CHECK(testling->users().user_exists("nobody").value() == false);
  CHECK(blocks.users("", 10).value() == Jids{"nobody@example.com"});
}

TEST_CASE_TEMPLATE("blocks: survive reopening", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  {
    auto testling = open_storage(backend);
    REQUIRE(testling->blocks().block("alice@example.com", "bob@example.com", at(7)));
    REQUIRE(testling->blocks().block("alice@example.com", "carol@example.com", at(8)));
    REQUIRE(testling->blocks().unblock("alice@example.com", "carol@example.com").value());
  }

  auto testling = open_storage(backend);
  CHECK(testling->blocks().blocked("alice@example.com").value() == Jids{"bob@example.com"});
  CHECK(testling->blocks().block("alice@example.com", "bob@example.com", at(9)).value() == false);
  CHECK(testling->blocks().users("", 10).value() == Jids{"alice@example.com"});
}
