// The storage conformance suite, second part: admin API tokens, gateway registrations, stored
// webhooks and the timelines of work items. Like conformance_test.cpp, every backend listed in
// backends.hpp must pass every test here, through the interfaces only.

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

Timestamp at(std::int64_t microseconds) {
  return Timestamp(std::chrono::microseconds(microseconds));
}

ApiToken token(std::string id, std::string scope = "admin") {
  ApiToken token;
  token.id = std::move(id);
  token.hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  token.scope = std::move(scope);
  token.description = "ci deploys for " + token.id;
  token.created = at(1'700'000'000'123'456);
  return token;
}

StoredHook hook(std::string domain, std::string name) {
  StoredHook hook;
  hook.domain = std::move(domain);
  hook.name = std::move(name);
  hook.url = "https://ci.example.net/hooks/" + hook.name + "?a=1&b=2";
  hook.secret = "whsec_" + hook.name;
  hook.github_signature = true;
  hook.inbound_secret = "inbound-" + hook.name;
  hook.recipient = "alice@example.com";
  hook.template_name = "github";
  hook.created = at(1'000'001);
  hook.updated = at(1'000'002);
  return hook;
}

WorkEvent event(WorkItemId item, std::int64_t microseconds, std::string name, std::string detail = {}) {
  return WorkEvent{item, at(microseconds), std::move(name), std::move(detail)};
}

std::vector<std::string> addresses_of(const std::vector<Registration>& registrations) {
  std::vector<std::string> out;
  for (const auto& registration : registrations) {
    out.push_back(registration.address + " " + registration.owner);
  }
  return out;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// TokenStore

TEST_CASE_TEMPLATE("tokens: a created token comes back with every field", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& tokens = testling->tokens();

  CHECK(tokens.list().value().empty());
  auto ci = token("ci");
  ci.description = "d\xc3\xa9ploiements \xf0\x9f\x9a\x80"; // any text, byte for byte
  REQUIRE(tokens.create(ci));
  CHECK(tokens.get("ci").value() == ci);

  auto quiet = token("reader", "read");
  quiet.description.clear(); // may be empty
  REQUIRE(tokens.create(quiet));
  CHECK(tokens.get("reader").value() == quiet);
  CHECK(tokens.list().value() == std::vector<ApiToken>{ci, quiet});
}

TEST_CASE_TEMPLATE("tokens: list orders by id in byte order", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& tokens = testling->tokens();

  for (const char* id : {"b", "a2", "Z", "a10", "\xc3\xa9t\xc3\xa9"}) {
    REQUIRE(tokens.create(token(id)));
  }
  std::vector<std::string> ids;
  for (const auto& entry : tokens.list().value()) {
    ids.push_back(entry.id);
  }
  CHECK(ids == std::vector<std::string>{"Z", "a10", "a2", "b", "\xc3\xa9t\xc3\xa9"});
}

TEST_CASE_TEMPLATE("tokens: a taken id is a conflict and changes nothing", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& tokens = testling->tokens();

  REQUIRE(tokens.create(token("ci")));
  auto other = token("ci", "read");
  other.hash = "00";
  CHECK(tokens.create(other).error() == storage_errc::conflict);
  CHECK(tokens.get("ci").value() == token("ci"));
  CHECK(tokens.list().value().size() == 1);
  // Ids compare bytewise: another case is another token.
  REQUIRE(tokens.create(token("CI")));
  CHECK(tokens.list().value().size() == 2);
}

TEST_CASE_TEMPLATE("tokens: revoke deletes the token, and unknown ids are not_found", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& tokens = testling->tokens();

  CHECK(tokens.get("nope").error() == storage_errc::not_found);
  CHECK(tokens.revoke("nope").error() == storage_errc::not_found);
  CHECK(tokens.get("").error() == storage_errc::not_found);
  CHECK(tokens.revoke("").error() == storage_errc::not_found);

  REQUIRE(tokens.create(token("ci")));
  REQUIRE(tokens.create(token("ops")));
  REQUIRE(tokens.revoke("ci"));
  CHECK(tokens.get("ci").error() == storage_errc::not_found);
  CHECK(tokens.revoke("ci").error() == storage_errc::not_found);
  CHECK(tokens.list().value() == std::vector<ApiToken>{token("ops")});

  // A revoked id may be issued again.
  auto again = token("ci", "read");
  REQUIRE(tokens.create(again));
  CHECK(tokens.get("ci").value() == again);
}

TEST_CASE_TEMPLATE("tokens: an empty id, hash or scope is refused and stores nothing", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& tokens = testling->tokens();

  auto no_id = token("");
  CHECK(tokens.create(no_id).error() == storage_errc::invalid_argument);
  auto no_hash = token("a");
  no_hash.hash.clear();
  CHECK(tokens.create(no_hash).error() == storage_errc::invalid_argument);
  auto no_scope = token("b", "");
  CHECK(tokens.create(no_scope).error() == storage_errc::invalid_argument);
  CHECK(tokens.list().value().empty());
}

// ---------------------------------------------------------------------------------------------
// RegistrationStore

TEST_CASE_TEMPLATE("registrations: assign adds an owner once, and owners come back ascending", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& registrations = testling->registrations();

  CHECK(registrations.owners("sms.example.com", "+15551234567").value().empty());
  CHECK(registrations.assign("sms.example.com", "+15551234567", "carol@example.com", at(10)).value() == true);
  CHECK(registrations.assign("sms.example.com", "+15551234567", "alice@example.com", at(20)).value() == true);
  // Again: nothing changes, not even the time of assignment.
  CHECK(registrations.assign("sms.example.com", "+15551234567", "alice@example.com", at(30)).value() == false);
  CHECK(registrations.owners("sms.example.com", "+15551234567").value() ==
        std::vector<std::string>{"alice@example.com", "carol@example.com"});
  CHECK(registrations.of_owner("alice@example.com").value() ==
        std::vector<Registration>{{"sms.example.com", "+15551234567", "alice@example.com", at(20)}});

  // Domains and addresses are independent keys.
  CHECK(registrations.owners("sms.example.org", "+15551234567").value().empty());
  CHECK(registrations.owners("sms.example.com", "+15551234568").value().empty());
  REQUIRE(registrations.assign("email.example.com", "+15551234567", "bob@example.com", at(40)));
  CHECK(registrations.owners("sms.example.com", "+15551234567").value().size() == 2);
  CHECK(registrations.owners("email.example.com", "+15551234567").value() ==
        std::vector<std::string>{"bob@example.com"});
}

TEST_CASE_TEMPLATE("registrations: of_owner lists every domain and address of one owner", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& registrations = testling->registrations();

  REQUIRE(registrations.assign("sms.example.com", "+15550000002", "alice@example.com", at(1)));
  REQUIRE(registrations.assign("email.example.com", "alice@mail.example.net", "alice@example.com", at(2)));
  REQUIRE(registrations.assign("sms.example.com", "+15550000001", "alice@example.com", at(3)));
  REQUIRE(registrations.assign("sms.example.com", "+15550000001", "bob@example.com", at(4)));

  CHECK(registrations.of_owner("alice@example.com").value() ==
        std::vector<Registration>{
            {"email.example.com", "alice@mail.example.net", "alice@example.com", at(2)},
            {"sms.example.com", "+15550000001", "alice@example.com", at(3)},
            {"sms.example.com", "+15550000002", "alice@example.com", at(1)},
        });
  CHECK(registrations.of_owner("bob@example.com").value() ==
        std::vector<Registration>{{"sms.example.com", "+15550000001", "bob@example.com", at(4)}});
  CHECK(registrations.of_owner("nobody@example.com").value().empty());
}

TEST_CASE_TEMPLATE("registrations: unassign takes one owner's address, anything else is not_found", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& registrations = testling->registrations();

  REQUIRE(registrations.assign("sms.example.com", "+15551234567", "alice@example.com", at(1)));
  REQUIRE(registrations.assign("sms.example.com", "+15551234567", "bob@example.com", at(2)));

  CHECK(registrations.unassign("sms.example.com", "+15551234567", "carol@example.com").error() ==
        storage_errc::not_found);
  CHECK(registrations.unassign("sms.example.com", "+15550000000", "alice@example.com").error() ==
        storage_errc::not_found);
  CHECK(registrations.unassign("sms.example.org", "+15551234567", "alice@example.com").error() ==
        storage_errc::not_found);

  REQUIRE(registrations.unassign("sms.example.com", "+15551234567", "alice@example.com"));
  CHECK(registrations.owners("sms.example.com", "+15551234567").value() == std::vector<std::string>{"bob@example.com"});
  CHECK(registrations.unassign("sms.example.com", "+15551234567", "alice@example.com").error() ==
        storage_errc::not_found);
  // Assigned again, it counts as new.
  CHECK(registrations.assign("sms.example.com", "+15551234567", "alice@example.com", at(5)).value() == true);
  CHECK(registrations.of_owner("alice@example.com").value().at(0).created == at(5));
}

TEST_CASE_TEMPLATE("registrations: list pages through one domain by (address, owner)", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& registrations = testling->registrations();

  std::vector<std::string> expected;
  for (int a = 0; a < 5; ++a) {
    for (int o = 2; o >= 0; --o) {
      const std::string address = "+1555000000" + std::to_string(a);
      const std::string owner = "user" + std::to_string(o) + "@example.com";
      REQUIRE(registrations.assign("sms.example.com", address, owner, at(a * 10 + o)));
      expected.push_back(address + " " + owner);
    }
  }
  REQUIRE(registrations.assign("sms.example.org", "+15550000000", "user0@example.com", at(0)));
  std::sort(expected.begin(), expected.end());

  std::vector<std::string> seen;
  std::vector<std::size_t> page_sizes;
  std::string after_address;
  std::string after_owner;
  for (;;) {
    const auto page = registrations.list("sms.example.com", after_address, after_owner, 4).value();
    page_sizes.push_back(page.size());
    for (const auto& registration : page) {
      CHECK(registration.domain == "sms.example.com");
    }
    const auto texts = addresses_of(page);
    seen.insert(seen.end(), texts.begin(), texts.end());
    if (page.size() < 4) {
      break;
    }
    after_address = page.back().address;
    after_owner = page.back().owner;
    REQUIRE(page_sizes.size() < 10);
  }
  CHECK(page_sizes == std::vector<std::size_t>{4, 4, 4, 3});
  CHECK(seen == expected);

  const auto first = registrations.list("sms.example.com", "", "", 1).value();
  REQUIRE(first.size() == 1);
  CHECK(first[0] == Registration{"sms.example.com", "+15550000000", "user0@example.com", at(0)});

  // Within one address the cursor resumes at the next owner, then at the next address.
  CHECK(addresses_of(registrations.list("sms.example.com", "+15550000001", "user0@example.com", 3).value()) ==
        std::vector<std::string>{"+15550000001 user1@example.com", "+15550000001 user2@example.com",
                                 "+15550000002 user0@example.com"});
  // The cursor need not exist.
  CHECK(addresses_of(registrations.list("sms.example.com", "+15550000003", "zz", 1).value()) ==
        std::vector<std::string>{"+15550000004 user0@example.com"});
  CHECK(registrations.list("sms.example.com", "+15550000004", "user2@example.com", 10).value().empty());
  CHECK(registrations.list("nothing.example.com", "", "", 10).value().empty());
  CHECK(registrations.list("sms.example.org", "", "", 10).value().size() == 1);
}

TEST_CASE_TEMPLATE("registrations: remove_owner deletes every registration of one owner", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& registrations = testling->registrations();

  REQUIRE(registrations.assign("sms.example.com", "+15550000001", "alice@example.com", at(1)));
  REQUIRE(registrations.assign("sms.example.com", "+15550000002", "alice@example.com", at(1)));
  REQUIRE(registrations.assign("email.example.com", "a@mail.example.net", "alice@example.com", at(1)));
  REQUIRE(registrations.assign("sms.example.com", "+15550000001", "bob@example.com", at(1)));

  CHECK(registrations.remove_owner("alice@example.com").value() == 3);
  CHECK(registrations.of_owner("alice@example.com").value().empty());
  CHECK(registrations.owners("sms.example.com", "+15550000001").value() == std::vector<std::string>{"bob@example.com"});
  CHECK(registrations.remove_owner("alice@example.com").value() == 0);
  CHECK(registrations.remove_owner("nobody@example.com").value() == 0);
}

TEST_CASE_TEMPLATE("registrations: domains names every domain that holds registrations, ascending", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& registrations = testling->registrations();

  CHECK(registrations.domains().value().empty());
  REQUIRE(registrations.assign("sms.example.com", "+15550000001", "alice@example.com", at(1)));
  REQUIRE(registrations.assign("email.example.com", "a@mail.example.net", "alice@example.com", at(1)));
  REQUIRE(registrations.assign("sms.example.com", "+15550000002", "bob@example.com", at(1)));
  CHECK(registrations.domains().value() == std::vector<std::string>{"email.example.com", "sms.example.com"});

  REQUIRE(registrations.unassign("email.example.com", "a@mail.example.net", "alice@example.com"));
  CHECK(registrations.domains().value() == std::vector<std::string>{"sms.example.com"});
}

TEST_CASE_TEMPLATE("registrations: empty arguments and a zero limit are refused and change nothing", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& registrations = testling->registrations();
  REQUIRE(registrations.assign("d", "a", "o", at(1)));

  CHECK(registrations.assign("", "a", "p", at(1)).error() == storage_errc::invalid_argument);
  CHECK(registrations.assign("d", "", "p", at(1)).error() == storage_errc::invalid_argument);
  CHECK(registrations.assign("d", "a", "", at(1)).error() == storage_errc::invalid_argument);
  CHECK(registrations.unassign("", "a", "o").error() == storage_errc::invalid_argument);
  CHECK(registrations.unassign("d", "", "o").error() == storage_errc::invalid_argument);
  CHECK(registrations.unassign("d", "a", "").error() == storage_errc::invalid_argument);
  CHECK(registrations.owners("", "a").error() == storage_errc::invalid_argument);
  CHECK(registrations.owners("d", "").error() == storage_errc::invalid_argument);
  CHECK(registrations.of_owner("").error() == storage_errc::invalid_argument);
  CHECK(registrations.list("", "", "", 10).error() == storage_errc::invalid_argument);
  CHECK(registrations.list("d", "", "", 0).error() == storage_errc::invalid_argument);
  CHECK(registrations.remove_owner("").error() == storage_errc::invalid_argument);

  CHECK(registrations.owners("d", "a").value() == std::vector<std::string>{"o"});
  CHECK(registrations.domains().value() == std::vector<std::string>{"d"});
}

// ---------------------------------------------------------------------------------------------
// HookStore

TEST_CASE_TEMPLATE("hooks: a created hook comes back with every field", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& hooks = testling->hooks();

  const auto ci = hook("hooks.example.com", "ci");
  REQUIRE(hooks.create(ci));
  CHECK(hooks.get("hooks.example.com", "ci").value() == ci);

  // The defaults and empty fields round-trip as well.
  StoredHook plain;
  plain.domain = "hooks.example.com";
  plain.name = "plain";
  plain.created = at(5);
  plain.updated = at(5);
  REQUIRE(hooks.create(plain));
  const auto stored = hooks.get("hooks.example.com", "plain").value();
  CHECK(stored == plain);
  CHECK(stored.template_name == "auto");
  CHECK_FALSE(stored.github_signature);
}

TEST_CASE_TEMPLATE("hooks: a taken name within the domain is a conflict and changes nothing", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& hooks = testling->hooks();

  REQUIRE(hooks.create(hook("hooks.example.com", "ci")));
  auto other = hook("hooks.example.com", "ci");
  other.url = "https://elsewhere.example.net/";
  CHECK(hooks.create(other).error() == storage_errc::conflict);
  CHECK(hooks.get("hooks.example.com", "ci").value() == hook("hooks.example.com", "ci"));
  // The same name on another domain is another hook.
  REQUIRE(hooks.create(hook("hooks.example.org", "ci")));
  CHECK(hooks.list({}).value().size() == 2);
}

TEST_CASE_TEMPLATE("hooks: update replaces every field but created", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& hooks = testling->hooks();
  REQUIRE(hooks.create(hook("hooks.example.com", "ci")));
  REQUIRE(hooks.create(hook("hooks.example.com", "other")));

  StoredHook changed;
  changed.domain = "hooks.example.com";
  changed.name = "ci";
  changed.url = "https://new.example.net/";
  changed.secret = "";
  changed.github_signature = false;
  changed.inbound_secret = "rotated";
  changed.recipient = "bob@example.com";
  changed.template_name = "plain";
  changed.created = at(999'999'999); // ignored
  changed.updated = at(2'000'000);
  REQUIRE(hooks.update(changed));

  auto expected = changed;
  expected.created = hook("hooks.example.com", "ci").created;
  CHECK(hooks.get("hooks.example.com", "ci").value() == expected);
  CHECK(hooks.get("hooks.example.com", "other").value() == hook("hooks.example.com", "other"));

  auto missing = changed;
  missing.name = "missing";
  CHECK(hooks.update(missing).error() == storage_errc::not_found);
  CHECK(hooks.get("hooks.example.com", "missing").error() == storage_errc::not_found);
}

TEST_CASE_TEMPLATE("hooks: list one domain by name, or every hook by (domain, name)", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& hooks = testling->hooks();
  CHECK(hooks.list({}).value().empty());
  CHECK(hooks.list("hooks.example.com").value().empty());

  for (const char* name : {"zeta", "Alpha", "beta"}) {
    REQUIRE(hooks.create(hook("hooks.example.com", name)));
  }
  REQUIRE(hooks.create(hook("a-hooks.example.com", "zeta")));

  CHECK(hooks.list("hooks.example.com").value() == std::vector<StoredHook>{hook("hooks.example.com", "Alpha"),
                                                                           hook("hooks.example.com", "beta"),
                                                                           hook("hooks.example.com", "zeta")});
  CHECK(hooks.list("a-hooks.example.com").value() == std::vector<StoredHook>{hook("a-hooks.example.com", "zeta")});
  CHECK(hooks.list("nothing.example.com").value().empty());
  CHECK(hooks.list({}).value() ==
        std::vector<StoredHook>{hook("a-hooks.example.com", "zeta"), hook("hooks.example.com", "Alpha"),
                                hook("hooks.example.com", "beta"), hook("hooks.example.com", "zeta")});
}

TEST_CASE_TEMPLATE("hooks: remove deletes one hook, and unknown hooks are not_found", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& hooks = testling->hooks();

  CHECK(hooks.get("hooks.example.com", "ci").error() == storage_errc::not_found);
  CHECK(hooks.remove("hooks.example.com", "ci").error() == storage_errc::not_found);
  REQUIRE(hooks.create(hook("hooks.example.com", "ci")));
  REQUIRE(hooks.create(hook("hooks.example.org", "ci")));
  REQUIRE(hooks.remove("hooks.example.com", "ci"));
  CHECK(hooks.get("hooks.example.com", "ci").error() == storage_errc::not_found);
  CHECK(hooks.remove("hooks.example.com", "ci").error() == storage_errc::not_found);
  CHECK(hooks.list({}).value() == std::vector<StoredHook>{hook("hooks.example.org", "ci")});
  // The name is free again.
  REQUIRE(hooks.create(hook("hooks.example.com", "ci")));
}

TEST_CASE_TEMPLATE("hooks: an empty domain or name is refused and changes nothing", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& hooks = testling->hooks();
  REQUIRE(hooks.create(hook("d", "n")));

  CHECK(hooks.create(hook("", "x")).error() == storage_errc::invalid_argument);
  CHECK(hooks.create(hook("d", "")).error() == storage_errc::invalid_argument);
  CHECK(hooks.update(hook("", "n")).error() == storage_errc::invalid_argument);
  CHECK(hooks.update(hook("d", "")).error() == storage_errc::invalid_argument);
  CHECK(hooks.get("", "n").error() == storage_errc::invalid_argument);
  CHECK(hooks.get("d", "").error() == storage_errc::invalid_argument);
  CHECK(hooks.remove("", "n").error() == storage_errc::invalid_argument);
  CHECK(hooks.remove("d", "").error() == storage_errc::invalid_argument);
  CHECK(hooks.list({}).value() == std::vector<StoredHook>{hook("d", "n")});
}

// ---------------------------------------------------------------------------------------------
// WorkQueue timelines

TEST_CASE_TEMPLATE("work events: the store records each transition of an item, in order", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  const auto id = work.enqueue("q", "k", "p", at(10), at(10)).value().id;
  CHECK(work.events(id).value() == std::vector<WorkEvent>{event(id, 10, "enqueued")});
  // Enqueuing the same key again creates nothing and records nothing.
  REQUIRE_FALSE(work.enqueue("q", "k", "p", at(11), at(11)).value().created);

  REQUIRE(work.claim("q", "node/1", at(20), 30s, 1).value().size() == 1);
  REQUIRE(work.add_event(id, at(21), "provider-id", "SM123"));
  REQUIRE(work.retry(id, "node/1", at(22), at(100), "503 from provider"));
  REQUIRE(work.claim("q", "node/2", at(100), 30s, 1).value().size() == 1);
  REQUIRE(work.bury(id, "node/2", at(101), "invalid number"));
  REQUIRE(work.revive(id, at(200)));
  REQUIRE(work.claim("q", "node/3", at(200), 30s, 1).value().size() == 1);
  REQUIRE(work.complete(id, "node/3", at(201)));
  REQUIRE(work.add_event(id, at(202), "status", "delivered"));

  CHECK(work.events(id).value() == std::vector<WorkEvent>{
                                       event(id, 10, "enqueued"),
                                       event(id, 20, "claimed", "node/1"),
                                       event(id, 21, "provider-id", "SM123"),
                                       event(id, 22, "retry", "503 from provider"),
                                       event(id, 100, "claimed", "node/2"),
                                       event(id, 101, "buried", "invalid number"),
                                       event(id, 200, "revived"),
                                       event(id, 200, "claimed", "node/3"),
                                       event(id, 201, "completed"),
                                       event(id, 202, "status", "delivered"),
                                   });
}

TEST_CASE_TEMPLATE("work events: a claim records one event per item it takes, an expired lease another", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  std::vector<WorkItemId> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(work.enqueue("q", "k" + std::to_string(i), "p", at(i), at(i)).value().id);
  }
  const auto other = work.enqueue("other", "k0", "p", at(0), at(0)).value().id;
  REQUIRE(work.claim("q", "w1", at(10), 10us, 3).value().size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(work.events(ids[static_cast<std::size_t>(i)]).value() ==
          std::vector<WorkEvent>{event(ids[static_cast<std::size_t>(i)], i, "enqueued"),
                                 event(ids[static_cast<std::size_t>(i)], 10, "claimed", "w1")});
  }
  CHECK(work.events(ids[3]).value() == std::vector<WorkEvent>{event(ids[3], 3, "enqueued")});
  CHECK(work.events(other).value() == std::vector<WorkEvent>{event(other, 0, "enqueued")});

  // The leases ran out at 20: the next claim takes the first item again, and says so.
  const auto again = work.claim("q", "w2", at(20), 30s, 1).value();
  REQUIRE(again.size() == 1);
  REQUIRE(again[0].id == ids[0]);
  CHECK(work.events(ids[0]).value() == std::vector<WorkEvent>{event(ids[0], 0, "enqueued"),
                                                              event(ids[0], 10, "claimed", "w1"),
                                                              event(ids[0], 20, "claimed", "w2")});
  // An empty claim records nothing anywhere.
  CHECK(work.claim("nothing", "w3", at(30), 30s, 5).value().empty());
  CHECK(work.events(ids[3]).value().size() == 1);
}

TEST_CASE_TEMPLATE("work events: a refused transition records nothing", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  const auto id = work.enqueue("q", "k", "p", at(1), at(1)).value().id;
  CHECK(work.complete(id, "w", at(2)).error() == storage_errc::conflict);
  CHECK(work.retry(id, "w", at(2), at(2), "e").error() == storage_errc::conflict);
  CHECK(work.bury(id, "w", at(2), "e").error() == storage_errc::conflict);
  CHECK(work.revive(id, at(2)).error() == storage_errc::conflict);
  REQUIRE(work.claim("q", "w", at(3), 30s, 1).value().size() == 1);
  CHECK(work.complete(id, "intruder", at(4)).error() == storage_errc::conflict);
  CHECK(work.complete(id + 1000, "w", at(4)).error() == storage_errc::not_found);
  CHECK(work.revive(id + 1000, at(4)).error() == storage_errc::not_found);

  CHECK(work.events(id).value() == std::vector<WorkEvent>{event(id, 1, "enqueued"), event(id, 3, "claimed", "w")});
}

TEST_CASE_TEMPLATE("work events: add_event and events refuse unknown items and empty events", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  CHECK(work.events(1).error() == storage_errc::not_found);
  CHECK(work.events(0).error() == storage_errc::not_found);
  CHECK(work.add_event(1, at(1), "status", "x").error() == storage_errc::not_found);
  CHECK(work.add_event(0, at(1), "status", "x").error() == storage_errc::not_found);

  const auto id = work.enqueue("q", "k", "p", at(1), at(1)).value().id;
  CHECK(work.add_event(id, at(2), "", "detail").error() == storage_errc::invalid_argument);
  CHECK(work.add_event(id + 1, at(2), "status", "x").error() == storage_errc::not_found);
  CHECK(work.events(id + 1).error() == storage_errc::not_found);
  // Any detail, empty or not, byte for byte.
  REQUIRE(work.add_event(id, at(3), "status", ""));
  REQUIRE(work.add_event(id, at(4), "note", "caf\xc3\xa9 <b>&amp;</b> \xf0\x9f\x93\xa8"));
  CHECK(work.events(id).value() ==
        std::vector<WorkEvent>{event(id, 1, "enqueued"), event(id, 3, "status"),
                               event(id, 4, "note", "caf\xc3\xa9 <b>&amp;</b> \xf0\x9f\x93\xa8")});
}

TEST_CASE_TEMPLATE("work events: recording order wins over the times given", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  const auto id = work.enqueue("q", "k", "p", at(100), at(100)).value().id;
  REQUIRE(work.add_event(id, at(50), "late-callback", "sent at 50"));
  REQUIRE(work.add_event(id, at(50), "same-time", ""));
  REQUIRE(work.add_event(id, at(10), "older", ""));
  CHECK(work.events(id).value() == std::vector<WorkEvent>{event(id, 100, "enqueued"),
                                                          event(id, 50, "late-callback", "sent at 50"),
                                                          event(id, 50, "same-time"), event(id, 10, "older")});
}

TEST_CASE_TEMPLATE("work events: a restored item starts with no events, and purge takes them with the item", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  WorkItem copied;
  copied.id = 42;
  copied.queue = "q";
  copied.key = "copied";
  copied.payload = "p";
  copied.state = WorkState::claimed;
  copied.attempts = 1;
  copied.owner = "w";
  copied.lease_until = at(1'000'000);
  REQUIRE(work.restore(copied));
  CHECK(work.events(42).value().empty());
  REQUIRE(work.add_event(42, at(5), "claimed", "w")); // what a copy does
  REQUIRE(work.complete(42, "w", at(6)));
  CHECK(work.events(42).value() == std::vector<WorkEvent>{event(42, 5, "claimed", "w"), event(42, 6, "completed")});

  const auto kept = work.enqueue("q", "kept", "p", at(1), at(1)).value().id;
  REQUIRE(work.purge("q", WorkState::done, at(7)).value() == 1);
  CHECK(work.events(42).error() == storage_errc::not_found);
  CHECK(work.add_event(42, at(8), "late", "").error() == storage_errc::not_found);
  CHECK(work.events(kept).value() == std::vector<WorkEvent>{event(kept, 1, "enqueued")});

  // The events really went: an item restored under the same id starts with an empty timeline.
  copied.state = WorkState::dead;
  REQUIRE(work.restore(copied));
  CHECK(work.events(42).value().empty());
}

// ---------------------------------------------------------------------------------------------
// Persistence

TEST_CASE_TEMPLATE("persistence: tokens, registrations, hooks and timelines survive reopening", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  WorkItemId id = 0;
  {
    auto testling = open_storage(backend);
    REQUIRE(testling->tokens().create(token("ci")));
    REQUIRE(testling->registrations().assign("sms.example.com", "+15551234567", "alice@example.com", at(7)));
    REQUIRE(testling->hooks().create(hook("hooks.example.com", "ci")));
    id = testling->work().enqueue("outbox", "k", "p", at(1), at(1)).value().id;
    REQUIRE(testling->work().add_event(id, at(2), "note", "kept"));
  }

  auto testling = open_storage(backend);
  CHECK(testling->tokens().get("ci").value() == token("ci"));
  CHECK(testling->registrations().of_owner("alice@example.com").value() ==
        std::vector<Registration>{{"sms.example.com", "+15551234567", "alice@example.com", at(7)}});
  CHECK(testling->hooks().get("hooks.example.com", "ci").value() == hook("hooks.example.com", "ci"));
  CHECK(testling->work().events(id).value() ==
        std::vector<WorkEvent>{event(id, 1, "enqueued"), event(id, 2, "note", "kept")});
}
