// The storage conformance suite: every backend listed in backends.hpp must pass every test here.
// Tests talk to the interfaces only (storage/storage.hpp), never to a backend's internals.

#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"
#include "tests/storage/backends.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using namespace parley::storage;
using namespace std::chrono_literals;

namespace {

template <class Backend> std::unique_ptr<Storage> open_storage(Backend& backend) {
  auto opened = backend.open();
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message()));
  return std::move(*opened);
}

ScramCredentials scram(std::string mechanism, char seed) {
  ScramCredentials credentials;
  credentials.mechanism = std::move(mechanism);
  // Raw bytes, including NUL and high bytes, must survive untouched.
  credentials.salt = std::string("\0\xff", 2) + std::string(14, seed);
  credentials.iterations = 4096;
  const std::size_t key_size = credentials.mechanism == "SCRAM-SHA-1" ? 20 : 32;
  credentials.stored_key = std::string(key_size, static_cast<char>(seed + 1));
  credentials.stored_key[0] = '\0';
  credentials.server_key = std::string(key_size, static_cast<char>(seed + 2));
  credentials.server_key[1] = '\x80';
  return credentials;
}

std::vector<ScramCredentials> both_mechanisms(char seed) {
  return {scram("SCRAM-SHA-1", seed), scram("SCRAM-SHA-256", seed)};
}

RosterItem contact(std::string jid, Subscription subscription = Subscription::none,
                   std::vector<std::string> groups = {}) {
  RosterItem item;
  item.jid = std::move(jid);
  item.name = "Name of " + item.jid;
  item.subscription = subscription;
  item.groups = std::move(groups);
  return item;
}

Timestamp at(std::int64_t microseconds) {
  return Timestamp(std::chrono::microseconds(microseconds));
}

std::vector<WorkItemId> ids_of(const std::vector<WorkItem>& items) {
  std::vector<WorkItemId> ids;
  for (const auto& item : items) {
    ids.push_back(item.id);
  }
  return ids;
}

std::vector<std::string> jids_of(const Roster& roster) {
  std::vector<std::string> jids;
  for (const auto& item : roster.items) {
    jids.push_back(item.jid);
  }
  return jids;
}

constexpr std::size_t no_quota = 1000000;

} // namespace

// ---------------------------------------------------------------------------------------------
// Storage

TEST_CASE_TEMPLATE("storage: names its backend", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  CHECK(testling->backend_name() == std::string_view(Backend::name));
}

// ---------------------------------------------------------------------------------------------
// UserStore

TEST_CASE_TEMPLATE("users: a created user exists and has its credentials", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();

  CHECK(users.user_exists("alice").value() == false);
  CHECK(users.count_users().value() == 0);

  REQUIRE(users.create_user("alice", both_mechanisms('a')));
  CHECK(users.user_exists("alice").value());
  CHECK(users.count_users().value() == 1);
  CHECK(users.get_credentials("alice", "SCRAM-SHA-1").value() == scram("SCRAM-SHA-1", 'a'));
  CHECK(users.get_credentials("alice", "SCRAM-SHA-256").value() == scram("SCRAM-SHA-256", 'a'));
}

TEST_CASE_TEMPLATE("users: creating an existing user is a conflict and changes nothing", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();

  REQUIRE(users.create_user("alice", both_mechanisms('a')));
  auto again = users.create_user("alice", {scram("SCRAM-SHA-256", 'z')});
  REQUIRE(again.has_error());
  CHECK(again.error() == storage_errc::conflict);
  CHECK(users.get_credentials("alice", "SCRAM-SHA-256").value() == scram("SCRAM-SHA-256", 'a'));
  CHECK(users.count_users().value() == 1);
}

TEST_CASE_TEMPLATE("users: a user may be created without credentials", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();

  REQUIRE(users.create_user("gateway-only", {}));
  CHECK(users.user_exists("gateway-only").value());
  CHECK(users.get_credentials("gateway-only", "SCRAM-SHA-256").error() == storage_errc::not_found);
}

TEST_CASE_TEMPLATE("users: unknown user or mechanism is not_found", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();

  CHECK(users.get_credentials("nobody", "SCRAM-SHA-1").error() == storage_errc::not_found);
  REQUIRE(users.create_user("alice", {scram("SCRAM-SHA-1", 'a')}));
  CHECK(users.get_credentials("alice", "SCRAM-SHA-256").error() == storage_errc::not_found);
  CHECK(users.get_credentials("alice", "scram-sha-1").error() == storage_errc::not_found);
  CHECK(users.set_credentials("nobody", both_mechanisms('n')).error() == storage_errc::not_found);
  CHECK(users.delete_user("nobody").error() == storage_errc::not_found);
  CHECK(users.user_exists("nobody").value() == false);
}

TEST_CASE_TEMPLATE("users: set_credentials replaces every credential", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();
  REQUIRE(users.create_user("alice", both_mechanisms('a')));

  SUBCASE("with a different set") {
    REQUIRE(users.set_credentials("alice", {scram("SCRAM-SHA-256", 'b')}));
    CHECK(users.get_credentials("alice", "SCRAM-SHA-256").value() == scram("SCRAM-SHA-256", 'b'));
    CHECK(users.get_credentials("alice", "SCRAM-SHA-1").error() == storage_errc::not_found);
  }
  SUBCASE("with nothing") {
    REQUIRE(users.set_credentials("alice", {}));
    CHECK(users.get_credentials("alice", "SCRAM-SHA-256").error() == storage_errc::not_found);
    CHECK(users.user_exists("alice").value());
  }
  SUBCASE("invalid credentials leave the old ones") {
    auto duplicate = users.set_credentials("alice", {scram("SCRAM-SHA-256", 'b'), scram("SCRAM-SHA-256", 'c')});
    CHECK(duplicate.error() == storage_errc::invalid_argument);
    CHECK(users.get_credentials("alice", "SCRAM-SHA-1").value() == scram("SCRAM-SHA-1", 'a'));
  }
}

TEST_CASE_TEMPLATE("users: invalid arguments are refused before anything is stored", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();

  CHECK(users.create_user("", both_mechanisms('a')).error() == storage_errc::invalid_argument);

  auto no_iterations = scram("SCRAM-SHA-1", 'a');
  no_iterations.iterations = 0;
  CHECK(users.create_user("alice", {no_iterations}).error() == storage_errc::invalid_argument);

  auto no_salt = scram("SCRAM-SHA-1", 'a');
  no_salt.salt.clear();
  CHECK(users.create_user("alice", {no_salt}).error() == storage_errc::invalid_argument);

  auto no_mechanism = scram("", 'a');
  CHECK(users.create_user("alice", {no_mechanism}).error() == storage_errc::invalid_argument);

  auto twice = users.create_user("alice", {scram("SCRAM-SHA-1", 'a'), scram("SCRAM-SHA-1", 'b')});
  CHECK(twice.error() == storage_errc::invalid_argument);

  CHECK(users.user_exists("alice").value() == false);
  CHECK(users.count_users().value() == 0);
  CHECK(users.list_users("", 0).error() == storage_errc::invalid_argument);
  CHECK(users.user_exists("").value() == false);
  CHECK(users.delete_user("").error() == storage_errc::invalid_argument);
  CHECK(users.set_credentials("", {}).error() == storage_errc::invalid_argument);
  CHECK(users.get_credentials("", "SCRAM-SHA-1").error() == storage_errc::invalid_argument);
}

TEST_CASE_TEMPLATE("users: unicode usernames are stored exactly as given", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();

  const std::string composed = "caf\xc3\xa9";    // "café" with U+00E9
  const std::string decomposed = "cafe\xcc\x81"; // "café" with e + U+0301
  const std::string japanese = "\xe6\x97\xa5\xe6\x9c\xac";
  const std::string emoji = "\xf0\x9f\x98\x80";

  REQUIRE(users.create_user(composed, {scram("SCRAM-SHA-256", 'c')}));
  REQUIRE(users.create_user(decomposed, {scram("SCRAM-SHA-256", 'd')}));
  REQUIRE(users.create_user(japanese, {scram("SCRAM-SHA-256", 'j')}));
  REQUIRE(users.create_user(emoji, {scram("SCRAM-SHA-256", 'e')}));

  CHECK(users.count_users().value() == 4);
  CHECK(users.get_credentials(composed, "SCRAM-SHA-256").value() == scram("SCRAM-SHA-256", 'c'));
  CHECK(users.get_credentials(decomposed, "SCRAM-SHA-256").value() == scram("SCRAM-SHA-256", 'd'));
  CHECK(users.get_credentials(japanese, "SCRAM-SHA-256").value() == scram("SCRAM-SHA-256", 'j'));
  CHECK(users.get_credentials(emoji, "SCRAM-SHA-256").value() == scram("SCRAM-SHA-256", 'e'));
  // Case is the caller's business (PRECIS): "Alice" and "alice" are different keys here.
  REQUIRE(users.create_user("alice", {}));
  CHECK(users.user_exists("Alice").value() == false);

  std::vector<std::string> expected{composed, decomposed, japanese, emoji, "alice"};
  std::sort(expected.begin(), expected.end());
  CHECK(users.list_users("", 100).value() == expected);
}

TEST_CASE_TEMPLATE("users: list_users pages through every user in byte order", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();

  std::vector<std::string> names;
  for (int i = 24; i >= 0; --i) {
    names.push_back("user" + std::to_string(i));
    REQUIRE(users.create_user(names.back(), {}));
  }
  names.emplace_back("Zed");           // upper case sorts before lower case
  names.emplace_back("\xc3\xa9milie"); // a multi-byte name sorts after ASCII
  REQUIRE(users.create_user("Zed", {}));
  REQUIRE(users.create_user("\xc3\xa9milie", {}));
  std::sort(names.begin(), names.end());
  CHECK(users.count_users().value() == names.size());

  std::vector<std::string> seen;
  std::string cursor;
  std::size_t pages = 0;
  for (;;) {
    auto page = users.list_users(cursor, 10).value();
    ++pages;
    seen.insert(seen.end(), page.begin(), page.end());
    if (page.size() < 10) {
      break;
    }
    cursor = page.back();
    REQUIRE(pages < 10);
  }
  CHECK(pages == 3);
  CHECK(seen == names);

  SUBCASE("the cursor need not be an existing name") {
    auto page = users.list_users("user2", 3).value();
    CHECK(page == std::vector<std::string>{"user20", "user21", "user22"});
    auto from_gap = users.list_users("user19z", 2).value();
    CHECK(from_gap == std::vector<std::string>{"user2", "user20"});
  }
  SUBCASE("past the last name the page is empty") {
    CHECK(users.list_users(names.back(), 10).value().empty());
  }
  SUBCASE("a deleted user leaves the listing") {
    REQUIRE(users.delete_user("user0"));
    auto all = users.list_users("", 100).value();
    CHECK(std::find(all.begin(), all.end(), "user0") == all.end());
    CHECK(all.size() == names.size() - 1);
  }
}

TEST_CASE_TEMPLATE("users: delete_user removes everything of the user and nothing else", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();
  auto& roster = testling->roster();
  auto& offline = testling->offline();

  for (const char* name : {"alice", "bob"}) {
    REQUIRE(users.create_user(name, both_mechanisms('x')));
    REQUIRE(roster.upsert_item(name, contact("carol@example.com", Subscription::both, {"Friends", "Work"})));
    REQUIRE(roster.upsert_item(name, contact("dave@example.com", Subscription::to)));
    REQUIRE(offline.push(name, "<message>hi</message>", at(1), no_quota));
    REQUIRE(offline.push(name, "<message>again</message>", at(2), no_quota));
  }

  REQUIRE(users.delete_user("alice"));
  CHECK(users.user_exists("alice").value() == false);
  CHECK(users.count_users().value() == 1);
  CHECK(users.get_credentials("alice", "SCRAM-SHA-1").error() == storage_errc::not_found);
  CHECK(roster.get_roster("alice").error() == storage_errc::not_found);
  CHECK(offline.list("alice").error() == storage_errc::not_found);
  CHECK(users.delete_user("alice").error() == storage_errc::not_found);

  // A new account under the same name starts empty.
  REQUIRE(users.create_user("alice", {}));
  auto fresh = roster.get_roster("alice").value();
  CHECK(fresh.items.empty());
  CHECK(fresh.version == 0);
  CHECK(offline.count("alice").value() == 0);
  CHECK(users.get_credentials("alice", "SCRAM-SHA-1").error() == storage_errc::not_found);

  // bob is untouched.
  CHECK(users.get_credentials("bob", "SCRAM-SHA-1").value() == scram("SCRAM-SHA-1", 'x'));
  auto bobs = roster.get_roster("bob").value();
  CHECK(bobs.items.size() == 2);
  CHECK(bobs.items[0].groups == std::vector<std::string>{"Friends", "Work"});
  CHECK(offline.count("bob").value() == 2);
}

TEST_CASE_TEMPLATE("users: list_credentials returns every credential set in mechanism byte order", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& users = testling->users();

  REQUIRE(users.create_user("alice", {scram("SCRAM-SHA-512", 'a'), scram("SCRAM-SHA-1-PLUS", 'b'),
                                      scram("SCRAM-SHA-256", 'c'), scram("SCRAM-SHA-1", 'd')}));
  CHECK(users.list_credentials("alice").value() ==
        std::vector<ScramCredentials>{scram("SCRAM-SHA-1", 'd'), scram("SCRAM-SHA-1-PLUS", 'b'),
                                      scram("SCRAM-SHA-256", 'c'), scram("SCRAM-SHA-512", 'a')});

  REQUIRE(users.create_user("bob", {}));
  CHECK(users.list_credentials("bob").value().empty());

  REQUIRE(users.set_credentials("alice", {scram("SCRAM-SHA-256", 'e')}));
  CHECK(users.list_credentials("alice").value() == std::vector<ScramCredentials>{scram("SCRAM-SHA-256", 'e')});

  CHECK(users.list_credentials("nobody").error() == storage_errc::not_found);
  CHECK(users.list_credentials("").error() == storage_errc::invalid_argument);
  REQUIRE(users.delete_user("alice"));
  CHECK(users.list_credentials("alice").error() == storage_errc::not_found);
}

// ---------------------------------------------------------------------------------------------
// RosterStore

TEST_CASE_TEMPLATE("roster: a new user has an empty roster at version 0", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  REQUIRE(testling->users().create_user("alice", {}));

  auto roster = testling->roster().get_roster("alice").value();
  CHECK(roster.items.empty());
  CHECK(roster.version == 0);
  CHECK(testling->roster().get_version("alice").value() == 0);
  CHECK(testling->roster().get_item("alice", "bob@example.com").error() == storage_errc::not_found);
}

TEST_CASE_TEMPLATE("roster: upsert stores every field and returns an increasing version", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();
  REQUIRE(testling->users().create_user("alice", {}));

  RosterItem bob = contact("bob@example.com", Subscription::from, {"Work", "Friends"});
  bob.ask_subscribe = true;
  bob.pending_in = false;
  bob.approved = true;
  const auto v1 = roster.upsert_item("alice", bob).value();
  CHECK(v1 > 0);

  RosterItem expected = bob;
  expected.groups = {"Friends", "Work"}; // sorted
  CHECK(roster.get_item("alice", "bob@example.com").value() == expected);

  RosterItem changed = bob;
  changed.name = "";
  changed.subscription = Subscription::both;
  changed.ask_subscribe = false;
  changed.pending_in = true;
  changed.approved = false;
  changed.groups = {"Family"};
  const auto v2 = roster.upsert_item("alice", changed).value();
  CHECK(v2 > v1);
  CHECK(roster.get_item("alice", "bob@example.com").value() == changed);

  // Even an unchanged item counts as a change.
  const auto v3 = roster.upsert_item("alice", changed).value();
  CHECK(v3 > v2);

  auto whole = roster.get_roster("alice").value();
  CHECK(whole.version == v3);
  REQUIRE(whole.items.size() == 1);
  CHECK(whole.items[0] == changed);
  CHECK(roster.get_version("alice").value() == v3);
}

TEST_CASE_TEMPLATE("roster: every subscription state round-trips", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();
  REQUIRE(testling->users().create_user("alice", {}));

  for (auto subscription : {Subscription::none, Subscription::to, Subscription::from, Subscription::both}) {
    const std::string jid = std::string(to_string(subscription)) + "@example.com";
    REQUIRE(roster.upsert_item("alice", contact(jid, subscription)));
    CHECK(roster.get_item("alice", jid).value().subscription == subscription);
  }
}

TEST_CASE_TEMPLATE("roster: items come back sorted by jid with their groups", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();
  REQUIRE(testling->users().create_user("alice", {}));

  const std::string cyrillic_group = "\xd0\x94\xd1\x80\xd1\x83\xd0\xb7\xd1\x8c\xd1\x8f"; // "Друзья"
  const std::string emoji_group = "\xf0\x9f\x8e\xb8 band";
  REQUIRE(roster.upsert_item("alice", contact("zoe@example.com", Subscription::both, {cyrillic_group})));
  REQUIRE(roster.upsert_item("alice", contact("bob@example.com", Subscription::to, {emoji_group, "A", "A"})));
  REQUIRE(roster.upsert_item("alice", contact("\xc3\xa9lodie@example.fr", Subscription::none)));
  REQUIRE(roster.upsert_item("alice", contact("mallory@example.net", Subscription::from, {"B", "a"})));

  auto whole = roster.get_roster("alice").value();
  CHECK(jids_of(whole) == std::vector<std::string>{"bob@example.com", "mallory@example.net", "zoe@example.com",
                                                   "\xc3\xa9lodie@example.fr"});
  CHECK(whole.items[0].groups == std::vector<std::string>{"A", emoji_group}); // deduplicated, sorted
  CHECK(whole.items[1].groups == std::vector<std::string>{"B", "a"});
  CHECK(whole.items[2].groups == std::vector<std::string>{cyrillic_group});
  CHECK(whole.items[3].groups.empty());
  CHECK(whole.items[3].name == "Name of \xc3\xa9lodie@example.fr");

  SUBCASE("replacing an item replaces its groups") {
    REQUIRE(roster.upsert_item("alice", contact("bob@example.com", Subscription::to, {})));
    CHECK(roster.get_item("alice", "bob@example.com").value().groups.empty());
    CHECK(roster.get_item("alice", "mallory@example.net").value().groups == std::vector<std::string>{"B", "a"});
  }
}

TEST_CASE_TEMPLATE("roster: remove_item deletes the item and bumps the version", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();
  REQUIRE(testling->users().create_user("alice", {}));

  REQUIRE(roster.upsert_item("alice", contact("bob@example.com", Subscription::both, {"Friends"})));
  const auto before = roster.upsert_item("alice", contact("carol@example.com")).value();

  const auto after = roster.remove_item("alice", "bob@example.com").value();
  CHECK(after > before);
  CHECK(roster.get_item("alice", "bob@example.com").error() == storage_errc::not_found);
  CHECK(jids_of(roster.get_roster("alice").value()) == std::vector<std::string>{"carol@example.com"});

  auto missing = roster.remove_item("alice", "bob@example.com");
  CHECK(missing.error() == storage_errc::not_found);
  CHECK(roster.get_version("alice").value() == after);

  // Re-adding starts without the old groups.
  REQUIRE(roster.upsert_item("alice", contact("bob@example.com")));
  CHECK(roster.get_item("alice", "bob@example.com").value().groups.empty());
}

TEST_CASE_TEMPLATE("roster: versions increase strictly across every kind of change", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();
  REQUIRE(testling->users().create_user("alice", {}));

  RosterVersion last = roster.get_version("alice").value();
  for (int i = 0; i < 20; ++i) {
    const std::string jid = "contact" + std::to_string(i % 5) + "@example.com";
    const auto next = (i % 3 == 2) ? roster.remove_item("alice", jid) : roster.upsert_item("alice", contact(jid));
    if (next) {
      CHECK(*next > last);
      last = *next;
    } else {
      CHECK(next.error() == storage_errc::not_found);
    }
    CHECK(roster.get_version("alice").value() == last);
  }
}

TEST_CASE_TEMPLATE("roster: rosters and versions are per user", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->users().create_user("bob", {}));

  REQUIRE(roster.upsert_item("alice", contact("carol@example.com", Subscription::both, {"A"})));
  REQUIRE(roster.upsert_item("alice", contact("dave@example.com")));
  REQUIRE(roster.upsert_item("bob", contact("carol@example.com", Subscription::none, {"B"})));

  CHECK(roster.get_item("alice", "carol@example.com").value().groups == std::vector<std::string>{"A"});
  CHECK(roster.get_item("bob", "carol@example.com").value().groups == std::vector<std::string>{"B"});
  CHECK(roster.get_roster("bob").value().items.size() == 1);

  const auto alices = roster.get_version("alice").value();
  REQUIRE(roster.remove_item("bob", "carol@example.com"));
  CHECK(roster.get_item("alice", "carol@example.com").value().subscription == Subscription::both);
  CHECK(roster.get_version("alice").value() == alices);
}

TEST_CASE_TEMPLATE("roster: subscribers, subscriptions and pending requests", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();
  REQUIRE(testling->users().create_user("alice", {}));

  REQUIRE(roster.upsert_item("alice", contact("none@example.com", Subscription::none)));
  REQUIRE(roster.upsert_item("alice", contact("to@example.com", Subscription::to)));
  REQUIRE(roster.upsert_item("alice", contact("from@example.com", Subscription::from)));
  REQUIRE(roster.upsert_item("alice", contact("both@example.com", Subscription::both)));
  RosterItem asking = contact("asking@example.com", Subscription::none);
  asking.pending_in = true;
  REQUIRE(roster.upsert_item("alice", asking));
  RosterItem half = contact("half@example.com", Subscription::to);
  half.pending_in = true;
  REQUIRE(roster.upsert_item("alice", half));

  CHECK(roster.subscribers("alice").value() == std::vector<std::string>{"both@example.com", "from@example.com"});
  CHECK(roster.subscriptions("alice").value() ==
        std::vector<std::string>{"both@example.com", "half@example.com", "to@example.com"});
  CHECK(roster.pending_in("alice").value() == std::vector<std::string>{"asking@example.com", "half@example.com"});

  REQUIRE(testling->users().create_user("bob", {}));
  CHECK(roster.subscribers("bob").value().empty());
  CHECK(roster.subscriptions("bob").value().empty());
  CHECK(roster.pending_in("bob").value().empty());
}

TEST_CASE_TEMPLATE("roster: unknown users and empty keys are refused", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();

  CHECK(roster.get_roster("nobody").error() == storage_errc::not_found);
  CHECK(roster.get_version("nobody").error() == storage_errc::not_found);
  CHECK(roster.get_item("nobody", "bob@example.com").error() == storage_errc::not_found);
  CHECK(roster.upsert_item("nobody", contact("bob@example.com")).error() == storage_errc::not_found);
  CHECK(roster.remove_item("nobody", "bob@example.com").error() == storage_errc::not_found);
  CHECK(roster.subscribers("nobody").error() == storage_errc::not_found);
  CHECK(roster.subscriptions("nobody").error() == storage_errc::not_found);
  CHECK(roster.pending_in("nobody").error() == storage_errc::not_found);

  REQUIRE(testling->users().create_user("alice", {}));
  CHECK(roster.upsert_item("alice", contact("")).error() == storage_errc::invalid_argument);
  CHECK(roster.get_item("alice", "").error() == storage_errc::invalid_argument);
  CHECK(roster.remove_item("alice", "").error() == storage_errc::invalid_argument);
  CHECK(roster.get_roster("").error() == storage_errc::invalid_argument);
  CHECK(roster.get_version("alice").value() == 0);
}

TEST_CASE_TEMPLATE("roster: replace_roster replaces every item, group and the version", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->users().create_user("bob", {}));
  REQUIRE(roster.upsert_item("alice", contact("carol@example.com", Subscription::both, {"Friends"})));
  REQUIRE(roster.upsert_item("alice", contact("dave@example.com", Subscription::to, {"Work"})));
  const auto bobs = roster.upsert_item("bob", contact("carol@example.com", Subscription::from, {"B"})).value();

  RosterItem erin = contact("erin@example.com", Subscription::both, {"Work", "Family", "Work"});
  erin.ask_subscribe = true;
  erin.approved = true;
  RosterItem carol = contact("carol@example.com", Subscription::to);
  carol.name = "";
  carol.pending_in = true;
  Roster copy;
  copy.version = 42;
  copy.items = {erin, carol}; // not sorted: the store sorts

  REQUIRE(roster.replace_roster("alice", copy));
  RosterItem expected_erin = erin;
  expected_erin.groups = {"Family", "Work"};
  auto stored = roster.get_roster("alice").value();
  CHECK(stored.version == 42);
  CHECK(stored.items == std::vector<RosterItem>{carol, expected_erin});
  CHECK(roster.get_version("alice").value() == 42);
  CHECK(roster.get_item("alice", "dave@example.com").error() == storage_errc::not_found);
  CHECK(roster.subscribers("alice").value() == std::vector<std::string>{"erin@example.com"});
  CHECK(roster.pending_in("alice").value() == std::vector<std::string>{"carol@example.com"});

  // Later changes continue above the copied version.
  const auto upserted = roster.upsert_item("alice", contact("dave@example.com")).value();
  CHECK(upserted > 42);
  CHECK(roster.remove_item("alice", "erin@example.com").value() > upserted);

  // Another user's roster is left alone.
  CHECK(roster.get_version("bob").value() == bobs);
  CHECK(roster.get_item("bob", "carol@example.com").value().groups == std::vector<std::string>{"B"});

  SUBCASE("an empty roster at a lower version empties it") {
    REQUIRE(roster.replace_roster("alice", Roster{}));
    auto emptied = roster.get_roster("alice").value();
    CHECK(emptied.items.empty());
    CHECK(emptied.version == 0);
    CHECK(roster.upsert_item("alice", contact("frank@example.com")).value() > 0);
    REQUIRE(roster.upsert_item("alice", contact("erin@example.com")));
    CHECK(roster.get_item("alice", "erin@example.com").value().groups.empty());
  }
}

TEST_CASE_TEMPLATE("roster: replace_roster refuses an invalid roster and keeps the old one", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& roster = testling->roster();
  REQUIRE(testling->users().create_user("alice", {}));
  const auto version = roster.upsert_item("alice", contact("carol@example.com", Subscription::both, {"A"})).value();

  Roster negative;
  negative.version = -1;
  CHECK(roster.replace_roster("alice", negative).error() == storage_errc::invalid_argument);

  Roster empty_jid;
  empty_jid.version = 7;
  empty_jid.items = {contact("dave@example.com"), contact("")};
  CHECK(roster.replace_roster("alice", empty_jid).error() == storage_errc::invalid_argument);

  Roster twice;
  twice.version = 7;
  twice.items = {contact("dave@example.com", Subscription::to), contact("dave@example.com", Subscription::from)};
  CHECK(roster.replace_roster("alice", twice).error() == storage_errc::invalid_argument);

  auto kept = roster.get_roster("alice").value();
  CHECK(kept.version == version);
  CHECK(kept.items == std::vector<RosterItem>{contact("carol@example.com", Subscription::both, {"A"})});

  Roster valid;
  valid.version = 3;
  valid.items = {contact("dave@example.com")};
  CHECK(roster.replace_roster("nobody", valid).error() == storage_errc::not_found);
  CHECK(roster.replace_roster("", valid).error() == storage_errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// OfflineStore

TEST_CASE_TEMPLATE("offline: messages come back in arrival order, byte for byte", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& offline = testling->offline();
  REQUIRE(testling->users().create_user("alice", {}));

  const std::string unicode = "<message to='alice@example.com'><body>\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x91\x8b "
                              "&lt;&amp;&gt; \"quoted\" 'single'</body></message>";
  std::string large = "<message><body>";
  while (large.size() < (1u << 20)) {
    large += "0123456789abcdef\xc3\xa9";
  }
  large += "</body></message>";

  // Out-of-order timestamps: order is arrival, not timestamp.
  const std::vector<std::pair<std::string, Timestamp>> pushed{
      {"<message id='1'/>", at(1700000000123456)},
      {unicode, at(1600000000000001)},
      {large, at(1700000000999999)},
      {"<message id='4'/>", at(0)},
  };
  std::vector<OfflineMessageId> ids;
  ids.reserve(pushed.size());
  for (const auto& [stanza, timestamp] : pushed) {
    ids.push_back(offline.push("alice", stanza, timestamp, no_quota).value());
  }
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());

  auto messages = offline.list("alice").value();
  REQUIRE(messages.size() == pushed.size());
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    CHECK(messages[i].id == ids[i]);
    CHECK(messages[i].stanza == pushed[i].first);
    CHECK(messages[i].timestamp == pushed[i].second);
  }
  CHECK(offline.count("alice").value() == 4);
}

TEST_CASE_TEMPLATE("offline: timestamps keep microseconds", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  REQUIRE(testling->users().create_user("alice", {}));

  const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
  REQUIRE(testling->offline().push("alice", "<message/>", now, no_quota));
  CHECK(testling->offline().list("alice").value().at(0).timestamp == now);
}

TEST_CASE_TEMPLATE("offline: the quota is enforced exactly at its boundary", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& offline = testling->offline();
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->users().create_user("bob", {}));

  std::vector<OfflineMessageId> ids;
  ids.reserve(3);
  for (int i = 0; i < 3; ++i) {
    ids.push_back(offline.push("alice", "<message n='" + std::to_string(i) + "'/>", at(i), 3).value());
  }
  auto refused = offline.push("alice", "<message n='3'/>", at(3), 3);
  REQUIRE(refused.has_error());
  CHECK(refused.error() == storage_errc::quota_exceeded);
  CHECK(offline.count("alice").value() == 3);

  // A larger quota lets more in; the quota is per call, not stored.
  CHECK(offline.push("alice", "<message n='4'/>", at(4), 4));
  CHECK(offline.push("alice", "<message n='5'/>", at(5), 4).error() == storage_errc::quota_exceeded);

  // Room comes back as messages are delivered.
  CHECK(offline.remove("alice", ids[0]).value() == 1);
  CHECK(offline.push("alice", "<message n='6'/>", at(6), 4));
  CHECK(offline.count("alice").value() == 4);

  // Quotas count per user.
  CHECK(offline.push("bob", "<message/>", at(7), 1));

  // A quota of zero refuses everything.
  CHECK(offline.purge("bob").value() == 1);
  CHECK(offline.push("bob", "<message/>", at(8), 0).error() == storage_errc::quota_exceeded);
  CHECK(offline.count("bob").value() == 0);
}

TEST_CASE_TEMPLATE("offline: remove deletes up to and including the id", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& offline = testling->offline();
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->users().create_user("bob", {}));

  std::vector<OfflineMessageId> ids;
  ids.reserve(5);
  for (int i = 0; i < 5; ++i) {
    ids.push_back(offline.push("alice", "<message n='" + std::to_string(i) + "'/>", at(i), no_quota).value());
  }
  const auto bobs = offline.push("bob", "<message/>", at(0), no_quota).value();

  // Read, deliver, then delete what was delivered.
  auto delivered = offline.list("alice").value();
  REQUIRE(delivered.size() == 5);
  // A message arriving during delivery must survive the removal.
  const auto late = offline.push("alice", "<message n='late'/>", at(9), no_quota).value();
  CHECK(late > delivered.back().id);

  CHECK(offline.remove("alice", ids[2]).value() == 3);
  auto rest = offline.list("alice").value();
  REQUIRE(rest.size() == 3);
  CHECK(rest[0].id == ids[3]);
  CHECK(rest[1].id == ids[4]);
  CHECK(rest[2].id == late);

  CHECK(offline.remove("alice", delivered.back().id).value() == 2);
  CHECK(offline.remove("alice", delivered.back().id).value() == 0);
  CHECK(offline.list("alice").value().at(0).stanza == "<message n='late'/>");

  // Another user's id range is not touched.
  CHECK(offline.remove("alice", bobs + 1000).value() == 1);
  CHECK(offline.count("bob").value() == 1);
  CHECK(offline.remove("bob", 0).value() == 0);
}

TEST_CASE_TEMPLATE("offline: purge empties one user's store and ids are never reused", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& offline = testling->offline();
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->users().create_user("bob", {}));

  OfflineMessageId highest = 0;
  for (int i = 0; i < 3; ++i) {
    highest = offline.push("alice", "<message/>", at(i), no_quota).value();
  }
  REQUIRE(offline.push("bob", "<message/>", at(0), no_quota));
  CHECK(offline.purge("alice").value() == 3);
  CHECK(offline.count("alice").value() == 0);
  CHECK(offline.list("alice").value().empty());
  CHECK(offline.purge("alice").value() == 0);
  CHECK(offline.count("bob").value() == 1);

  REQUIRE(offline.purge("bob"));
  const auto next = offline.push("alice", "<message/>", at(5), no_quota).value();
  CHECK(next > highest);
}

TEST_CASE_TEMPLATE("offline: unknown users are refused", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& offline = testling->offline();

  CHECK(offline.push("nobody", "<message/>", at(0), no_quota).error() == storage_errc::not_found);
  CHECK(offline.list("nobody").error() == storage_errc::not_found);
  CHECK(offline.count("nobody").error() == storage_errc::not_found);
  CHECK(offline.remove("nobody", 100).error() == storage_errc::not_found);
  CHECK(offline.purge("nobody").error() == storage_errc::not_found);
  CHECK(offline.push("", "<message/>", at(0), no_quota).error() == storage_errc::invalid_argument);
}

TEST_CASE_TEMPLATE("offline: a push with a delivery key stores once and records the key with the message", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& offline = testling->offline();
  auto& seen = testling->seen();
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->users().create_user("bob", {}));

  const DeliveryKey key{"mail in", "<m1@example.net>\nalice", "mail-1"};
  const auto first = offline.push("alice", "<message n='1'/>", at(1), no_quota, &key);
  REQUIRE(first);
  CHECK(seen.lookup("mail in", "<m1@example.net>\nalice").value() == "mail-1");
  // A repeat stores nothing, even after the first copy was delivered and removed.
  CHECK(offline.push("alice", "<message n='1 again'/>", at(2), no_quota, &key).error() == storage_errc::conflict);
  REQUIRE(offline.remove("alice", *first));
  CHECK(offline.push("alice", "<message n='1 later'/>", at(3), no_quota, &key).error() == storage_errc::conflict);
  CHECK(offline.count("alice").value() == 0);

  // A key that SeenStore::remember recorded counts the same.
  REQUIRE(seen.remember("mail in", "<m2@example.net>\nbob", "mail-2", at(4)).value());
  const DeliveryKey remembered{"mail in", "<m2@example.net>\nbob", "mail-2"};
  CHECK(offline.push("bob", "<message n='2'/>", at(5), no_quota, &remembered).error() == storage_errc::conflict);

  // The quota refuses without recording the key, so the same delivery goes through later; a
  // repeat is a repeat even when the quota is full.
  const DeliveryKey third{"mail in", "<m3@example.net>\nbob", "mail-3"};
  CHECK(offline.push("bob", "<message n='3'/>", at(6), 0, &third).error() == storage_errc::quota_exceeded);
  CHECK(seen.lookup("mail in", "<m3@example.net>\nbob").error() == storage_errc::not_found);
  REQUIRE(offline.push("bob", "<message n='3'/>", at(7), 1, &third));
  CHECK(offline.push("bob", "<message n='3'/>", at(8), 1, &third).error() == storage_errc::conflict);
  const auto held = offline.list("bob").value();
  REQUIRE(held.size() == 1);
  CHECK(held[0].stanza == "<message n='3'/>");

  // Unknown users and empty keys are refused, recording nothing.
  const DeliveryKey nobody{"mail in", "<m4@example.net>\nnobody", "mail-4"};
  CHECK(offline.push("nobody", "<message/>", at(9), no_quota, &nobody).error() == storage_errc::not_found);
  CHECK(seen.lookup("mail in", "<m4@example.net>\nnobody").error() == storage_errc::not_found);
  const DeliveryKey empty{"mail in", "", "x"};
  CHECK(offline.push("alice", "<message/>", at(10), no_quota, &empty).error() == storage_errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// WorkQueue

TEST_CASE_TEMPLATE("work: enqueue stores a pending item once per queue and key", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  const std::string payload = "{\"to\":\"j\xc3\xb6rg@example.com\",\"body\":\"<hi/> & 'bye'\"}";
  const auto first = work.enqueue("outbox", "msg-1", payload, at(100), at(150)).value();
  CHECK(first.created);
  CHECK(first.id > 0);

  const auto stored = work.get(first.id).value();
  CHECK(stored.id == first.id);
  CHECK(stored.queue == "outbox");
  CHECK(stored.key == "msg-1");
  CHECK(stored.payload == payload);
  CHECK(stored.state == WorkState::pending);
  CHECK(stored.attempts == 0);
  CHECK(stored.created == at(100));
  CHECK(stored.due == at(150));
  CHECK(stored.owner.empty());
  CHECK(stored.last_error.empty());
  CHECK(stored.updated == at(100));

  const auto again = work.enqueue("outbox", "msg-1", "another payload", at(200), at(200)).value();
  CHECK(again.id == first.id);
  CHECK_FALSE(again.created);
  CHECK(work.get(first.id).value() == stored);
  CHECK(work.count("outbox", WorkState::pending).value() == 1);

  // The key is unique within its queue only.
  const auto elsewhere = work.enqueue("inbox", "msg-1", "x", at(300), at(300)).value();
  CHECK(elsewhere.created);
  CHECK(elsewhere.id > first.id);
  const auto second = work.enqueue("outbox", "msg-2", "y", at(300), at(300)).value();
  CHECK(second.created);
  CHECK(second.id > elsewhere.id);

  // Whatever state the item is in, the same key is the same work.
  REQUIRE(work.claim("outbox", "node/1", at(150), 30s, 1).value().size() == 1);
  REQUIRE(work.complete(first.id, "node/1", at(160)));
  const auto after_done = work.enqueue("outbox", "msg-1", "again", at(400), at(400)).value();
  CHECK(after_done.id == first.id);
  CHECK_FALSE(after_done.created);
  CHECK(work.get(first.id).value().state == WorkState::done);
  CHECK(work.get(first.id).value().payload == payload);
}

TEST_CASE_TEMPLATE("work: invalid arguments are refused and change nothing", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  CHECK(work.enqueue("", "k", "p", at(0), at(0)).error() == storage_errc::invalid_argument);
  CHECK(work.enqueue("q", "", "p", at(0), at(0)).error() == storage_errc::invalid_argument);
  CHECK(work.queues().value().empty());

  const auto id = work.enqueue("q", "k", "p", at(0), at(0)).value().id;
  CHECK(work.claim("", "node/1", at(10), 30s, 1).error() == storage_errc::invalid_argument);
  CHECK(work.claim("q", "", at(10), 30s, 1).error() == storage_errc::invalid_argument);
  CHECK(work.claim("q", "node/1", at(10), 30s, 0).error() == storage_errc::invalid_argument);
  CHECK(work.list("q", WorkState::pending, 0, 0).error() == storage_errc::invalid_argument);
  CHECK(work.purge("q", WorkState::pending, at(1000)).error() == storage_errc::invalid_argument);
  CHECK(work.purge("q", WorkState::claimed, at(1000)).error() == storage_errc::invalid_argument);

  WorkItem restored;
  restored.id = id + 10;
  restored.queue = "q";
  restored.key = "restored";
  auto no_queue = restored;
  no_queue.queue.clear();
  CHECK(work.restore(no_queue).error() == storage_errc::invalid_argument);
  auto no_key = restored;
  no_key.key.clear();
  CHECK(work.restore(no_key).error() == storage_errc::invalid_argument);
  auto zero_id = restored;
  zero_id.id = 0;
  CHECK(work.restore(zero_id).error() == storage_errc::invalid_argument);
  auto negative_id = restored;
  negative_id.id = -5;
  CHECK(work.restore(negative_id).error() == storage_errc::invalid_argument);

  // None of the refused calls claimed, deleted or stored anything.
  const auto item = work.get(id).value();
  CHECK(item.state == WorkState::pending);
  CHECK(item.attempts == 0);
  CHECK(work.count("q", WorkState::pending).value() == 1);
  CHECK(work.queues().value() == std::vector<std::string>{"q"});
  CHECK(work.get(id + 10).error() == storage_errc::not_found);
}

TEST_CASE_TEMPLATE("work: claim takes due items of its queue, oldest due first, then lowest id", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  // Enqueued in an order that differs from due order.
  const auto a = work.enqueue("q", "a", "pa", at(0), at(300)).value().id;
  const auto b = work.enqueue("q", "b", "pb", at(0), at(100)).value().id;
  const auto c = work.enqueue("q", "c", "pc", at(0), at(300)).value().id; // same due as a
  const auto d = work.enqueue("q", "d", "pd", at(0), at(200)).value().id;
  const auto later = work.enqueue("q", "later", "pl", at(0), at(1000)).value().id;
  const auto other = work.enqueue("other", "a", "po", at(0), at(0)).value().id;

  const auto first = work.claim("q", "node/1", at(500), 60s, 2).value();
  CHECK(ids_of(first) == std::vector<WorkItemId>{b, d});
  for (const auto& item : first) {
    CHECK(item.state == WorkState::claimed);
    CHECK(item.owner == "node/1");
    CHECK(item.attempts == 1);
    CHECK(item.lease_until == at(500) + 60s);
    CHECK(item.updated == at(500));
    CHECK(item.created == at(0));
    CHECK(item.queue == "q");
    CHECK(work.get(item.id).value() == item);
  }
  CHECK(first.at(0).payload == "pb");
  CHECK(first.at(0).due == at(100));

  // Not yet due (`later`) and other queues' items stay.
  const auto second = work.claim("q", "node/2", at(500), 60s, 10).value();
  CHECK(ids_of(second) == std::vector<WorkItemId>{a, c});
  CHECK(work.claim("q", "node/3", at(999), 60s, 10).value().empty());

  // Due exactly now counts as due.
  CHECK(ids_of(work.claim("q", "node/3", at(1000), 60s, 10).value()) == std::vector<WorkItemId>{later});
  CHECK(work.get(other).value().state == WorkState::pending);
  CHECK(work.count("q", WorkState::claimed).value() == 5);
  CHECK(work.count("q", WorkState::pending).value() == 0);
  CHECK(ids_of(work.claim("other", "node/1", at(0), 60s, 10).value()) == std::vector<WorkItemId>{other});
}

TEST_CASE_TEMPLATE("work: a claim holds until its lease runs out, then another owner may take the item", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();
  const auto id = work.enqueue("q", "k", "p", at(0), at(0)).value().id;

  const auto mine = work.claim("q", "node-a/1", at(1000), 10s, 5).value();
  REQUIRE(ids_of(mine) == std::vector<WorkItemId>{id});
  CHECK(mine[0].lease_until == at(1000) + 10s);

  CHECK(work.claim("q", "node-b/1", at(1000) + 10s - 1us, 10s, 5).value().empty());

  const auto theirs = work.claim("q", "node-b/1", at(1000) + 10s, 10s, 5).value();
  REQUIRE(ids_of(theirs) == std::vector<WorkItemId>{id});
  CHECK(theirs[0].owner == "node-b/1");
  CHECK(theirs[0].attempts == 2);
  CHECK(theirs[0].lease_until == at(1000) + 20s);

  // The first owner lost the item: whatever it reports is refused.
  CHECK(work.complete(id, "node-a/1", at(1000) + 11s).error() == storage_errc::conflict);
  CHECK(work.retry(id, "node-a/1", at(1000) + 11s, at(0), "late").error() == storage_errc::conflict);
  CHECK(work.bury(id, "node-a/1", at(1000) + 11s, "late").error() == storage_errc::conflict);
  CHECK(work.get(id).value() == theirs[0]);

  REQUIRE(work.complete(id, "node-b/1", at(1000) + 12s));
  const auto done = work.get(id).value();
  CHECK(done.state == WorkState::done);
  CHECK(done.updated == at(1000) + 12s);
  CHECK(done.attempts == 2);
  CHECK(work.claim("q", "node-c/1", at(1000) + 1h, 10s, 5).value().empty());

  SUBCASE("a lease that ran out with nobody taking the item still lets its owner finish") {
    const auto slow = work.enqueue("q", "slow", "p", at(0), at(0)).value().id;
    REQUIRE(work.claim("q", "node-a/1", at(2000), 1s, 5).value().size() == 1);
    REQUIRE(work.complete(slow, "node-a/1", at(2000) + 1h));
    CHECK(work.get(slow).value().state == WorkState::done);
  }
}

TEST_CASE_TEMPLATE("work: complete, retry, bury and revive move items between states", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();
  const auto id = work.enqueue("q", "k", "p", at(0), at(0)).value().id;
  const WorkItemId unknown = id + 1000;

  CHECK(work.complete(unknown, "w", at(1)).error() == storage_errc::not_found);
  CHECK(work.retry(unknown, "w", at(1), at(2), "e").error() == storage_errc::not_found);
  CHECK(work.bury(unknown, "w", at(1), "e").error() == storage_errc::not_found);
  CHECK(work.revive(unknown, at(1)).error() == storage_errc::not_found);
  CHECK(work.get(unknown).error() == storage_errc::not_found);

  // A pending item is claimed by nobody and is not dead.
  CHECK(work.complete(id, "w", at(1)).error() == storage_errc::conflict);
  CHECK(work.retry(id, "w", at(1), at(2), "e").error() == storage_errc::conflict);
  CHECK(work.bury(id, "w", at(1), "e").error() == storage_errc::conflict);
  CHECK(work.revive(id, at(1)).error() == storage_errc::conflict);

  REQUIRE(work.claim("q", "w", at(10), 30s, 1).value().size() == 1);
  CHECK(work.revive(id, at(11)).error() == storage_errc::conflict);
  CHECK(work.complete(id, "someone-else", at(11)).error() == storage_errc::conflict);
  CHECK(work.get(id).value().state == WorkState::claimed);

  // retry: pending again, not claimable before its new due time.
  REQUIRE(work.retry(id, "w", at(20), at(5000), "timeout talking to the SMS gateway"));
  const auto retried = work.get(id).value();
  CHECK(retried.state == WorkState::pending);
  CHECK(retried.due == at(5000));
  CHECK(retried.last_error == "timeout talking to the SMS gateway");
  CHECK(retried.attempts == 1);
  CHECK(retried.updated == at(20));
  CHECK(work.complete(id, "w", at(21)).error() == storage_errc::conflict);
  CHECK(work.claim("q", "w", at(4999), 30s, 1).value().empty());
  const auto again = work.claim("q", "w2", at(5000), 30s, 1).value();
  REQUIRE(ids_of(again) == std::vector<WorkItemId>{id});
  CHECK(again[0].attempts == 2);

  // bury: the dead-letter state, never claimed again.
  REQUIRE(work.bury(id, "w2", at(5001), "gateway rejected the number"));
  const auto dead = work.get(id).value();
  CHECK(dead.state == WorkState::dead);
  CHECK(dead.last_error == "gateway rejected the number");
  CHECK(dead.updated == at(5001));
  CHECK(dead.attempts == 2);
  CHECK(work.claim("q", "w", at(5001) + 24h, 30s, 1).value().empty());
  CHECK(work.bury(id, "w2", at(5002), "again").error() == storage_errc::conflict);
  CHECK(work.complete(id, "w2", at(5002)).error() == storage_errc::conflict);
  CHECK(work.retry(id, "w2", at(5002), at(5002), "again").error() == storage_errc::conflict);

  // revive: pending, due now, attempts from 0.
  REQUIRE(work.revive(id, at(6000)));
  const auto revived = work.get(id).value();
  CHECK(revived.state == WorkState::pending);
  CHECK(revived.due == at(6000));
  CHECK(revived.attempts == 0);
  CHECK(revived.updated == at(6000));
  CHECK(work.revive(id, at(6001)).error() == storage_errc::conflict);
  const auto third = work.claim("q", "w3", at(6000), 30s, 1).value();
  REQUIRE(ids_of(third) == std::vector<WorkItemId>{id});
  CHECK(third[0].attempts == 1);

  REQUIRE(work.complete(id, "w3", at(6001)));
  CHECK(work.get(id).value().state == WorkState::done);
  CHECK(work.complete(id, "w3", at(6002)).error() == storage_errc::conflict);
  CHECK(work.revive(id, at(6002)).error() == storage_errc::conflict);
  CHECK(work.get(id).value().updated == at(6001));
}

TEST_CASE_TEMPLATE("work: list pages by id through one queue and state, and count counts them", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  std::vector<WorkItemId> ids;
  for (int i = 0; i < 25; ++i) {
    ids.push_back(work.enqueue("q", "k" + std::to_string(i), "p" + std::to_string(i), at(i), at(0)).value().id);
  }
  REQUIRE(work.enqueue("other", "k0", "p", at(0), at(0)).has_value());

  REQUIRE(ids_of(work.claim("q", "w", at(100), 30s, 5).value()) ==
          std::vector<WorkItemId>(ids.begin(), ids.begin() + 5));
  REQUIRE(work.complete(ids[0], "w", at(101)));
  REQUIRE(work.complete(ids[1], "w", at(101)));
  REQUIRE(work.bury(ids[2], "w", at(101), "broken"));

  CHECK(work.count("q", WorkState::pending).value() == 20);
  CHECK(work.count("q", WorkState::claimed).value() == 2);
  CHECK(work.count("q", WorkState::done).value() == 2);
  CHECK(work.count("q", WorkState::dead).value() == 1);
  CHECK(work.count("other", WorkState::pending).value() == 1);
  CHECK(work.count("nothing", WorkState::pending).value() == 0);

  std::vector<WorkItemId> seen;
  std::vector<std::size_t> page_sizes;
  WorkItemId cursor = 0;
  for (;;) {
    const auto page = work.list("q", WorkState::pending, cursor, 7).value();
    page_sizes.push_back(page.size());
    for (const auto& item : page) {
      CHECK(item.queue == "q");
      CHECK(item.state == WorkState::pending);
      seen.push_back(item.id);
    }
    if (page.size() < 7) {
      break;
    }
    cursor = page.back().id;
    REQUIRE(page_sizes.size() < 10);
  }
  CHECK(page_sizes == std::vector<std::size_t>{7, 7, 6});
  CHECK(seen == std::vector<WorkItemId>(ids.begin() + 5, ids.end()));

  CHECK(ids_of(work.list("q", WorkState::claimed, 0, 10).value()) == std::vector<WorkItemId>{ids[3], ids[4]});
  CHECK(ids_of(work.list("q", WorkState::done, 0, 10).value()) == std::vector<WorkItemId>{ids[0], ids[1]});
  const auto dead = work.list("q", WorkState::dead, 0, 10).value();
  REQUIRE(ids_of(dead) == std::vector<WorkItemId>{ids[2]});
  CHECK(dead[0] == work.get(ids[2]).value());
  CHECK(dead[0].payload == "p2");
  CHECK(dead[0].last_error == "broken");

  CHECK(ids_of(work.list("q", WorkState::pending, ids[10], 2).value()) == std::vector<WorkItemId>{ids[11], ids[12]});
  CHECK(work.list("q", WorkState::pending, ids.back(), 10).value().empty());
  CHECK(work.list("nothing", WorkState::pending, 0, 10).value().empty());
}

TEST_CASE_TEMPLATE("work: purge deletes done or dead items last changed before the time", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  std::vector<WorkItemId> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(work.enqueue("q", "k" + std::to_string(i), "p", at(0), at(0)).value().id);
  }
  const auto other = work.enqueue("other", "k0", "p", at(0), at(0)).value().id;
  REQUIRE(work.claim("q", "w", at(10), 1h, 10).value().size() == 6);
  REQUIRE(work.claim("other", "w", at(10), 1h, 10).value().size() == 1);
  REQUIRE(work.complete(ids[0], "w", at(100)));
  REQUIRE(work.complete(ids[1], "w", at(200)));
  REQUIRE(work.bury(ids[2], "w", at(100), "e"));
  REQUIRE(work.bury(ids[3], "w", at(300), "e"));
  REQUIRE(work.retry(ids[5], "w", at(50), at(60), "e")); // ids[4] stays claimed
  REQUIRE(work.complete(other, "w", at(100)));

  CHECK(work.purge("q", WorkState::done, at(100)).value() == 0); // strictly before
  CHECK(work.purge("q", WorkState::done, at(101)).value() == 1);
  CHECK(work.get(ids[0]).error() == storage_errc::not_found);
  CHECK(work.get(ids[1]).value().state == WorkState::done);

  CHECK(work.purge("q", WorkState::dead, at(1000)).value() == 2);
  CHECK(work.purge("q", WorkState::done, at(1000)).value() == 1);
  CHECK(work.purge("q", WorkState::done, at(1000)).value() == 0);

  CHECK(work.get(ids[4]).value().state == WorkState::claimed);
  CHECK(work.get(ids[5]).value().state == WorkState::pending);
  CHECK(work.get(other).value().state == WorkState::done);
  CHECK(work.count("q", WorkState::done).value() == 0);
  CHECK(work.count("q", WorkState::dead).value() == 0);
  CHECK(work.count("q", WorkState::claimed).value() == 1);
  CHECK(work.count("q", WorkState::pending).value() == 1);

  // A purged key is free again: enqueuing it creates new work.
  const auto fresh = work.enqueue("q", "k0", "p", at(2000), at(2000)).value();
  CHECK(fresh.created);
  CHECK(fresh.id > other);
}

TEST_CASE_TEMPLATE("work: queues names every queue that holds items, in byte order", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();
  CHECK(work.queues().value().empty());

  REQUIRE(work.enqueue("outbox", "1", "p", at(0), at(0)).has_value());
  REQUIRE(work.enqueue("b-queue", "1", "p", at(0), at(0)).has_value());
  REQUIRE(work.enqueue("Archive", "1", "p", at(0), at(0)).has_value());
  REQUIRE(work.enqueue("outbox", "2", "p", at(0), at(0)).has_value());
  CHECK(work.queues().value() == std::vector<std::string>{"Archive", "b-queue", "outbox"});

  // A queue whose last item is purged is no longer listed.
  const auto archived = work.claim("Archive", "w", at(1), 30s, 10).value();
  REQUIRE(archived.size() == 1);
  REQUIRE(work.complete(archived[0].id, "w", at(2)));
  REQUIRE(work.purge("Archive", WorkState::done, at(3)).value() == 1);
  CHECK(work.queues().value() == std::vector<std::string>{"b-queue", "outbox"});
}

TEST_CASE_TEMPLATE("work: restore stores an item exactly, id included, and later enqueues get higher ids", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();
  const auto first = work.enqueue("q", "fresh", "p", at(0), at(0) + 1h).value().id;

  WorkItem copied;
  copied.id = first + 1000;
  copied.queue = "q";
  copied.key = "copied";
  copied.payload = "<message to='bob@example.com'/>";
  copied.state = WorkState::claimed;
  copied.attempts = 3;
  copied.created = at(10);
  copied.due = at(20);
  copied.owner = "node-x/2";
  copied.lease_until = at(90);
  copied.last_error = "boom";
  copied.updated = at(30);
  REQUIRE(work.restore(copied));
  CHECK(work.get(copied.id).value() == copied);

  // A free id below the highest one may be restored too.
  WorkItem low = copied;
  low.id = first + 1;
  low.key = "low";
  low.state = WorkState::dead;
  REQUIRE(work.restore(low));
  CHECK(work.get(low.id).value() == low);

  // The highest restored id counts even once its item is gone: ids are never reused.
  WorkItem gone = copied;
  gone.id = first + 5000;
  gone.key = "gone";
  gone.state = WorkState::done;
  REQUIRE(work.restore(gone));
  REQUIRE(work.purge("q", WorkState::done, at(31)).value() == 1);

  const auto next = work.enqueue("q", "after", "p", at(100), at(0) + 1h).value();
  CHECK(next.created);
  CHECK(next.id > gone.id);

  // The restored claim is live: its lease holds until lease_until.
  CHECK(work.claim("q", "node-y/1", at(89), 30s, 10).value().empty());
  const auto taken = work.claim("q", "node-y/1", at(90), 30s, 10).value();
  REQUIRE(ids_of(taken) == std::vector<WorkItemId>{copied.id});
  CHECK(taken[0].attempts == 4);

  SUBCASE("a taken id or key is a conflict and stores nothing") {
    WorkItem same_id = copied;
    same_id.key = "another-key";
    CHECK(work.restore(same_id).error() == storage_errc::conflict);

    WorkItem same_key = copied;
    same_key.id = next.id + 50;
    CHECK(work.restore(same_key).error() == storage_errc::conflict);
    CHECK(work.get(next.id + 50).error() == storage_errc::not_found);

    WorkItem enqueued_id = copied;
    enqueued_id.id = next.id;
    enqueued_id.key = "yet-another-key";
    CHECK(work.restore(enqueued_id).error() == storage_errc::conflict);
    CHECK(work.get(next.id).value().key == "after");

    // The same key in another queue is other work.
    WorkItem other_queue = same_key;
    other_queue.queue = "other";
    REQUIRE(work.restore(other_queue));
    CHECK(work.get(other_queue.id).value() == other_queue);
    CHECK(work.count("q", WorkState::claimed).value() == 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Persistence

TEST_CASE_TEMPLATE("persistence: everything survives closing and reopening", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  RosterVersion version = 0;
  OfflineMessageId last_id = 0;
  {
    auto testling = open_storage(backend);
    REQUIRE(testling->users().create_user("alice", both_mechanisms('p')));
    REQUIRE(testling->users().create_user("\xc3\xa9milie", {scram("SCRAM-SHA-256", 'q')}));
    RosterItem bob = contact("bob@example.com", Subscription::both, {"Friends", "\xf0\x9f\x8d\xba"});
    bob.approved = true;
    REQUIRE(testling->roster().upsert_item("alice", bob));
    version = testling->roster().upsert_item("alice", contact("carol@example.com")).value();
    REQUIRE(testling->offline().push("alice", "<message>one</message>", at(11), no_quota));
    last_id = testling->offline().push("alice", "<message>two</message>", at(22), no_quota).value();
  }

  auto testling = open_storage(backend);
  CHECK(testling->users().count_users().value() == 2);
  CHECK(testling->users().get_credentials("alice", "SCRAM-SHA-1").value() == scram("SCRAM-SHA-1", 'p'));
  CHECK(testling->users().get_credentials("\xc3\xa9milie", "SCRAM-SHA-256").value() == scram("SCRAM-SHA-256", 'q'));

  auto roster = testling->roster().get_roster("alice").value();
  CHECK(roster.version == version);
  REQUIRE(roster.items.size() == 2);
  CHECK(roster.items[0].approved);
  CHECK(roster.items[0].groups == std::vector<std::string>{"Friends", "\xf0\x9f\x8d\xba"});
  CHECK(testling->roster().upsert_item("alice", contact("dave@example.com")).value() > version);

  auto messages = testling->offline().list("alice").value();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].stanza == "<message>one</message>");
  CHECK(messages[1].timestamp == at(22));
  CHECK(messages[1].id == last_id);
  CHECK(testling->offline().push("alice", "<message>three</message>", at(33), no_quota).value() > last_id);
}

TEST_CASE_TEMPLATE("persistence: work items and the id sequence survive closing and reopening", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  WorkItem restored;
  WorkItemId enqueued = 0;
  {
    auto testling = open_storage(backend);
    enqueued = testling->work().enqueue("outbox", "k1", "p1", at(5), at(5)).value().id;
    restored.id = enqueued + 500;
    restored.queue = "outbox";
    restored.key = "k2";
    restored.payload = "p2";
    restored.state = WorkState::dead;
    restored.attempts = 7;
    restored.created = at(1);
    restored.due = at(2);
    restored.owner = "node/1";
    restored.lease_until = at(3);
    restored.last_error = "gave up";
    restored.updated = at(4);
    REQUIRE(testling->work().restore(restored));
  }

  auto testling = open_storage(backend);
  auto& work = testling->work();
  CHECK(work.get(restored.id).value() == restored);
  CHECK(work.get(enqueued).value().payload == "p1");
  const auto again = work.enqueue("outbox", "k1", "other", at(6), at(6)).value();
  CHECK(again.id == enqueued);
  CHECK_FALSE(again.created);
  CHECK(work.enqueue("outbox", "k3", "p3", at(6), at(6)).value().id > restored.id);
}

// ---------------------------------------------------------------------------------------------
// SeenStore

TEST_CASE_TEMPLATE("seen: a key is remembered once per scope, with its value", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& seen = testling->seen();
  CHECK(seen.remember("hook:ci", "delivery-1", "stanza-a", at(1'000)).value() == true);
  CHECK(seen.remember("hook:ci", "delivery-1", "stanza-b", at(2'000)).value() == false);
  CHECK(seen.lookup("hook:ci", "delivery-1").value() == "stanza-a"); // the first value stays
  // Scopes are independent.
  CHECK(seen.remember("hook:other", "delivery-1", "stanza-c", at(2'000)).value() == true);
  CHECK(seen.lookup("hook:other", "delivery-1").value() == "stanza-c");
  CHECK(seen.lookup("hook:ci", "delivery-2").error() == storage_errc::not_found);
  CHECK(seen.remember("", "k", "v", at(1)).error() == storage_errc::invalid_argument);
  CHECK(seen.remember("s", "", "v", at(1)).error() == storage_errc::invalid_argument);
}

TEST_CASE_TEMPLATE("seen: forget_before drops only older records, which may then recur", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& seen = testling->seen();
  REQUIRE(seen.remember("s", "old", "1", at(1'000)));
  REQUIRE(seen.remember("s", "new", "2", at(5'000)));
  CHECK(seen.forget_before(at(5'000)).value() == 1);
  CHECK(seen.lookup("s", "old").error() == storage_errc::not_found);
  CHECK(seen.lookup("s", "new").value() == "2");
  CHECK(seen.remember("s", "old", "3", at(6'000)).value() == true);
  CHECK(seen.forget_before(at(0)).value() == 0);
}
