// The storage conformance suite, message archive part: XEP-0313 (ArchiveStore). Like
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
#include <string_view>
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

using Ids = std::vector<std::string>;

ArchivedMessage message(std::string id, std::int64_t microseconds, std::string with) {
  ArchivedMessage out;
  out.stanza = "<message xmlns='jabber:client' id='" + id + "'><body>" + id + "</body></message>";
  out.id = std::move(id);
  out.timestamp = at(microseconds);
  out.with = std::move(with);
  return out;
}

/// Appends `messages` to `owner`'s archive in one call.
void append(ArchiveStore& archive, const std::string& owner, const std::vector<ArchivedMessage>& messages) {
  std::vector<ArchiveEntry> entries;
  for (const auto& m : messages) {
    entries.push_back(ArchiveEntry{owner, m});
  }
  REQUIRE(archive.append(entries));
}

Ids ids_of(const ArchivePage& page) {
  Ids out;
  for (const auto& m : page.messages) {
    out.push_back(m.id);
  }
  return out;
}

ArchiveQuery all_of(std::string owner) {
  ArchiveQuery query;
  query.owner = std::move(owner);
  query.max = 1000;
  return query;
}

constexpr const char* alice = "alice@example.com";
constexpr const char* bob = "bob@example.com";
constexpr const char* carol = "carol@example.com";

/// alice's archive of ten messages m0..m9 at times 1000, 1010, ..., 1090: with bob at even
/// indexes, with carol at odd ones, one appended per call.
void fill_ten(ArchiveStore& archive) {
  for (int i = 0; i < 10; ++i) {
    append(archive, alice, {message("m" + std::to_string(i), 1000 + 10 * i, i % 2 == 0 ? bob : carol)});
  }
}

} // namespace

TEST_CASE_TEMPLATE("archive: append keeps archive order with ids, times, with and stanzas", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();

  CHECK(archive.query(all_of(alice)).value().messages.empty());
  CHECK(archive.query(all_of(alice)).value().complete);
  CHECK(archive.count(alice).value() == 0);

  // Archive order is the order of appends, and of entries within one: not the timestamps, not
  // the ids.
  const auto first = message("zz", 1'700'000'000'123'456, bob);
  const auto second = message("aa", 5, "room@conference.example.com/nick");
  const auto third = message("mm", 1'700'000'000'123'457, "");
  append(archive, alice, {first, second});
  append(archive, alice, {third});

  const auto page = archive.query(all_of(alice)).value();
  CHECK(page.messages == std::vector<ArchivedMessage>{first, second, third});
  CHECK(page.complete);
  CHECK(archive.count(alice).value() == 3);

  // An empty append is fine and stores nothing.
  CHECK(archive.append({}).has_value());
  CHECK(archive.count(alice).value() == 3);

  // One append may fill several archives; each keeps its own order.
  const std::vector<ArchiveEntry> mixed{ArchiveEntry{bob, message("b1", 1, alice)},
                                        ArchiveEntry{alice, message("a4", 2, bob)},
                                        ArchiveEntry{bob, message("b2", 3, alice)}};
  REQUIRE(archive.append(mixed));
  CHECK(ids_of(archive.query(all_of(alice)).value()) == Ids{"zz", "aa", "mm", "a4"});
  CHECK(ids_of(archive.query(all_of(bob)).value()) == Ids{"b1", "b2"});
}

TEST_CASE_TEMPLATE("archive: a retried append stores nothing twice", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();

  const auto one = message("one", 10, bob);
  append(archive, alice, {one, message("two", 20, bob)});

  // The same id again, even with other content, is skipped and keeps its place; the new one in
  // the same call is stored.
  auto changed = message("one", 99, carol);
  changed.stanza = "<message>changed</message>";
  append(archive, alice, {changed, message("three", 30, bob)});
  // Twice within one call: stored once.
  append(archive, alice, {message("four", 40, bob), message("four", 41, carol)});

  const auto page = archive.query(all_of(alice)).value();
  CHECK(ids_of(page) == Ids{"one", "two", "three", "four"});
  CHECK(page.messages[0] == one);
  CHECK(page.messages[3].timestamp == at(40));
  CHECK(page.messages[3].with == bob);
  CHECK(archive.count(alice).value() == 4);

  // An id is unique within its archive only.
  append(archive, bob, {message("one", 50, alice)});
  CHECK(archive.count(bob).value() == 1);
  CHECK(archive.count(alice).value() == 4);
}

TEST_CASE_TEMPLATE("archive: an invalid entry fails the whole append", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();
  append(archive, alice, {message("kept", 1, bob)});

  const ArchiveEntry good{alice, message("good", 2, bob)};
  ArchiveEntry no_owner{"", message("x", 3, bob)};
  ArchiveEntry no_id{alice, message("", 3, bob)};
  ArchiveEntry no_stanza{alice, message("y", 3, bob)};
  no_stanza.message.stanza.clear();
  for (const auto& bad : {no_owner, no_id, no_stanza}) {
    CAPTURE(bad.owner);
    CAPTURE(bad.message.id);
    // Before and after a valid entry: neither is stored.
    CHECK(archive.append(std::vector<ArchiveEntry>{good, bad}).error() == storage_errc::invalid_argument);
    CHECK(archive.append(std::vector<ArchiveEntry>{bad, good}).error() == storage_errc::invalid_argument);
  }
  CHECK(ids_of(archive.query(all_of(alice)).value()) == Ids{"kept"});

  // An empty `with` is allowed, and the `with` filter can ask for it.
  append(archive, alice, {message("nobody", 4, "")});
  auto query = all_of(alice);
  query.with = "";
  CHECK(ids_of(archive.query(query).value()) == Ids{"nobody"});
}

TEST_CASE_TEMPLATE("archive: each filter alone", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();
  fill_ten(archive);
  // Another archive with the same ids, times and partners must never show up.
  append(archive, bob, {message("m1", 1010, carol), message("m2", 1020, carol)});

  SUBCASE("with, exactly") {
    auto query = all_of(alice);
    query.with = carol;
    CHECK(ids_of(archive.query(query).value()) == Ids{"m1", "m3", "m5", "m7", "m9"});
    query.with = "Carol@example.com";
    CHECK(archive.query(query).value().messages.empty());
    query.with = "carol@example.com/phone";
    CHECK(archive.query(query).value().messages.empty());
  }
  SUBCASE("start, inclusive") {
    auto query = all_of(alice);
    query.start = at(1070);
    CHECK(ids_of(archive.query(query).value()) == Ids{"m7", "m8", "m9"});
    query.start = at(1071);
    CHECK(ids_of(archive.query(query).value()) == Ids{"m8", "m9"});
    query.start = at(2000);
    CHECK(archive.query(query).value().messages.empty());
  }
  SUBCASE("end, inclusive") {
    auto query = all_of(alice);
    query.end = at(1020);
    CHECK(ids_of(archive.query(query).value()) == Ids{"m0", "m1", "m2"});
    query.end = at(1019);
    CHECK(ids_of(archive.query(query).value()) == Ids{"m0", "m1"});
    query.end = at(999);
    CHECK(archive.query(query).value().messages.empty());
  }
  SUBCASE("after an id, exclusive") {
    auto query = all_of(alice);
    query.after_ids = {"m6"};
    CHECK(ids_of(archive.query(query).value()) == Ids{"m7", "m8", "m9"});
    query.after_ids = {"m9"};
    CHECK(archive.query(query).value().messages.empty());
    CHECK(archive.query(query).value().complete);
  }
  SUBCASE("before an id, exclusive") {
    auto query = all_of(alice);
    query.before_ids = {"m3"};
    CHECK(ids_of(archive.query(query).value()) == Ids{"m0", "m1", "m2"});
    query.before_ids = {"m0"};
    CHECK(archive.query(query).value().messages.empty());
  }
  SUBCASE("ids") {
    auto query = all_of(alice);
    // In archive order whatever the order asked in; unknown ids simply match nothing.
    query.ids = {"m8", "m2", "nope", "m5", "m2"};
    CHECK(ids_of(archive.query(query).value()) == Ids{"m2", "m5", "m8"});
    query.ids = {"nope"};
    CHECK(archive.query(query).value().messages.empty());
    // Ids with characters that need quoting in whatever the backend builds.
    append(archive, alice,
           {message("q\"uote", 2000, bob), message("back\\slash", 2001, bob), message("{br,ace}", 2002, bob),
            message("new\nline", 2003, bob), message("'", 2004, bob), message("caf\xc3\xa9", 2005, bob)});
    query.ids = {"{br,ace}", "q\"uote", "back\\slash", "new\nline", "'", "caf\xc3\xa9", "br", "ace}"};
    CHECK(ids_of(archive.query(query).value()) ==
          Ids{"q\"uote", "back\\slash", "{br,ace}", "new\nline", "'", "caf\xc3\xa9"});
  }
}

TEST_CASE_TEMPLATE("archive: filters combine", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();
  fill_ten(archive);

  SUBCASE("with, start and end") {
    auto query = all_of(alice);
    query.with = bob;
    query.start = at(1020);
    query.end = at(1070);
    CHECK(ids_of(archive.query(query).value()) == Ids{"m2", "m4", "m6"});
  }
  SUBCASE("after and before") {
    auto query = all_of(alice);
    query.after_ids = {"m2"};
    query.before_ids = {"m6"};
    CHECK(ids_of(archive.query(query).value()) == Ids{"m3", "m4", "m5"});
    query.with = carol;
    CHECK(ids_of(archive.query(query).value()) == Ids{"m3", "m5"});
    // An empty range, and one the wrong way round.
    query.after_ids = {"m5"};
    CHECK(archive.query(query).value().messages.empty());
    query.after_ids = {"m7"};
    query.before_ids = {"m3"};
    CHECK(archive.query(query).value().messages.empty());
  }
  SUBCASE("the after-ids of both sources: the later one applies") {
    auto query = all_of(alice);
    query.after_ids = {"m6", "m2"};
    CHECK(ids_of(archive.query(query).value()) == Ids{"m7", "m8", "m9"});
    query.after_ids = {"m2", "m6"};
    CHECK(ids_of(archive.query(query).value()) == Ids{"m7", "m8", "m9"});
  }
  SUBCASE("the before-ids of both sources: the earlier one applies") {
    auto query = all_of(alice);
    query.before_ids = {"m6", "m2"};
    CHECK(ids_of(archive.query(query).value()) == Ids{"m0", "m1"});
    query.before_ids = {"m2", "m6"};
    CHECK(ids_of(archive.query(query).value()) == Ids{"m0", "m1"});
  }
  SUBCASE("ids with the others") {
    auto query = all_of(alice);
    query.ids = {"m0", "m1", "m3", "m4", "m8", "m9"};
    query.with = carol;
    CHECK(ids_of(archive.query(query).value()) == Ids{"m1", "m3", "m9"});
    query.after_ids = {"m1"};
    query.end = at(1080);
    CHECK(ids_of(archive.query(query).value()) == Ids{"m3"});
    query.with.reset();
    CHECK(ids_of(archive.query(query).value()) == Ids{"m3", "m4", "m8"});
    query.before_ids = {"m8"};
    query.start = at(1031);
    CHECK(ids_of(archive.query(query).value()) == Ids{"m4"});
  }
  SUBCASE("every filter at once, from the end") {
    auto query = all_of(alice);
    query.with = bob;
    query.start = at(1010);
    query.end = at(1090);
    query.after_ids = {"m0", "m1"};
    query.before_ids = {"m9", "m8"};
    query.ids = {"m2", "m3", "m4", "m6", "m8"};
    query.from_end = true;
    query.max = 2;
    const auto page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m4", "m6"});
    CHECK_FALSE(page.complete); // m2 is before them
  }
}

TEST_CASE_TEMPLATE("archive: paging forward and backward", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();
  fill_ten(archive);

  SUBCASE("forward: the oldest first, complete once nothing follows") {
    auto query = all_of(alice);
    query.max = 4;
    auto page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m0", "m1", "m2", "m3"});
    CHECK_FALSE(page.complete);
    query.after_ids = {"m3"};
    page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m4", "m5", "m6", "m7"});
    CHECK_FALSE(page.complete);
    query.after_ids = {"m7"};
    page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m8", "m9"});
    CHECK(page.complete);
  }
  SUBCASE("forward: a page that ends exactly at the last message is complete") {
    auto query = all_of(alice);
    query.max = 5;
    query.after_ids = {"m4"};
    auto page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m5", "m6", "m7", "m8", "m9"});
    CHECK(page.complete);
    query.max = 10;
    query.after_ids.clear();
    CHECK(archive.query(query).value().complete);
    query.max = 9;
    CHECK_FALSE(archive.query(query).value().complete);
  }
  SUBCASE("backward: the newest, oldest first, complete once nothing precedes") {
    auto query = all_of(alice);
    query.max = 4;
    query.from_end = true;
    auto page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m6", "m7", "m8", "m9"});
    CHECK_FALSE(page.complete);
    query.before_ids = {"m6"};
    page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m2", "m3", "m4", "m5"});
    CHECK_FALSE(page.complete);
    query.before_ids = {"m2"};
    page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m0", "m1"});
    CHECK(page.complete);
    // Exactly at the first message: complete.
    query.before_ids = {"m4"};
    page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m0", "m1", "m2", "m3"});
    CHECK(page.complete);
  }
  SUBCASE("backward within a conversation: the latest N with X") {
    auto query = all_of(alice);
    query.with = carol;
    query.max = 2;
    query.from_end = true;
    auto page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m7", "m9"});
    CHECK_FALSE(page.complete);
    query.before_ids = {"m7"};
    page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m3", "m5"});
    CHECK_FALSE(page.complete);
    query.before_ids = {"m3"};
    page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m1"});
    CHECK(page.complete);
  }
  SUBCASE("completeness looks only in the direction of paging") {
    auto query = all_of(alice);
    query.after_ids = {"m2"};
    query.max = 3;
    query.from_end = true;
    // The last three after m2; m3..m6 remain before them.
    auto page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m7", "m8", "m9"});
    CHECK_FALSE(page.complete);
    query.max = 7;
    page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m3", "m4", "m5", "m6", "m7", "m8", "m9"});
    CHECK(page.complete);
    // Forward from the start with more before m6 than asked for: m0 exists before, but only
    // what follows counts.
    query.from_end = false;
    query.after_ids = {"m0"};
    query.before_ids = {"m6"};
    query.max = 5;
    page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m1", "m2", "m3", "m4", "m5"});
    CHECK(page.complete);
  }
}

TEST_CASE_TEMPLATE("archive: max 0 returns nothing but says whether anything matches", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();

  auto query = all_of(alice);
  query.max = 0;
  auto page = archive.query(query).value();
  CHECK(page.messages.empty());
  CHECK(page.complete);

  fill_ten(archive);
  for (const bool from_end : {false, true}) {
    CAPTURE(from_end);
    query.from_end = from_end;
    query.with.reset();
    query.after_ids.clear();
    page = archive.query(query).value();
    CHECK(page.messages.empty());
    CHECK_FALSE(page.complete);
    query.with = "nobody@example.com";
    page = archive.query(query).value();
    CHECK(page.messages.empty());
    CHECK(page.complete);
    query.with = carol;
    query.after_ids = {"m9"};
    CHECK(archive.query(query).value().complete);
    query.after_ids = {"m8"};
    CHECK_FALSE(archive.query(query).value().complete);
  }
}

TEST_CASE_TEMPLATE("archive: an after or before id not in the archive is not_found", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();
  fill_ten(archive);
  append(archive, bob, {message("bobs", 5000, alice)});

  auto query = all_of(alice);
  query.after_ids = {"nope"};
  CHECK(archive.query(query).error() == storage_errc::not_found);
  query.after_ids = {"m1", "nope"};
  CHECK(archive.query(query).error() == storage_errc::not_found);
  // Another archive's id is not in this one.
  query.after_ids = {"bobs"};
  CHECK(archive.query(query).error() == storage_errc::not_found);
  query.after_ids.clear();
  query.before_ids = {"M1"};
  CHECK(archive.query(query).error() == storage_errc::not_found);
  query.before_ids = {"nope", "m5"};
  CHECK(archive.query(query).error() == storage_errc::not_found);
  // Whatever the other filters say, and with max 0 too.
  query.before_ids = {"bobs"};
  query.with = carol;
  query.max = 0;
  CHECK(archive.query(query).error() == storage_errc::not_found);
  // An empty archive has no ids at all.
  auto empty = all_of(carol);
  empty.after_ids = {"m1"};
  CHECK(archive.query(empty).error() == storage_errc::not_found);
  // Nor does one whose message went.
  REQUIRE(archive.remove_before(at(1015)).value() == 2);
  query = all_of(alice);
  query.after_ids = {"m0"};
  CHECK(archive.query(query).error() == storage_errc::not_found);
}

TEST_CASE_TEMPLATE("archive: count, remove_before and remove_owner", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();
  fill_ten(archive);
  append(archive, bob, {message("b0", 500, alice), message("b1", 1050, alice), message("b2", 1500, alice)});
  const std::string room = "coven@conference.example.com";
  append(archive, room, {message("r0", 1000, room + "/al"), message("r1", 3000, room + "/bo")});

  CHECK(archive.count(alice).value() == 10);
  CHECK(archive.count(bob).value() == 3);
  CHECK(archive.count(room).value() == 2);
  CHECK(archive.count(carol).value() == 0);

  // Strictly before, in every archive; by timestamp, not by archive order.
  CHECK(archive.remove_before(at(1000)).value() == 1);
  CHECK(archive.count(bob).value() == 2);
  CHECK(archive.remove_before(at(1000)).value() == 0);
  CHECK(archive.remove_before(at(1051)).value() == 6 + 1 + 1);
  CHECK(ids_of(archive.query(all_of(alice)).value()) == Ids{"m6", "m7", "m8", "m9"});
  CHECK(ids_of(archive.query(all_of(bob)).value()) == Ids{"b2"});
  CHECK(ids_of(archive.query(all_of(room)).value()) == Ids{"r1"});

  // Appending after a removal goes on at the end of the archive, even with an old timestamp.
  append(archive, alice, {message("late", 1, bob)});
  CHECK(ids_of(archive.query(all_of(alice)).value()) == Ids{"m6", "m7", "m8", "m9", "late"});

  ArchivePrefs prefs;
  prefs.default_mode = "roster";
  prefs.always = {carol};
  REQUIRE(archive.set_prefs(alice, prefs));
  REQUIRE(archive.set_prefs(bob, prefs));

  CHECK(archive.remove_owner(alice).value() == 5);
  CHECK(archive.count(alice).value() == 0);
  CHECK(archive.query(all_of(alice)).value().messages.empty());
  CHECK(archive.prefs(alice).error() == storage_errc::not_found);
  CHECK(archive.remove_owner(alice).value() == 0);
  CHECK(archive.count(bob).value() == 1);
  CHECK(archive.prefs(bob).value() == prefs);
  CHECK(archive.owners("", 10).value() == Ids{bob, room});

  // Preferences alone go too, and a removed id may be archived anew.
  CHECK(archive.remove_owner(bob).value() == 1);
  CHECK(archive.prefs(bob).error() == storage_errc::not_found);
  append(archive, alice, {message("m6", 7, bob)});
  CHECK(ids_of(archive.query(all_of(alice)).value()) == Ids{"m6"});
}

TEST_CASE_TEMPLATE("archive: preferences round-trip sorted and without duplicates", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();

  CHECK(archive.prefs(alice).error() == storage_errc::not_found);

  ArchivePrefs given;
  given.default_mode = "roster";
  given.always = {"zed@example.com", "Bob@example.com", "bob@example.com", "zed@example.com",
                  "\xc3\xa9lise@example.com"};
  given.never = {"spam@example.net", "ads@example.net", "spam@example.net"};
  REQUIRE(archive.set_prefs(alice, given));
  ArchivePrefs expected;
  expected.default_mode = "roster";
  expected.always = {"Bob@example.com", "bob@example.com", "zed@example.com", "\xc3\xa9lise@example.com"};
  expected.never = {"ads@example.net", "spam@example.net"};
  CHECK(archive.prefs(alice).value() == expected);

  // Replaced whole, not merged; empty lists are fine.
  ArchivePrefs never;
  never.default_mode = "never";
  REQUIRE(archive.set_prefs(alice, never));
  CHECK(archive.prefs(alice).value() == never);
  ArchivePrefs always;
  always.never = {bob};
  REQUIRE(archive.set_prefs(alice, always));
  CHECK(archive.prefs(alice).value() == always);

  // One JID on both lists is stored as given; the caller decides what that means.
  ArchivePrefs both;
  both.always = {bob};
  both.never = {bob};
  REQUIRE(archive.set_prefs(carol, both));
  CHECK(archive.prefs(carol).value() == both);
  CHECK(archive.prefs(alice).value() == always);

  // Preferences are not messages.
  CHECK(archive.count(alice).value() == 0);
  CHECK(archive.query(all_of(alice)).value().messages.empty());
}

TEST_CASE_TEMPLATE("archive: invalid preferences are refused and change nothing", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();
  ArchivePrefs kept;
  kept.default_mode = "never";
  kept.always = {bob};
  REQUIRE(archive.set_prefs(alice, kept));

  for (const char* mode : {"", "Always", "sometimes", "roster "}) {
    CAPTURE(mode);
    ArchivePrefs bad;
    bad.default_mode = mode;
    CHECK(archive.set_prefs(alice, bad).error() == storage_errc::invalid_argument);
    CHECK(archive.set_prefs(carol, bad).error() == storage_errc::invalid_argument);
  }
  ArchivePrefs empty_jid;
  empty_jid.always = {bob, ""};
  CHECK(archive.set_prefs(alice, empty_jid).error() == storage_errc::invalid_argument);
  empty_jid.always.clear();
  empty_jid.never = {""};
  CHECK(archive.set_prefs(alice, empty_jid).error() == storage_errc::invalid_argument);
  CHECK(archive.set_prefs("", kept).error() == storage_errc::invalid_argument);

  CHECK(archive.prefs(alice).value() == kept);
  CHECK(archive.prefs(carol).error() == storage_errc::not_found);
  CHECK(archive.owners("", 10).value() == Ids{alice});
}

TEST_CASE_TEMPLATE("archive: owners pages through archives and preferences", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();

  CHECK(archive.owners("", 10).value().empty());
  // 12 owners: some with messages only, some with preferences only, some with both, created out
  // of order; plus one whose archive was emptied again.
  Ids expected;
  for (int o = 0; o < 12; ++o) {
    expected.push_back("owner" + std::to_string(100 + o) + "@example.com");
  }
  for (int o = 11; o >= 0; --o) {
    const auto& owner = expected[static_cast<std::size_t>(o)];
    if (o % 3 != 1) {
      for (int m = 0; m <= o % 4; ++m) {
        append(archive, owner, {message("m" + std::to_string(m), 1000 + o * 10 + m, bob)});
      }
    }
    if (o % 3 != 0) {
      REQUIRE(archive.set_prefs(owner, ArchivePrefs{}));
    }
  }
  append(archive, "gone@example.com", {message("x", 5, bob)});
  REQUIRE(archive.remove_before(at(6)).value() == 1);

  Ids walked;
  std::string after;
  for (;;) {
    const auto page = archive.owners(after, 5).value();
    CHECK(page.size() <= 5);
    walked.insert(walked.end(), page.begin(), page.end());
    if (page.size() < 5) {
      break;
    }
    after = page.back();
  }
  CHECK(walked == expected);

  // Strictly after `after`, which need not be an owner itself; one entry per owner.
  CHECK(archive.owners("owner103@example.com", 2).value() == Ids{"owner104@example.com", "owner105@example.com"});
  CHECK(archive.owners("owner103", 1).value() == Ids{"owner103@example.com"});
  CHECK(archive.owners("owner111@example.com", 10).value().empty());
  CHECK(archive.owners("a", 1).value() == Ids{"owner100@example.com"});
  CHECK(archive.owners("", 100).value().size() == 12);
  CHECK(archive.owners("", 0).error() == storage_errc::invalid_argument);
  CHECK(archive.owners("x", 0).error() == storage_errc::invalid_argument);
}

TEST_CASE_TEMPLATE("archive: archives belong to one owner each", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();

  // Interleaved appends to three archives, with the same ids and partners.
  for (int i = 0; i < 4; ++i) {
    for (const char* owner : {alice, bob, carol}) {
      append(archive, owner,
             {message("m" + std::to_string(i), 100 + i, std::string_view(owner) == alice ? bob : alice)});
    }
  }
  for (const char* owner : {alice, bob, carol}) {
    CAPTURE(owner);
    CHECK(archive.count(owner).value() == 4);
    CHECK(ids_of(archive.query(all_of(owner)).value()) == Ids{"m0", "m1", "m2", "m3"});
    auto query = all_of(owner);
    query.after_ids = {"m1"};
    query.max = 1;
    auto page = archive.query(query).value();
    CHECK(ids_of(page) == Ids{"m2"});
    CHECK_FALSE(page.complete);
  }
  auto query = all_of(carol);
  query.with = bob;
  CHECK(archive.query(query).value().messages.empty());
  // The owner is compared exactly: not a prefix, not case-folded.
  CHECK(archive.count("alice").value() == 0);
  CHECK(archive.count("Alice@example.com").value() == 0);
  CHECK(archive.query(all_of("alice@example.co")).value().messages.empty());

  CHECK(archive.remove_owner(bob).value() == 4);
  CHECK(archive.count(alice).value() == 4);
  CHECK(archive.count(carol).value() == 4);

  // An archive needs no account, and an account makes no archive.
  REQUIRE(testling->users().create_user("dave", {}));
  CHECK(archive.owners("", 10).value() == Ids{alice, carol});
  CHECK(testling->users().user_exists("alice").value() == false);
}

TEST_CASE_TEMPLATE("archive: empty owners and too many ids are refused", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& archive = testling->archive();
  fill_ten(archive);

  CHECK(archive.query(all_of("")).error() == storage_errc::invalid_argument);
  CHECK(archive.count("").error() == storage_errc::invalid_argument);
  CHECK(archive.remove_owner("").error() == storage_errc::invalid_argument);
  CHECK(archive.prefs("").error() == storage_errc::invalid_argument);

  // A thousand ids are fine, one more is not.
  auto query = all_of(alice);
  for (int i = 0; i < 1000; ++i) {
    query.ids.push_back("m" + std::to_string(i));
  }
  CHECK(ids_of(archive.query(query).value()).size() == 10);
  query.ids.push_back("one too many");
  CHECK(archive.query(query).error() == storage_errc::invalid_argument);
  CHECK(archive.count(alice).value() == 10);
}

TEST_CASE_TEMPLATE("archive: survives reopening and goes on in order", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  ArchivePrefs prefs;
  prefs.default_mode = "roster";
  prefs.never = {carol};
  {
    auto testling = open_storage(backend);
    fill_ten(testling->archive());
    REQUIRE(testling->archive().set_prefs(alice, prefs));
  }

  auto testling = open_storage(backend);
  auto& archive = testling->archive();
  CHECK(archive.count(alice).value() == 10);
  CHECK(archive.prefs(alice).value() == prefs);
  append(archive, alice, {message("m10", 1, bob)});
  auto query = all_of(alice);
  query.after_ids = {"m9"};
  CHECK(ids_of(archive.query(query).value()) == Ids{"m10"});
  query.after_ids.clear();
  query.from_end = true;
  query.max = 2;
  CHECK(ids_of(archive.query(query).value()) == Ids{"m9", "m10"});
  CHECK(archive.owners("", 10).value() == Ids{alice});
}
