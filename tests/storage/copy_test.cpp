// storage::copy_all between every pair of backends in backends.hpp: what one storage holds
// arrives whole in the other (`parleyctl storage copy`).

#include "storage/copy.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"
#include "tests/storage/backends.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace parley::storage;
using namespace std::chrono_literals;
using parley::storage::testing::PostgresBackend;
using parley::storage::testing::SqliteBackend;

namespace {

/// A copy from one backend's fixture to another's.
template <class From, class To> struct Route {
  From from;
  To to;
};

template <class Backend> std::unique_ptr<Storage> open_storage(Backend& backend) {
  auto opened = backend.open();
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message()));
  return std::move(*opened);
}

Timestamp at(std::int64_t microseconds) {
  return Timestamp(std::chrono::microseconds(microseconds));
}

ScramCredentials scram(std::string mechanism, char seed) {
  ScramCredentials credentials;
  credentials.mechanism = std::move(mechanism);
  credentials.salt = std::string("\0\xff", 2) + std::string(14, seed);
  credentials.iterations = 4096;
  credentials.stored_key = std::string(32, static_cast<char>(seed + 1));
  credentials.server_key = std::string(32, static_cast<char>(seed + 2));
  return credentials;
}

/// Every item of every queue and state, by queue, state and id.
std::vector<WorkItem> all_items(WorkQueue& work) {
  std::vector<WorkItem> items;
  for (const auto& queue : work.queues().value()) {
    for (const WorkState state : {WorkState::pending, WorkState::claimed, WorkState::done, WorkState::dead}) {
      const auto page = work.list(queue, state, 0, 10'000).value();
      items.insert(items.end(), page.begin(), page.end());
    }
  }
  return items;
}

std::vector<Registration> all_registrations(RegistrationStore& registrations) {
  std::vector<Registration> out;
  for (const auto& domain : registrations.domains().value()) {
    const auto page = registrations.list(domain, "", "", 10'000).value();
    out.insert(out.end(), page.begin(), page.end());
  }
  return out;
}

std::vector<OptOut> all_opt_outs(OptOutStore& opt_outs) {
  std::vector<OptOut> out;
  for (const auto& domain : opt_outs.domains().value()) {
    const auto page = opt_outs.list(domain, "", "", 10'000).value();
    out.insert(out.end(), page.begin(), page.end());
  }
  return out;
}

/// Every user's block list, as "user jid" in walk order.
std::vector<std::string> all_blocks(BlockStore& blocks) {
  std::vector<std::string> out;
  for (const auto& user : blocks.users("", 10'000).value()) {
    for (const auto& jid : blocks.blocked(user).value()) {
      out.push_back(user + " " + jid);
    }
  }
  return out;
}

/// Every archive whole, in walk order: each owner, its messages in archive order, its preferences
/// ("none" when never set).
struct Archives {
  std::vector<std::string> owners;
  std::vector<std::vector<ArchivedMessage>> messages;
  std::vector<std::string> prefs;

  friend bool operator==(const Archives&, const Archives&) = default;
};

Archives all_archives(ArchiveStore& archive) {
  Archives out;
  out.owners = archive.owners("", 10'000).value();
  for (const auto& owner : out.owners) {
    ArchiveQuery query;
    query.owner = owner;
    query.max = 100'000;
    const auto page = archive.query(query).value();
    REQUIRE(page.complete);
    out.messages.push_back(page.messages);
    const auto prefs = archive.prefs(owner);
    std::string flat = "none";
    if (prefs) {
      flat = prefs->default_mode;
      for (const auto& jid : prefs->always) {
        flat += " +" + jid;
      }
      for (const auto& jid : prefs->never) {
        flat += " -" + jid;
      }
    }
    out.prefs.push_back(flat);
  }
  return out;
}

/// Every user's private XML, as "user key xml" in walk order.
std::vector<std::string> all_private_xml(PrivateStore& store) {
  std::vector<std::string> out;
  for (const auto& user : store.users("", 10'000).value()) {
    for (const auto& key : store.keys(user).value()) {
      out.push_back(user + " " + key + " " + store.get(user, key).value());
    }
  }
  return out;
}

/// Every owner's PEP nodes whole, in walk order: "owner node config", then each item newest
/// first as "  id publisher published payload".
std::vector<std::string> all_pep(PepStore& store) {
  std::vector<std::string> out;
  for (const auto& owner : store.users("", 10'000).value()) {
    for (const auto& node : store.nodes(owner).value()) {
      out.push_back(owner + " " + node.name + " " + node.config);
      for (const auto& item : store.items(owner, node.name, 0).value()) {
        out.push_back("  " + item.id + " " + item.publisher + " " +
                      std::to_string(item.published.time_since_epoch().count()) + " " + item.payload);
      }
    }
  }
  return out;
}

ArchivedMessage archived(std::string id, std::int64_t microseconds, std::string with) {
  ArchivedMessage message;
  message.stanza = "<message xmlns='jabber:client' id='" + id + "'><body>\xe2\x9c\x93</body></message>";
  message.id = std::move(id);
  message.timestamp = at(microseconds);
  message.with = std::move(with);
  return message;
}

/// Fills `source` with some of everything, `numbers` registrations and `numbers` opt-outs on
/// sms.example.com and `numbers` users with a block list, `numbers` owners with an archive,
/// `numbers` users with private XML and `numbers` owners with a PEP node among it; returns the
/// number of work events it recorded.
std::uint64_t fill(Storage& source, int numbers) {
  REQUIRE(source.users().create_user("alice", {scram("SCRAM-SHA-1", 'a'), scram("SCRAM-SHA-256", 'b')}));
  REQUIRE(source.users().create_user("bob", {}));
  RosterItem carol;
  carol.jid = "carol@example.com";
  carol.name = "Carol";
  carol.subscription = Subscription::both;
  carol.groups = {"Friends"};
  REQUIRE(source.roster().upsert_item("alice", carol));
  REQUIRE(source.offline().push("bob", "<message>one</message>", at(11), 100));
  REQUIRE(source.offline().push("bob", "<message>two</message>", at(12), 100));

  auto& work = source.work();
  const auto done = work.enqueue("outbox", "done", "p1", at(1), at(1)).value().id;
  const auto dead = work.enqueue("outbox", "dead", "p2", at(2), at(2)).value().id;
  const auto retried = work.enqueue("outbox", "retried", "p3", at(3), at(3)).value().id;
  const auto claimed = work.enqueue("outbox", "claimed", "p4", at(4), at(4)).value().id;
  REQUIRE(work.claim("outbox", "node/1", at(10), 1h, 4).value().size() == 4);
  REQUIRE(work.add_event(done, at(11), "provider-id", "SM1"));
  REQUIRE(work.complete(done, "node/1", at(12)));
  REQUIRE(work.bury(dead, "node/1", at(13), "rejected"));
  REQUIRE(work.revive(dead, at(14)));
  REQUIRE(work.claim("outbox", "node/2", at(15), 1h, 1).value().size() == 1); // dead, revived and due
  REQUIRE(work.bury(dead, "node/2", at(16), "rejected again"));
  REQUIRE(work.retry(retried, "node/1", at(17), at(1000), "timeout"));
  // `claimed` stays claimed by node/1.
  WorkItem restored;
  restored.id = claimed + 100;
  restored.queue = "email";
  restored.key = "restored";
  restored.payload = "p5";
  restored.created = at(5);
  restored.due = at(5);
  restored.updated = at(5);
  REQUIRE(work.restore(restored)); // no events at all
  // enqueued 4, claimed 5, completed, buried 2, revived, retry, one gateway event.
  const std::uint64_t events = 4 + 5 + 1 + 2 + 1 + 1 + 1;

  ApiToken admin{"tok-admin", "aa11", "admin", "ci deploys", at(21)};
  ApiToken reader{"tok-read", "bb22", "read", "", at(22)};
  REQUIRE(source.tokens().create(admin));
  REQUIRE(source.tokens().create(reader));

  for (int i = 0; i < numbers; ++i) {
    REQUIRE(source.registrations().assign("sms.example.com", "+1555" + std::to_string(1'000'000 + i),
                                          "alice@example.com", at(100 + i)));
  }
  REQUIRE(source.registrations().assign("sms.example.com", "+15551000000", "bob@example.com", at(30)));
  REQUIRE(source.registrations().assign("email.example.com", "alice@mail.example.net", "alice@example.com", at(31)));

  for (int i = 0; i < numbers; ++i) {
    REQUIRE(source.opt_outs().add("sms.example.com", "+15551000000", "+1666" + std::to_string(1'000'000 + i), "STOP",
                                  at(200 + i)));
  }
  REQUIRE(source.opt_outs().add("email.example.com", "alice@mail.example.net", "spam@example.net", "", at(32)));

  for (int i = 0; i < numbers; ++i) {
    REQUIRE(source.blocks().block("user" + std::to_string(1'000'000 + i) + "@example.com", "spam@example.net",
                                  at(300 + i)));
  }
  REQUIRE(source.blocks().block("alice@example.com", "bob@example.com/phone", at(33)));
  REQUIRE(source.blocks().block("alice@example.com", "spam.example.net", at(34)));
  REQUIRE(source.blocks().block("alice@example.com", "mallory@example.org", at(35)));

  // Archives: one per `numbers` owners (a tenth with preferences) in one append, alice's longer
  // than two pages of the copy with timestamps out of order, a room's, and preferences alone.
  std::vector<ArchiveEntry> entries;
  for (int i = 0; i < numbers; ++i) {
    const auto owner = "user" + std::to_string(1'000'000 + i) + "@example.com";
    entries.push_back(ArchiveEntry{owner, archived("only", 400 + i, "alice@example.com")});
    if (i % 10 == 0) {
      REQUIRE(source.archive().set_prefs(owner, ArchivePrefs{"roster", {}, {"spam@example.net"}}));
    }
  }
  REQUIRE(source.archive().append(entries));
  for (int batch = 0; batch < 11; ++batch) {
    entries.clear();
    for (int i = 0; i < 100; ++i) {
      const int n = batch * 100 + i;
      entries.push_back(ArchiveEntry{"alice@example.com", archived("a" + std::to_string(n), 2'000'000 - n * (n % 3),
                                                                   n % 2 == 0 ? "bob@example.com" : "")});
    }
    REQUIRE(source.archive().append(entries));
  }
  REQUIRE(source.archive().set_prefs(
      "alice@example.com", ArchivePrefs{"always", {"bob@example.com", "carol@example.com"}, {"x@example.org"}}));
  REQUIRE(source.archive().append(std::vector<ArchiveEntry>{
      ArchiveEntry{"coven@conference.example.com", archived("r1", 60, "coven@conference.example.com/al")},
      ArchiveEntry{"coven@conference.example.com", archived("r2", 61, "coven@conference.example.com/bo")}}));
  REQUIRE(source.archive().set_prefs("quiet@example.com", ArchivePrefs{"never", {}, {}}));

  for (int i = 0; i < numbers; ++i) {
    REQUIRE(source.private_xml().put("user" + std::to_string(1'000'000 + i) + "@example.com", "vcard",
                                     "<vCard xmlns='vcard-temp'><NICKNAME>" + std::to_string(i) + "</NICKNAME></vCard>",
                                     at(500 + i)));
  }
  REQUIRE(source.private_xml().put("alice@example.com", "vcard",
                                   "<vCard xmlns='vcard-temp'><FN>Zo\xc3\xab \"Z\" O'Hara</FN></vCard>", at(36)));
  REQUIRE(source.private_xml().put("alice@example.com", "private storage:bookmarks storage",
                                   "<storage xmlns='storage:bookmarks'><conference jid='coven@conference.example.com' "
                                   "name='Caf\xc3\xa9'/></storage>",
                                   at(37)));

  // PEP: one node with one item for each of `numbers` owners; alice's nodes with items out of
  // time order and republished, an empty node with its configuration.
  for (int i = 0; i < numbers; ++i) {
    REQUIRE(source.pep().publish("user" + std::to_string(1'000'000 + i) + "@example.com", "urn:xmpp:avatar:metadata",
                                 "max_items=1",
                                 PepItem{"sha" + std::to_string(i), "<metadata xmlns='urn:xmpp:avatar:metadata'/>",
                                         "user" + std::to_string(1'000'000 + i) + "@example.com/a", at(600 + i)},
                                 1));
  }
  for (int i = 0; i < 7; ++i) {
    REQUIRE(source.pep().publish(
        "alice@example.com", "urn:xmpp:bookmarks:1", "max_items=max",
        PepItem{"room" + std::to_string(i) + "@conference.example.com",
                "<conference xmlns='urn:xmpp:bookmarks:1' name='Caf\xc3\xa9 " + std::to_string(i) + "'/>",
                "alice@example.com/phone", at(700 - i)},
        100));
  }
  REQUIRE(source.pep().publish("alice@example.com", "urn:xmpp:bookmarks:1", "max_items=max",
                               PepItem{"room2@conference.example.com", "<conference xmlns='urn:xmpp:bookmarks:1'/>",
                                       "alice@example.com/laptop", at(650)},
                               100));
  REQUIRE(source.pep().retract("alice@example.com", "urn:xmpp:bookmarks:1", "room4@conference.example.com").value());
  REQUIRE(source.pep().create_node("alice@example.com", "http://jabber.org/protocol/mood", "access_model=presence",
                                   at(38)));

  StoredHook ci;
  ci.domain = "hooks.example.com";
  ci.name = "ci";
  ci.url = "https://ci.example.net/";
  ci.secret = "s";
  ci.github_signature = true;
  ci.inbound_secret = "in";
  ci.recipient = "alice@example.com";
  ci.template_name = "github";
  ci.created = at(41);
  ci.updated = at(42);
  StoredHook other = ci;
  other.domain = "hooks.example.org";
  other.github_signature = false;
  other.template_name = "auto";
  REQUIRE(source.hooks().create(ci));
  REQUIRE(source.hooks().create(other));

  StoredRoom coven;
  coven.service = "conference.example.com";
  coven.room = "coven";
  coven.config.name = "The Coven";
  coven.config.persistent = true;
  coven.config.whois = Whois::anyone;
  coven.subject = "cauldrons";
  coven.subject_by = "alice";
  coven.subject_at = at(51);
  coven.created = at(50);
  coven.affiliations = {RoomAffiliation{"alice@example.com", Affiliation::owner, "al", ""},
                        RoomAffiliation{"bob@example.com", Affiliation::outcast, "", "spam"}};
  StoredRoom lobby;
  lobby.service = "conference.example.org";
  lobby.room = "lobby";
  lobby.created = at(52);
  REQUIRE(source.rooms().put(coven));
  REQUIRE(source.rooms().put(lobby));
  return events;
}

} // namespace

TYPE_TO_STRING_AS("sqlite to postgres", Route<SqliteBackend, PostgresBackend>);
TYPE_TO_STRING_AS("postgres to sqlite", Route<PostgresBackend, SqliteBackend>);
TYPE_TO_STRING_AS("sqlite to sqlite", Route<SqliteBackend, SqliteBackend>);
TYPE_TO_STRING_AS("postgres to postgres", Route<PostgresBackend, PostgresBackend>);

#define PARLEY_COPY_ROUTES                                                                                             \
  Route<SqliteBackend, PostgresBackend>, Route<PostgresBackend, SqliteBackend>, Route<SqliteBackend, SqliteBackend>,   \
      Route<PostgresBackend, PostgresBackend>

TEST_CASE_TEMPLATE("copy: everything arrives, with ids, states, timelines and times", R, PARLEY_COPY_ROUTES) {
  R route;
  auto source = open_storage(route.from);
  auto target = open_storage(route.to);
  // More registrations and opt-outs on one domain, and more users with block lists, archives or private XML, than a
  // page of the copy.
  const auto events = fill(*source, 520);

  std::vector<std::string> progressed;
  const auto counts = copy_all(*source, *target, [&](std::string_view name) { progressed.emplace_back(name); }).value();
  CHECK(progressed == std::vector<std::string>{"alice", "bob"});
  CHECK(counts.users == 2);
  CHECK(counts.credentials == 2);
  CHECK(counts.roster_items == 1);
  CHECK(counts.offline_messages == 2);
  CHECK(counts.work_items == 5);
  CHECK(counts.work_events == events);
  CHECK(counts.tokens == 2);
  CHECK(counts.registrations == 520 + 2);
  CHECK(counts.hooks == 2);
  CHECK(counts.rooms == 2);
  CHECK(counts.opt_outs == 520 + 1);
  CHECK(counts.blocks == 520 + 3);
  CHECK(counts.archived == 520 + 1100 + 2);
  CHECK(counts.archive_prefs == 52 + 1 + 1);
  CHECK(counts.private_xml == 520 + 2);
  CHECK(counts.pep_nodes == 520 + 2);
  CHECK(counts.pep_items == 520 + 6);

  CHECK(target->users().list_credentials("alice").value() == source->users().list_credentials("alice").value());
  CHECK(target->roster().get_roster("alice").value().items == source->roster().get_roster("alice").value().items);
  const auto messages = target->offline().list("bob").value();
  REQUIRE(messages.size() == 2);
  CHECK(messages[1].stanza == "<message>two</message>");
  CHECK(messages[1].timestamp == at(12));

  const auto items = all_items(target->work());
  CHECK(items == all_items(source->work()));
  for (const auto& item : items) {
    CAPTURE(item.key);
    CHECK(target->work().events(item.id).value() == source->work().events(item.id).value());
  }
  CHECK(target->tokens().list().value() == source->tokens().list().value());
  CHECK(target->registrations().domains().value() == std::vector<std::string>{"email.example.com", "sms.example.com"});
  CHECK(all_registrations(target->registrations()) == all_registrations(source->registrations()));
  CHECK(target->hooks().list({}).value() == source->hooks().list({}).value());
  CHECK(target->rooms().list({}).value() == source->rooms().list({}).value());
  CHECK(target->opt_outs().domains().value() == std::vector<std::string>{"email.example.com", "sms.example.com"});
  CHECK(all_opt_outs(target->opt_outs()) == all_opt_outs(source->opt_outs()));
  CHECK(target->blocks().users("", 10'000).value().size() == 520 + 1);
  CHECK(target->blocks().blocked("alice@example.com").value() ==
        std::vector<std::string>{"bob@example.com/phone", "mallory@example.org", "spam.example.net"});
  CHECK(all_blocks(target->blocks()) == all_blocks(source->blocks()));
  const auto archives = all_archives(target->archive());
  CHECK(archives.owners.size() == 520 + 3);
  CHECK(archives == all_archives(source->archive()));
  CHECK(target->archive().count("alice@example.com").value() == 1100);
  CHECK(target->archive().prefs("quiet@example.com").value() == ArchivePrefs{"never", {}, {}});
  CHECK(target->private_xml().users("", 10'000).value().size() == 520 + 1);
  CHECK(target->private_xml().keys("alice@example.com").value() ==
        std::vector<std::string>{"private storage:bookmarks storage", "vcard"});
  CHECK(target->private_xml().get("alice@example.com", "vcard").value() ==
        "<vCard xmlns='vcard-temp'><FN>Zo\xc3\xab \"Z\" O'Hara</FN></vCard>");
  CHECK(all_private_xml(target->private_xml()) == all_private_xml(source->private_xml()));
  CHECK(target->pep().users("", 10'000).value().size() == 520 + 1);
  const auto bookmarks = target->pep().items("alice@example.com", "urn:xmpp:bookmarks:1", 0).value();
  REQUIRE(bookmarks.size() == 6);
  CHECK(bookmarks[0].id == "room2@conference.example.com"); // republished last: newest
  CHECK(bookmarks[0].publisher == "alice@example.com/laptop");
  CHECK(bookmarks[0].published == at(650));
  CHECK(bookmarks[1].id == "room6@conference.example.com");
  CHECK(bookmarks[5].id == "room0@conference.example.com");
  CHECK(target->pep().node("alice@example.com", "urn:xmpp:bookmarks:1").value().config == "max_items=max");
  CHECK(target->pep().node("alice@example.com", "http://jabber.org/protocol/mood").value().config ==
        "access_model=presence");
  CHECK(target->pep().items("alice@example.com", "http://jabber.org/protocol/mood", 0).value().empty());
  CHECK(all_pep(target->pep()) == all_pep(source->pep()));
  // The copy goes on where the source stopped: a new item is the newest.
  REQUIRE(target->pep().publish(
      "alice@example.com", "urn:xmpp:bookmarks:1", "",
      PepItem{"new@conference.example.com", "<conference/>", "alice@example.com/phone", at(1)}, 100));
  CHECK(target->pep().items("alice@example.com", "urn:xmpp:bookmarks:1", 1).value().at(0).id ==
        "new@conference.example.com");
  // Paging by id works on the copy: the ids are the source's.
  ArchiveQuery latest;
  latest.owner = "alice@example.com";
  latest.with = "bob@example.com";
  latest.before_ids = {"a1000"};
  latest.from_end = true;
  latest.max = 2;
  const auto page = target->archive().query(latest).value();
  REQUIRE(page.messages.size() == 2);
  CHECK(page.messages[0].id == "a996");
  CHECK(page.messages[1].id == "a998");
  CHECK_FALSE(page.complete);

  // The copy goes on where the source stopped: its timelines too.
  const auto next = target->work().enqueue("outbox", "next", "p", at(50), at(50)).value();
  CHECK(next.id > items.back().id);
  const auto taken = target->work().claim("outbox", "node/3", at(1000), 1h, 10).value();
  REQUIRE(taken.size() == 2); // the new item and the retried one, due again
  REQUIRE(taken[1].key == "retried");
  const auto timeline = target->work().events(taken[1].id).value();
  CHECK(timeline == std::vector<WorkEvent>{
                        WorkEvent{taken[1].id, at(3), "enqueued", ""},
                        WorkEvent{taken[1].id, at(10), "claimed", "node/1"},
                        WorkEvent{taken[1].id, at(17), "retry", "timeout"},
                        WorkEvent{taken[1].id, at(1000), "claimed", "node/3"},
                    });
}

TEST_CASE_TEMPLATE("copy: a target that holds anything is refused, and nothing is copied", R, PARLEY_COPY_ROUTES) {
  R route;
  auto source = open_storage(route.from);
  auto target = open_storage(route.to);
  (void)fill(*source, 3);

  SUBCASE("a user") {
    REQUIRE(target->users().create_user("zed", {}));
  }
  SUBCASE("a work item") {
    REQUIRE(target->work().enqueue("q", "k", "p", at(1), at(1)).has_value());
  }
  SUBCASE("a token") {
    REQUIRE(target->tokens().create(ApiToken{"t", "h", "read", "", at(1)}));
  }
  SUBCASE("a registration") {
    REQUIRE(target->registrations().assign("sms.example.com", "+15550000000", "zed@example.com", at(1)));
  }
  SUBCASE("a hook") {
    StoredHook hook;
    hook.domain = "hooks.example.com";
    hook.name = "mine";
    REQUIRE(target->hooks().create(hook));
  }
  SUBCASE("a room") {
    StoredRoom room;
    room.service = "conference.example.com";
    room.room = "mine";
    REQUIRE(target->rooms().put(room));
  }
  SUBCASE("an opt-out") {
    REQUIRE(target->opt_outs().add("sms.example.com", "+15550000000", "+16660000000", "STOP", at(1)));
  }
  SUBCASE("a block list") {
    REQUIRE(target->blocks().block("zed@example.com", "spam@example.net", at(1)));
  }
  SUBCASE("an archived message") {
    REQUIRE(target->archive().append(std::vector<ArchiveEntry>{ArchiveEntry{"zed@example.com", archived("z", 1, "")}}));
  }
  SUBCASE("archiving preferences") {
    REQUIRE(target->archive().set_prefs("zed@example.com", ArchivePrefs{}));
  }
  SUBCASE("a private XML fragment") {
    REQUIRE(target->private_xml().put("zed@example.com", "vcard", "<vCard xmlns='vcard-temp'/>", at(1)));
  }
  SUBCASE("a PEP node") {
    REQUIRE(target->pep().create_node("zed@example.com", "urn:xmpp:bookmarks:1", "", at(1)));
  }
  SUBCASE("a PEP item") {
    REQUIRE(target->pep().publish("zed@example.com", "urn:xmpp:avatar:metadata", "",
                                  PepItem{"sha", "<metadata/>", "zed@example.com/a", at(1)}, 1));
  }
  CHECK(copy_all(*source, *target).error() == storage_errc::conflict);
  CHECK(target->users().list_users("", 10).value().size() <= 1);
  CHECK(target->users().user_exists("alice").value() == false);
  CHECK(target->tokens().get("tok-admin").error() == storage_errc::not_found);
  CHECK(target->hooks().get("hooks.example.com", "ci").error() == storage_errc::not_found);
  CHECK(target->registrations().of_owner("alice@example.com").value().empty());
  CHECK(target->rooms().get("conference.example.com", "coven").error() == storage_errc::not_found);
  CHECK(target->opt_outs().contains("email.example.com", "alice@mail.example.net", "spam@example.net").value() ==
        false);
  CHECK(target->blocks().blocked("alice@example.com").value().empty());
  CHECK(target->archive().count("alice@example.com").value() == 0);
  CHECK(target->archive().prefs("alice@example.com").error() == storage_errc::not_found);
  CHECK(target->private_xml().keys("alice@example.com").value().empty());
  CHECK(target->pep().nodes("alice@example.com").value().empty());
}
