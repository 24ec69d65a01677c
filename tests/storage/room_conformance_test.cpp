// The storage conformance suite, rooms part: persistent multi-user chat rooms (RoomStore).
// Like conformance_test.cpp, every backend listed in backends.hpp must pass every test here,
// through the interfaces only.

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

RoomAffiliation affiliation(std::string jid, Affiliation kind, std::string nick = {}, std::string reason = {}) {
  return RoomAffiliation{std::move(jid), kind, std::move(nick), std::move(reason)};
}

/// A room with every field away from its default.
StoredRoom room(std::string service, std::string name) {
  StoredRoom room;
  room.service = std::move(service);
  room.room = std::move(name);
  room.config.name = "The Coven \xe2\x9c\x93";
  room.config.description = "where <witches> & \"friends\" meet";
  room.config.password = "cauldronburn";
  room.config.members_only = true;
  room.config.moderated = true;
  room.config.max_occupants = 42;
  room.config.public_room = false;
  room.config.persistent = true;
  room.config.history_length = 7;
  room.config.whois = Whois::anyone;
  room.config.change_subject = true;
  room.config.allow_invites = true;
  room.config.allow_pm = AllowPm::moderators;
  room.subject = "Fire Burn and Cauldron Bubble!";
  room.subject_by = "secondwitch";
  room.subject_at = at(1'700'000'000'654'321);
  room.created = at(1'700'000'000'123'456);
  room.affiliations = {
      affiliation("crone1@shakespeare.lit", Affiliation::owner, "firstwitch"),
      affiliation("hag66@shakespeare.lit", Affiliation::member, "thirdwitch"),
      affiliation("shakespeare.lit", Affiliation::outcast, "", "the whole server"),
      affiliation("wiccarocks@shakespeare.lit", Affiliation::admin, "secondwitch"),
  };
  return room;
}

std::vector<std::string> names_of(const std::vector<StoredRoom>& rooms) {
  std::vector<std::string> out;
  for (const auto& entry : rooms) {
    out.push_back(entry.service + " " + entry.room);
  }
  return out;
}

} // namespace

TEST_CASE_TEMPLATE("rooms: a stored room comes back with every field and affiliation", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& rooms = testling->rooms();

  CHECK(rooms.list({}).value().empty());
  const auto coven = room("chat.shakespeare.lit", "coven");
  REQUIRE(rooms.put(coven));
  CHECK(rooms.get("chat.shakespeare.lit", "coven").value() == coven);

  // Defaults and empty strings survive too.
  StoredRoom plain;
  plain.service = "chat.shakespeare.lit";
  plain.room = "plain";
  REQUIRE(rooms.put(plain));
  CHECK(rooms.get("chat.shakespeare.lit", "plain").value() == plain);
  CHECK(rooms.list("chat.shakespeare.lit").value() == std::vector<StoredRoom>{coven, plain});
}

TEST_CASE_TEMPLATE("rooms: affiliations come back by jid in byte order", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);

  auto entry = room("conference.example.com", "lobby");
  entry.affiliations = {
      affiliation("b@example.com", Affiliation::member),
      affiliation("Z@example.com", Affiliation::admin),
      affiliation("\xc3\xa9t\xc3\xa9@example.com", Affiliation::outcast),
      affiliation("a10@example.com", Affiliation::owner),
      affiliation("a2@example.com", Affiliation::member),
  };
  REQUIRE(testling->rooms().put(entry));
  std::vector<std::string> jids;
  for (const auto& stored : testling->rooms().get("conference.example.com", "lobby").value().affiliations) {
    jids.push_back(stored.jid);
  }
  CHECK(jids == std::vector<std::string>{"Z@example.com", "a10@example.com", "a2@example.com", "b@example.com",
                                         "\xc3\xa9t\xc3\xa9@example.com"});
}

TEST_CASE_TEMPLATE("rooms: put replaces the whole room, affiliations included", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& rooms = testling->rooms();

  REQUIRE(rooms.put(room("chat.shakespeare.lit", "coven")));
  auto changed = room("chat.shakespeare.lit", "coven");
  changed.config = RoomConfig{};
  changed.config.persistent = true;
  changed.subject.clear();
  changed.subject_by.clear();
  changed.created = at(5);
  changed.affiliations = {affiliation("hag66@shakespeare.lit", Affiliation::owner, "", "promoted")};
  REQUIRE(rooms.put(changed));
  CHECK(rooms.get("chat.shakespeare.lit", "coven").value() == changed);

  changed.affiliations.clear();
  REQUIRE(rooms.put(changed));
  CHECK(rooms.get("chat.shakespeare.lit", "coven").value().affiliations.empty());
  CHECK(rooms.list({}).value().size() == 1);
}

TEST_CASE_TEMPLATE("rooms: list by service, or every room by service and room", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& rooms = testling->rooms();

  for (const auto& [service, name] : std::vector<std::pair<std::string, std::string>>{{"muc.example.org", "b"},
                                                                                      {"conference.example.com", "b"},
                                                                                      {"conference.example.com", "a"},
                                                                                      {"conference.example.com", "A"},
                                                                                      {"muc.example.org", "a"}}) {
    REQUIRE(rooms.put(room(service, name)));
  }
  CHECK(names_of(rooms.list("conference.example.com").value()) ==
        std::vector<std::string>{"conference.example.com A", "conference.example.com a", "conference.example.com b"});
  CHECK(names_of(rooms.list({}).value()) ==
        std::vector<std::string>{"conference.example.com A", "conference.example.com a", "conference.example.com b",
                                 "muc.example.org a", "muc.example.org b"});
  CHECK(rooms.list("other.example.net").value().empty());
  // Each room has its own affiliations, even with the same jids.
  for (const auto& entry : rooms.list({}).value()) {
    CHECK(entry.affiliations.size() == 4);
  }
}

TEST_CASE_TEMPLATE("rooms: remove takes the room with its affiliations", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& rooms = testling->rooms();

  REQUIRE(rooms.put(room("chat.shakespeare.lit", "coven")));
  REQUIRE(rooms.put(room("chat.shakespeare.lit", "heath")));
  REQUIRE(rooms.remove("chat.shakespeare.lit", "coven"));
  CHECK(rooms.get("chat.shakespeare.lit", "coven").error() == storage_errc::not_found);
  CHECK(rooms.remove("chat.shakespeare.lit", "coven").error() == storage_errc::not_found);
  CHECK(names_of(rooms.list({}).value()) == std::vector<std::string>{"chat.shakespeare.lit heath"});

  // Created again, the room starts without the old affiliations.
  StoredRoom again;
  again.service = "chat.shakespeare.lit";
  again.room = "coven";
  REQUIRE(rooms.put(again));
  CHECK(rooms.get("chat.shakespeare.lit", "coven").value().affiliations.empty());
}

TEST_CASE_TEMPLATE("rooms: invalid rooms are refused and change nothing", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& rooms = testling->rooms();
  const auto good = room("chat.shakespeare.lit", "coven");
  REQUIRE(rooms.put(good));

  auto bad = good;
  SUBCASE("empty service") {
    bad.service.clear();
  }
  SUBCASE("empty room") {
    bad.room.clear();
  }
  SUBCASE("an affiliation of none") {
    bad.affiliations.push_back(affiliation("zed@shakespeare.lit", Affiliation::none));
  }
  SUBCASE("an empty jid") {
    bad.affiliations.push_back(affiliation("", Affiliation::member));
  }
  SUBCASE("a jid twice") {
    bad.affiliations.push_back(affiliation("hag66@shakespeare.lit", Affiliation::outcast));
  }
  CHECK(rooms.put(bad).error() == storage_errc::invalid_argument);
  CHECK(rooms.get("chat.shakespeare.lit", "coven").value() == good);
  CHECK(rooms.list({}).value().size() == 1);
  CHECK(rooms.get("", "coven").error() == storage_errc::invalid_argument);
  CHECK(rooms.remove("chat.shakespeare.lit", "").error() == storage_errc::invalid_argument);
}

TEST_CASE_TEMPLATE("rooms: stored rooms survive reopening the storage", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  const auto coven = room("chat.shakespeare.lit", "coven");
  {
    auto testling = open_storage(backend);
    REQUIRE(testling->rooms().put(coven));
  }
  auto reopened = open_storage(backend);
  CHECK(reopened->rooms().get("chat.shakespeare.lit", "coven").value() == coven);
}
