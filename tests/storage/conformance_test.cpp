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
