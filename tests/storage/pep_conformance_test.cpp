// The storage conformance suite, personal eventing part: XEP-0163 nodes and items (PepStore).
// Like conformance_test.cpp, every backend listed in backends.hpp must pass every test here,
// through the interfaces only.

#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"
#include "tests/storage/backends.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
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

using Strings = std::vector<std::string>;

constexpr std::size_t one_mib = 1024 * 1024;

const std::string avatar_node = "urn:xmpp:avatar:metadata";
const std::string bookmarks_node = "urn:xmpp:bookmarks:1";
const std::string mood_node = "http://jabber.org/protocol/mood";

const std::string config = "access_model=presence\nmax_items=10";

PepItem item(std::string id, std::string payload, std::int64_t microseconds,
             std::string publisher = "alice@example.com/phone") {
  return PepItem{std::move(id), std::move(payload), std::move(publisher), at(microseconds)};
}

/// A payload naming `text`, so that every item's payload is told apart.
std::string payload(const std::string& text) {
  return "<mood xmlns='http://jabber.org/protocol/mood'><text>" + text + "</text></mood>";
}

Strings ids_of(const std::vector<PepItem>& items) {
  Strings ids;
  for (const auto& i : items) {
    ids.push_back(i.id);
  }
  return ids;
}

Strings names_of(const std::vector<PepNode>& nodes) {
  Strings names;
  for (const auto& n : nodes) {
    names.push_back(n.name);
  }
  return names;
}

/// last_items() flattened to "owner node item-id" lines.
Strings flat(const std::vector<PepLastItem>& last) {
  Strings out;
  for (const auto& l : last) {
    out.push_back(l.owner + " " + l.node.name + " " + l.item.id);
  }
  return out;
}

/// A well-formed payload of exactly `bytes` bytes.
std::string payload_of(std::size_t bytes) {
  const std::string open = "<data xmlns='urn:xmpp:avatar:data'>";
  const std::string close = "</data>";
  REQUIRE(bytes >= open.size() + close.size());
  return open + std::string(bytes - open.size() - close.size(), 'A') + close;
}

} // namespace

TEST_CASE_TEMPLATE("pep: create_node makes a node once, with its configuration", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.node("alice@example.com", bookmarks_node).error() == storage_errc::not_found);
  CHECK(store.nodes("alice@example.com").value().empty());
  REQUIRE(store.create_node("alice@example.com", bookmarks_node, config, at(1)));
  const auto created = store.node("alice@example.com", bookmarks_node).value();
  CHECK(created.name == bookmarks_node);
  CHECK(created.config == config);

  // Creating it again is a conflict and changes nothing.
  CHECK(store.create_node("alice@example.com", bookmarks_node, "other", at(2)).error() == storage_errc::conflict);
  CHECK(store.node("alice@example.com", bookmarks_node).value().config == config);
  CHECK(store.items("alice@example.com", bookmarks_node, 0).value().empty());

  // The same name under another owner is another node, and an empty configuration is one too.
  REQUIRE(store.create_node("bob@example.com", bookmarks_node, "", at(3)));
  CHECK(store.node("bob@example.com", bookmarks_node).value().config.empty());
  CHECK(store.node("alice@example.com", bookmarks_node).value().config == config);

  // Neither owners nor nodes match by case or prefix.
  CHECK(store.node("Alice@example.com", bookmarks_node).error() == storage_errc::not_found);
  CHECK(store.node("alice@example.com", "urn:xmpp:bookmarks").error() == storage_errc::not_found);
  CHECK(store.node("alice@example.com", "URN:XMPP:BOOKMARKS:1").error() == storage_errc::not_found);
  CHECK(store.nodes("alice@example.com").value().size() == 1);
}

TEST_CASE_TEMPLATE("pep: nodes lists one owner's nodes by name, bytewise", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  // Byte order: 'U' < 'h' < 'u' < any UTF-8 lead byte; "urn:a" < "urn:a:b" < "urn:ab".
  for (const char* node : {"urn:xmpp:bookmarks:1", "urn:ab", "\xc3\xa9t\xc3\xa9", "urn:a:b", "Urn:x", "urn:a",
                           "http://jabber.org/protocol/mood"}) {
    REQUIRE(store.create_node("alice@example.com", node, std::string("config of ") + node, at(1)));
  }
  // Through publish too.
  REQUIRE(store.publish("alice@example.com", "urn:xmpp:avatar:metadata", "made by publish", item("1", "<x/>", 2), 1)
              .value());
  REQUIRE(store.create_node("bob@example.com", "urn:b", "", at(1)));

  const auto nodes = store.nodes("alice@example.com").value();
  CHECK(names_of(nodes) == Strings{"Urn:x", "http://jabber.org/protocol/mood", "urn:a", "urn:a:b", "urn:ab",
                                   "urn:xmpp:avatar:metadata", "urn:xmpp:bookmarks:1", "\xc3\xa9t\xc3\xa9"});
  for (const auto& node : nodes) {
    CAPTURE(node.name);
    CHECK(node.config == (node.name == "urn:xmpp:avatar:metadata" ? "made by publish" : "config of " + node.name));
  }
  CHECK(names_of(store.nodes("bob@example.com").value()) == Strings{"urn:b"});
  CHECK(store.nodes("carol@example.com").value().empty());
}

TEST_CASE_TEMPLATE("pep: configure_node replaces the configuration and keeps the items", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.configure_node("alice@example.com", mood_node, config).error() == storage_errc::not_found);
  CHECK(store.nodes("alice@example.com").value().empty()); // configuring creates nothing

  REQUIRE(store.publish("alice@example.com", mood_node, "old", item("a", payload("happy"), 1), 10).value());
  REQUIRE(store.configure_node("alice@example.com", mood_node, config));
  CHECK(store.node("alice@example.com", mood_node).value().config == config);
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"a"});

  REQUIRE(store.configure_node("alice@example.com", mood_node, ""));
  CHECK(store.node("alice@example.com", mood_node).value().config.empty());
  // Another owner's node of that name stays missing.
  CHECK(store.configure_node("bob@example.com", mood_node, config).error() == storage_errc::not_found);
}

TEST_CASE_TEMPLATE("pep: publish creates a missing node once, with config_if_new", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.publish("alice@example.com", mood_node, config, item("a", payload("happy"), 1), 1).value() == true);
  CHECK(store.node("alice@example.com", mood_node).value().config == config);
  // Later publishes find it: false, and config_if_new is not applied.
  CHECK(store.publish("alice@example.com", mood_node, "ignored", item("b", payload("sad"), 2), 1).value() == false);
  CHECK(store.publish("alice@example.com", mood_node, "ignored", item("b", payload("sad"), 3), 1).value() == false);
  CHECK(store.node("alice@example.com", mood_node).value().config == config);

  // A node made by create_node is found too.
  REQUIRE(store.create_node("alice@example.com", avatar_node, "created", at(4)));
  CHECK(store.publish("alice@example.com", avatar_node, "ignored", item("c", "<x/>", 5), 1).value() == false);
  CHECK(store.node("alice@example.com", avatar_node).value().config == "created");

  // After delete_node, publishing creates it anew.
  REQUIRE(store.delete_node("alice@example.com", mood_node).value());
  CHECK(store.publish("alice@example.com", mood_node, "new", item("d", payload("ok"), 6), 1).value() == true);
  CHECK(store.node("alice@example.com", mood_node).value().config == "new");
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"d"});
}

TEST_CASE_TEMPLATE("pep: an item round-trips byte for byte", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  const std::string bookmark = "<conference xmlns='urn:xmpp:bookmarks:1' name=\"Caf\xc3\xa9 \xe2\x98\x95\" "
                               "autojoin='true'><nick>\xe5\xb0\x8f\xe6\x98\x8e \xf0\x9f\x90\xb1</nick>"
                               "<password>&quot;q&apos;&amp;&lt;</password>\n\t<extensions/></conference>";
  const PepItem published = item("caf\xc3\xa9@conference.example.com", bookmark, 1'700'000'000'123'456,
                                 "alice@example.com/\xe2\x98\x95 laptop");
  REQUIRE(store.publish("alice@example.com", bookmarks_node, config, published, 100));
  const auto items = store.items("alice@example.com", bookmarks_node, 0).value();
  REQUIRE(items.size() == 1);
  CHECK(items[0].id == published.id);
  CHECK(items[0].payload == bookmark);
  CHECK(items[0].publisher == published.publisher);
  CHECK(items[0].published == published.published);

  // An item without payload and an id that is a timestamp are items too.
  REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item("2024-01-01T00:00:00Z", "", 0, ""), 100));
  const auto both = store.items("alice@example.com", bookmarks_node, 0).value();
  REQUIRE(both.size() == 2);
  CHECK(both[0].id == "2024-01-01T00:00:00Z");
  CHECK(both[0].payload.empty());
  CHECK(both[0].publisher.empty());
  CHECK(both[0].published == at(0));
}

TEST_CASE_TEMPLATE("pep: republishing an id replaces the item and moves it to the newest end", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  for (const char* id : {"a", "b", "c"}) {
    REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item(id, payload(id), 10), 10));
  }
  CHECK(ids_of(store.items("alice@example.com", bookmarks_node, 0).value()) == Strings{"c", "b", "a"});

  // The oldest, republished with an older time and another publisher: newest now, whatever its time.
  REQUIRE(store.publish("alice@example.com", bookmarks_node, config,
                        item("a", payload("a2"), 5, "alice@example.com/tab"), 10));
  auto items = store.items("alice@example.com", bookmarks_node, 0).value();
  CHECK(ids_of(items) == Strings{"a", "c", "b"});
  CHECK(items[0].payload == payload("a2"));
  CHECK(items[0].publisher == "alice@example.com/tab");
  CHECK(items[0].published == at(5));

  // The newest republished stays newest; one in the middle moves up.
  REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item("a", payload("a3"), 6), 10));
  REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item("c", payload("c2"), 7), 10));
  items = store.items("alice@example.com", bookmarks_node, 0).value();
  CHECK(ids_of(items) == Strings{"c", "a", "b"});
  CHECK(items[0].payload == payload("c2"));
  CHECK(items[1].payload == payload("a3"));
  CHECK(items[2].payload == payload("b"));
  CHECK(store.last_items(Strings{"alice@example.com"}).value()[0].item.payload == payload("c2"));
}

TEST_CASE_TEMPLATE("pep: publish keeps the newest max_items", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  for (int i = 1; i <= 5; ++i) {
    REQUIRE(store.publish("alice@example.com", mood_node, config, item(std::to_string(i), payload("x"), i), 3));
  }
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"5", "4", "3"});

  // A republished item counts once, at its new place: "3" moves up, "4" is now the oldest.
  REQUIRE(store.publish("alice@example.com", mood_node, config, item("3", payload("y"), 6), 3));
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"3", "5", "4"});

  // A smaller max trims what was kept under a bigger one; a bigger one keeps everything there is.
  REQUIRE(store.publish("alice@example.com", mood_node, config, item("6", payload("x"), 7), 2));
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"6", "3"});
  REQUIRE(store.publish("alice@example.com", mood_node, config, item("7", payload("x"), 8), 1'000'000));
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"7", "6", "3"});
  REQUIRE(
      store.publish("alice@example.com", mood_node, config, item("8", payload("x"), 9), static_cast<std::size_t>(-1)));
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"8", "7", "6", "3"});

  // max_items 1: the node holds only the item just published.
  REQUIRE(store.publish("alice@example.com", mood_node, config, item("9", payload("z"), 10), 1));
  const auto items = store.items("alice@example.com", mood_node, 0).value();
  REQUIRE(items.size() == 1);
  CHECK(items[0].id == "9");
  CHECK(items[0].payload == payload("z"));

  // Trimming one node touches no other, not even a same-named node of another owner.
  REQUIRE(store.publish("bob@example.com", mood_node, config, item("b1", payload("x"), 1), 5));
  REQUIRE(store.publish("bob@example.com", mood_node, config, item("b2", payload("x"), 2), 5));
  REQUIRE(store.publish("alice@example.com", avatar_node, config, item("a1", "<x/>", 3), 5));
  REQUIRE(store.publish("alice@example.com", mood_node, config, item("10", payload("x"), 11), 1));
  CHECK(ids_of(store.items("bob@example.com", mood_node, 0).value()) == Strings{"b2", "b1"});
  CHECK(ids_of(store.items("alice@example.com", avatar_node, 0).value()) == Strings{"a1"});
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"10"});
}

TEST_CASE_TEMPLATE("pep: retract says whether the item was there", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.retract("alice@example.com", bookmarks_node, "a").error() == storage_errc::not_found);
  REQUIRE(store.create_node("alice@example.com", bookmarks_node, config, at(1)));
  CHECK(store.retract("alice@example.com", bookmarks_node, "a").value() == false);
  for (const char* id : {"a", "b", "c"}) {
    REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item(id, payload(id), 2), 10));
  }
  REQUIRE(store.publish("bob@example.com", bookmarks_node, config, item("b", payload("b"), 2), 10));

  CHECK(store.retract("alice@example.com", bookmarks_node, "b").value() == true);
  CHECK(store.retract("alice@example.com", bookmarks_node, "b").value() == false);
  CHECK(store.retract("alice@example.com", bookmarks_node, "B").value() == false);
  CHECK(ids_of(store.items("alice@example.com", bookmarks_node, 0).value()) == Strings{"c", "a"});
  CHECK(ids_of(store.items("bob@example.com", bookmarks_node, 0).value()) == Strings{"b"});

  // Retracting the newest leaves the next one newest; the node stays when its last item goes.
  CHECK(store.retract("alice@example.com", bookmarks_node, "c").value() == true);
  CHECK(flat(store.last_items(Strings{"alice@example.com"}).value()) ==
        Strings{"alice@example.com " + bookmarks_node + " a"});
  CHECK(store.retract("alice@example.com", bookmarks_node, "a").value() == true);
  CHECK(store.items("alice@example.com", bookmarks_node, 0).value().empty());
  CHECK(store.node("alice@example.com", bookmarks_node).value().config == config);

  // A new item after retractions is the newest.
  REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item("d", payload("d"), 3), 10));
  REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item("c", payload("c"), 4), 10));
  CHECK(ids_of(store.items("alice@example.com", bookmarks_node, 0).value()) == Strings{"c", "d"});
}

TEST_CASE_TEMPLATE("pep: purge removes every item of a node and keeps the node", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.purge("alice@example.com", mood_node).error() == storage_errc::not_found);
  REQUIRE(store.create_node("alice@example.com", mood_node, config, at(1)));
  CHECK(store.purge("alice@example.com", mood_node).value() == 0);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(store.publish("alice@example.com", mood_node, config, item(std::to_string(i), payload("x"), i), 10));
  }
  REQUIRE(store.publish("alice@example.com", avatar_node, config, item("a", "<x/>", 1), 10));
  REQUIRE(store.publish("bob@example.com", mood_node, config, item("b", payload("x"), 1), 10));

  CHECK(store.purge("alice@example.com", mood_node).value() == 4);
  CHECK(store.items("alice@example.com", mood_node, 0).value().empty());
  CHECK(store.node("alice@example.com", mood_node).value().config == config);
  CHECK(store.purge("alice@example.com", mood_node).value() == 0);
  CHECK(ids_of(store.items("alice@example.com", avatar_node, 0).value()) == Strings{"a"});
  CHECK(ids_of(store.items("bob@example.com", mood_node, 0).value()) == Strings{"b"});

  // Publishing after a purge: the new items in their order, the old ones gone for good.
  REQUIRE(store.publish("alice@example.com", mood_node, config, item("n1", payload("x"), 10), 10).value() == false);
  REQUIRE(store.publish("alice@example.com", mood_node, config, item("n2", payload("x"), 11), 10));
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"n2", "n1"});
}

TEST_CASE_TEMPLATE("pep: items lists newest first, at most max, 0 for all", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.items("alice@example.com", mood_node, 0).error() == storage_errc::not_found);
  CHECK(store.items("alice@example.com", mood_node, 5).error() == storage_errc::not_found);
  REQUIRE(store.create_node("alice@example.com", mood_node, config, at(1)));
  CHECK(store.items("alice@example.com", mood_node, 0).value().empty());
  CHECK(store.items("alice@example.com", mood_node, 5).value().empty());

  // Publication order, not time order nor id order.
  const std::vector<std::pair<std::string, std::int64_t>> published{{"m", 50}, {"a", 10}, {"z", 40}, {"b", 30}};
  for (const auto& [id, when] : published) {
    REQUIRE(store.publish("alice@example.com", mood_node, config, item(id, payload(id), when), 10));
  }
  const auto all = store.items("alice@example.com", mood_node, 0).value();
  CHECK(ids_of(all) == Strings{"b", "z", "a", "m"});
  CHECK(all[1].payload == payload("z"));
  CHECK(all[1].published == at(40));
  CHECK(ids_of(store.items("alice@example.com", mood_node, 1).value()) == Strings{"b"});
  CHECK(ids_of(store.items("alice@example.com", mood_node, 3).value()) == Strings{"b", "z", "a"});
  CHECK(ids_of(store.items("alice@example.com", mood_node, 4).value()) == Strings{"b", "z", "a", "m"});
  CHECK(ids_of(store.items("alice@example.com", mood_node, 100).value()) == Strings{"b", "z", "a", "m"});
  CHECK(ids_of(store.items("alice@example.com", mood_node, static_cast<std::size_t>(-1)).value()) ==
        Strings{"b", "z", "a", "m"});
  CHECK(store.items("bob@example.com", mood_node, 0).error() == storage_errc::not_found);
}

TEST_CASE_TEMPLATE("pep: items_by_id returns the ids that exist, newest first", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.items_by_id("alice@example.com", bookmarks_node, Strings{"a"}).error() == storage_errc::not_found);
  CHECK(store.items_by_id("alice@example.com", bookmarks_node, Strings{}).error() == storage_errc::not_found);
  REQUIRE(store.create_node("alice@example.com", bookmarks_node, config, at(1)));
  CHECK(store.items_by_id("alice@example.com", bookmarks_node, Strings{"a"}).value().empty());

  // Ids that JSON or array literals would mangle are ids like any other.
  const Strings stored{"a", "b", "c\"quoted\"", "back\\slash", "{braces,comma}", "NULL", " space ", "caf\xc3\xa9"};
  for (const auto& id : stored) {
    REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item(id, payload(id), 2), 100));
  }
  REQUIRE(store.publish("bob@example.com", bookmarks_node, config, item("x", payload("x"), 2), 100));

  const auto found = store
                         .items_by_id("alice@example.com", bookmarks_node,
                                      Strings{"a", "missing", "caf\xc3\xa9", "c\"quoted\"", "a", "x", "A"})
                         .value();
  CHECK(ids_of(found) == Strings{"caf\xc3\xa9", "c\"quoted\"", "a"});
  CHECK(found[1].payload == payload("c\"quoted\""));
  CHECK(ids_of(store
                   .items_by_id("alice@example.com", bookmarks_node,
                                Strings{"NULL", "back\\slash", "{braces,comma}", " space ", "b"})
                   .value()) == Strings{" space ", "NULL", "{braces,comma}", "back\\slash", "b"});
  CHECK(store.items_by_id("alice@example.com", bookmarks_node, Strings{"missing", "space"}).value().empty());
  CHECK(store.items_by_id("alice@example.com", bookmarks_node, Strings{}).value().empty());

  // After a republish, its new place.
  REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item("a", payload("a2"), 3), 100));
  const auto again = store.items_by_id("alice@example.com", bookmarks_node, Strings{"b", "a", "caf\xc3\xa9"}).value();
  CHECK(ids_of(again) == Strings{"a", "caf\xc3\xa9", "b"});
  CHECK(again[0].payload == payload("a2"));
}

TEST_CASE_TEMPLATE("pep: last_items gives each node's newest item for several owners", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.last_items(Strings{}).value().empty());
  CHECK(store.last_items(Strings{"alice@example.com"}).value().empty());

  REQUIRE(store.publish("alice@example.com", mood_node, "mood config", item("m1", payload("m1"), 1), 10));
  REQUIRE(store.publish("alice@example.com", mood_node, "mood config", item("m2", payload("m2"), 2), 10));
  REQUIRE(store.publish("alice@example.com", avatar_node, "avatar config", item("av", "<metadata/>", 3), 10));
  REQUIRE(store.create_node("alice@example.com", bookmarks_node, config, at(4))); // no items: skipped
  REQUIRE(store.publish("bob@example.com", bookmarks_node, config, item("b1", payload("b1"), 5), 10));
  REQUIRE(store.publish("bob@example.com", bookmarks_node, config, item("b2", payload("b2"), 6), 10));
  REQUIRE(store.publish("bob@example.com", bookmarks_node, config, item("b1", payload("b1 again"), 7), 10));
  REQUIRE(store.publish("carol@example.com", mood_node, config, item("c1", payload("c1"), 8), 10));
  REQUIRE(store.create_node("dave@example.com", mood_node, config, at(9))); // only an empty node

  // Duplicates answered once, owners without nodes and nodes without items left out; ordered
  // by owner, then node, whatever the order asked in.
  const auto last = store
                        .last_items(Strings{"bob@example.com", "alice@example.com", "nobody@example.com",
                                            "bob@example.com", "dave@example.com", "alice@example.com"})
                        .value();
  CHECK(flat(last) == Strings{"alice@example.com " + mood_node + " m2", "alice@example.com " + avatar_node + " av",
                              "bob@example.com " + bookmarks_node + " b1"});
  REQUIRE(last.size() == 3);
  CHECK(last[0].node.config == "mood config");
  CHECK(last[0].item.payload == payload("m2"));
  CHECK(last[0].item.publisher == "alice@example.com/phone");
  CHECK(last[0].item.published == at(2));
  CHECK(last[1].node.config == "avatar config");
  CHECK(last[2].item.payload == payload("b1 again"));
  CHECK(last[2].item.published == at(7));

  // Only the owners asked for, compared exactly.
  CHECK(flat(store.last_items(Strings{"carol@example.com"}).value()) ==
        Strings{"carol@example.com " + mood_node + " c1"});
  CHECK(store.last_items(Strings{"Carol@example.com", "carol", "carol@example.com/phone"}).value().empty());
  CHECK(store.last_items(Strings{"dave@example.com", "nobody@example.com"}).value().empty());

  // Many owners at once.
  Strings many;
  for (int i = 0; i < 300; ++i) {
    many.push_back("user" + std::to_string(1000 + i) + "@example.com");
  }
  many.push_back("carol@example.com");
  CHECK(flat(store.last_items(many).value()) == Strings{"carol@example.com " + mood_node + " c1"});
}

TEST_CASE_TEMPLATE("pep: delete_node removes the node and its items", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.delete_node("alice@example.com", mood_node).value() == false);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(store.publish("alice@example.com", mood_node, config, item(std::to_string(i), payload("x"), i), 10));
  }
  REQUIRE(store.publish("alice@example.com", avatar_node, config, item("a", "<x/>", 1), 10));
  REQUIRE(store.publish("bob@example.com", mood_node, config, item("b", payload("x"), 1), 10));

  CHECK(store.delete_node("alice@example.com", mood_node).value() == true);
  CHECK(store.delete_node("alice@example.com", mood_node).value() == false);
  CHECK(store.node("alice@example.com", mood_node).error() == storage_errc::not_found);
  CHECK(store.items("alice@example.com", mood_node, 0).error() == storage_errc::not_found);
  CHECK(names_of(store.nodes("alice@example.com").value()) == Strings{avatar_node});
  CHECK(ids_of(store.items("bob@example.com", mood_node, 0).value()) == Strings{"b"});
  CHECK(flat(store.last_items(Strings{"alice@example.com"}).value()) ==
        Strings{"alice@example.com " + avatar_node + " a"});

  // A node created again under the name holds none of the old items.
  REQUIRE(store.create_node("alice@example.com", mood_node, "again", at(5)));
  CHECK(store.items("alice@example.com", mood_node, 0).value().empty());
  CHECK(store.items_by_id("alice@example.com", mood_node, Strings{"0", "1", "2"}).value().empty());
}

TEST_CASE_TEMPLATE("pep: remove_user removes one owner's nodes and items and says how many nodes went", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.remove_user("alice@example.com").value() == 0);
  REQUIRE(store.publish("alice@example.com", mood_node, config, item("1", payload("x"), 1), 10));
  REQUIRE(store.publish("alice@example.com", mood_node, config, item("2", payload("x"), 2), 10));
  REQUIRE(store.publish("alice@example.com", avatar_node, config, item("a", "<x/>", 3), 10));
  REQUIRE(store.create_node("alice@example.com", bookmarks_node, config, at(4)));
  REQUIRE(store.publish("bob@example.com", mood_node, config, item("b", payload("x"), 5), 10));
  // An owner whose JID starts like alice's is someone else.
  REQUIRE(store.publish("alice@example.com.evil", mood_node, config, item("e", payload("x"), 6), 10));

  CHECK(store.remove_user("alice@example.com").value() == 3);
  CHECK(store.nodes("alice@example.com").value().empty());
  CHECK(store.items("alice@example.com", mood_node, 0).error() == storage_errc::not_found);
  CHECK(store.last_items(Strings{"alice@example.com"}).value().empty());
  CHECK(store.remove_user("alice@example.com").value() == 0);
  CHECK(ids_of(store.items("bob@example.com", mood_node, 0).value()) == Strings{"b"});
  CHECK(ids_of(store.items("alice@example.com.evil", mood_node, 0).value()) == Strings{"e"});
  CHECK(store.users("", 10).value() == Strings{"alice@example.com.evil", "bob@example.com"});

  // Publishing again starts from nothing.
  CHECK(store.publish("alice@example.com", mood_node, "fresh", item("3", payload("x"), 7), 10).value() == true);
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"3"});
}

TEST_CASE_TEMPLATE("pep: users pages through the owners with a node", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  CHECK(store.users("", 10).value().empty());
  // 11 owners, stored out of order, some with several nodes, some with empty nodes only.
  Strings expected;
  for (int u = 0; u < 11; ++u) {
    expected.push_back("user" + std::to_string(100 + u) + "@example.com");
  }
  for (int u = 10; u >= 0; --u) {
    const auto& owner = expected[static_cast<std::size_t>(u)];
    for (int n = 0; n <= u % 3; ++n) {
      const auto node = "urn:example:" + std::to_string(n);
      if (u % 2 == 0) {
        REQUIRE(store.publish(owner, node, config, item("i", payload("x"), u), 1));
      } else {
        REQUIRE(store.create_node(owner, node, config, at(u)));
      }
    }
  }
  REQUIRE(store.create_node("gone@example.com", mood_node, config, at(1)));
  REQUIRE(store.delete_node("gone@example.com", mood_node).value());
  REQUIRE(store.publish("zed@example.com", mood_node, config, item("z", payload("x"), 1), 1));
  REQUIRE(store.remove_user("zed@example.com").value() == 1);
  // An owner whose items were all retracted or purged still has nodes.
  REQUIRE(store.publish("kept@example.com", mood_node, config, item("k", payload("x"), 1), 1));
  REQUIRE(store.purge("kept@example.com", mood_node).value() == 1);
  expected.insert(expected.begin(), "kept@example.com");

  Strings walked;
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

  // Strictly after `after`, which need not be an owner itself.
  CHECK(store.users("user103@example.com", 2).value() == Strings{"user104@example.com", "user105@example.com"});
  CHECK(store.users("user103", 1).value() == Strings{"user103@example.com"});
  CHECK(store.users("user110@example.com", 10).value().empty());
  CHECK(store.users("a", 1).value() == Strings{"kept@example.com"});
  // One entry per owner, however many nodes.
  CHECK(store.users("", 100).value().size() == 12);
  CHECK(store.users("", static_cast<std::size_t>(-1)).value().size() == 12);
}

TEST_CASE_TEMPLATE("pep: empty arguments, zero max_items and a zero limit are refused and change nothing", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();
  REQUIRE(store.publish("u", "n", "c", item("i", "<x/>", 1), 5));
  const auto invalid = storage_errc::invalid_argument;

  CHECK(store.nodes("").error() == invalid);
  CHECK(store.node("", "n").error() == invalid);
  CHECK(store.node("u", "").error() == invalid);
  CHECK(store.create_node("", "m", "c", at(2)).error() == invalid);
  CHECK(store.create_node("u", "", "c", at(2)).error() == invalid);
  CHECK(store.configure_node("", "n", "x").error() == invalid);
  CHECK(store.configure_node("u", "", "x").error() == invalid);
  CHECK(store.delete_node("", "n").error() == invalid);
  CHECK(store.delete_node("u", "").error() == invalid);
  CHECK(store.publish("", "n", "c", item("j", "<y/>", 2), 5).error() == invalid);
  CHECK(store.publish("u", "", "c", item("j", "<y/>", 2), 5).error() == invalid);
  CHECK(store.publish("u", "n", "c", item("", "<y/>", 2), 5).error() == invalid);
  CHECK(store.publish("u", "n", "c", item("j", "<y/>", 2), 0).error() == invalid);
  CHECK(store.publish("u", "m", "c", item("j", "<y/>", 2), 0).error() == invalid);
  CHECK(store.retract("", "n", "i").error() == invalid);
  CHECK(store.retract("u", "", "i").error() == invalid);
  CHECK(store.retract("u", "n", "").error() == invalid);
  CHECK(store.purge("", "n").error() == invalid);
  CHECK(store.purge("u", "").error() == invalid);
  CHECK(store.items("", "n", 0).error() == invalid);
  CHECK(store.items("u", "", 0).error() == invalid);
  CHECK(store.items_by_id("", "n", Strings{"i"}).error() == invalid);
  CHECK(store.items_by_id("u", "", Strings{"i"}).error() == invalid);
  CHECK(store.last_items(Strings{""}).error() == invalid);
  CHECK(store.last_items(Strings{"u", ""}).error() == invalid);
  CHECK(store.remove_user("").error() == invalid);
  CHECK(store.users("", 0).error() == invalid);
  CHECK(store.users("u", 0).error() == invalid);

  CHECK(names_of(store.nodes("u").value()) == Strings{"n"});
  CHECK(store.node("u", "n").value().config == "c");
  const auto items = store.items("u", "n", 0).value();
  REQUIRE(items.size() == 1);
  CHECK(items[0].id == "i");
  CHECK(items[0].payload == "<x/>");
  CHECK(store.users("", 10).value() == Strings{"u"});
}

TEST_CASE_TEMPLATE("pep: a payload of up to 1 MiB is stored and a bigger one refused", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  const auto largest = payload_of(one_mib);
  REQUIRE(largest.size() == 1'048'576);
  REQUIRE(store.publish("alice@example.com", "urn:xmpp:avatar:data", config, item("sha1", largest, 1), 1).value());
  CHECK(store.items("alice@example.com", "urn:xmpp:avatar:data", 0).value().at(0).payload == largest);

  // One byte more is refused, under a new id, over the old one or on a new node, and changes nothing.
  const auto too_big = payload_of(one_mib + 1);
  CHECK(store.publish("alice@example.com", "urn:xmpp:avatar:data", config, item("other", too_big, 2), 1).error() ==
        storage_errc::invalid_argument);
  CHECK(store.publish("alice@example.com", "urn:xmpp:avatar:data", config, item("sha1", too_big, 2), 1).error() ==
        storage_errc::invalid_argument);
  CHECK(store.publish("bob@example.com", "urn:xmpp:avatar:data", config, item("x", payload_of(4 * one_mib), 2), 1)
            .error() == storage_errc::invalid_argument);
  const auto items = store.items("alice@example.com", "urn:xmpp:avatar:data", 0).value();
  REQUIRE(items.size() == 1);
  CHECK(items[0].id == "sha1");
  CHECK(items[0].payload == largest);
  CHECK(store.users("", 10).value() == Strings{"alice@example.com"});
}

TEST_CASE_TEMPLATE("pep: nodes and items are their own concern", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& store = testling->pep();

  // An account or private XML makes no node, and a node needs no account.
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->private_xml().put("alice@example.com", "private storage:bookmarks storage", "<storage/>", at(1)));
  CHECK(store.users("", 10).value().empty());
  REQUIRE(store.publish("nobody@example.com", mood_node, config, item("1", payload("x"), 1), 1));
  CHECK(testling->users().user_exists("nobody").value() == false);
  CHECK(store.users("", 10).value() == Strings{"nobody@example.com"});

  // And removing an owner's nodes leaves the rest of what is stored for them.
  REQUIRE(store.publish("alice@example.com", bookmarks_node, config, item("b", payload("x"), 2), 1));
  CHECK(store.remove_user("alice@example.com").value() == 1);
  CHECK(testling->private_xml().keys("alice@example.com").value() == Strings{"private storage:bookmarks storage"});
  CHECK(testling->users().user_exists("alice").value() == true);
}

TEST_CASE_TEMPLATE("pep: survives reopening, order included", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  {
    auto testling = open_storage(backend);
    auto& store = testling->pep();
    REQUIRE(store.create_node("alice@example.com", bookmarks_node, config, at(1)));
    for (const char* id : {"a", "b", "c"}) {
      REQUIRE(store.publish("alice@example.com", mood_node, "mood", item(id, payload(id), 2), 10));
    }
    REQUIRE(store.publish("alice@example.com", mood_node, "mood", item("a", payload("a2"), 3), 10));
    REQUIRE(store.retract("alice@example.com", mood_node, "c").value());
  }

  auto testling = open_storage(backend);
  auto& store = testling->pep();
  CHECK(names_of(store.nodes("alice@example.com").value()) == Strings{mood_node, bookmarks_node});
  CHECK(store.node("alice@example.com", bookmarks_node).value().config == config);
  auto items = store.items("alice@example.com", mood_node, 0).value();
  CHECK(ids_of(items) == Strings{"a", "b"});
  CHECK(items[0].payload == payload("a2"));
  // What is published after reopening goes to the newest end, past everything from before.
  REQUIRE(store.publish("alice@example.com", mood_node, "mood", item("d", payload("d"), 4), 10));
  REQUIRE(store.publish("alice@example.com", mood_node, "mood", item("b", payload("b2"), 5), 10));
  CHECK(ids_of(store.items("alice@example.com", mood_node, 0).value()) == Strings{"b", "d", "a"});
  CHECK(store.users("", 10).value() == Strings{"alice@example.com"});
}
