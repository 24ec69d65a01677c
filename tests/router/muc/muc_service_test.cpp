// router::muc::MucService over a real Router and SQLite storage: the admin interface, stanzas
// through on_stanza, and what storage holds once a call or an acknowledgement has come back
// ("acknowledged means durable").

#include "router/muc/muc_service.hpp"

#include "config/config.hpp"
#include "core/async/worker_pool.hpp"
#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "router/auth/internal_directory.hpp"
#include "router/router.hpp"
#include "storage/sqlite/open.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"
#include "tests/storage/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <doctest/doctest.h>

#include <memory>
#include <string>

using namespace parley;
using router::muc::MucService;
using storage::Affiliation;
using storage::storage_errc;
namespace asio = boost::asio;

namespace {

constexpr const char* service = "conference.localhost";

struct Fixture {
  storage::testing::TempDir dir;
  std::unique_ptr<storage::Storage> db = storage::sqlite::open(dir.path() / "parley.db").value();
  core::async::WorkerPool workers{2};
  config::Config config;
  asio::io_context io;
  router::auth::InternalDirectory users{*db, workers};
  router::Router router{config, *db, workers, users};
  std::shared_ptr<MucService> testling = std::make_shared<MucService>(io, router, service, config.muc);

  /// Runs `work` on the io_context until it and everything it started (the writes behind)
  /// are done; returns its result.
  template <class T> T run(asio::awaitable<T> work) {
    auto done = asio::co_spawn(io, std::move(work), asio::use_future);
    io.restart();
    io.run();
    return done.get();
  }

  void stanza(std::string_view xml) {
    auto parsed = core::xml::parse_element(xml, core::xml::ns::client);
    REQUIRE(parsed.has_value());
    (void)run(testling->on_stanza(std::move(*parsed)));
  }

  storage::RoomConfig persistent() {
    storage::RoomConfig c;
    c.persistent = true;
    c.name = "Kept";
    return c;
  }
};

} // namespace

TEST_CASE_FIXTURE(Fixture, "admin interface: create, list, affiliate, destroy; storage follows each call") {
  auto created = run(testling->create_room("kept", "alice@localhost", persistent()));
  REQUIRE(created.has_value());
  auto stored = db->rooms().get(service, "kept");
  REQUIRE(stored.has_value());
  CHECK(stored->config.name == "Kept");
  REQUIRE(stored->affiliations.size() == 1);
  CHECK(stored->affiliations[0].jid == "alice@localhost");
  CHECK(stored->affiliations[0].affiliation == Affiliation::owner);

  CHECK(run(testling->create_room("kept", "bob@localhost", persistent())).error() == storage_errc::conflict);
  CHECK(run(testling->create_room("not a room", "bob@localhost", persistent())).error() ==
        storage_errc::invalid_argument);
  REQUIRE(run(testling->create_room("scratch", "bob@localhost", {})).has_value()); // temporary: not stored
  CHECK(db->rooms().get(service, "scratch").error() == storage_errc::not_found);

  const auto rooms = run(testling->list_rooms());
  REQUIRE(rooms.size() == 2);
  CHECK(rooms[0].jid == "kept@conference.localhost");
  CHECK(rooms[0].name == "Kept");
  CHECK(rooms[0].persistent);
  CHECK_FALSE(rooms[0].locked);
  CHECK(rooms[1].jid == "scratch@conference.localhost");

  REQUIRE(run(testling->set_affiliation("kept", "bob@localhost", Affiliation::outcast, "spam")).has_value());
  stored = db->rooms().get(service, "kept");
  REQUIRE(stored->affiliations.size() == 2);
  CHECK(stored->affiliations[1].jid == "bob@localhost");
  CHECK(stored->affiliations[1].reason == "spam");
  // XEP-0045 §10.7: never without an owner.
  CHECK(run(testling->set_affiliation("kept", "alice@localhost", Affiliation::none, "")).error() ==
        storage_errc::conflict);
  CHECK(run(testling->set_affiliation("nowhere", "bob@localhost", Affiliation::member, "")).error() ==
        storage_errc::not_found);

  REQUIRE(run(testling->destroy_room("kept", "bye", "")).has_value());
  CHECK(db->rooms().get(service, "kept").error() == storage_errc::not_found);
  CHECK(run(testling->destroy_room("kept", "", "")).error() == storage_errc::not_found);
  CHECK(run(testling->list_rooms()).size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "stanzas: a room configured persistent is stored before the owner gets the result") {
  stanza("<presence from='alice@localhost/r' to='coven@conference.localhost/al'>"
         "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
  CHECK(run(testling->list_rooms()).at(0).locked);
  CHECK(db->rooms().list(service).value().empty()); // locked: not a room yet
  stanza("<iq from='alice@localhost/r' to='coven@conference.localhost' type='set' id='c'>"
         "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>"
         "<field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>");
  auto stored = db->rooms().get(service, "coven");
  REQUIRE(stored.has_value());
  CHECK(stored->config.persistent);
  stanza("<message from='alice@localhost/r' to='coven@conference.localhost' type='groupchat'>"
         "<subject>kept</subject></message>");
  // The subject is written behind (no iq waits for it); run() waited for the write.
  CHECK(db->rooms().get(service, "coven")->subject == "kept");
  // Empty, a persistent room stays.
  stanza("<presence from='alice@localhost/r' to='coven@conference.localhost/al' type='unavailable'/>");
  CHECK(run(testling->list_rooms()).size() == 1);

  // Made temporary again, it leaves storage at once, and memory with its last occupant.
  stanza("<presence from='alice@localhost/r' to='coven@conference.localhost/al'>"
         "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
  stanza("<iq from='alice@localhost/r' to='coven@conference.localhost' type='set' id='t'>"
         "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>"
         "<field var='muc#roomconfig_persistentroom'><value>0</value></field></x></query></iq>");
  CHECK(db->rooms().get(service, "coven").error() == storage_errc::not_found);
  stanza("<presence from='alice@localhost/r' to='coven@conference.localhost/al' type='unavailable'/>");
  CHECK(run(testling->list_rooms()).empty());
}

TEST_CASE_FIXTURE(Fixture, "load: stored rooms come back, ready to enter") {
  storage::StoredRoom kept;
  kept.service = service;
  kept.room = "kept";
  kept.config = persistent();
  kept.affiliations = {storage::RoomAffiliation{"alice@localhost", Affiliation::owner, "", ""}};
  REQUIRE(db->rooms().put(kept));
  storage::StoredRoom elsewhere = kept;
  elsewhere.service = "chat.example.org";
  REQUIRE(db->rooms().put(elsewhere));

  CHECK(testling->load().value() == 1);
  const auto rooms = run(testling->list_rooms());
  REQUIRE(rooms.size() == 1);
  CHECK(rooms[0].jid == "kept@conference.localhost");
  CHECK_FALSE(rooms[0].locked);
  CHECK(rooms[0].occupants == 0);
}

TEST_CASE("service domains: [muc] domain, else conference.HOST for each named host") {
  config::Config config;
  config.hosts = {"example.com", "example.org", "127.0.0.1", "[::1]"};
  CHECK(router::muc::service_domains(config) ==
        std::vector<std::string>{"conference.example.com", "conference.example.org"});
  config.muc.domain = "rooms.example.com";
  CHECK(router::muc::service_domains(config) == std::vector<std::string>{"rooms.example.com"});
  config.muc.enabled = false;
  CHECK(router::muc::service_domains(config).empty());
}
