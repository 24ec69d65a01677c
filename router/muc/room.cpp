#include "router/muc/room.hpp"

#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"
#include "router/modules/time_format.hpp"
#include "router/modules/archive_rules.hpp"
#include "router/modules/data_form.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace parley::router::muc {

namespace ns = core::xml::ns;
using core::jid::Jid;
using core::stanza::ErrorType;
using core::stanza::stanza_errc;
using core::xml::Element;
using storage::Timestamp;
using modules::add_field;
using modules::add_option;
using modules::DataForm;
using modules::make_form;

namespace {

constexpr std::string_view roomconfig_ns = "http://jabber.org/protocol/muc#roomconfig";
constexpr std::string_view roominfo_ns = "http://jabber.org/protocol/muc#roominfo";
// XEP-0045 §7.4: groupchat messages are reflected with the id their sender gave them.
constexpr std::string_view stable_id_feature = "http://jabber.org/protocol/muc#stable_id";
// Most entries on a room's affiliation lists together: each change rewrites the stored room.
constexpr std::size_t max_affiliations = 10'000;

std::string_view type_of(const Element& stanza) {
  return stanza.attribute("type").value_or("");
}

Element with_to(Element stanza, const Jid& to) {
  stanza.set_attribute("to", to.full());
  return stanza;
}

Element child_text(std::string name, std::string_view ns_name, std::string_view text) {
  Element e(std::move(name), std::string(ns_name));
  e.add_text(text);
  return e;
}

/// The muc#user <x/> of `stanza`, added when missing.
Element& user_x(Element& stanza) {
  if (Element* x = stanza.child("x", ns::muc_user)) {
    return *x;
  }
  return stanza.add_child(Element("x", std::string(ns::muc_user)));
}

/// Appends <status code='…'/> for each code, in ascending order as XEP-0045's examples do.
void add_statuses(Element& stanza, std::vector<int> codes) {
  if (codes.empty()) {
    return;
  }
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  Element& x = user_x(stanza);
  for (const int code : codes) {
    x.add_child(Element("status", std::string(ns::muc_user))).set_attribute("code", std::to_string(code));
  }
}

void reply_error(Effects& fx, const Element& stanza, stanza_errc condition, std::string_view text = {}) {
  if (core::stanza::may_answer_with_error(stanza)) {
    fx.out.push_back(core::stanza::make_error(stanza, condition, text));
  }
}

/// The error answering an attempt to enter (XEP-0045 §7.2.6 to §7.2.11): the <x/> of the
/// request comes back empty, so that a password is never echoed.
void presence_error(Effects& fx, const Element& p, stanza_errc condition, std::string_view text = {},
                    std::optional<ErrorType> type = std::nullopt) {
  Element echo("presence", std::string(p.ns()));
  for (const auto& attribute : p.attributes()) {
    if (attribute.ns.empty() && (attribute.name == "id" || attribute.name == "from" || attribute.name == "to")) {
      echo.set_attribute(attribute.name, attribute.value);
    }
  }
  echo.add_child(Element("x", std::string(ns::muc)));
  fx.out.push_back(type ? core::stanza::make_error(echo, condition, *type, text)
                        : core::stanza::make_error(echo, condition, text));
}

/// What the others see of a client's presence: its payload without addressing and MUC
/// elements.
Element clean_presence(const Element& p) {
  Element clean("presence", std::string(ns::client));
  for (const Element& child : p.children()) {
    if (child.name() == "x" && (child.ns() == ns::muc || child.ns() == ns::muc_user)) {
      continue;
    }
    clean.add_child(child);
  }
  return clean;
}

/// The resourcepart of a 'to' attribute as the client wrote it, before preparation.
std::string_view raw_resource(const Element& stanza) {
  const std::string_view to = stanza.attribute("to").value_or("");
  const auto slash = to.find('/');
  return slash == std::string_view::npos ? std::string_view() : to.substr(slash + 1);
}

bool is_domain(std::string_view jid) {
  return jid.find('@') == std::string_view::npos;
}

std::optional<std::uint32_t> parse_count(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string bool_text(bool value) {
  return value ? "1" : "0";
}

} // namespace

std::string_view to_string(Role role) noexcept {
  switch (role) {
  case Role::none: return "none";
  case Role::visitor: return "visitor";
  case Role::participant: return "participant";
  case Role::moderator: return "moderator";
  }
  return "none";
}

std::optional<Role> parse_role(std::string_view name) noexcept {
  for (auto candidate : {Role::none, Role::visitor, Role::participant, Role::moderator}) {
    if (to_string(candidate) == name) {
      return candidate;
    }
  }
  return std::nullopt;
}

Element not_in_room(const Element& presence) {
  // XEP-0045 §7.2.22 (groupchat 1.0): a presence without <x/> from someone who is not an
  // occupant comes from a client that lost track of the room; it is kicked explicitly, with
  // 110, 307 and 333, so that it enters again properly.
  Element out("presence", std::string(ns::client));
  out.set_attribute("from", std::string(presence.attribute("to").value_or("")));
  out.set_attribute("to", std::string(presence.attribute("from").value_or("")));
  out.set_attribute("type", "unavailable");
  Element& item = user_x(out).add_child(Element("item", std::string(ns::muc_user)));
  item.set_attribute("affiliation", "none");
  item.set_attribute("role", "none");
  item.add_child(child_text("reason", ns::muc_user, "You are not in the room."));
  add_statuses(out, {110, 307, 333});
  return out;
}

// ---- construction and state ------------------------------------------------------------------

Room::Room(Jid jid, storage::StoredRoom state, Limits limits, bool locked)
    : jid_(std::move(jid)), state_(std::move(state)), limits_(limits), locked_(locked) {
  for (auto& entry : state_.affiliations) {
    if (entry.affiliation != Affiliation::none) {
      entries_[entry.jid] = Entry{entry.affiliation, std::move(entry.nick), std::move(entry.reason)};
    }
  }
  state_.affiliations.clear();
  state_.config.history_length = std::min(state_.config.history_length, limits_.max_history);
  if (state_.config.max_occupants > limits_.max_occupants) {
    state_.config.max_occupants = limits_.max_occupants;
  }
}

storage::StoredRoom Room::initial_state(const Jid& room, const Jid& creator, const Limits& limits, Timestamp now) {
  storage::StoredRoom state;
  state.service = std::string(room.domain());
  state.room = std::string(room.local());
  state.created = now;
  state.config.history_length = std::min<std::uint32_t>(state.config.history_length, limits.max_history);
  // XEP-0045 §10.1.1: whoever creates the room is its owner.
  state.affiliations.push_back(
      storage::RoomAffiliation{std::string(creator.bare_string()), Affiliation::owner, {}, {}});
  return state;
}

storage::StoredRoom Room::snapshot() const {
  storage::StoredRoom out = state_;
  out.affiliations.reserve(entries_.size());
  for (const auto& [jid, entry] : entries_) {
    out.affiliations.push_back(storage::RoomAffiliation{jid, entry.affiliation, entry.nick, entry.reason});
  }
  return out;
}

std::string Room::display_name() const {
  return state_.config.name.empty() ? std::string(jid_.local()) : state_.config.name;
}

RoomSummary Room::summary() const {
  RoomSummary out;
  out.jid = jid_.full();
  out.name = display_name();
  out.persistent = state_.config.persistent;
  out.public_room = state_.config.public_room;
  out.members_only = state_.config.members_only;
  out.password_protected = !state_.config.password.empty();
  out.locked = locked_;
  out.occupants = occupants_.size();
  return out;
}

Affiliation Room::affiliation_of(const Jid& jid) const {
  if (const auto found = entries_.find(std::string(jid.bare_string())); found != entries_.end()) {
    return found->second.affiliation;
  }
  // An entry for a whole domain (a ban of a server, say) applies to each of its users.
  if (const auto found = entries_.find(std::string(jid.domain())); found != entries_.end()) {
    return found->second.affiliation;
  }
  return Affiliation::none;
}

Role Room::default_role(Affiliation affiliation) const noexcept {
  // XEP-0045 §5.1.2
  switch (affiliation) {
  case Affiliation::owner:
  case Affiliation::admin: return Role::moderator;
  case Affiliation::member: return Role::participant;
  case Affiliation::none: return state_.config.moderated ? Role::visitor : Role::participant;
  case Affiliation::outcast: return Role::none;
  }
  return Role::none;
}

std::uint32_t Room::max_occupants() const noexcept {
  const auto own = state_.config.max_occupants;
  return own == 0 ? limits_.max_occupants : std::min(own, limits_.max_occupants);
}

std::size_t Room::history_limit() const noexcept {
  return std::min(state_.config.history_length, limits_.max_history);
}

Jid Room::occupant_jid(std::string_view nick) const {
  auto jid = jid_.with_resource(nick);
  return jid ? *jid : jid_;
}

bool Room::sees_jids(const Occupant* viewer) const noexcept {
  return state_.config.whois == storage::Whois::anyone || (viewer != nullptr && viewer->role == Role::moderator);
}

Occupant* Room::find_session(const Jid& full) {
  const auto index = index_of_session(full);
  return index ? &occupants_[*index] : nullptr;
}

std::optional<std::size_t> Room::index_of_session(const Jid& full) const {
  for (std::size_t i = 0; i < occupants_.size(); ++i) {
    const auto& sessions = occupants_[i].sessions;
    if (std::find(sessions.begin(), sessions.end(), full) != sessions.end()) {
      return i;
    }
  }
  return std::nullopt;
}

Occupant* Room::find_nick(std::string_view nick) {
  const auto found =
      std::find_if(occupants_.begin(), occupants_.end(), [&](const Occupant& o) { return o.nick == nick; });
  return found == occupants_.end() ? nullptr : &*found;
}

const Occupant* Room::find_nick(std::string_view nick) const {
  const auto found =
      std::find_if(occupants_.begin(), occupants_.end(), [&](const Occupant& o) { return o.nick == nick; });
  return found == occupants_.end() ? nullptr : &*found;
}

const std::string* Room::reserved_by(std::string_view nick) const {
  for (const auto& [jid, entry] : entries_) {
    if (!entry.nick.empty() && entry.nick == nick && entry.affiliation != Affiliation::outcast) {
      return &jid;
    }
  }
  return nullptr;
}

void Room::set_entry(const std::string& jid, Affiliation affiliation, std::string_view reason) {
  if (affiliation == Affiliation::none) {
    entries_.erase(jid);
    return;
  }
  Entry& entry = entries_[jid];
  entry.affiliation = affiliation;
  entry.reason = std::string(reason);
  if (affiliation == Affiliation::outcast) {
    entry.nick.clear(); // XEP-0045 §9.1: a ban frees the reserved nickname
  }
}

// ---- presence stanzas ------------------------------------------------------------------------

Element Room::presence_of(const Occupant& occupant, const Occupant* viewer) const {
  Element p = occupant.presence;
  p.set_attribute("from", occupant_jid(occupant.nick).full());
  Element& item = user_x(p).add_child(Element("item", std::string(ns::muc_user)));
  item.set_attribute("affiliation", std::string(storage::to_string(affiliation_of(occupant.bare))));
  item.set_attribute("role", std::string(to_string(occupant.role)));
  if (viewer == &occupant || sees_jids(viewer)) {
    item.set_attribute("jid", occupant.sessions.front().full());
  }
  return p;
}

void Room::broadcast_presence(const Occupant& occupant, const std::vector<int>& codes, Effects& fx) const {
  for (const auto& viewer : occupants_) {
    Element p = presence_of(occupant, &viewer);
    std::vector<int> all = codes;
    if (&viewer == &occupant) {
      all.push_back(110);
    }
    add_statuses(p, all);
    for (const auto& session : viewer.sessions) {
      fx.out.push_back(with_to(p, session));
    }
  }
}

void Room::broadcast(const Element& stanza, Effects& fx) const {
  for (const auto& occupant : occupants_) {
    for (const auto& session : occupant.sessions) {
      fx.out.push_back(with_to(stanza, session));
    }
  }
}

// ---- entering, changing, leaving -------------------------------------------------------------

void Room::handle(const Element& stanza, const Jid& from, const Jid& to, Timestamp now, Effects& fx) {
  const std::string_view name = stanza.name();
  if (name == "presence") {
    on_presence(stanza, from, to, now, fx);
  } else if (name == "message") {
    on_message(stanza, from, to, now, fx);
  } else if (name == "iq") {
    on_iq(stanza, from, to, fx);
  }
}

void Room::create(const Element& presence, const Jid& from, const Jid& to, Timestamp now, Effects& fx) {
  join(presence, from, to, now, /*created=*/true, fx);
}

void Room::on_presence(const Element& p, const Jid& from, const Jid& to, Timestamp now, Effects& fx) {
  const std::string_view type = type_of(p);
  const auto index = index_of_session(from);
  if (type == "unavailable") {
    if (index) {
      Removal removal;
      removal.presence = &p;
      leave(*index, from, removal, fx); // XEP-0045 §7.14
    }
    return;
  }
  if (type == "error") {
    if (index) {
      // XEP-0045 §14.1: the occupant's client answers with errors, so it is gone (333).
      Removal removal;
      removal.codes = {333};
      leave(*index, from, removal, fx);
    }
    return;
  }
  if (!type.empty()) {
    return; // probes and subscriptions mean nothing to a room
  }
  if (to.resource().empty()) {
    presence_error(fx, p, stanza_errc::jid_malformed, "a nickname is needed to enter a room"); // §7.2.1
    return;
  }
  const Element* x = p.child("x", ns::muc);
  if (!index) {
    if (x == nullptr) {
      fx.out.push_back(not_in_room(p));
      return;
    }
    join(p, from, to, now, /*created=*/false, fx);
    return;
  }
  Occupant& occupant = occupants_[*index];
  if (to.resource() != occupant.nick) {
    change_nick(occupant, p, std::string(to.resource()), fx);
    return;
  }
  occupant.presence = clean_presence(p);
  if (x != nullptr) {
    // §7.2.1: an <x/>-tagged join from a session already in the room has lost track of it;
    // it gets everything a newcomer gets.
    std::vector<int> codes{110};
    if (state_.config.whois == storage::Whois::anyone) {
      codes.push_back(100);
    }
    welcome(occupant, from, p, now, codes, fx);
    return;
  }
  broadcast_presence(occupant, {}, fx); // §7.7
}

void Room::join(const Element& p, const Jid& from, const Jid& to, Timestamp now, bool created, Effects& fx) {
  const Element* x = p.child("x", ns::muc);
  const std::string nick(to.resource());
  const Jid bare = from.bare();
  const Affiliation affiliation = affiliation_of(bare);
  if (locked_ && affiliation != Affiliation::owner) {
    presence_error(fx, p, stanza_errc::item_not_found, "the room is not configured yet"); // §7.2.10
    return;
  }
  if (affiliation == Affiliation::outcast) {
    presence_error(fx, p, stanza_errc::forbidden, "you are banned from this room"); // §7.2.8
    return;
  }
  if (state_.config.members_only && affiliation < Affiliation::member) {
    presence_error(fx, p, stanza_errc::registration_required, "this room is for members only"); // §7.2.7
    return;
  }
  if (!state_.config.password.empty() && affiliation != Affiliation::owner) {
    const Element* password = x != nullptr ? x->child("password", ns::muc) : nullptr;
    if (password == nullptr || password->text() != state_.config.password) {
      presence_error(fx, p, stanza_errc::not_authorized, "a password is needed to enter this room"); // §7.2.6
      return;
    }
  }
  Occupant* holder = find_nick(nick);
  if (holder != nullptr && holder->bare != bare) {
    presence_error(fx, p, stanza_errc::conflict, "this nickname is in use"); // §7.2.9
    return;
  }
  if (holder == nullptr) {
    if (const std::string* owner = reserved_by(nick); owner != nullptr && *owner != bare.bare_string()) {
      presence_error(fx, p, stanza_errc::conflict, "this nickname is reserved"); // §7.2.9
      return;
    }
  }
  std::vector<int> self_codes;
  if (state_.config.whois == storage::Whois::anyone) {
    self_codes.push_back(100); // §7.2.4: the room is non-anonymous
  }
  self_codes.push_back(110);
  if (limits_.archive) {
    self_codes.push_back(170); // §7.2.12: the room is logged (it keeps an archive)
  }
  if (created) {
    self_codes.push_back(201); // §10.1.1
  }
  if (raw_resource(p) != nick) {
    self_codes.push_back(210); // §7.2.3: the nickname was changed (prepared) by the service
  }
  if (holder != nullptr) {
    // §7.2.9: another resource of the same user, under the same nickname: one occupant with
    // two sessions. Only the new session needs to hear about it.
    holder->sessions.push_back(from);
    welcome(*holder, from, p, now, self_codes, fx);
    return;
  }
  if (occupants_.size() >= max_occupants() && affiliation < Affiliation::admin) {
    // §7.2.11; admins and owners may still enter.
    presence_error(fx, p, stanza_errc::service_unavailable, "the room is full", ErrorType::wait);
    return;
  }
  Occupant occupant{nick, bare, {from}, default_role(affiliation), clean_presence(p)};
  occupants_.push_back(std::move(occupant));
  const Occupant& newcomer = occupants_.back();
  // §7.2.3: the others learn about the newcomer; the newcomer gets the others' presence,
  // then its own, then history and subject (§7.1).
  for (const auto& viewer : occupants_) {
    if (&viewer == &newcomer) {
      continue;
    }
    const Element p_new = presence_of(newcomer, &viewer);
    for (const auto& session : viewer.sessions) {
      fx.out.push_back(with_to(p_new, session));
    }
  }
  welcome(newcomer, from, p, now, self_codes, fx);
}

void Room::welcome(const Occupant& occupant, const Jid& session, const Element& p, Timestamp now,
                   const std::vector<int>& self_codes, Effects& fx) const {
  for (const auto& other : occupants_) {
    if (&other != &occupant) {
      fx.out.push_back(with_to(presence_of(other, &occupant), session));
    }
  }
  Element self = presence_of(occupant, &occupant);
  add_statuses(self, self_codes);
  if (auto id = p.attribute("id")) {
    self.set_attribute("id", std::string(*id)); // §7.2.3: the self-presence may reflect the id
  }
  fx.out.push_back(with_to(std::move(self), session));

  // §7.2.14, §7.2.15: history, stamped with the time the room received each message.
  const Element* x = p.child("x", ns::muc);
  const auto request = HistoryRequest::parse(x != nullptr ? x->child("history", ns::muc) : nullptr);
  for (const auto* entry : history_.select(request, now, history_limit())) {
    Element message = entry->message;
    Element& delay = message.add_child(Element("delay", std::string(ns::delay)));
    delay.set_attribute("from", jid_.full());
    delay.set_attribute("stamp", modules::format_timestamp(entry->at));
    fx.out.push_back(with_to(std::move(message), session));
  }

  // §7.2.16: the subject comes last, even when there is none.
  Element subject("message", std::string(ns::client));
  subject.set_attribute("from", state_.subject_by.empty() ? jid_.full() : occupant_jid(state_.subject_by).full());
  subject.set_attribute("type", "groupchat");
  subject.add_child(child_text("subject", ns::client, state_.subject));
  if (state_.subject_at != Timestamp{}) {
    Element& delay = subject.add_child(Element("delay", std::string(ns::delay)));
    delay.set_attribute("from", jid_.full());
    delay.set_attribute("stamp", modules::format_timestamp(state_.subject_at));
  }
  fx.out.push_back(with_to(std::move(subject), session));
}

void Room::change_nick(Occupant& occupant, const Element& p, std::string nick, Effects& fx) {
  const Occupant* holder = find_nick(nick);
  const std::string* owner = holder == nullptr ? reserved_by(nick) : nullptr;
  if (holder != nullptr || (owner != nullptr && *owner != occupant.bare.bare_string())) {
    // §7.6.3 (a session of the same user under that nick would merge two occupants: refused too)
    presence_error(fx, p, stanza_errc::conflict, "this nickname is in use");
    return;
  }
  // §7.6.1: everyone gets unavailable from the old nickname (303, with the new one), then
  // available from the new one.
  const Jid old_jid = occupant_jid(occupant.nick);
  for (const auto& viewer : occupants_) {
    Element gone("presence", std::string(ns::client));
    gone.set_attribute("from", old_jid.full());
    gone.set_attribute("type", "unavailable");
    Element& item = user_x(gone).add_child(Element("item", std::string(ns::muc_user)));
    item.set_attribute("affiliation", std::string(storage::to_string(affiliation_of(occupant.bare))));
    item.set_attribute("role", std::string(to_string(occupant.role)));
    if (&viewer == &occupant || sees_jids(&viewer)) {
      item.set_attribute("jid", occupant.sessions.front().full());
    }
    item.set_attribute("nick", nick);
    std::vector<int> codes{303};
    if (&viewer == &occupant) {
      codes.push_back(110);
    }
    add_statuses(gone, codes);
    for (const auto& session : viewer.sessions) {
      fx.out.push_back(with_to(gone, session));
    }
  }
  const bool rewritten = raw_resource(p) != nick;
  occupant.nick = std::move(nick);
  occupant.presence = clean_presence(p);
  for (const auto& viewer : occupants_) {
    Element now_here = presence_of(occupant, &viewer);
    std::vector<int> codes;
    if (&viewer == &occupant) {
      codes.push_back(110);
      if (rewritten) {
        codes.push_back(210);
      }
    }
    add_statuses(now_here, codes);
    for (const auto& session : viewer.sessions) {
      fx.out.push_back(with_to(now_here, session));
    }
  }
}

void Room::leave(std::size_t index, const Jid& session, const Removal& removal, Effects& fx) {
  Occupant& occupant = occupants_[index];
  if (occupant.sessions.size() > 1) {
    // One of several sessions leaves: the occupant stays; only that session is told.
    Element gone("presence", std::string(ns::client));
    gone.set_attribute("from", occupant_jid(occupant.nick).full());
    gone.set_attribute("type", "unavailable");
    Element& item = user_x(gone).add_child(Element("item", std::string(ns::muc_user)));
    item.set_attribute("affiliation", std::string(storage::to_string(affiliation_of(occupant.bare))));
    item.set_attribute("role", "none");
    item.set_attribute("jid", session.full());
    std::vector<int> codes = removal.codes;
    codes.push_back(110);
    add_statuses(gone, codes);
    fx.out.push_back(with_to(std::move(gone), session));
    occupant.sessions.erase(std::find(occupant.sessions.begin(), occupant.sessions.end(), session));
    return;
  }
  remove(index, removal, fx);
}

void Room::remove(std::size_t index, const Removal& removal, Effects& fx) {
  Occupant gone = std::move(occupants_[index]);
  occupants_.erase(occupants_.begin() + static_cast<std::ptrdiff_t>(index));
  const Affiliation affiliation = removal.affiliation.value_or(affiliation_of(gone.bare));
  const auto unavailable = [&](const Occupant* viewer, bool self) {
    Element p("presence", std::string(ns::client));
    p.set_attribute("from", occupant_jid(gone.nick).full());
    p.set_attribute("type", "unavailable");
    if (removal.presence != nullptr) {
      // §7.14: a custom exit message goes to everyone.
      for (const Element& status : removal.presence->children("status", ns::client)) {
        p.add_child(status);
      }
    }
    Element& item = user_x(p).add_child(Element("item", std::string(ns::muc_user)));
    item.set_attribute("affiliation", std::string(storage::to_string(affiliation)));
    item.set_attribute("role", "none");
    if (self || sees_jids(viewer)) {
      item.set_attribute("jid", gone.sessions.front().full());
    }
    if (!removal.actor.empty()) {
      item.add_child(Element("actor", std::string(ns::muc_user))).set_attribute("nick", removal.actor);
    }
    if (!removal.reason.empty()) {
      item.add_child(child_text("reason", ns::muc_user, removal.reason));
    }
    std::vector<int> codes = removal.codes;
    if (self) {
      codes.push_back(110);
    }
    add_statuses(p, codes);
    return p;
  };
  // §7.14: the one who leaves hears it first, then the others.
  const Element self = unavailable(&gone, true);
  for (const auto& session : gone.sessions) {
    fx.out.push_back(with_to(self, session));
  }
  for (const auto& viewer : occupants_) {
    const Element p = unavailable(&viewer, false);
    for (const auto& session : viewer.sessions) {
      fx.out.push_back(with_to(p, session));
    }
  }
  destroy_if_abandoned(fx);
}

void Room::destroy_if_abandoned(Effects& fx) {
  // §7.14: a temporary room goes with its last occupant; so does a room never configured.
  if (occupants_.empty() && (!state_.config.persistent || locked_)) {
    fx.destroyed = true;
  }
}

void Room::destroy(std::string_view reason, std::string_view alternate, Effects& fx) {
  // §10.9: one unavailable presence to each occupant, with <destroy/>, instead of a
  // broadcast of everyone leaving.
  for (const auto& occupant : occupants_) {
    Element p("presence", std::string(ns::client));
    p.set_attribute("from", occupant_jid(occupant.nick).full());
    p.set_attribute("type", "unavailable");
    Element& x = user_x(p);
    Element& item = x.add_child(Element("item", std::string(ns::muc_user)));
    item.set_attribute("affiliation", "none");
    item.set_attribute("role", "none");
    Element& destroyed = x.add_child(Element("destroy", std::string(ns::muc_user)));
    if (!alternate.empty()) {
      destroyed.set_attribute("jid", std::string(alternate));
    }
    if (!reason.empty()) {
      destroyed.add_child(child_text("reason", ns::muc_user, reason));
    }
    for (const auto& session : occupant.sessions) {
      fx.out.push_back(with_to(p, session));
    }
  }
  occupants_.clear();
  fx.destroyed = true;
  fx.stored_changed = true;
}

void Room::shutdown(Effects& fx) {
  // §14.2: each occupant is told, once, that the service goes away (332).
  for (const auto& occupant : occupants_) {
    Element p("presence", std::string(ns::client));
    p.set_attribute("from", occupant_jid(occupant.nick).full());
    p.set_attribute("type", "unavailable");
    Element& item = user_x(p).add_child(Element("item", std::string(ns::muc_user)));
    item.set_attribute("affiliation", std::string(storage::to_string(affiliation_of(occupant.bare))));
    item.set_attribute("role", "none");
    add_statuses(p, {110, 332});
    for (const auto& session : occupant.sessions) {
      fx.out.push_back(with_to(p, session));
    }
  }
  occupants_.clear();
}

// ---- messages --------------------------------------------------------------------------------

void Room::on_message(const Element& m, const Jid& from, const Jid& to, Timestamp now, Effects& fx) {
  const std::string_view type = type_of(m);
  if (type == "error") {
    return;
  }
  Occupant* sender = find_session(from);
  if (!to.resource().empty()) {
    private_message(m, sender, to, fx);
    return;
  }
  if (const Element* x = m.child("x", ns::muc_user);
      x != nullptr && (x->child("invite", ns::muc_user) != nullptr || x->child("decline", ns::muc_user) != nullptr)) {
    invitations(m, *x, from, sender, fx);
    return;
  }
  if (type == "groupchat") {
    if (sender == nullptr) {
      reply_error(fx, m, stanza_errc::not_acceptable, "you are not in the room"); // §7.4
      return;
    }
    if (m.child("subject", ns::client) != nullptr && m.child("body", ns::client) == nullptr) {
      change_subject(m, *sender, now, fx); // §8.1: a subject without a body
      return;
    }
    groupchat(m, *sender, now, fx);
    return;
  }
  // §7.4: a service may reject messages to the room that are not groupchat.
  if (m.child("body", ns::client) != nullptr && type != "headline") {
    reply_error(fx, m, stanza_errc::bad_request, "messages to the room are of type groupchat");
  }
}

void Room::private_message(const Element& m, const Occupant* sender, const Jid& to, Effects& fx) {
  if (type_of(m) == "groupchat") {
    reply_error(fx, m, stanza_errc::bad_request, "a private message is not of type groupchat"); // §7.5
    return;
  }
  if (sender == nullptr) {
    reply_error(fx, m, stanza_errc::not_acceptable, "you are not in the room"); // §7.5
    return;
  }
  const Occupant* target = find_nick(to.resource());
  if (target == nullptr) {
    reply_error(fx, m, stanza_errc::item_not_found, "nobody in the room has this nickname"); // §7.5
    return;
  }
  bool allowed = true;
  switch (state_.config.allow_pm) {
  case storage::AllowPm::anyone: break;
  case storage::AllowPm::participants: allowed = sender->role >= Role::participant; break;
  case storage::AllowPm::moderators: allowed = sender->role == Role::moderator; break;
  case storage::AllowPm::none: allowed = false; break;
  }
  if (!allowed) {
    reply_error(fx, m, stanza_errc::forbidden, "private messages are not allowed in this room");
    return;
  }
  Element out = m;
  out.set_attribute("from", occupant_jid(sender->nick).full());
  (void)user_x(out); // §7.5: marked as coming through the room, for carbons
  for (const auto& session : target->sessions) {
    fx.out.push_back(with_to(out, session));
  }
}

void Room::groupchat(const Element& m, const Occupant& sender, Timestamp now, Effects& fx) {
  if (sender.role < Role::participant) {
    reply_error(fx, m, stanza_errc::forbidden, "you have no voice in this room"); // §7.4: a visitor
    return;
  }
  Element out = m;
  out.set_attribute("from", occupant_jid(sender.nick).full());
  out.remove_attribute("to");
  archive(out, fx);
  if (out.child("body", ns::client) != nullptr) {
    history_.add(out, now, history_limit());
  }
  broadcast(out, fx);
}

void Room::archive(Element& out, Effects& fx) const {
  // XEP-0359 §5: nobody forges the room's ids.
  modules::strip_stanza_ids(out, jid_.full());
  if (!limits_.archive || !modules::room_archivable(out)) {
    return;
  }
  std::string id = modules::new_archive_id();
  modules::add_stanza_id(out, jid_.full(), id);
  fx.archive = ArchiveRecord{jid_.full(), std::move(id), std::string(out.attribute("from").value_or("")), out};
}

bool Room::may_read_archive(const Jid& full) const {
  const Affiliation affiliation = affiliation_of(full.bare());
  if (affiliation == Affiliation::outcast) {
    return false;
  }
  for (const auto& occupant : occupants_) {
    if (std::find(occupant.sessions.begin(), occupant.sessions.end(), full) != occupant.sessions.end()) {
      return true;
    }
  }
  return affiliation >= Affiliation::member ||
         (state_.config.public_room && !state_.config.members_only && state_.config.password.empty());
}

void Room::post(const Element& m, const Jid& from, std::string_view nick, Timestamp now, Effects& fx) {
  const Jid bare = from.bare();
  const Affiliation affiliation = affiliation_of(bare);
  const bool member = affiliation >= Affiliation::member;
  const auto as = jid_.with_resource(nick);
  if (affiliation == Affiliation::outcast) {
    fx.refused = bare.full() + " is banned from the room";
  } else if (locked_) {
    fx.refused = "the room is not configured yet";
  } else if (!member && state_.config.members_only) {
    fx.refused = "the room is members-only and " + bare.full() + " is not a member";
  } else if (!member && !state_.config.password.empty()) {
    fx.refused = "the room has a password and " + bare.full() + " is not a member";
  } else if (!member && state_.config.moderated) {
    fx.refused = "the room is moderated and " + bare.full() + " is not a member (no voice)";
  } else if (nick.empty() || !as) {
    fx.refused = "'" + std::string(nick) + "' is not a valid nickname";
  } else if (find_nick(as->resource()) != nullptr) {
    // An occupant's words must not be forged: the gateway does not take a nick in use.
    fx.refused = "the nickname '" + std::string(nick) + "' is in use in the room";
  }
  if (fx.refused) {
    return;
  }
  Element out = m;
  out.set_attribute("from", as->full());
  out.remove_attribute("to");
  out.set_attribute("type", "groupchat");
  archive(out, fx);
  if (out.child("body", ns::client) != nullptr) {
    history_.add(out, now, history_limit());
  }
  broadcast(out, fx);
}

void Room::change_subject(const Element& m, const Occupant& sender, Timestamp now, Effects& fx) {
  // §8.1: moderators may; participants too when the room says so (muc#roomconfig_changesubject).
  if (!(sender.role == Role::moderator || (state_.config.change_subject && sender.role >= Role::participant))) {
    reply_error(fx, m, stanza_errc::forbidden, "you may not change the subject of this room");
    return;
  }
  state_.subject = m.child("subject", ns::client)->text();
  state_.subject_by = sender.nick;
  state_.subject_at = now;
  Element out = m;
  out.set_attribute("from", occupant_jid(sender.nick).full());
  out.remove_attribute("to");
  archive(out, fx);
  broadcast(out, fx);
  fx.stored_changed = true;
}

void Room::invitations(const Element& m, const Element& x, const Jid& from, const Occupant* sender, Effects& fx) {
  if (const Element* decline = x.child("decline", ns::muc_user)) {
    // §7.8.2: the invitee declines through the room, which tells the inviter.
    auto inviter = Jid::parse(decline->attribute("to").value_or(""));
    if (!inviter) {
      reply_error(fx, m, stanza_errc::jid_malformed, "the decline names no valid inviter");
      return;
    }
    Element out("message", std::string(ns::client));
    out.set_attribute("from", jid_.full());
    out.set_attribute("to", inviter->full());
    if (auto id = m.attribute("id")) {
      out.set_attribute("id", std::string(*id));
    }
    Element& told = user_x(out).add_child(Element("decline", std::string(ns::muc_user)));
    told.set_attribute("from", std::string(from.bare_string()));
    if (const Element* reason = decline->child("reason", ns::muc_user)) {
      told.add_child(*reason);
    }
    fx.out.push_back(std::move(out));
    return;
  }
  if (sender == nullptr) {
    reply_error(fx, m, stanza_errc::not_acceptable, "only occupants may invite");
    return;
  }
  const Affiliation inviter = affiliation_of(sender->bare);
  const bool members_only = state_.config.members_only;
  // §7.8.2: in a members-only room, inviting is for admins and owners (and members, when the
  // room allows it), and makes the invitee a member.
  if (members_only &&
      !(inviter >= Affiliation::admin || (state_.config.allow_invites && inviter >= Affiliation::member))) {
    reply_error(fx, m, stanza_errc::forbidden, "you may not invite anyone into this room");
    return;
  }
  std::vector<std::pair<Jid, const Element*>> invites;
  for (const Element& invite : x.children("invite", ns::muc_user)) {
    auto invitee = Jid::parse(invite.attribute("to").value_or(""));
    if (!invitee) {
      reply_error(fx, m, stanza_errc::jid_malformed, "an invitation names no valid invitee");
      return;
    }
    invites.emplace_back(std::move(*invitee), &invite);
  }
  for (const auto& [invitee, invite] : invites) {
    if (members_only && affiliation_of(invitee) == Affiliation::none && entries_.size() < max_affiliations) {
      set_entry(std::string(invitee.bare_string()), Affiliation::member, {});
      fx.stored_changed = true;
    }
    Element out("message", std::string(ns::client));
    out.set_attribute("from", jid_.full());
    out.set_attribute("to", invitee.full());
    if (auto id = m.attribute("id")) {
      out.set_attribute("id", std::string(*id));
    }
    Element& ux = user_x(out);
    Element& told = ux.add_child(Element("invite", std::string(ns::muc_user)));
    told.set_attribute("from", from.full());
    std::string body = std::string(from.bare_string()) + " invites you to the room " + jid_.full();
    if (const Element* reason = invite->child("reason", ns::muc_user)) {
      told.add_child(*reason);
      if (!reason->text().empty()) {
        body += ": " + reason->text();
      }
    }
    if (!state_.config.password.empty()) {
      ux.add_child(child_text("password", ns::muc_user, state_.config.password));
    }
    out.add_child(child_text("body", ns::client, body));
    fx.out.push_back(std::move(out));
  }
}

// ---- iq --------------------------------------------------------------------------------------

void Room::on_iq(const Element& iq, const Jid& from, const Jid& to, Effects& fx) {
  const std::string_view type = type_of(iq);
  if (type != "get" && type != "set") {
    return;
  }
  const Element* payload = nullptr;
  std::size_t count = 0;
  for (const Element& child : iq.children()) {
    payload = &child;
    ++count;
  }
  if (count != 1) {
    reply_error(fx, iq, stanza_errc::bad_request, "an iq carries exactly one payload"); // RFC 6120 §8.2.3
    return;
  }
  const std::string_view pns = payload->ns();
  if (!to.resource().empty()) {
    // XEP-0410: the room answers pings to an occupant for its occupants (self-ping).
    if (pns == ns::ping && type == "get") {
      if (find_session(from) == nullptr) {
        reply_error(fx, iq, stanza_errc::not_acceptable, "you are not in the room");
      } else if (find_nick(to.resource()) == nullptr) {
        reply_error(fx, iq, stanza_errc::item_not_found);
      } else {
        fx.out.push_back(core::stanza::make_result(iq));
      }
      return;
    }
    reply_error(fx, iq, stanza_errc::service_unavailable); // no iq forwarding to occupants
    return;
  }
  if (locked_ && affiliation_of(from) != Affiliation::owner) {
    reply_error(fx, iq, stanza_errc::item_not_found, "the room is not configured yet"); // §10.1.1
    return;
  }
  if (pns == ns::disco_info && payload->name() == "query" && type == "get") {
    disco_info(iq, *payload, fx);
  } else if (pns == ns::disco_items && payload->name() == "query" && type == "get") {
    disco_items(iq, from, fx);
  } else if (pns == ns::muc_admin && payload->name() == "query") {
    if (type == "get") {
      admin_get(iq, *payload, from, fx);
    } else {
      admin_set(iq, *payload, from, fx);
    }
  } else if (pns == ns::muc_owner && payload->name() == "query") {
    owner_iq(iq, *payload, from, fx);
  } else if (pns == ns::ping && type == "get") {
    fx.out.push_back(core::stanza::make_result(iq));
  } else {
    reply_error(fx, iq, stanza_errc::service_unavailable);
  }
}

void Room::disco_info(const Element& iq, const Element& query, Effects& fx) const {
  // XEP-0045 §6.4: identity, the features that describe the room, and muc#roominfo.
  const auto& c = state_.config;
  Element result = core::stanza::make_result(iq);
  Element& info = result.add_child(Element("query", std::string(ns::disco_info)));
  if (auto node = query.attribute("node")) {
    info.set_attribute("node", std::string(*node));
  }
  Element& identity = info.add_child(Element("identity", std::string(ns::disco_info)));
  identity.set_attribute("category", "conference");
  identity.set_attribute("type", "text");
  identity.set_attribute("name", display_name());
  const std::vector<std::string_view> features{
      ns::disco_info,
      ns::muc,
      stable_id_feature,
      c.public_room ? "muc_public" : "muc_hidden",
      c.persistent ? "muc_persistent" : "muc_temporary",
      c.members_only ? "muc_membersonly" : "muc_open",
      c.moderated ? "muc_moderated" : "muc_unmoderated",
      c.whois == storage::Whois::anyone ? "muc_nonanonymous" : "muc_semianonymous",
      c.password.empty() ? "muc_unsecured" : "muc_passwordprotected",
  };
  std::vector<std::string_view> all = features;
  if (limits_.archive) {
    // XEP-0313 §8: the room's archive, queried at the room's JID.
    all.insert(all.end(), {ns::mam, modules::mam_extended_feature, ns::stanza_id});
  }
  for (const auto feature : all) {
    info.add_child(Element("feature", std::string(ns::disco_info))).set_attribute("var", std::string(feature));
  }
  Element form = make_form("result");
  add_field(form, "FORM_TYPE", "hidden", {}, {std::string(roominfo_ns)});
  add_field(form, "muc#roominfo_description", "text-single", "Description", {c.description});
  add_field(form, "muc#roominfo_occupants", "text-single", "Number of occupants", {std::to_string(occupants_.size())});
  add_field(form, "muc#roominfo_subject", "text-single", "Subject", {state_.subject});
  add_field(form, "muc#roominfo_subjectmod", "boolean", "Occupants may change the subject",
            {bool_text(c.change_subject)});
  add_field(form, "muc#roomconfig_roomname", "text-single", "Name", {display_name()});
  add_field(form, "muc#maxhistoryfetch", "text-single", "Messages of history", {std::to_string(history_limit())});
  info.add_child(std::move(form));
  fx.out.push_back(std::move(result));
}

void Room::disco_items(const Element& iq, const Jid& from, Effects& fx) const {
  // §6.5: the occupants, to those who are in the room; an empty list to anyone else.
  Element result = core::stanza::make_result(iq);
  Element& items = result.add_child(Element("query", std::string(ns::disco_items)));
  if (index_of_session(from)) {
    for (const auto& occupant : occupants_) {
      Element& item = items.add_child(Element("item", std::string(ns::disco_items)));
      item.set_attribute("jid", occupant_jid(occupant.nick).full());
      item.set_attribute("name", occupant.nick);
    }
  }
  fx.out.push_back(std::move(result));
}

void Room::admin_get(const Element& iq, const Element& query, const Jid& from, Effects& fx) const {
  const std::string_view qns = query.ns();
  std::vector<const Element*> items;
  for (const Element& item : query.children("item", qns)) {
    items.push_back(&item);
  }
  if (items.size() != 1) {
    reply_error(fx, iq, stanza_errc::bad_request, "ask for one list at a time");
    return;
  }
  const Element& asked = *items.front();
  Element result = core::stanza::make_result(iq);
  Element& out = result.add_child(Element("query", std::string(qns)));
  if (auto name = asked.attribute("affiliation")) {
    const auto wanted = storage::parse_affiliation(*name);
    if (!wanted || *wanted == Affiliation::none) {
      reply_error(fx, iq, stanza_errc::bad_request, "no such affiliation list");
      return;
    }
    // §9.3, §9.5, §10.5, §10.8: the lists are for admins and owners.
    if (affiliation_of(from) < Affiliation::admin) {
      reply_error(fx, iq, stanza_errc::forbidden, "only admins and owners see the affiliation lists");
      return;
    }
    for (const auto& [jid, entry] : entries_) {
      if (entry.affiliation != *wanted) {
        continue;
      }
      Element& item = out.add_child(Element("item", std::string(qns)));
      item.set_attribute("affiliation", std::string(storage::to_string(entry.affiliation)));
      item.set_attribute("jid", jid);
      if (!entry.nick.empty()) {
        item.set_attribute("nick", entry.nick);
      }
      if (!entry.reason.empty()) {
        item.add_child(child_text("reason", qns, entry.reason));
      }
    }
  } else if (auto role_name = asked.attribute("role")) {
    const auto wanted = parse_role(*role_name);
    if (!wanted || *wanted == Role::none) {
      reply_error(fx, iq, stanza_errc::bad_request, "no such role list");
      return;
    }
    // §8.5, §9.7: the voice and moderator lists are for moderators.
    const Occupant* asker = nullptr;
    if (const auto index = index_of_session(from)) {
      asker = &occupants_[*index];
    }
    if (asker == nullptr || asker->role != Role::moderator) {
      reply_error(fx, iq, stanza_errc::forbidden, "only moderators see the role lists");
      return;
    }
    for (const auto& occupant : occupants_) {
      if (occupant.role != *wanted) {
        continue;
      }
      Element& item = out.add_child(Element("item", std::string(qns)));
      item.set_attribute("affiliation", std::string(storage::to_string(affiliation_of(occupant.bare))));
      item.set_attribute("jid", std::string(occupant.bare.bare_string()));
      item.set_attribute("nick", occupant.nick);
      item.set_attribute("role", std::string(to_string(occupant.role)));
    }
  } else {
    reply_error(fx, iq, stanza_errc::bad_request, "an item names an affiliation or a role");
    return;
  }
  fx.out.push_back(std::move(result));
}

void Room::admin_set(const Element& iq, const Element& query, const Jid& from, Effects& fx) {
  const std::string_view qns = query.ns();
  struct Change {
    bool role = false;
    Role new_role = Role::none;
    Affiliation new_affiliation = Affiliation::none;
    std::string nick; // role changes: whose; affiliation changes: the nickname to reserve, if any
    std::string jid;  // affiliation changes: a bare JID or a domain
    std::string reason;
  };
  const Jid actor_bare = from.bare();
  const Affiliation actor_affiliation = affiliation_of(actor_bare);
  const Occupant* actor = find_session(from);
  std::vector<Change> changes;
  for (const Element& item : query.children("item", qns)) {
    Change change;
    if (const Element* reason = item.child("reason", qns)) {
      change.reason = reason->text();
    }
    const auto role_name = item.attribute("role");
    const auto affiliation_name = item.attribute("affiliation");
    if (role_name && !affiliation_name) {
      const auto role = parse_role(*role_name);
      const auto nick = item.attribute("nick");
      if (!role || !nick || nick->empty()) {
        reply_error(fx, iq, stanza_errc::bad_request, "a role change names a role and a nickname");
        return;
      }
      // §8: roles are changed by moderators.
      if (actor == nullptr || actor->role != Role::moderator) {
        reply_error(fx, iq, stanza_errc::forbidden, "only moderators change roles");
        return;
      }
      const Occupant* target = find_nick(*nick);
      if (target == nullptr) {
        reply_error(fx, iq, stanza_errc::item_not_found, "nobody in the room has this nickname");
        return;
      }
      const Affiliation target_affiliation = affiliation_of(target->bare);
      // §5.1.3: a moderator's role is changed by admins and owners only, and never by
      // someone of a lower affiliation (§8.2: no kick either).
      if ((target->role == Role::moderator && *role != Role::moderator && actor_affiliation < Affiliation::admin) ||
          target_affiliation > actor_affiliation) {
        reply_error(fx, iq, stanza_errc::not_allowed, "the occupant's affiliation is above yours");
        return;
      }
      switch (*role) {
      case Role::none:
        if (target == actor) {
          reply_error(fx, iq, stanza_errc::conflict, "you cannot kick yourself"); // §8.2
          return;
        }
        break;
      case Role::visitor:
      case Role::participant:
        // §8.4, §9.7: the voice and moderator status of admins and owners stay.
        if (target_affiliation >= Affiliation::admin && target->role != *role) {
          reply_error(fx, iq, stanza_errc::not_allowed, "admins and owners keep their role");
          return;
        }
        break;
      case Role::moderator:
        if (actor_affiliation < Affiliation::admin) {
          reply_error(fx, iq, stanza_errc::forbidden, "only admins and owners grant moderator status"); // §9.6
          return;
        }
        break;
      }
      change.role = true;
      change.new_role = *role;
      change.nick = target->nick;
    } else if (affiliation_name && !role_name) {
      const auto affiliation = storage::parse_affiliation(*affiliation_name);
      if (!affiliation) {
        reply_error(fx, iq, stanza_errc::bad_request, "no such affiliation");
        return;
      }
      if (auto jid_text = item.attribute("jid")) {
        auto jid = Jid::parse(*jid_text);
        if (!jid) {
          reply_error(fx, iq, stanza_errc::jid_malformed);
          return;
        }
        change.jid = std::string(jid->bare_string());
        // A nickname next to the JID is reserved for it (XEP-0045 §7.10, §9.5: the lists
        // carry the registered nicknames).
        if (auto nick = item.attribute("nick"); nick && !nick->empty() && *affiliation > Affiliation::none) {
          const std::string* owner = reserved_by(*nick);
          if (owner != nullptr && *owner != change.jid) {
            reply_error(fx, iq, stanza_errc::conflict, "this nickname is reserved by someone else");
            return;
          }
          change.nick = std::string(*nick);
        }
      } else if (auto nick = item.attribute("nick")) {
        const Occupant* target = find_nick(*nick);
        if (target == nullptr) {
          reply_error(fx, iq, stanza_errc::item_not_found, "nobody in the room has this nickname");
          return;
        }
        change.jid = std::string(target->bare.bare_string());
      } else {
        reply_error(fx, iq, stanza_errc::bad_request, "an affiliation change names a jid");
        return;
      }
      // §9: affiliations are changed by admins and owners ...
      if (actor_affiliation < Affiliation::admin) {
        reply_error(fx, iq, stanza_errc::forbidden, "only admins and owners change affiliations");
        return;
      }
      // ... and the owner and admin lists by owners only (§10.3 to §10.8, §9.1).
      const auto current = entries_.find(change.jid);
      const Affiliation current_affiliation =
          current == entries_.end() ? Affiliation::none : current->second.affiliation;
      if (actor_affiliation < Affiliation::owner &&
          (current_affiliation >= Affiliation::admin || *affiliation >= Affiliation::admin)) {
        reply_error(fx, iq, stanza_errc::not_allowed, "only owners change the owner and admin lists");
        return;
      }
      if (*affiliation == Affiliation::outcast && change.jid == actor_bare.bare_string()) {
        reply_error(fx, iq, stanza_errc::conflict, "you cannot ban yourself"); // §9.1
        return;
      }
      change.new_affiliation = *affiliation;
    } else {
      reply_error(fx, iq, stanza_errc::bad_request, "an item changes either a role or an affiliation");
      return;
    }
    changes.push_back(std::move(change));
  }
  if (changes.empty()) {
    reply_error(fx, iq, stanza_errc::bad_request, "nothing to change");
    return;
  }
  const auto added = std::count_if(changes.begin(), changes.end(), [&](const Change& c) {
    return !c.role && c.new_affiliation != Affiliation::none && entries_.find(c.jid) == entries_.end();
  });
  if (entries_.size() + static_cast<std::size_t>(added) > max_affiliations) {
    reply_error(fx, iq, stanza_errc::resource_constraint, "the room's lists are full");
    return;
  }
  // §10.7: a room keeps at least one owner.
  std::set<std::string> owners;
  for (const auto& [jid, entry] : entries_) {
    if (entry.affiliation == Affiliation::owner) {
      owners.insert(jid);
    }
  }
  for (const auto& change : changes) {
    if (!change.role) {
      if (change.new_affiliation == Affiliation::owner) {
        owners.insert(change.jid);
      } else {
        owners.erase(change.jid);
      }
    }
  }
  if (owners.empty()) {
    reply_error(fx, iq, stanza_errc::conflict, "a room needs an owner");
    return;
  }
  const std::string actor_nick = actor != nullptr ? actor->nick : std::string();
  bool affiliations_changed = false;
  for (const auto& change : changes) {
    if (!change.role) {
      Removal removal;
      removal.actor = actor_nick;
      removal.reason = change.reason;
      set_entry(change.jid, change.new_affiliation, change.reason);
      if (!change.nick.empty() && change.new_affiliation > Affiliation::none) {
        entries_[change.jid].nick = change.nick;
      }
      affiliations_changed = true;
      // The occupants it concerns: removed, or shown with their new affiliation and role.
      for (std::size_t i = 0; i < occupants_.size();) {
        Occupant& occupant = occupants_[i];
        const bool concerned =
            is_domain(change.jid) ? occupant.bare.domain() == change.jid : occupant.bare.bare_string() == change.jid;
        if (!concerned) {
          ++i;
          continue;
        }
        const Affiliation now = affiliation_of(occupant.bare);
        if (now == Affiliation::outcast) {
          removal.codes = {301}; // §9.1: banned
          removal.affiliation = Affiliation::outcast;
          remove(i, removal, fx);
          continue;
        }
        if (state_.config.members_only && now < Affiliation::member) {
          removal.codes = {321}; // §9.4: no longer a member of a members-only room
          removal.affiliation = Affiliation::none;
          remove(i, removal, fx);
          continue;
        }
        occupant.role = default_role(now);
        broadcast_presence(occupant, {}, fx);
        ++i;
      }
      continue;
    }
    Occupant* target = find_nick(change.nick);
    if (target == nullptr) {
      continue; // removed by an earlier item of the same request
    }
    if (change.new_role == Role::none) {
      Removal removal;
      removal.codes = {307}; // §8.2: kicked
      removal.actor = actor_nick;
      removal.reason = change.reason;
      remove(static_cast<std::size_t>(target - occupants_.data()), removal, fx);
      continue;
    }
    target->role = change.new_role;
    broadcast_presence(*target, {}, fx); // §8.3, §8.4, §9.6, §9.7
  }
  Element result = core::stanza::make_result(iq);
  if (affiliations_changed) {
    fx.stored_changed = true;
    fx.ack = std::move(result);
  } else {
    fx.out.push_back(std::move(result));
  }
}

void Room::set_affiliation(const Jid& jid, Affiliation affiliation, std::string_view reason, Effects& fx) {
  const std::string key(jid.is_bare() ? jid.bare_string() : jid.bare().bare_string());
  set_entry(key, affiliation, reason);
  fx.stored_changed = true;
  for (std::size_t i = 0; i < occupants_.size();) {
    Occupant& occupant = occupants_[i];
    const bool concerned = is_domain(key) ? occupant.bare.domain() == key : occupant.bare.bare_string() == key;
    if (!concerned) {
      ++i;
      continue;
    }
    const Affiliation now = affiliation_of(occupant.bare);
    Removal removal;
    removal.reason = std::string(reason);
    if (now == Affiliation::outcast) {
      removal.codes = {301};
      removal.affiliation = Affiliation::outcast;
      remove(i, removal, fx);
      continue;
    }
    if (state_.config.members_only && now < Affiliation::member) {
      removal.codes = {321};
      removal.affiliation = Affiliation::none;
      remove(i, removal, fx);
      continue;
    }
    occupant.role = default_role(now);
    broadcast_presence(occupant, {}, fx);
    ++i;
  }
}

// ---- owner: configuration and destruction ----------------------------------------------------

void Room::owner_iq(const Element& iq, const Element& query, const Jid& from, Effects& fx) {
  const bool owner = affiliation_of(from) == Affiliation::owner;
  if (type_of(iq) == "get") {
    if (query.child("item", ns::muc_owner) != nullptr) {
      admin_get(iq, query, from, fx); // the lists, asked the way older versions of XEP-0045 did
      return;
    }
    if (!owner) {
      reply_error(fx, iq, stanza_errc::forbidden, "only owners configure the room"); // §10.2
      return;
    }
    // §10.2: the configuration form, with the current values.
    const auto& c = state_.config;
    Element result = core::stanza::make_result(iq);
    Element& out = result.add_child(Element("query", std::string(ns::muc_owner)));
    Element form =
        make_form("form", "Configuration of " + jid_.full(), "Set the room's options; submit the form to apply them.");
    add_field(form, "FORM_TYPE", "hidden", {}, {std::string(roomconfig_ns)});
    add_field(form, "muc#roomconfig_roomname", "text-single", "Name", {c.name});
    add_field(form, "muc#roomconfig_roomdesc", "text-single", "Description", {c.description});
    add_field(form, "muc#roomconfig_persistentroom", "boolean", "Keep the room when it is empty",
              {bool_text(c.persistent)});
    add_field(form, "muc#roomconfig_publicroom", "boolean", "List the room in service discovery",
              {bool_text(c.public_room)});
    add_field(form, "muc#roomconfig_membersonly", "boolean", "Only members may enter", {bool_text(c.members_only)});
    add_field(form, "muc#roomconfig_moderatedroom", "boolean", "Only occupants with voice may speak",
              {bool_text(c.moderated)});
    add_field(form, "muc#roomconfig_passwordprotectedroom", "boolean", "A password is needed to enter",
              {bool_text(!c.password.empty())});
    add_field(form, "muc#roomconfig_roomsecret", "text-private", "Password", {c.password});
    Element& maxusers = add_field(form, "muc#roomconfig_maxusers", "list-single", "Most occupants",
                                  {c.max_occupants == 0 ? std::string("none") : std::to_string(c.max_occupants)});
    for (const std::uint32_t n : {10U, 20U, 30U, 50U, 100U, 200U, 500U, 1000U}) {
      if (n <= limits_.max_occupants) {
        add_option(maxusers, std::to_string(n), std::to_string(n));
      }
    }
    add_option(maxusers, "No limit (the service's: " + std::to_string(limits_.max_occupants) + ")", "none");
    Element& whois = add_field(form, "muc#roomconfig_whois", "list-single", "Who may see real JIDs",
                               {std::string(storage::to_string(c.whois))});
    add_option(whois, "Moderators only", "moderators");
    add_option(whois, "Anyone", "anyone");
    add_field(form, "muc#maxhistoryfetch", "text-single",
              "Messages of history for new occupants (at most " + std::to_string(limits_.max_history) + ")",
              {std::to_string(c.history_length)});
    add_field(form, "muc#roomconfig_changesubject", "boolean", "Participants may change the subject",
              {bool_text(c.change_subject)});
    add_field(form, "muc#roomconfig_allowinvites", "boolean", "Members may invite others",
              {bool_text(c.allow_invites)});
    Element& allowpm = add_field(form, "muc#roomconfig_allowpm", "list-single", "Who may send private messages",
                                 {std::string(storage::to_string(c.allow_pm))});
    add_option(allowpm, "Anyone", "anyone");
    add_option(allowpm, "Participants and moderators", "participants");
    add_option(allowpm, "Moderators only", "moderators");
    add_option(allowpm, "Nobody", "none");
    std::vector<std::string> owners;
    std::vector<std::string> admins;
    for (const auto& [jid, entry] : entries_) {
      if (entry.affiliation == Affiliation::owner) {
        owners.push_back(jid);
      } else if (entry.affiliation == Affiliation::admin) {
        admins.push_back(jid);
      }
    }
    add_field(form, "muc#roomconfig_roomowners", "jid-multi", "Owners", owners);
    add_field(form, "muc#roomconfig_roomadmins", "jid-multi", "Admins", admins);
    out.add_child(std::move(form));
    fx.out.push_back(std::move(result));
    return;
  }
  if (const Element* destroying = query.child("destroy", ns::muc_owner)) {
    if (!owner) {
      reply_error(fx, iq, stanza_errc::forbidden, "only owners destroy the room"); // §10.9
      return;
    }
    const Element* reason = destroying->child("reason", ns::muc_owner);
    destroy(reason != nullptr ? reason->text() : std::string(), destroying->attribute("jid").value_or(""), fx);
    fx.ack = core::stanza::make_result(iq);
    return;
  }
  if (const Element* form = query.child("x", ns::data_forms)) {
    if (!owner) {
      reply_error(fx, iq, stanza_errc::forbidden, "only owners configure the room");
      return;
    }
    const std::string_view form_type = form->attribute("type").value_or("");
    if (form_type == "cancel") {
      fx.out.push_back(core::stanza::make_result(iq));
      if (locked_) {
        destroy({}, {}, fx); // §10.1.3: a new room whose configuration is cancelled is not created
      }
      return;
    }
    if (form_type != "submit") {
      reply_error(fx, iq, stanza_errc::bad_request, "submit or cancel the form");
      return;
    }
    apply_form(iq, *form, fx);
    return;
  }
  if (query.child("item", ns::muc_owner) != nullptr) {
    admin_set(iq, query, from, fx); // the owner and admin lists, the older way
    return;
  }
  reply_error(fx, iq, stanza_errc::bad_request);
}

void Room::apply_form(const Element& iq, const Element& form_element, Effects& fx) {
  const DataForm form = DataForm::parse(form_element);
  if (const auto type = form.form_type(); !type.empty() && type != roomconfig_ns) {
    reply_error(fx, iq, stanza_errc::bad_request, "not a muc#roomconfig form");
    return;
  }
  // §10.1.2: an empty submission takes the default configuration (an instant room).
  storage::RoomConfig next = state_.config;
  bool valid = true;
  std::string problem;
  if (auto v = form.value("muc#roomconfig_roomname")) {
    next.name = *v;
  }
  if (auto v = form.value("muc#roomconfig_roomdesc")) {
    next.description = *v;
  }
  const std::pair<std::string_view, bool storage::RoomConfig::*> booleans[] = {
      {"muc#roomconfig_persistentroom", &storage::RoomConfig::persistent},
      {"muc#roomconfig_publicroom", &storage::RoomConfig::public_room},
      {"muc#roomconfig_membersonly", &storage::RoomConfig::members_only},
      {"muc#roomconfig_moderatedroom", &storage::RoomConfig::moderated},
      {"muc#roomconfig_changesubject", &storage::RoomConfig::change_subject},
      {"muc#roomconfig_allowinvites", &storage::RoomConfig::allow_invites},
  };
  for (const auto& [var, member] : booleans) {
    if (auto b = form.boolean(var, valid)) {
      next.*member = *b;
    }
  }
  if (auto v = form.value("muc#roomconfig_whois")) {
    if (auto whois = storage::parse_whois(*v)) {
      next.whois = *whois;
    } else {
      valid = false;
    }
  }
  if (auto v = form.value("muc#roomconfig_allowpm")) {
    if (auto allow = storage::parse_allow_pm(*v)) {
      next.allow_pm = *allow;
    } else {
      valid = false;
    }
  }
  if (auto v = form.value("muc#roomconfig_maxusers")) {
    if (v->empty() || *v == "none" || *v == "0") {
      next.max_occupants = 0;
    } else if (auto n = parse_count(*v)) {
      next.max_occupants = std::min(*n, limits_.max_occupants);
    } else {
      valid = false;
    }
  }
  for (const std::string_view var : {"muc#maxhistoryfetch", "muc#roomconfig_historylength"}) {
    if (auto v = form.value(var)) {
      if (auto n = parse_count(*v)) {
        next.history_length = std::min(*n, limits_.max_history);
      } else {
        valid = false;
      }
    }
  }
  const auto protect = form.boolean("muc#roomconfig_passwordprotectedroom", valid);
  if (auto secret = form.value("muc#roomconfig_roomsecret"); secret && !secret->empty()) {
    next.password = *secret;
  }
  if (protect && !*protect) {
    next.password.clear();
  } else if (protect && *protect && next.password.empty()) {
    valid = false;
    problem = "a password-protected room needs a password";
  }
  // The owner and admin lists (§10.2: jid-multi fields), when the form has them.
  const auto read_list = [&](std::string_view var) -> std::optional<std::vector<std::string>> {
    if (!form.has(var)) {
      return std::nullopt;
    }
    std::vector<std::string> jids;
    for (const auto& text : form.values(var)) {
      if (text.empty()) {
        continue;
      }
      auto jid = Jid::parse(text);
      if (!jid) {
        valid = false;
        problem = "'" + text + "' is not a JID";
        continue;
      }
      jids.emplace_back(jid->bare_string());
    }
    return jids;
  };
  const auto owners = read_list("muc#roomconfig_roomowners");
  const auto admins = read_list("muc#roomconfig_roomadmins");
  if (owners && owners->empty()) {
    valid = false;
    problem = "a room needs an owner";
  }
  if (!valid) {
    reply_error(fx, iq, stanza_errc::not_acceptable, problem.empty() ? "a field has a value it cannot take" : problem);
    return;
  }
  const storage::RoomConfig before = state_.config;
  const bool was_locked = locked_;
  state_.config = next;
  locked_ = false;
  history_.trim(history_limit());
  const auto replace_list = [&](Affiliation affiliation, const std::vector<std::string>& jids) {
    std::vector<std::string> dropped;
    for (const auto& [jid, entry] : entries_) {
      if (entry.affiliation == affiliation && std::find(jids.begin(), jids.end(), jid) == jids.end()) {
        dropped.push_back(jid);
      }
    }
    for (const auto& jid : dropped) {
      if (auto parsed = Jid::parse(jid)) {
        set_affiliation(*parsed, Affiliation::none, {}, fx);
      }
    }
    for (const auto& jid : jids) {
      if (auto parsed = Jid::parse(jid); parsed && affiliation_of(*parsed) != affiliation) {
        set_affiliation(*parsed, affiliation, {}, fx);
      }
    }
  };
  if (owners) {
    replace_list(Affiliation::owner, *owners);
  }
  if (admins) {
    replace_list(Affiliation::admin, *admins);
  }
  if (!was_locked) {
    notify_config_change(before, fx);
  }
  if (next.members_only && !before.members_only) {
    remove_non_members(322, fx); // §9.4 (status 322): the room became members-only
  }
  fx.stored_changed = true;
  fx.ack = core::stanza::make_result(iq);
}

void Room::configure(const storage::RoomConfig& config, Effects& fx) {
  const storage::RoomConfig before = state_.config;
  state_.config = config;
  state_.config.history_length = std::min(state_.config.history_length, limits_.max_history);
  state_.config.max_occupants = std::min(state_.config.max_occupants, limits_.max_occupants);
  const bool was_locked = locked_;
  locked_ = false;
  history_.trim(history_limit());
  if (!was_locked && before != state_.config) {
    notify_config_change(before, fx);
  }
  if (state_.config.members_only && !before.members_only) {
    remove_non_members(322, fx);
  }
  fx.stored_changed = true;
}

void Room::notify_config_change(const storage::RoomConfig& before, Effects& fx) {
  // §10.2.1: 104 for any change; 172 and 173 when the room became non- or semi-anonymous.
  std::vector<int> codes{104};
  if (before.whois != state_.config.whois) {
    codes.push_back(state_.config.whois == storage::Whois::anyone ? 172 : 173);
  }
  Element message("message", std::string(ns::client));
  message.set_attribute("from", jid_.full());
  message.set_attribute("type", "groupchat");
  add_statuses(message, codes);
  broadcast(message, fx);
}

void Room::remove_non_members(int code, Effects& fx) {
  for (std::size_t i = 0; i < occupants_.size();) {
    if (affiliation_of(occupants_[i].bare) >= Affiliation::member) {
      ++i;
      continue;
    }
    Removal removal;
    removal.codes = {code};
    removal.affiliation = Affiliation::none;
    remove(i, removal, fx);
  }
}

} // namespace parley::router::muc
