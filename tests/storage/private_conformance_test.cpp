// The storage conformance suite, private XML part: XEP-0049 private XML storage and XEP-0054
// vCards (PrivateStore). Like conformance_test.cpp, every backend listed in backends.hpp must
// pass every test here, through the interfaces only.

#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"
#include "tests/storage/backends.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
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

using Keys = std::vector<std::string>;

constexpr std::size_t one_mib = 1024 * 1024;

/// A well-formed fragment of exactly `bytes` bytes.
std::string fragment_of(std::size_t bytes) {
  const std::string open = "<x xmlns='urn:example:big'>";
  const std::string close = "</x>";
  REQUIRE(bytes >= open.size() + close.size());
  return open + std::string(bytes - open.size() - close.size(), 'a') + close;
}

const std::string bookmarks = "<storage xmlns='storage:bookmarks'><conference name=\"Caf\xc3\xa9 \xe2\x98\x95\" "
                              "autojoin='true' jid='caf\xc3\xa9@conference.example.com'><nick>\xe5\xb0\x8f\xe6\x98\x8e"
                              " \xf0\x9f\x90\xb1</nick><password>&quot;q&apos;&amp;&lt;</password></conference>"
                              "</storage>";

const std::string vcard = "<vCard xmlns='vcard-temp'>\n  <FN>J\xc3\xb6rg \"Jo\" O'Brien</FN>\n\t<NICKNAME>"
                          "\xd0\x99\xd0\xbe\xd1\x80\xd0\xb3</NICKNAME>\n</vCard>";

} // namespace

TEST_CASE_TEMPLATE("private xml: put and get round-trip a fragment byte for byte", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();

  CHECK(store.get("alice@example.com", "vcard").error() == storage_errc::not_found);
  REQUIRE(store.put("alice@example.com", "private storage:bookmarks storage", bookmarks, at(1'700'000'000'123'456)));
  REQUIRE(store.put("alice@example.com", "vcard", vcard, at(1'700'000'000'123'457)));

  CHECK(store.get("alice@example.com", "private storage:bookmarks storage").value() == bookmarks);
  CHECK(store.get("alice@example.com", "vcard").value() == vcard);
  CHECK(store.keys("alice@example.com").value() == Keys{"private storage:bookmarks storage", "vcard"});
  // Keys need not be ASCII either.
  REQUIRE(store.put("alice@example.com", "private urn:x:\xc3\xa9t\xc3\xa9 d\xc3\xa9j\xc3\xa0", "<d\xc3\xa9j\xc3\xa0/>",
                    at(2)));
  CHECK(store.get("alice@example.com", "private urn:x:\xc3\xa9t\xc3\xa9 d\xc3\xa9j\xc3\xa0").value() ==
        "<d\xc3\xa9j\xc3\xa0/>");
}

TEST_CASE_TEMPLATE("private xml: put replaces what a key held", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();

  REQUIRE(store.put("alice@example.com", "vcard", vcard, at(1)));
  REQUIRE(store.put("alice@example.com", "vcard", "<vCard xmlns='vcard-temp'/>", at(2)));
  CHECK(store.get("alice@example.com", "vcard").value() == "<vCard xmlns='vcard-temp'/>");
  CHECK(store.keys("alice@example.com").value() == Keys{"vcard"});

  // A longer one over a shorter one, and an older time over a newer: the last put wins.
  REQUIRE(store.put("alice@example.com", "vcard", vcard, at(0)));
  CHECK(store.get("alice@example.com", "vcard").value() == vcard);
  CHECK(store.keys("alice@example.com").value() == Keys{"vcard"});
  CHECK(store.users("", 10).value() == Keys{"alice@example.com"});
}

TEST_CASE_TEMPLATE("private xml: remove says whether the fragment was there", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();

  CHECK(store.remove("alice@example.com", "vcard").value() == false);
  REQUIRE(store.put("alice@example.com", "vcard", vcard, at(1)));
  REQUIRE(store.put("alice@example.com", "private storage:rosternotes storage", "<storage/>", at(1)));

  CHECK(store.remove("alice@example.com", "vcard").value() == true);
  CHECK(store.remove("alice@example.com", "vcard").value() == false);
  CHECK(store.get("alice@example.com", "vcard").error() == storage_errc::not_found);
  CHECK(store.keys("alice@example.com").value() == Keys{"private storage:rosternotes storage"});

  CHECK(store.remove("alice@example.com", "private storage:rosternotes storage").value() == true);
  CHECK(store.keys("alice@example.com").value().empty());
  CHECK(store.users("", 10).value().empty());

  // And putting after a remove stores anew.
  REQUIRE(store.put("alice@example.com", "vcard", "<vCard xmlns='vcard-temp'/>", at(2)));
  CHECK(store.get("alice@example.com", "vcard").value() == "<vCard xmlns='vcard-temp'/>");
}

TEST_CASE_TEMPLATE("private xml: a fragment belongs to one user and one key, compared exactly", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();

  REQUIRE(store.put("alice@example.com", "vcard", "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>", at(1)));
  REQUIRE(store.put("bob@example.com", "vcard", "<vCard xmlns='vcard-temp'><FN>Bob</FN></vCard>", at(1)));
  REQUIRE(store.put("alice@example.com", "private a b", "<b xmlns='a'>1</b>", at(1)));
  REQUIRE(store.put("alice@example.com", "private a bb", "<bb xmlns='a'>2</bb>", at(1)));

  CHECK(store.get("alice@example.com", "vcard").value() == "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>");
  CHECK(store.get("bob@example.com", "vcard").value() == "<vCard xmlns='vcard-temp'><FN>Bob</FN></vCard>");
  CHECK(store.get("alice@example.com", "private a b").value() == "<b xmlns='a'>1</b>");
  CHECK(store.get("alice@example.com", "private a bb").value() == "<bb xmlns='a'>2</bb>");
  CHECK(store.get("bob@example.com", "private a b").error() == storage_errc::not_found);

  // Neither users nor keys match by case, prefix or as a username.
  CHECK(store.get("Alice@example.com", "vcard").error() == storage_errc::not_found);
  CHECK(store.get("alice", "vcard").error() == storage_errc::not_found);
  CHECK(store.get("alice@example.com/phone", "vcard").error() == storage_errc::not_found);
  CHECK(store.get("alice@example.com", "VCARD").error() == storage_errc::not_found);
  CHECK(store.get("alice@example.com", "private a").error() == storage_errc::not_found);
  CHECK(store.get("alice@example.com", "private a b ").error() == storage_errc::not_found);
  CHECK(store.remove("alice@example.com", "private a").value() == false);
  CHECK(store.remove("Alice@example.com", "vcard").value() == false);

  // Replacing or removing one touches no other.
  REQUIRE(store.put("bob@example.com", "vcard", "<vCard xmlns='vcard-temp'/>", at(2)));
  CHECK(store.remove("alice@example.com", "private a b").value() == true);
  CHECK(store.get("alice@example.com", "vcard").value() == "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>");
  CHECK(store.get("alice@example.com", "private a bb").value() == "<bb xmlns='a'>2</bb>");
  CHECK(store.keys("alice@example.com").value() == Keys{"private a bb", "vcard"});
  CHECK(store.keys("bob@example.com").value() == Keys{"vcard"});
  CHECK(store.keys("carol@example.com").value().empty());
}

TEST_CASE_TEMPLATE("private xml: keys lists bytewise, whatever the order of putting", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();

  // Byte order: ' ' < 'B' < 'b' < any UTF-8 lead byte; "private a" < "private a b" < "private ab".
  for (const char* key : {"vcard", "private ab", "private \xc3\xa9 x", "private a b", "private B x", "private a",
                          "Vcard", "private b x"}) {
    REQUIRE(store.put("alice@example.com", key, "<x/>", at(1)));
  }
  CHECK(store.keys("alice@example.com").value() == Keys{"Vcard", "private B x", "private a", "private a b",
                                                        "private ab", "private b x", "private \xc3\xa9 x", "vcard"});
}

TEST_CASE_TEMPLATE("private xml: users pages through the users with a fragment", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();

  CHECK(store.users("", 10).value().empty());
  // 11 users, stored out of order, some with several fragments, two whose fragments go again.
  Keys expected;
  for (int u = 0; u < 11; ++u) {
    expected.push_back("user" + std::to_string(100 + u) + "@example.com");
  }
  for (int u = 10; u >= 0; --u) {
    for (int k = 0; k <= u % 3; ++k) {
      REQUIRE(store.put(expected[static_cast<std::size_t>(u)], "private urn:example:" + std::to_string(k) + " x",
                        "<x xmlns='urn:example:" + std::to_string(k) + "'/>", at(u * 10 + k)));
    }
  }
  REQUIRE(store.put("gone@example.com", "vcard", vcard, at(1)));
  REQUIRE(store.remove("gone@example.com", "vcard").value());
  REQUIRE(store.put("zed@example.com", "vcard", vcard, at(1)));
  REQUIRE(store.remove_user("zed@example.com").value() == 1);

  Keys walked;
  std::string after;
  for (;;) {
    const auto page = store.users(after, 4).value();
    CHECK(page.size() <= 4);
    walked.insert(walked.end(), page.begin(), page.end());
    if (page.size() < 4) {
      break;
    }
    after = page.back();
  }
  CHECK(walked == expected);

  // Strictly after `after`, which need not be a user itself.
  CHECK(store.users("user103@example.com", 2).value() == Keys{"user104@example.com", "user105@example.com"});
  CHECK(store.users("user103", 1).value() == Keys{"user103@example.com"});
  CHECK(store.users("user110@example.com", 10).value().empty());
  CHECK(store.users("a", 1).value() == Keys{"user100@example.com"});
  // One entry per user, however many fragments.
  CHECK(store.users("", 100).value().size() == 11);
}

TEST_CASE_TEMPLATE("private xml: remove_user removes one user's fragments and says how many went", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();

  CHECK(store.remove_user("alice@example.com").value() == 0);
  REQUIRE(store.put("alice@example.com", "vcard", vcard, at(1)));
  REQUIRE(store.put("alice@example.com", "private storage:bookmarks storage", bookmarks, at(2)));
  REQUIRE(store.put("alice@example.com", "private storage:rosternotes storage", "<storage/>", at(3)));
  REQUIRE(store.put("bob@example.com", "vcard", vcard, at(4)));
  // A user whose JID starts like alice's is someone else.
  REQUIRE(store.put("alice@example.com.evil", "vcard", vcard, at(5)));

  CHECK(store.remove_user("alice@example.com").value() == 3);
  CHECK(store.keys("alice@example.com").value().empty());
  CHECK(store.get("alice@example.com", "vcard").error() == storage_errc::not_found);
  CHECK(store.remove_user("alice@example.com").value() == 0);
  CHECK(store.keys("bob@example.com").value() == Keys{"vcard"});
  CHECK(store.get("alice@example.com.evil", "vcard").value() == vcard);
  CHECK(store.users("", 10).value() == Keys{"alice@example.com.evil", "bob@example.com"});

  REQUIRE(store.put("alice@example.com", "vcard", "<vCard xmlns='vcard-temp'/>", at(6)));
  CHECK(store.keys("alice@example.com").value() == Keys{"vcard"});
}

TEST_CASE_TEMPLATE("private xml: empty arguments and a zero limit are refused and change nothing", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();
  REQUIRE(store.put("u", "k", "<x/>", at(1)));

  CHECK(store.get("", "k").error() == storage_errc::invalid_argument);
  CHECK(store.get("u", "").error() == storage_errc::invalid_argument);
  CHECK(store.put("", "k", "<y/>", at(2)).error() == storage_errc::invalid_argument);
  CHECK(store.put("u", "", "<y/>", at(2)).error() == storage_errc::invalid_argument);
  CHECK(store.put("u", "k", "", at(2)).error() == storage_errc::invalid_argument);
  CHECK(store.put("", "", "", at(2)).error() == storage_errc::invalid_argument);
  CHECK(store.remove("", "k").error() == storage_errc::invalid_argument);
  CHECK(store.remove("u", "").error() == storage_errc::invalid_argument);
  CHECK(store.remove_user("").error() == storage_errc::invalid_argument);
  CHECK(store.keys("").error() == storage_errc::invalid_argument);
  CHECK(store.users("", 0).error() == storage_errc::invalid_argument);
  CHECK(store.users("u", 0).error() == storage_errc::invalid_argument);

  CHECK(store.get("u", "k").value() == "<x/>");
  CHECK(store.keys("u").value() == Keys{"k"});
  CHECK(store.users("", 10).value() == Keys{"u"});
}

TEST_CASE_TEMPLATE("private xml: a fragment of up to 1 MiB is stored and a bigger one refused", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();

  const auto largest = fragment_of(one_mib);
  REQUIRE(largest.size() == 1'048'576);
  REQUIRE(store.put("alice@example.com", "private urn:example:big x", largest, at(1)));
  CHECK(store.get("alice@example.com", "private urn:example:big x").value() == largest);

  // One byte more is refused, under a new key or over the old one, and changes nothing.
  const auto too_big = fragment_of(one_mib + 1);
  CHECK(store.put("alice@example.com", "vcard", too_big, at(2)).error() == storage_errc::invalid_argument);
  CHECK(store.put("alice@example.com", "private urn:example:big x", too_big, at(2)).error() ==
        storage_errc::invalid_argument);
  CHECK(store.put("bob@example.com", "vcard", fragment_of(4 * one_mib), at(2)).error() ==
        storage_errc::invalid_argument);
  CHECK(store.get("alice@example.com", "private urn:example:big x").value() == largest);
  CHECK(store.keys("alice@example.com").value() == Keys{"private urn:example:big x"});
  CHECK(store.users("", 10).value() == Keys{"alice@example.com"});
}

TEST_CASE_TEMPLATE("private xml: fragments are their own concern", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->private_xml();

  // An account, a roster or a block list makes no fragment, and a fragment needs no account.
  REQUIRE(testling->users().create_user("alice", {}));
  RosterItem bob;
  bob.jid = "bob@example.com";
  REQUIRE(testling->roster().upsert_item("alice", bob));
  REQUIRE(testling->blocks().block("alice@example.com", "spam@example.net", at(1)));
  CHECK(store.users("", 10).value().empty());
  REQUIRE(store.put("nobody@example.com", "vcard", vcard, at(1)));
  CHECK(testling->users().user_exists("nobody").value() == false);
  CHECK(store.users("", 10).value() == Keys{"nobody@example.com"});

  // And removing a user's fragments leaves the rest of what is stored for them.
  REQUIRE(store.put("alice@example.com", "vcard", vcard, at(2)));
  CHECK(store.remove_user("alice@example.com").value() == 1);
  CHECK(testling->blocks().blocked("alice@example.com").value() == Keys{"spam@example.net"});
  CHECK(testling->users().user_exists("alice").value() == true);
}

TEST_CASE_TEMPLATE("private xml: survives reopening", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  {
    auto testling = open_storage(backend);
    REQUIRE(testling->private_xml().put("alice@example.com", "vcard", vcard, at(7)));
    REQUIRE(testling->private_xml().put("alice@example.com", "private storage:bookmarks storage", bookmarks, at(8)));
    REQUIRE(testling->private_xml().put("alice@example.com", "private a b", "<b xmlns='a'/>", at(9)));
    REQUIRE(testling->private_xml().remove("alice@example.com", "private a b").value());
  }

  auto testling = open_storage(backend);
  CHECK(testling->private_xml().get("alice@example.com", "vcard").value() == vcard);
  CHECK(testling->private_xml().get("alice@example.com", "private storage:bookmarks storage").value() == bookmarks);
  CHECK(testling->private_xml().keys("alice@example.com").value() ==
        Keys{"private storage:bookmarks storage", "vcard"});
  CHECK(testling->private_xml().users("", 10).value() == Keys{"alice@example.com"});
}
