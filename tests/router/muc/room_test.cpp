// router::muc::Room: scripted conversations with one room, stanza in, stanzas out
// (XEP-0045). No service, no storage: what the room says it would send is checked.

#include "router/muc/room.hpp"
#include "router/modules/time_format.hpp"

#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace parley::router::muc;
using parley::core::jid::Jid;
using parley::core::xml::Element;
using parley::storage::Timestamp;
namespace ns = parley::core::xml::ns;
namespace storage = parley::storage;

namespace {

Jid jid(std::string_view text) {
  return Jid::parse(text).value();
}

Element xml(std::string_view text) {
  auto parsed = parley::core::xml::parse_element(text, ns::client);
  REQUIRE_MESSAGE(parsed.has_value(), text);
  return std::move(*parsed);
}

std::string text_of(const Element& e) {
  return parley::core::xml::serialize(e, ns::client);
}

Timestamp at(std::int64_t seconds) {
  return Timestamp(std::chrono::seconds(seconds));
}

std::vector<int> codes(const Element& stanza) {
  std::vector<int> out;
  if (const Element* x = stanza.child("x", ns::muc_user)) {
    for (const Element& status : x->children("status", ns::muc_user)) {
      out.push_back(std::stoi(std::string(status.attribute("code").value_or("0"))));
    }
  }
  return out;
}

const Element* item(const Element& stanza) {
  const Element* x = stanza.child("x", ns::muc_user);
  return x != nullptr ? x->child("item", ns::muc_user) : nullptr;
}

std::string item_attr(const Element& stanza, std::string_view name) {
  const Element* i = item(stanza);
  return i != nullptr ? std::string(i->attribute(name).value_or("")) : std::string("<no item>");
}

std::string error_condition(const Element& stanza) {
  const Element* error = stanza.child("error", ns::client);
  if (error == nullptr || error->first_child() == nullptr) {
    return {};
  }
  return std::string(error->first_child()->name());
}

/// A room at coven@chat.shakespeare.lit and the people who talk to it.
struct Fixture {
  Limits limits{10, 5};
  Jid room_jid = jid("coven@chat.shakespeare.lit");
  Room testling{room_jid, Room::initial_state(room_jid, jid("crone1@shakespeare.lit"), limits, at(1)), limits,
                /*locked=*/true};
  Timestamp now = at(1000);

  /// Sends a stanza (from and to as written) and returns what the room says.
  Effects send(std::string_view text) {
    const Element stanza = xml(text);
    Effects fx;
    testling.handle(stanza, jid(stanza.attribute("from").value()), jid(stanza.attribute("to").value()), now, fx);
    return fx;
  }

  Effects create(std::string_view text) {
    const Element stanza = xml(text);
    Effects fx;
    testling.create(stanza, jid(stanza.attribute("from").value()), jid(stanza.attribute("to").value()), now, fx);
    return fx;
  }

  /// The owner crone1 creates the room as "firstwitch" and accepts the default configuration.
  void open_instant() {
    create("<presence from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit/firstwitch'>"
           "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
    auto fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='c1'>"
                   "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                   "<x xmlns='jabber:x:data' type='submit'/></query></iq>");
    REQUIRE(fx.ack.has_value());
    REQUIRE_FALSE(testling.locked());
  }

  Effects join(std::string_view full, std::string_view nick, std::string_view extra = {}) {
    return send("<presence from='" + std::string(full) + "' to='coven@chat.shakespeare.lit/" + std::string(nick) +
                "'><x xmlns='http://jabber.org/protocol/muc'>" + std::string(extra) + "</x></presence>");
  }

  /// Submits muc#roomconfig fields as the owner.
  Effects configure(std::string_view fields) {
    return send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='cfg'>"
                "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>" +
                std::string(fields) + "</x></query></iq>");
  }
};

/// The stanzas of `fx` addressed to `to`.
std::vector<Element> to(const Effects& fx, std::string_view address) {
  std::vector<Element> out;
  for (const auto& stanza : fx.out) {
    if (stanza.attribute("to").value_or("") == address) {
      out.push_back(stanza);
    }
  }
  return out;
}

/// The self-presence (status 110) of `fx` to `address`.
Element self_presence(const Effects& fx, std::string_view address) {
  for (const auto& stanza : to(fx, address)) {
    const auto c = codes(stanza);
    if (stanza.name() == "presence" && std::find(c.begin(), c.end(), 110) != c.end()) {
      return stanza;
    }
  }
  FAIL("no self-presence to " << address);
  return Element();
}

std::string field(std::string_view var, std::string_view value) {
  return "<field var='" + std::string(var) + "'><value>" + std::string(value) + "</value></field>";
}

} // namespace

TEST_CASE_FIXTURE(Fixture, "creating: the creator is owner and moderator, with 110 and 201; the room stays locked") {
  auto fx = create("<presence from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit/firstwitch' "
                   "id='j1'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
  REQUIRE(fx.out.size() == 2);
  const Element& self = fx.out[0];
  CHECK(self.name() == "presence");
  CHECK(self.attribute("from") == "coven@chat.shakespeare.lit/firstwitch");
  CHECK(self.attribute("to") == "crone1@shakespeare.lit/desktop");
  CHECK(self.attribute("id") == "j1");
  CHECK(codes(self) == std::vector<int>{110, 201});
  CHECK(item_attr(self, "affiliation") == "owner");
  CHECK(item_attr(self, "role") == "moderator");
  // §7.2.16: the subject, empty, ends the join.
  CHECK(fx.out[1].name() == "message");
  CHECK(fx.out[1].child("subject", ns::client) != nullptr);
  CHECK(fx.out[1].child("body", ns::client) == nullptr);
  CHECK(testling.locked());
  CHECK_FALSE(testling.listed());

  // §7.2.10: nobody else enters a locked room.
  fx = join("hag66@shakespeare.lit/pda", "thirdwitch");
  REQUIRE(fx.out.size() == 1);
  CHECK(fx.out[0].attribute("type") == "error");
  CHECK(error_condition(fx.out[0]) == "item-not-found");
  // ... nor asks it anything.
  fx = send("<iq from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit' type='get' id='d'>"
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  CHECK(error_condition(fx.out.at(0)) == "item-not-found");

  // §10.1.2: an empty form accepts the defaults; the answer waits for storage.
  fx =
      send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='c1'>"
           "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>");
  REQUIRE(fx.ack.has_value());
  CHECK(fx.ack->attribute("type") == "result");
  CHECK(fx.stored_changed);
  CHECK(fx.out.empty()); // no 104 for the initial configuration
  CHECK_FALSE(testling.locked());
  CHECK(testling.listed());

  fx = join("hag66@shakespeare.lit/pda", "thirdwitch");
  const auto to_hag = to(fx, "hag66@shakespeare.lit/pda");
  REQUIRE(to_hag.size() == 3); // firstwitch, herself, subject
  CHECK(to_hag[0].attribute("from") == "coven@chat.shakespeare.lit/firstwitch");
  CHECK(item_attr(to_hag[0], "jid").empty()); // a participant does not see real JIDs
  CHECK(to_hag[1].attribute("from") == "coven@chat.shakespeare.lit/thirdwitch");
  CHECK(codes(to_hag[1]) == std::vector<int>{110});
  CHECK(item_attr(to_hag[1], "role") == "participant");
  CHECK(item_attr(to_hag[1], "affiliation") == "none");
  CHECK(to_hag[2].child("subject", ns::client) != nullptr);
  // The owner, a moderator, sees the newcomer's real JID in a semi-anonymous room (§7.2.5).
  const auto to_crone = to(fx, "crone1@shakespeare.lit/desktop");
  REQUIRE(to_crone.size() == 1);
  CHECK(item_attr(to_crone[0], "jid") == "hag66@shakespeare.lit/pda");
}

TEST_CASE_FIXTURE(Fixture, "cancelling the first configuration destroys the new room") {
  create("<presence from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit/firstwitch'>"
         "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
  auto fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='c'>"
                 "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='cancel'/>"
                 "</query></iq>");
  CHECK(fx.destroyed);
  CHECK(fx.out.at(0).attribute("type") == "result");
}

TEST_CASE_FIXTURE(Fixture, "entering: each refusal has its condition, and a password is never echoed") {
  open_instant();
  SUBCASE("no nickname: jid-malformed") {
    auto fx = send("<presence from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit'>"
                   "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
    CHECK(error_condition(fx.out.at(0)) == "jid-malformed");
  }
  SUBCASE("wrong or missing password: not-authorized") {
    configure(field("muc#roomconfig_passwordprotectedroom", "1") + field("muc#roomconfig_roomsecret", "cauldron"));
    auto fx = join("hag66@shakespeare.lit/pda", "thirdwitch", "<password>wrong</password>");
    REQUIRE(fx.out.size() == 1);
    CHECK(error_condition(fx.out[0]) == "not-authorized");
    CHECK(text_of(fx.out[0]).find("wrong") == std::string::npos);
    CHECK(fx.out[0].child("x", ns::muc) != nullptr);
    fx = join("hag66@shakespeare.lit/pda", "thirdwitch");
    CHECK(error_condition(fx.out.at(0)) == "not-authorized");
    fx = join("hag66@shakespeare.lit/pda", "thirdwitch", "<password>cauldron</password>");
    CHECK(codes(self_presence(fx, "hag66@shakespeare.lit/pda")) == std::vector<int>{110});
  }
  SUBCASE("not a member: registration-required") {
    configure(field("muc#roomconfig_membersonly", "1"));
    auto fx = join("hag66@shakespeare.lit/pda", "thirdwitch");
    CHECK(error_condition(fx.out.at(0)) == "registration-required");
  }
  SUBCASE("banned: forbidden") {
    auto fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='b'>"
                   "<query xmlns='http://jabber.org/protocol/muc#admin'>"
                   "<item affiliation='outcast' jid='hag66@shakespeare.lit'/></query></iq>");
    REQUIRE(fx.ack.has_value());
    fx = join("hag66@shakespeare.lit/pda", "thirdwitch");
    CHECK(error_condition(fx.out.at(0)) == "forbidden");
  }
  SUBCASE("a whole domain banned: forbidden") {
    Effects ignored;
    testling.set_affiliation(jid("shakespeare.lit"), Affiliation::outcast, "spam", ignored);
    auto fx = join("hag66@shakespeare.lit/pda", "thirdwitch");
    CHECK(error_condition(fx.out.at(0)) == "forbidden");
  }
  SUBCASE("nickname in use by someone else: conflict") {
    auto fx = join("hag66@shakespeare.lit/pda", "firstwitch");
    CHECK(error_condition(fx.out.at(0)) == "conflict");
    CHECK(fx.out[0].attribute("from") == "coven@chat.shakespeare.lit/firstwitch");
  }
  SUBCASE("room full: service-unavailable (wait); an admin still enters") {
    configure(field("muc#roomconfig_maxusers", "2"));
    join("hag66@shakespeare.lit/pda", "thirdwitch");
    auto fx = join("wiccarocks@shakespeare.lit/laptop", "secondwitch");
    REQUIRE(fx.out.size() == 1);
    CHECK(error_condition(fx.out[0]) == "service-unavailable");
    CHECK(fx.out[0].child("error", ns::client)->attribute("type") == "wait");
    send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='a'>"
         "<query xmlns='http://jabber.org/protocol/muc#admin'>"
         "<item affiliation='admin' jid='wiccarocks@shakespeare.lit'/></query></iq>");
    fx = join("wiccarocks@shakespeare.lit/laptop", "secondwitch");
    CHECK(item_attr(self_presence(fx, "wiccarocks@shakespeare.lit/laptop"), "role") == "moderator");
  }
  SUBCASE("presence without <x/> from a non-occupant: told it is not in the room") {
    auto fx = send("<presence from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/thirdwitch'/>");
    REQUIRE(fx.out.size() == 1);
    CHECK(fx.out[0].attribute("type") == "unavailable");
    CHECK(codes(fx.out[0]) == std::vector<int>{110, 307, 333});
    CHECK(testling.occupants().size() == 1);
  }
}

TEST_CASE_FIXTURE(Fixture, "history: the newest messages within the limits asked for, stamped, then the subject") {
  open_instant();
  for (int i = 1; i <= 7; ++i) {
    now = at(1000 + i * 60);
    send("<message from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='groupchat'>"
         "<body>line " +
         std::to_string(i) + "</body></message>");
  }
  now = at(1000 + 8 * 60);
  const auto bodies = [](const std::vector<Element>& stanzas) {
    std::vector<std::string> out;
    for (const auto& s : stanzas) {
      if (const Element* body = s.child("body", ns::client)) {
        out.push_back(body->text());
      }
    }
    return out;
  };
  // The room keeps 5 (Limits::max_history); without <history/>, all of them.
  auto fx = join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto got = to(fx, "hag66@shakespeare.lit/pda");
  CHECK(bodies(got) == std::vector<std::string>{"line 3", "line 4", "line 5", "line 6", "line 7"});
  const Element& first = got.at(2);
  CHECK(first.attribute("from") == "coven@chat.shakespeare.lit/firstwitch");
  REQUIRE(first.child("delay", ns::delay) != nullptr);
  CHECK(first.child("delay", ns::delay)->attribute("from") == "coven@chat.shakespeare.lit");
  CHECK(first.child("delay", ns::delay)->attribute("stamp") == "1970-01-01T00:19:40.000Z");
  CHECK(got.back().child("subject", ns::client) != nullptr); // after the history

  fx = join("a@shakespeare.lit/x", "a", "<history maxstanzas='2'/>");
  CHECK(bodies(to(fx, "a@shakespeare.lit/x")) == std::vector<std::string>{"line 6", "line 7"});
  fx = join("b@shakespeare.lit/x", "b", "<history maxchars='0'/>");
  CHECK(bodies(to(fx, "b@shakespeare.lit/x")).empty());
  fx = join("c@shakespeare.lit/x", "c", "<history seconds='150'/>"); // lines 6 and 7 are 120 and 60 s old
  CHECK(bodies(to(fx, "c@shakespeare.lit/x")) == std::vector<std::string>{"line 6", "line 7"});
  fx = join("d@shakespeare.lit/x", "d", "<history since='1970-01-01T00:22:40Z'/>"); // 1360 s: line 6 on
  CHECK(bodies(to(fx, "d@shakespeare.lit/x")) == std::vector<std::string>{"line 6", "line 7"});
  fx = join("e@shakespeare.lit/x", "e", "<history maxstanzas='4' seconds='100000' maxchars='100000'/>");
  CHECK(bodies(to(fx, "e@shakespeare.lit/x")).size() == 4);
}

TEST_CASE("history: XEP-0082 date-times") {
  CHECK(parley::router::modules::parse_datetime("1970-01-01T00:00:00Z") == at(0));
  CHECK(parley::router::modules::parse_datetime("2002-10-13T23:58:37Z") == at(1034553517));
  CHECK(parley::router::modules::parse_datetime("2002-10-13T23:58:37.5Z") == at(1034553517) + std::chrono::milliseconds(500));
  CHECK(parley::router::modules::parse_datetime("2002-10-14T01:58:37+02:00") == at(1034553517));
  CHECK(parley::router::modules::parse_datetime("2002-10-13T16:58:37-07:00") == at(1034553517));
  for (const char* bad : {"", "2002-10-13", "2002-13-13T23:58:37Z", "2002-10-13T23:58:37", "2002-10-13T23:58:37+2",
                          "2002-10-13 23:58:37Z", "yesterday"}) {
    CHECK_FALSE(parley::router::modules::parse_datetime(bad).has_value());
  }
}

TEST_CASE_FIXTURE(Fixture, "messages: groupchat to every occupant, from the sender's occupant JID") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto fx = send("<message from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit' type='groupchat' "
                 "id='m1'><body>Harpier cries</body></message>");
  REQUIRE(fx.out.size() == 2);
  for (const auto& m : fx.out) {
    CHECK(m.attribute("from") == "coven@chat.shakespeare.lit/thirdwitch");
    CHECK(m.attribute("id") == "m1"); // §7.4: the id is reflected
    CHECK(m.child("body", ns::client)->text() == "Harpier cries");
  }
  CHECK(to(fx, "crone1@shakespeare.lit/desktop").size() == 1);
  CHECK(to(fx, "hag66@shakespeare.lit/pda").size() == 1);

  fx = send("<message from='outsider@shakespeare.lit/x' to='coven@chat.shakespeare.lit' type='groupchat'>"
            "<body>hi</body></message>");
  CHECK(error_condition(fx.out.at(0)) == "not-acceptable");

  SUBCASE("a moderated room: visitors need voice") {
    auto cfg = configure(field("muc#roomconfig_moderatedroom", "1"));
    CHECK(codes(to(cfg, "hag66@shakespeare.lit/pda").at(0)) == std::vector<int>{104});
    join("wiccarocks@shakespeare.lit/laptop", "secondwitch");
    fx = send("<message from='wiccarocks@shakespeare.lit/laptop' to='coven@chat.shakespeare.lit' "
              "type='groupchat'><body>may I?</body></message>");
    REQUIRE(fx.out.size() == 1);
    CHECK(error_condition(fx.out[0]) == "forbidden");
    // §8.3: a moderator grants voice.
    fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='v'>"
              "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='secondwitch' role='participant'/>"
              "</query></iq>");
    CHECK_FALSE(fx.ack.has_value()); // roles are not stored: answered at once
    CHECK(item_attr(to(fx, "hag66@shakespeare.lit/pda").at(0), "role") == "participant");
    fx = send("<message from='wiccarocks@shakespeare.lit/laptop' to='coven@chat.shakespeare.lit' "
              "type='groupchat'><body>thank you</body></message>");
    CHECK(fx.out.size() == 3);
    // §8.4: and takes it away; but not from the owner.
    fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='v2'>"
              "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='secondwitch' role='visitor'/>"
              "</query></iq>");
    CHECK(item_attr(to(fx, "wiccarocks@shakespeare.lit/laptop").at(0), "role") == "visitor");
  }
  SUBCASE("the subject: moderators, or participants when allowed") {
    fx = send("<message from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit' type='groupchat'>"
              "<subject>mine</subject></message>");
    CHECK(error_condition(fx.out.at(0)) == "forbidden");
    fx = send("<message from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='groupchat'>"
              "<subject>Fire Burn and Cauldron Bubble!</subject></message>");
    CHECK(fx.out.size() == 2);
    CHECK(fx.stored_changed);
    CHECK(testling.snapshot().subject == "Fire Burn and Cauldron Bubble!");
    CHECK(testling.snapshot().subject_by == "firstwitch");
    // A newcomer gets it from the one who set it.
    fx = join("wiccarocks@shakespeare.lit/laptop", "secondwitch");
    const auto got = to(fx, "wiccarocks@shakespeare.lit/laptop");
    CHECK(got.back().child("subject", ns::client)->text() == "Fire Burn and Cauldron Bubble!");
    CHECK(got.back().attribute("from") == "coven@chat.shakespeare.lit/firstwitch");
    configure(field("muc#roomconfig_changesubject", "1"));
    fx = send("<message from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit' type='groupchat'>"
              "<subject>mine now</subject></message>");
    CHECK(fx.out.size() == 3);
  }
}

TEST_CASE_FIXTURE(Fixture, "a gateway posts under a nick, as its affiliation allows") {
  const Element alert = xml("<message from='github@hooks.shakespeare.lit' to='coven@chat.shakespeare.lit' "
                            "type='groupchat' id='h1'><body>build passed</body></message>");
  const Jid hook = jid("github@hooks.shakespeare.lit");
  auto post = [&](std::string_view nick) {
    Effects fx;
    testling.post(alert, hook, nick, now, fx);
    return fx;
  };
  // Locked until configured.
  CHECK(post("github").refused.has_value());
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");

  auto fx = post("github");
  REQUIRE_FALSE(fx.refused.has_value());
  REQUIRE(fx.out.size() == 2);
  for (const auto& m : fx.out) {
    CHECK(m.attribute("from") == "coven@chat.shakespeare.lit/github");
    CHECK(m.attribute("type") == "groupchat");
    CHECK(m.child("body", ns::client)->text() == "build passed");
  }
  CHECK(testling.history().size() == 1);

  // Never a nick an occupant holds, nor one that is no resourcepart.
  fx = post("thirdwitch");
  CHECK(fx.refused.has_value());
  CHECK(fx.out.empty());
  CHECK(post("").refused.has_value());

  SUBCASE("members-only, password and moderated rooms take members only") {
    for (const auto& option : {field("muc#roomconfig_membersonly", "1"),
                               field("muc#roomconfig_passwordprotectedroom", "1") +
                                   field("muc#roomconfig_roomsecret", "pw"),
                               field("muc#roomconfig_moderatedroom", "1")}) {
      CAPTURE(option);
      Fixture room;
      room.open_instant();
      room.configure(option);
      Effects refused;
      room.testling.post(alert, hook, "github", room.now, refused);
      CHECK(refused.refused.has_value());
      CHECK(refused.out.empty());
      Effects member;
      room.testling.set_affiliation(hook, Affiliation::member, "", member);
      Effects ok;
      room.testling.post(alert, hook, "github", room.now, ok);
      CHECK_FALSE(ok.refused.has_value());
      CHECK(ok.out.size() == 1); // the owner
    }
  }
  SUBCASE("banned") {
    Effects ban;
    testling.set_affiliation(hook, Affiliation::outcast, "spam", ban);
    fx = post("github");
    CHECK(fx.refused.has_value());
    CHECK(fx.out.empty());
  }
}

TEST_CASE_FIXTURE(Fixture, "private messages between occupants") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto fx = send("<message from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/firstwitch' type='chat'>"
                 "<body>psst</body></message>");
  REQUIRE(fx.out.size() == 1);
  CHECK(fx.out[0].attribute("to") == "crone1@shakespeare.lit/desktop");
  CHECK(fx.out[0].attribute("from") == "coven@chat.shakespeare.lit/thirdwitch");
  CHECK(fx.out[0].child("x", ns::muc_user) != nullptr);
  fx = send("<message from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/nobody' type='chat'>"
            "<body>psst</body></message>");
  CHECK(error_condition(fx.out.at(0)) == "item-not-found");
  fx = send("<message from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/firstwitch' "
            "type='groupchat'><body>psst</body></message>");
  CHECK(error_condition(fx.out.at(0)) == "bad-request");
  fx = send("<message from='outsider@shakespeare.lit/x' to='coven@chat.shakespeare.lit/firstwitch' type='chat'>"
            "<body>psst</body></message>");
  CHECK(error_condition(fx.out.at(0)) == "not-acceptable");
  configure(field("muc#roomconfig_allowpm", "none"));
  fx = send("<message from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/firstwitch' type='chat'>"
            "<body>psst</body></message>");
  CHECK(error_condition(fx.out.at(0)) == "forbidden");
}

TEST_CASE_FIXTURE(Fixture, "nickname change: 303 from the old nickname, then the new one; conflicts refused") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto fx = send("<presence from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/firstwitch'/>");
  CHECK(error_condition(fx.out.at(0)) == "conflict");
  fx = send("<presence from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/oldhag'/>");
  const auto to_hag = to(fx, "hag66@shakespeare.lit/pda");
  REQUIRE(to_hag.size() == 2);
  CHECK(to_hag[0].attribute("type") == "unavailable");
  CHECK(to_hag[0].attribute("from") == "coven@chat.shakespeare.lit/thirdwitch");
  CHECK(item_attr(to_hag[0], "nick") == "oldhag");
  CHECK(codes(to_hag[0]) == std::vector<int>{110, 303});
  CHECK(to_hag[1].attribute("from") == "coven@chat.shakespeare.lit/oldhag");
  CHECK(codes(to_hag[1]) == std::vector<int>{110});
  const auto to_crone = to(fx, "crone1@shakespeare.lit/desktop");
  REQUIRE(to_crone.size() == 2);
  CHECK(codes(to_crone[0]) == std::vector<int>{303});
  CHECK(testling.occupants().back().nick == "oldhag");
}

TEST_CASE_FIXTURE(Fixture, "leaving: 110 to the one who leaves, then the others; a temporary room goes when empty") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto fx = send("<presence from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/thirdwitch' "
                 "type='unavailable'><status>gone to the heath</status></presence>");
  REQUIRE(fx.out.size() == 2);
  CHECK(fx.out[0].attribute("to") == "hag66@shakespeare.lit/pda");
  CHECK(codes(fx.out[0]) == std::vector<int>{110});
  CHECK(item_attr(fx.out[0], "role") == "none");
  CHECK(fx.out[1].attribute("to") == "crone1@shakespeare.lit/desktop");
  CHECK(fx.out[1].child("status", ns::client)->text() == "gone to the heath");
  CHECK_FALSE(fx.destroyed);
  fx = send("<presence from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit/firstwitch' "
            "type='unavailable'/>");
  CHECK(fx.destroyed);
}

TEST_CASE_FIXTURE(Fixture, "a persistent room stays when empty and its state round-trips through a snapshot") {
  open_instant();
  configure(field("muc#roomconfig_persistentroom", "1") + field("muc#roomconfig_roomname", "The Coven") +
            field("muc#roomconfig_whois", "anyone"));
  send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='m'>"
       "<query xmlns='http://jabber.org/protocol/muc#admin'>"
       "<item affiliation='member' jid='hag66@shakespeare.lit' nick='thirdwitch'/></query></iq>");
  auto fx = send("<presence from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit/firstwitch' "
                 "type='unavailable'/>");
  CHECK_FALSE(fx.destroyed);
  const auto stored = testling.snapshot();
  CHECK(stored.config.persistent);
  CHECK(stored.config.name == "The Coven");
  CHECK(stored.config.whois == storage::Whois::anyone);
  REQUIRE(stored.affiliations.size() == 2);
  CHECK(stored.affiliations[0].jid == "crone1@shakespeare.lit");
  CHECK(stored.affiliations[1].affiliation == Affiliation::member);

  Room restored(room_jid, stored, limits, /*locked=*/false);
  CHECK(restored.snapshot() == stored);
  CHECK(restored.display_name() == "The Coven");
  // The reserved nickname is kept for its owner (§7.2.9).
  Effects refused;
  const Element p = xml("<presence from='someone@shakespeare.lit/x' to='coven@chat.shakespeare.lit/thirdwitch'>"
                        "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
  restored.handle(p, jid("someone@shakespeare.lit/x"), jid("coven@chat.shakespeare.lit/thirdwitch"), now, refused);
  CHECK(error_condition(refused.out.at(0)) == "conflict");
  // Non-anonymous: 100 on entering.
  Effects entered;
  const Element q = xml("<presence from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/thirdwitch'>"
                        "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
  restored.handle(q, jid("hag66@shakespeare.lit/pda"), jid("coven@chat.shakespeare.lit/thirdwitch"), now, entered);
  CHECK(codes(entered.out.at(0)) == std::vector<int>{100, 110});
}

TEST_CASE_FIXTURE(Fixture, "kicking and banning") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  join("wiccarocks@shakespeare.lit/laptop", "secondwitch");
  // A participant is no moderator.
  auto fx = send("<iq from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit' type='set' id='k0'>"
                 "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='secondwitch' role='none'/>"
                 "</query></iq>");
  CHECK(error_condition(fx.out.at(0)) == "forbidden");
  // §8.2: kicked, with actor and reason, 307.
  fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='k1'>"
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='secondwitch' role='none'>"
            "<reason>Avaunt</reason></item></query></iq>");
  const auto kicked = to(fx, "wiccarocks@shakespeare.lit/laptop");
  REQUIRE(kicked.size() == 1);
  CHECK(kicked[0].attribute("type") == "unavailable");
  CHECK(codes(kicked[0]) == std::vector<int>{110, 307});
  CHECK(item(kicked[0])->child("actor", ns::muc_user)->attribute("nick") == "firstwitch");
  CHECK(item(kicked[0])->child("reason", ns::muc_user)->text() == "Avaunt");
  CHECK(codes(to(fx, "hag66@shakespeare.lit/pda").at(0)) == std::vector<int>{307});
  CHECK(fx.out.back().attribute("type") == "result");
  CHECK(testling.occupants().size() == 2);

  // The owner cannot kick herself; an unknown nick is not found.
  fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='k2'>"
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='firstwitch' role='none'/></query></iq>");
  CHECK(error_condition(fx.out.at(0)) == "conflict");
  fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='k3'>"
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='nobody' role='none'/></query></iq>");
  CHECK(error_condition(fx.out.at(0)) == "item-not-found");

  // §9.1: banned, 301, stored, acknowledged after storage.
  fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='b1'>"
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item jid='hag66@shakespeare.lit' "
            "affiliation='outcast'><reason>Treason</reason></item></query></iq>");
  const auto banned = to(fx, "hag66@shakespeare.lit/pda");
  REQUIRE(banned.size() == 1);
  CHECK(codes(banned[0]) == std::vector<int>{110, 301});
  CHECK(item_attr(banned[0], "affiliation") == "outcast");
  CHECK(fx.stored_changed);
  REQUIRE(fx.ack.has_value());
  fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='get' id='l'>"
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>");
  const Element* list = fx.out.at(0).child("query", ns::muc_admin);
  REQUIRE(list != nullptr);
  CHECK(list->child("item", ns::muc_admin)->attribute("jid") == "hag66@shakespeare.lit");
  CHECK(list->child("item", ns::muc_admin)->child("reason", ns::muc_admin)->text() == "Treason");
  fx = join("hag66@shakespeare.lit/pda", "thirdwitch");
  CHECK(error_condition(fx.out.at(0)) == "forbidden");

  // Banning oneself, or leaving the room without an owner, is a conflict.
  fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='b2'>"
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item jid='crone1@shakespeare.lit' "
            "affiliation='outcast'/></query></iq>");
  CHECK(error_condition(fx.out.at(0)) == "conflict");
  fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='b3'>"
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item jid='crone1@shakespeare.lit' "
            "affiliation='member'/></query></iq>");
  CHECK(error_condition(fx.out.at(0)) == "conflict");

  // An admin may not touch an owner (§9.1, §10).
  send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='a'>"
       "<query xmlns='http://jabber.org/protocol/muc#admin'><item jid='wiccarocks@shakespeare.lit' "
       "affiliation='admin'/></query></iq>");
  join("wiccarocks@shakespeare.lit/laptop", "secondwitch");
  fx = send("<iq from='wiccarocks@shakespeare.lit/laptop' to='coven@chat.shakespeare.lit' type='set' id='x'>"
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item jid='crone1@shakespeare.lit' "
            "affiliation='outcast'/></query></iq>");
  CHECK(error_condition(fx.out.at(0)) == "not-allowed");
  fx = send("<iq from='wiccarocks@shakespeare.lit/laptop' to='coven@chat.shakespeare.lit' type='set' id='y'>"
            "<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='firstwitch' role='none'/></query></iq>");
  CHECK(error_condition(fx.out.at(0)) == "not-allowed");
}

TEST_CASE_FIXTURE(Fixture, "becoming members-only removes non-members with 322") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto fx = configure(field("muc#roomconfig_membersonly", "1"));
  const auto removed = to(fx, "hag66@shakespeare.lit/pda");
  REQUIRE(removed.size() == 2); // 104, then the removal
  CHECK(codes(removed[0]) == std::vector<int>{104});
  CHECK(codes(removed[1]) == std::vector<int>{110, 322});
  CHECK(testling.occupants().size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "the configuration form: owners only, with the current values; bad values refused") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto fx = send("<iq from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit' type='get' id='f'>"
                 "<query xmlns='http://jabber.org/protocol/muc#owner'/></iq>");
  CHECK(error_condition(fx.out.at(0)) == "forbidden");
  fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='get' id='f'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'/></iq>");
  const Element* form = fx.out.at(0).child("query", ns::muc_owner)->child("x", ns::data_forms);
  REQUIRE(form != nullptr);
  std::vector<std::string> vars;
  for (const Element& f : form->children("field", ns::data_forms)) {
    vars.emplace_back(f.attribute("var").value_or(""));
  }
  for (const char* var :
       {"FORM_TYPE", "muc#roomconfig_roomname", "muc#roomconfig_roomdesc", "muc#roomconfig_persistentroom",
        "muc#roomconfig_publicroom", "muc#roomconfig_membersonly", "muc#roomconfig_moderatedroom",
        "muc#roomconfig_passwordprotectedroom", "muc#roomconfig_roomsecret", "muc#roomconfig_maxusers",
        "muc#roomconfig_whois", "muc#maxhistoryfetch", "muc#roomconfig_roomowners"}) {
    CHECK_MESSAGE(std::find(vars.begin(), vars.end(), var) != vars.end(), var);
  }
  fx = configure(field("muc#roomconfig_whois", "everybody"));
  CHECK(error_condition(fx.out.at(0)) == "not-acceptable");
  fx = configure(field("muc#roomconfig_passwordprotectedroom", "1"));
  CHECK(error_condition(fx.out.at(0)) == "not-acceptable");
  fx = configure(field("muc#maxhistoryfetch", "many"));
  CHECK(error_condition(fx.out.at(0)) == "not-acceptable");
  // Capped by the service.
  configure(field("muc#maxhistoryfetch", "500") + field("muc#roomconfig_maxusers", "1000"));
  CHECK(testling.config().history_length == 5);
  CHECK(testling.config().max_occupants == 10);
  // 104, and 172 when the room becomes non-anonymous.
  fx = configure(field("muc#roomconfig_whois", "anyone"));
  CHECK(codes(to(fx, "hag66@shakespeare.lit/pda").at(0)) == std::vector<int>{104, 172});
  // The owner list from the form.
  fx = configure("<field var='muc#roomconfig_roomowners'><value>crone1@shakespeare.lit</value>"
                 "<value>hag66@shakespeare.lit</value></field>");
  REQUIRE(fx.ack.has_value());
  CHECK(testling.affiliation_of(jid("hag66@shakespeare.lit")) == Affiliation::owner);
  CHECK(item_attr(to(fx, "crone1@shakespeare.lit/desktop").at(0), "role") == "moderator");
  fx = configure("<field var='muc#roomconfig_roomowners'/>");
  CHECK(error_condition(fx.out.at(0)) == "not-acceptable");
}

TEST_CASE_FIXTURE(Fixture, "destroying: each occupant told once, with the reason and the alternate venue") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto fx = send("<iq from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit' type='set' id='d0'>"
                 "<query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>");
  CHECK(error_condition(fx.out.at(0)) == "forbidden");
  fx = send("<iq from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='set' id='d1'>"
            "<query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='heath@chat.shakespeare.lit'>"
            "<reason>Macbeth doth come.</reason></destroy></query></iq>");
  CHECK(fx.destroyed);
  REQUIRE(fx.ack.has_value());
  REQUIRE(fx.out.size() == 2);
  for (const auto& p : fx.out) {
    CHECK(p.attribute("type") == "unavailable");
    const Element* destroyed = p.child("x", ns::muc_user)->child("destroy", ns::muc_user);
    REQUIRE(destroyed != nullptr);
    CHECK(destroyed->attribute("jid") == "heath@chat.shakespeare.lit");
    CHECK(destroyed->child("reason", ns::muc_user)->text() == "Macbeth doth come.");
  }
}

TEST_CASE_FIXTURE(Fixture, "invitations: mediated, with the password; members-only makes the invitee a member") {
  open_instant();
  configure(field("muc#roomconfig_passwordprotectedroom", "1") + field("muc#roomconfig_roomsecret", "cauldron") +
            field("muc#roomconfig_membersonly", "1"));
  auto fx = send("<message from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' id='i1'>"
                 "<x xmlns='http://jabber.org/protocol/muc#user'><invite to='hecate@shakespeare.lit'>"
                 "<reason>Hey Hecate</reason></invite></x></message>");
  REQUIRE(fx.out.size() == 1);
  const Element& invitation = fx.out[0];
  CHECK(invitation.attribute("from") == "coven@chat.shakespeare.lit");
  CHECK(invitation.attribute("to") == "hecate@shakespeare.lit");
  const Element* x = invitation.child("x", ns::muc_user);
  CHECK(x->child("invite", ns::muc_user)->attribute("from") == "crone1@shakespeare.lit/desktop");
  CHECK(x->child("invite", ns::muc_user)->child("reason", ns::muc_user)->text() == "Hey Hecate");
  CHECK(x->child("password", ns::muc_user)->text() == "cauldron");
  CHECK(fx.stored_changed);
  CHECK(testling.affiliation_of(jid("hecate@shakespeare.lit")) == Affiliation::member);
  // The invitee enters, then a member who may not invite tries.
  fx = join("hecate@shakespeare.lit/broom", "hecate", "<password>cauldron</password>");
  CHECK(item_attr(self_presence(fx, "hecate@shakespeare.lit/broom"), "affiliation") == "member");
  fx = send("<message from='hecate@shakespeare.lit/broom' to='coven@chat.shakespeare.lit'>"
            "<x xmlns='http://jabber.org/protocol/muc#user'><invite to='hag66@shakespeare.lit'/></x></message>");
  CHECK(error_condition(fx.out.at(0)) == "forbidden");
  // §7.8.2: a decline goes back to the inviter.
  fx = send("<message from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit'>"
            "<x xmlns='http://jabber.org/protocol/muc#user'><decline to='crone1@shakespeare.lit'>"
            "<reason>Sorry, busy</reason></decline></x></message>");
  REQUIRE(fx.out.size() == 1);
  CHECK(fx.out[0].attribute("to") == "crone1@shakespeare.lit");
  const Element* decline = fx.out[0].child("x", ns::muc_user)->child("decline", ns::muc_user);
  CHECK(decline->attribute("from") == "hag66@shakespeare.lit");
  CHECK(decline->child("reason", ns::muc_user)->text() == "Sorry, busy");
}

TEST_CASE_FIXTURE(Fixture, "two sessions of one user share a nickname") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto fx = join("hag66@shakespeare.lit/laptop", "thirdwitch");
  CHECK(to(fx, "crone1@shakespeare.lit/desktop").empty()); // nothing new for the others
  CHECK(codes(self_presence(fx, "hag66@shakespeare.lit/laptop")) == std::vector<int>{110});
  fx = send("<message from='crone1@shakespeare.lit/desktop' to='coven@chat.shakespeare.lit' type='groupchat'>"
            "<body>both of you</body></message>");
  CHECK(fx.out.size() == 3);
  fx = send("<presence from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/thirdwitch' "
            "type='unavailable'/>");
  REQUIRE(fx.out.size() == 1); // only that session hears it
  CHECK(fx.out[0].attribute("to") == "hag66@shakespeare.lit/pda");
  CHECK(testling.occupants().size() == 2);
}

TEST_CASE_FIXTURE(Fixture, "disco#info describes the room; self-ping answers for occupants") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  auto fx = send("<iq from='outsider@shakespeare.lit/x' to='coven@chat.shakespeare.lit' type='get' id='i'>"
                 "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  const Element* query = fx.out.at(0).child("query", ns::disco_info);
  REQUIRE(query != nullptr);
  CHECK(query->child("identity", ns::disco_info)->attribute("category") == "conference");
  std::vector<std::string> features;
  for (const Element& f : query->children("feature", ns::disco_info)) {
    features.emplace_back(f.attribute("var").value_or(""));
  }
  for (const char* feature : {"http://jabber.org/protocol/muc", "muc_public", "muc_temporary", "muc_open",
                              "muc_unmoderated", "muc_semianonymous", "muc_unsecured"}) {
    CHECK_MESSAGE(std::find(features.begin(), features.end(), feature) != features.end(), feature);
  }
  CHECK(text_of(fx.out[0]).find("<value>2</value>") != std::string::npos); // muc#roominfo_occupants

  fx = send("<iq from='hag66@shakespeare.lit/pda' to='coven@chat.shakespeare.lit/thirdwitch' type='get' id='p'>"
            "<ping xmlns='urn:xmpp:ping'/></iq>");
  CHECK(fx.out.at(0).attribute("type") == "result");
  fx = send("<iq from='outsider@shakespeare.lit/x' to='coven@chat.shakespeare.lit/thirdwitch' type='get' id='p'>"
            "<ping xmlns='urn:xmpp:ping'/></iq>");
  CHECK(error_condition(fx.out.at(0)) == "not-acceptable");
}

TEST_CASE_FIXTURE(Fixture, "service shutdown: 110 and 332 to each occupant") {
  open_instant();
  join("hag66@shakespeare.lit/pda", "thirdwitch");
  Effects fx;
  testling.shutdown(fx);
  REQUIRE(fx.out.size() == 2);
  for (const auto& p : fx.out) {
    CHECK(codes(p) == std::vector<int>{110, 332});
  }
  CHECK(testling.empty());
}
