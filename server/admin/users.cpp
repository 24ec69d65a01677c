// Admin API: users, sessions, roster, offline messages, messages, tokens and stats.

#include "config/config.hpp"
#include "core/sasl/crypto.hpp"
#include "core/xml/errc.hpp"
#include "core/xml/namespaces.hpp"
#include "router/modules/registration.hpp"
#include "gateways/gateway_service.hpp"
#include "router/auth/user_directory.hpp"
#include "router/router.hpp"
#include "server/admin/detail/blocking.hpp"
#include "server/admin/detail/handlers.hpp"
#include "server/admin/tokens.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

namespace parley::server::admin::detail {

namespace asio = boost::asio;
namespace crypto = core::sasl::crypto;
using core::jid::Jid;
using core::xml::Element;
using storage::storage_errc;

namespace {

json roster_item_json(const storage::RosterItem& item) {
  return {{"jid", item.jid},
          {"name", item.name},
          {"subscription", storage::to_string(item.subscription)},
          {"ask", item.ask_subscribe ? json("subscribe") : json(nullptr)},
          {"pending_in", item.pending_in},
          {"approved", item.approved},
          {"groups", item.groups}};
}

json session_json(const Jid& bare, const router::ResourceState& state) {
  return {{"jid", std::string(bare.full()) + "/" + state.resource},
          {"user", bare.full()},
          {"resource", state.resource},
          {"available", state.available},
          {"priority", state.priority}};
}

} // namespace

// ---- users ------------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::list_users(Call& call) {
  auto page = page_of(call);
  if (!page) {
    co_return page.error();
  }
  const std::string after = page->cursor;
  const std::size_t limit = page->limit;
  auto job = [this, after, limit] { return ctx_.storage.users().list_users(after, limit); };
  auto names = co_await blocking(std::move(job));
  if (!names) {
    co_return storage_problem(names.error(), "users");
  }
  json items = json::array();
  for (const auto& name : *names) {
    items.push_back({{"username", name}, {"jid", name + "@" + ctx_.config.hosts.front()}});
  }
  std::optional<std::string> next;
  if (names->size() == limit) {
    next = names->back();
  }
  co_return json_response(200, page_json(std::move(items), next));
}

asio::awaitable<Response> Handlers::create_user(Call& call) {
  if (ctx_.router.users().external()) {
    co_return problem(409, "external-auth", "Conflict",
                      "accounts and passwords are managed by the external authentication service ([auth] backend)");
  }
  auto body = call.body();
  if (!body) {
    co_return body.error();
  }
  auto username = string_member(*body, "username", true);
  auto password = string_member(*body, "password", true);
  if (!username) {
    co_return username.error();
  }
  if (!password) {
    co_return password.error();
  }
  call.request.params["user"] = *username;
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  if (password->empty()) {
    co_return problem(400, "invalid-field", "Bad Request", "'password' must not be empty");
  }
  const std::string user(jid->local());
  const std::string pw = *password;
  auto job = [this, user, pw]() -> boost::system::result<void, std::string> {
    auto creds = router::modules::make_credentials(pw);
    if (!creds) {
      return {boost::system::in_place_error, "password: " + creds.error().message};
    }
    auto created = ctx_.storage.users().create_user(user, *creds);
    if (!created) {
      return {boost::system::in_place_error, "storage:" + std::to_string(created.error().value())};
    }
    return {};
  };
  auto created = co_await blocking(std::move(job));
  if (!created) {
    const std::string& why = created.error();
    if (why.starts_with("storage:")) {
      const int code = std::stoi(why.substr(8));
      if (code == static_cast<int>(storage_errc::conflict)) {
        co_return problem(409, "user-exists", "Conflict", "user " + jid->full() + " exists already");
      }
      co_return storage_problem(storage::make_error_code(static_cast<storage_errc>(code)), "user " + jid->full());
    }
    co_return problem(400, "invalid-field", "Bad Request", why);
  }
  call.audit = "created user " + jid->full();
  co_return json_response(201, {{"username", user}, {"jid", jid->full()}});
}

asio::awaitable<Response> Handlers::get_user(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  if (auto ok = co_await require_user(*jid); !ok) {
    co_return ok.error();
  }
  const std::string user(jid->local());
  const std::string owner = jid->full();
  auto job = [this, user, owner]() -> boost::system::result<std::pair<std::size_t, std::vector<storage::Registration>>> {
    auto count = ctx_.storage.offline().count(user);
    if (!count) {
      return count.error();
    }
    auto regs = ctx_.storage.registrations().of_owner(owner);
    if (!regs) {
      return regs.error();
    }
    return std::pair(*count, std::move(*regs));
  };
  auto facts = co_await blocking(std::move(job));
  if (!facts) {
    co_return storage_problem(facts.error(), "user " + owner);
  }
  json sessions = json::array();
  for (const auto& state : ctx_.router.sessions().resources(*jid)) {
    sessions.push_back(session_json(*jid, state));
  }
  json registrations = json::array();
  for (const auto& r : facts->second) {
    registrations.push_back({{"gateway", r.domain}, {"address", r.address}, {"created", timestamp(r.created)}});
  }
  co_return json_response(200, {{"username", user},
                                {"jid", owner},
                                {"sessions", std::move(sessions)},
                                {"offline_messages", facts->first},
                                {"registrations", std::move(registrations)}});
}

asio::awaitable<Response> Handlers::delete_user(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  const std::string user(jid->local());
  const std::string owner = jid->full();
  auto job = [this, user, owner]() -> boost::system::result<void> {
    auto deleted = ctx_.storage.users().delete_user(user);
    if (!deleted) {
      return deleted.error();
    }
    auto regs = ctx_.storage.registrations().remove_owner(owner);
    if (!regs) {
      return regs.error();
    }
    auto blocks = ctx_.storage.blocks().unblock_all(owner);
    if (!blocks) {
      return blocks.error();
    }
    auto archived = ctx_.storage.archive().remove_owner(owner);
    if (!archived) {
      return archived.error();
    }
    auto kept = ctx_.storage.private_xml().remove_user(owner);
    if (!kept) {
      return kept.error();
    }
    auto unpublished = ctx_.storage.pep().remove_user(owner);
    if (!unpublished) {
      return unpublished.error();
    }
    return {};
  };
  auto deleted = co_await blocking(std::move(job));
  ctx_.router.forget_user(owner); // also when only part went: what is cached may be stale
  if (!deleted) {
    co_return storage_problem(deleted.error(), "user " + owner);
  }
  // The account is gone: its streams end as for an in-band account removal (XEP-0077 §3.2).
  for (const auto& state : ctx_.router.sessions().resources(*jid)) {
    if (auto session = state.session.lock()) {
      session->close(core::xml::stream_errc::not_authorized);
    }
  }
  call.audit = "deleted user " + owner;
  co_return no_content();
}

asio::awaitable<Response> Handlers::set_password(Call& call) {
  if (ctx_.router.users().external()) {
    co_return problem(409, "external-auth", "Conflict",
                      "accounts and passwords are managed by the external authentication service ([auth] backend)");
  }
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  auto body = call.body();
  if (!body) {
    co_return body.error();
  }
  auto password = string_member(*body, "password", true);
  if (!password) {
    co_return password.error();
  }
  if (password->empty()) {
    co_return problem(400, "invalid-field", "Bad Request", "'password' must not be empty");
  }
  const std::string user(jid->local());
  const std::string pw = *password;
  auto job = [this, user, pw]() -> boost::system::result<void, Response> {
    auto creds = router::modules::make_credentials(pw);
    if (!creds) {
      return {boost::system::in_place_error, problem(400, "invalid-field", "Bad Request", "password: " + creds.error().message)};
    }
    auto set = ctx_.storage.users().set_credentials(user, *creds);
    if (!set) {
      return {boost::system::in_place_error, storage_problem(set.error(), "user " + user)};
    }
    return {};
  };
  auto set = co_await blocking(std::move(job));
  if (!set) {
    co_return set.error();
  }
  call.audit = "set the password of " + jid->full();
  co_return no_content();
}

// ---- sessions -----------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::list_sessions(Call& call) {
  auto page = page_of(call);
  if (!page) {
    co_return page.error();
  }
  // Every bare JID with sessions, then their resources, sorted by full JID for stable pages.
  std::set<std::string> bares;
  for (const auto& session : ctx_.router.sessions().all()) {
    bares.insert(std::string(session->jid().bare_string()));
  }
  std::vector<std::pair<std::string, json>> rows;
  for (const auto& bare_text : bares) {
    auto bare = Jid::parse(bare_text);
    if (!bare) {
      continue;
    }
    for (const auto& state : ctx_.router.sessions().resources(*bare)) {
      auto row = session_json(*bare, state);
      std::string key = row["jid"].get<std::string>();
      if (key > page->cursor) {
        rows.emplace_back(std::move(key), std::move(row));
      }
    }
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json items = json::array();
  std::optional<std::string> next;
  for (std::size_t i = 0; i < rows.size() && i < page->limit; ++i) {
    items.push_back(std::move(rows[i].second));
    if (i + 1 == page->limit && rows.size() > page->limit) {
      next = rows[i].first;
    }
  }
  co_return json_response(200, page_json(std::move(items), next));
}

asio::awaitable<Response> Handlers::user_sessions(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  if (auto ok = co_await require_user(*jid); !ok) {
    co_return ok.error();
  }
  json items = json::array();
  for (const auto& state : ctx_.router.sessions().resources(*jid)) {
    items.push_back(session_json(*jid, state));
  }
  co_return json_response(200, {{"items", std::move(items)}});
}

asio::awaitable<Response> Handlers::kick_resource(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  auto full = jid->with_resource(call.param("resource"));
  if (!full) {
    co_return problem(400, "invalid-field", "Bad Request", "not a valid resource");
  }
  auto session = ctx_.router.sessions().find(*full);
  if (!session) {
    co_return problem(404, "not-found", "Not Found", full->full() + " is not connected");
  }
  // RFC 6120 §4.9.3.14: the administrator's policy ends the stream; it cannot be resumed.
  session->close(core::xml::stream_errc::policy_violation);
  call.audit = "disconnected " + full->full();
  co_return no_content();
}

asio::awaitable<Response> Handlers::kick_user(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  if (auto ok = co_await require_user(*jid); !ok) {
    co_return ok.error();
  }
  std::size_t kicked = 0;
  for (const auto& state : ctx_.router.sessions().resources(*jid)) {
    if (auto session = state.session.lock()) {
      session->close(core::xml::stream_errc::policy_violation);
      ++kicked;
    }
  }
  call.audit = "disconnected " + std::to_string(kicked) + " sessions of " + jid->full();
  co_return json_response(200, {{"kicked", kicked}});
}

// ---- roster -------------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::get_roster(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  const std::string user(jid->local());
  auto job = [this, user] { return ctx_.storage.roster().get_roster(user); };
  auto roster = co_await blocking(std::move(job));
  if (!roster) {
    co_return storage_problem(roster.error(), "user " + jid->full());
  }
  json items = json::array();
  for (const auto& item : roster->items) {
    items.push_back(roster_item_json(item));
  }
  co_return json_response(200, {{"version", roster->version}, {"items", std::move(items)}});
}

asio::awaitable<Response> Handlers::put_roster_item(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  auto contact = Jid::parse(call.param("contact"));
  if (!contact || !contact->is_bare()) {
    co_return problem(400, "invalid-field", "Bad Request", "the contact must be a bare JID");
  }
  auto body = call.body();
  if (!body) {
    co_return body.error();
  }
  auto name = string_member(*body, "name", false);
  auto subscription_text = string_member(*body, "subscription", false);
  if (!name) {
    co_return name.error();
  }
  if (!subscription_text) {
    co_return subscription_text.error();
  }
  std::optional<storage::Subscription> subscription;
  if (!subscription_text->empty()) {
    subscription = storage::parse_subscription(*subscription_text);
    if (!subscription) {
      co_return problem(400, "invalid-field", "Bad Request", "'subscription' must be none, to, from or both");
    }
  }
  std::optional<std::vector<std::string>> groups;
  if (auto g = body->find("groups"); g != body->end() && !g->is_null()) {
    if (!g->is_array() || !std::all_of(g->begin(), g->end(), [](const json& v) { return v.is_string(); })) {
      co_return problem(400, "invalid-field", "Bad Request", "'groups' must be an array of strings");
    }
    groups = g->get<std::vector<std::string>>();
  }
  const std::string user(jid->local());
  const std::string cjid = contact->full();
  const bool has_name = body->contains("name");
  const std::string new_name = *name;
  auto job = [this, user, cjid, has_name, new_name, subscription,
              groups]() -> boost::system::result<std::pair<storage::RosterItem, storage::RosterVersion>> {
    storage::RosterItem item;
    if (auto existing = ctx_.storage.roster().get_item(user, cjid)) {
      item = std::move(*existing);
    } else if (existing.error() != storage_errc::not_found) {
      return existing.error();
    } else {
      item.jid = cjid;
    }
    if (has_name) {
      item.name = new_name;
    }
    if (groups) {
      item.groups = *groups;
    }
    if (subscription) {
      item.subscription = *subscription;
      // A subscription set by the administrator settles whatever was pending on that side.
      if (*subscription == storage::Subscription::to || *subscription == storage::Subscription::both) {
        item.ask_subscribe = false;
      }
      if (*subscription == storage::Subscription::from || *subscription == storage::Subscription::both) {
        item.pending_in = false;
      }
    }
    auto version = ctx_.storage.roster().upsert_item(user, item);
    if (!version) {
      return version.error();
    }
    return std::pair(std::move(item), *version);
  };
  auto saved = co_await blocking(std::move(job));
  if (!saved) {
    co_return storage_problem(saved.error(), "user " + jid->full());
  }
  ctx_.router.push_roster(*jid, saved->first, false, saved->second);
  call.audit = "roster item " + cjid + " of " + jid->full();
  co_return json_response(200, roster_item_json(saved->first));
}

asio::awaitable<Response> Handlers::delete_roster_item(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  auto contact = Jid::parse(call.param("contact"));
  if (!contact || !contact->is_bare()) {
    co_return problem(400, "invalid-field", "Bad Request", "the contact must be a bare JID");
  }
  const std::string user(jid->local());
  const std::string cjid = contact->full();
  auto job = [this, user, cjid]() -> boost::system::result<std::pair<storage::RosterItem, storage::RosterVersion>> {
    auto existing = ctx_.storage.roster().get_item(user, cjid);
    if (!existing) {
      return existing.error();
    }
    auto version = ctx_.storage.roster().remove_item(user, cjid);
    if (!version) {
      return version.error();
    }
    return std::pair(std::move(*existing), *version);
  };
  auto removed = co_await blocking(std::move(job));
  if (!removed) {
    co_return storage_problem(removed.error(), "roster item " + cjid + " of " + jid->full());
  }
  ctx_.router.push_roster(*jid, removed->first, true, removed->second);
  call.audit = "removed roster item " + cjid + " of " + jid->full();
  co_return no_content();
}

// ---- offline ------------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::offline_count(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  const std::string user(jid->local());
  auto job = [this, user] { return ctx_.storage.offline().count(user); };
  auto count = co_await blocking(std::move(job));
  if (!count) {
    co_return storage_problem(count.error(), "user " + jid->full());
  }
  co_return json_response(200, {{"count", *count}});
}

asio::awaitable<Response> Handlers::offline_list(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  auto page = page_of(call);
  if (!page) {
    co_return page.error();
  }
  storage::OfflineMessageId after = 0;
  if (!page->cursor.empty()) {
    const auto [end, ec] = std::from_chars(page->cursor.data(), page->cursor.data() + page->cursor.size(), after);
    if (ec != std::errc() || end != page->cursor.data() + page->cursor.size()) {
      co_return problem(400, "invalid-field", "Bad Request", "not a cursor of this list");
    }
  }
  const std::string user(jid->local());
  auto job = [this, user] { return ctx_.storage.offline().list(user); };
  auto messages = co_await blocking(std::move(job));
  if (!messages) {
    co_return storage_problem(messages.error(), "user " + jid->full());
  }
  json items = json::array();
  std::optional<std::string> next;
  std::size_t taken = 0;
  for (const auto& m : *messages) {
    if (m.id <= after) {
      continue;
    }
    if (taken == page->limit) {
      next = std::to_string(items.back()["id"].get<std::int64_t>());
      break;
    }
    items.push_back({{"id", m.id}, {"timestamp", timestamp(m.timestamp)}, {"stanza", m.stanza}});
    ++taken;
  }
  co_return json_response(200, page_json(std::move(items), next));
}

asio::awaitable<Response> Handlers::offline_purge(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  const std::string user(jid->local());
  auto job = [this, user] { return ctx_.storage.offline().purge(user); };
  auto purged = co_await blocking(std::move(job));
  if (!purged) {
    co_return storage_problem(purged.error(), "user " + jid->full());
  }
  call.audit = "purged " + std::to_string(*purged) + " offline messages of " + jid->full();
  co_return json_response(200, {{"purged", *purged}});
}

// ---- messages -----------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::send_message(Call& call) {
  auto body = call.body();
  if (!body) {
    co_return body.error();
  }
  auto from_text = string_member(*body, "from", true);
  auto to_text = string_member(*body, "to", true);
  auto type = string_member(*body, "type", false, "chat");
  auto text = string_member(*body, "body", false);
  auto subject = string_member(*body, "subject", false);
  auto thread = string_member(*body, "thread", false);
  for (const auto* member : {&from_text, &to_text, &type, &text, &subject, &thread}) {
    if (!*member) {
      co_return member->error();
    }
  }
  auto from = Jid::parse(*from_text);
  auto to = Jid::parse(*to_text);
  if (!from || !to) {
    co_return problem(400, "invalid-field", "Bad Request", std::string(!from ? "'from'" : "'to'") + " is not a valid JID");
  }
  const bool local_from = ctx_.router.is_local_host(from->domain());
  if (!local_from && ctx_.router.domain_handler(from->domain()) == nullptr) {
    co_return problem(422, "invalid-sender", "Unprocessable Content",
                      "'from' must be a JID of a host or a gateway of this server");
  }
  static constexpr std::array<std::string_view, 4> types = {"chat", "normal", "headline", "groupchat"};
  if (std::find(types.begin(), types.end(), *type) == types.end()) {
    co_return problem(400, "invalid-field", "Bad Request", "'type' must be chat, normal, headline or groupchat");
  }
  if (text->empty() && subject->empty()) {
    co_return problem(400, "invalid-field", "Bad Request", "a message needs a 'body' or a 'subject'");
  }

  // Idempotency-Key: the first answer is kept, and a repeat gets it again without a second
  // message. The same key with another body is a client bug and is refused.
  std::string idem_key;
  const std::string fingerprint = crypto::hex_encode(crypto::hash(core::sasl::ScramHash::sha256, call.request.body));
  if (auto key = call.request.header("idempotency-key")) {
    if (key->empty() || key->size() > 255) {
      co_return problem(400, "invalid-field", "Bad Request", "Idempotency-Key must be 1 to 255 characters");
    }
    idem_key = call.who + "/" + std::string(*key);
    auto lookup = [this, idem_key] { return ctx_.storage.seen().lookup("api:messages", idem_key); };
    auto seen = co_await blocking(std::move(lookup));
    if (seen) {
      const auto newline = seen->find('\n');
      if (seen->substr(0, newline) != fingerprint) {
        co_return problem(422, "idempotency-key-reused", "Unprocessable Content",
                          "this Idempotency-Key was used for a different request");
      }
      auto replay = Response::json(202, seen->substr(newline + 1));
      replay.headers.emplace_back("Idempotent-Replayed", "true");
      co_return replay;
    }
    if (seen.error() != storage_errc::not_found) {
      co_return storage_problem(seen.error(), "idempotency key");
    }
  }

  Element message("message", std::string(core::xml::ns::client));
  const std::string id = "api-" + crypto::hex_encode(crypto::random_bytes(8));
  message.set_attribute("id", id);
  message.set_attribute("from", from->full());
  message.set_attribute("to", to->full());
  message.set_attribute("type", *type);
  if (!subject->empty()) {
    message.add_child(Element("subject", std::string(core::xml::ns::client))).add_text(*subject);
  }
  if (!text->empty()) {
    message.add_child(Element("body", std::string(core::xml::ns::client))).add_text(*text);
  }
  if (!thread->empty()) {
    message.add_child(Element("thread", std::string(core::xml::ns::client))).add_text(*thread);
  }
  const auto disposition = co_await ctx_.router.route(std::move(message));
  if (disposition == router::Disposition::not_stored) {
    auto r = problem(503, "storage-unavailable", "Service Unavailable",
                     "the recipient is offline and storage is unavailable; nothing was sent");
    r.headers.emplace_back("Retry-After", "5");
    co_return r;
  }
  if (disposition == router::Disposition::refused) {
    co_return problem(422, "message-refused", "Unprocessable Content",
                      "the recipient refused the message (no such user, or its offline storage is full)");
  }
  const std::string answer = json{{"id", id}, {"from", from->full()}, {"to", to->full()}}.dump();
  if (!idem_key.empty()) {
    const std::string value = fingerprint + "\n" + answer;
    auto remember = [this, idem_key, value] { return ctx_.storage.seen().remember("api:messages", idem_key, value, now()); };
    if (auto kept = co_await blocking(std::move(remember)); !kept) {
      // Sent, but a repeat would send again: say so in the log rather than fail a done request.
      spdlog::warn("admin api: cannot keep Idempotency-Key {}: {}", idem_key, kept.error().message());
    }
  }
  call.audit = "message " + id + " from " + from->full() + " to " + to->full();
  co_return Response::json(202, answer);
}

// ---- tokens -------------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::list_tokens(Call&) {
  auto job = [this] { return ctx_.storage.tokens().list(); };
  auto tokens = co_await blocking(std::move(job));
  if (!tokens) {
    co_return storage_problem(tokens.error(), "tokens");
  }
  json items = json::array();
  for (const auto& t : *tokens) {
    items.push_back({{"id", t.id}, {"scope", t.scope}, {"description", t.description}, {"created", timestamp(t.created)}});
  }
  co_return json_response(200, {{"items", std::move(items)}});
}

asio::awaitable<Response> Handlers::create_token(Call& call) {
  auto body = call.body();
  if (!body) {
    co_return body.error();
  }
  auto scope = string_member(*body, "scope", true);
  auto description = string_member(*body, "description", false);
  if (!scope) {
    co_return scope.error();
  }
  if (!description) {
    co_return description.error();
  }
  if (!valid_scope(*scope)) {
    co_return problem(400, "invalid-field", "Bad Request", "'scope' must be admin or read");
  }
  auto minted = mint_token(*scope, *description, now());
  const auto stored = minted.stored;
  auto job = [this, stored] { return ctx_.storage.tokens().create(stored); };
  if (auto created = co_await blocking(std::move(job)); !created) {
    co_return storage_problem(created.error(), "token");
  }
  call.audit = "created token " + stored.id + " scope=" + stored.scope;
  co_return json_response(201, {{"id", stored.id}, {"scope", stored.scope}, {"token", minted.presented}});
}

asio::awaitable<Response> Handlers::revoke_token(Call& call) {
  const std::string id(call.param("id"));
  auto job = [this, id] { return ctx_.storage.tokens().revoke(id); };
  if (auto revoked = co_await blocking(std::move(job)); !revoked) {
    co_return storage_problem(revoked.error(), "token " + id);
  }
  call.audit = "revoked token " + id;
  co_return no_content();
}

// ---- stats --------------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::stats(Call&) {
  // Every gateway's outbox, even an empty one, and whatever other queue holds items.
  std::set<std::string> known;
  for (const auto& service : ctx_.gateways) {
    known.insert(service->queue());
  }
  auto job = [this, known]() -> boost::system::result<json> {
    auto users = ctx_.storage.users().count_users();
    if (!users) {
      return users.error();
    }
    auto queues = ctx_.storage.work().queues();
    if (!queues) {
      return queues.error();
    }
    std::set<std::string> all = known;
    all.insert(queues->begin(), queues->end());
    json depths = json::object();
    for (const auto& queue : all) {
      json states = json::object();
      for (auto state : {storage::WorkState::pending, storage::WorkState::claimed, storage::WorkState::dead,
                         storage::WorkState::done}) {
        auto n = ctx_.storage.work().count(queue, state);
        if (!n) {
          return n.error();
        }
        states[std::string(storage::to_string(state))] = *n;
      }
      depths[queue] = std::move(states);
    }
    return boost::system::result<json>(boost::system::in_place_value,
                                       json{{"users_registered", *users}, {"queues", std::move(depths)}});
  };
  auto figures = co_await blocking(std::move(job));
  if (!figures) {
    co_return storage_problem(figures.error(), "stats");
  }
  std::set<std::string> online;
  std::size_t sessions = 0;
  for (const auto& session : ctx_.router.sessions().all()) {
    online.insert(std::string(session->jid().bare_string()));
    ++sessions;
  }
  json out = std::move(*figures);
  out["sessions"] = sessions;
  out["users_online"] = online.size();
  const auto counts = router::Router::counts();
  out["stanzas"] = {{"in", counts.stanzas_in}, {"out", counts.stanzas_out}, {"routed", counts.routed}};
  co_return json_response(200, out);
}

} // namespace parley::server::admin::detail
