// libFuzzer target for router/muc: a conversation of arbitrary stanzas with one room. The input
// is split at NUL bytes; each piece is one stanza, its first byte choosing which of four users
// sends it. Whatever the stanzas say, the room must not crash and its invariants must hold; a
// violation traps so that libFuzzer keeps the input.

#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "router/muc/room.hpp"

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace {

using parley::core::jid::Jid;
using namespace parley::router::muc;
namespace ns = parley::core::xml::ns;

void require(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

void check(const Room& room, const Effects& fx) {
  std::set<std::string> nicks;
  for (const auto& occupant : room.occupants()) {
    require(!occupant.sessions.empty());
    require(!occupant.nick.empty());
    require(nicks.insert(occupant.nick).second);
    require(occupant.role != Role::none);
  }
  require(room.history().size() <= 5);
  for (const auto& stanza : fx.out) {
    require(stanza.attribute("to").has_value());
  }
  const auto stored = room.snapshot();
  std::set<std::string> jids;
  bool owner = false;
  for (const auto& entry : stored.affiliations) {
    require(entry.affiliation != Affiliation::none);
    require(jids.insert(entry.jid).second);
    owner = owner || entry.affiliation == Affiliation::owner;
  }
  require(owner); // XEP-0045 §10.7: never without an owner
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Jid room_jid = Jid::parse("coven@chat.example").value();
  static const Jid users[] = {Jid::parse("crone@example/desk").value(), Jid::parse("hag@example/pda").value(),
                              Jid::parse("hag@example/laptop").value(), Jid::parse("x@other.example/y").value()};
  const Limits limits{8, 5};
  Room room(room_jid, Room::initial_state(room_jid, users[0].bare(), limits, {}), limits, /*locked=*/false);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t start = 0;
  std::int64_t clock = 0;
  while (start < input.size()) {
    std::size_t end = input.find('\0', start);
    if (end == std::string_view::npos) {
      end = input.size();
    }
    const std::string_view piece = input.substr(start, end - start);
    start = end + 1;
    if (piece.empty()) {
      continue;
    }
    const Jid& from = users[static_cast<std::uint8_t>(piece[0]) % 4];
    auto stanza = parley::core::xml::parse_element(piece.substr(1), ns::client);
    if (!stanza) {
      continue;
    }
    auto to = Jid::parse(stanza->attribute("to").value_or(""));
    if (!to || to->bare() != room_jid) {
      to = room_jid;
    }
    stanza->set_attribute("from", from.full());
    stanza->set_attribute("to", to->full());
    Effects fx;
    clock += 1'000'000;
    room.handle(*stanza, from, *to, parley::storage::Timestamp(std::chrono::microseconds(clock)), fx);
    check(room, fx);
    if (fx.destroyed) {
      break;
    }
  }
  return 0;
}
