// Admin API: gateways, registrations (numbers and addresses per user), the outbox, webhooks.

#include "config/config.hpp"
#include "core/jid/escaping.hpp"
#include "core/sasl/crypto.hpp"
#include "gateways/gateway_service.hpp"
#include "server/admin/detail/blocking.hpp"
#include "server/admin/detail/handlers.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>

namespace parley::server::admin::detail {

namespace asio = boost::asio;
namespace crypto = core::sasl::crypto;
using core::jid::Jid;
using storage::storage_errc;
using storage::WorkState;

namespace {

constexpr std::array<WorkState, 4> all_states = {WorkState::pending, WorkState::claimed, WorkState::dead,
                                                 WorkState::done};

std::string_view kind_name(config::GatewayKind kind) {
  switch (kind) {
  case config::GatewayKind::webhook: return "webhook";
  case config::GatewayKind::sms: return "sms";
  case config::GatewayKind::email: return "email";
  }
  return "unknown";
}

/// The outbox payload is "destination\n<stanza>".
std::pair<std::string_view, std::string_view> split_payload(std::string_view payload) {
  const auto newline = payload.find('\n');
  if (newline == std::string_view::npos) {
    return {payload, {}};
  }
  return {payload.substr(0, newline), payload.substr(newline + 1)};
}

json work_item_json(const storage::WorkItem& item) {
  const auto [destination, stanza] = split_payload(item.payload);
  return {{"id", item.id},
          {"key", item.key},
          {"destination", destination},
          {"state", storage::to_string(item.state)},
          {"attempts", item.attempts},
          {"created", timestamp(item.created)},
          {"due", timestamp(item.due)},
          {"updated", timestamp(item.updated)},
          {"last_error", item.last_error},
          {"stanza", stanza}};
}

/// RFC 3339 "2026-11-24T10:00:00Z" (fraction and offset Z only).
std::optional<storage::Timestamp> parse_time(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) {
    return std::nullopt;
  }
  std::string_view rest(end);
  std::chrono::microseconds fraction{0};
  if (rest.starts_with('.')) {
    rest.remove_prefix(1);
    std::int64_t digits = 0;
    int n = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      if (n < 6) {
        digits = digits * 10 + (rest.front() - '0');
        ++n;
      }
      rest.remove_prefix(1);
    }
    for (; n < 6; ++n) {
      digits *= 10;
    }
    fraction = std::chrono::microseconds(digits);
  }
  if (rest != "Z" && rest != "z") {
    return std::nullopt;
  }
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::from_time_t(timegm(&tm))) +
         fraction;
}

std::string new_secret() { return "whsec_" + crypto::base64_encode(crypto::random_bytes(24)); }
std::string new_inbound_secret() { return crypto::hex_encode(crypto::random_bytes(24)); }

json stored_hook_json(const storage::StoredHook& hook) {
  return {{"name", hook.name},
          {"source", "api"},
          {"url", hook.url},
          {"recipient", hook.recipient},
          {"template", hook.template_name},
          {"github_signature", hook.github_signature},
          {"outbound", !hook.url.empty()},
          {"inbound", !hook.inbound_secret.empty()},
          {"created", timestamp(hook.created)},
          {"updated", timestamp(hook.updated)}};
}

} // namespace

Checked<gateways::GatewayService*> Handlers::gateway_param(const Call& call) const {
  const auto domain = call.param("gateway");
  for (const auto& service : ctx_.gateways) {
    if (service->domain() == domain) {
      return service.get();
    }
  }
  return problem(404, "not-found", "Not Found", "no gateway serves " + std::string(domain));
}

Checked<std::size_t> Handlers::webhook_gateway_index(const Call& call) const {
  const auto domain = call.param("gateway");
  for (std::size_t i = 0; i < ctx_.config.gateways.size(); ++i) {
    const auto& g = ctx_.config.gateways[i];
    if (g.domain == domain) {
      if (g.kind != config::GatewayKind::webhook) {
        return problem(404, "not-found", "Not Found", std::string(domain) + " is not a webhook gateway");
      }
      return Checked<std::size_t>(boost::system::in_place_value, i);
    }
  }
  return problem(404, "not-found", "Not Found", "no gateway serves " + std::string(domain));
}

Checked<Handlers::StoredHookTarget> Handlers::stored_hook_param(const Call& call, std::string_view why) const {
  auto index = webhook_gateway_index(call);
  if (!index) {
    return index.error();
  }
  auto service = gateway_param(call);
  if (!service) {
    return service.error();
  }
  StoredHookTarget target{*service, &ctx_.config.gateways[*index], std::string(call.param("name"))};
  for (const auto& hook : target.settings->hooks) {
    if (hook.name == target.name) {
      return problem(409, "defined-in-config", "Conflict", "hook " + target.name + " " + std::string(why));
    }
  }
  return target;
}

// ---- gateways -----------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::list_gateways(Call&) {
  std::vector<std::string> queues;
  for (const auto& service : ctx_.gateways) {
    queues.push_back(service->queue());
  }
  auto job = [this, queues]() -> boost::system::result<std::vector<json>> {
    std::vector<json> out;
    for (const auto& queue : queues) {
      json counts = json::object();
      for (auto state : all_states) {
        auto n = ctx_.storage.work().count(queue, state);
        if (!n) {
          return n.error();
        }
        counts[std::string(storage::to_string(state))] = *n;
      }
      out.push_back(std::move(counts));
    }
    return out;
  };
  auto counts = co_await blocking(std::move(job));
  if (!counts) {
    co_return storage_problem(counts.error(), "outbox");
  }
  json items = json::array();
  for (std::size_t i = 0; i < ctx_.gateways.size(); ++i) {
    const auto& gateway = ctx_.gateways[i]->gateway();
    const auto& settings = gateway.settings();
    items.push_back({{"domain", settings.domain},
                     {"kind", kind_name(settings.kind)},
                     {"name", settings.name.empty() ? std::string(gateway.default_name()) : settings.name},
                     {"outbox", (*counts)[i]}});
  }
  co_return json_response(200, {{"items", std::move(items)}});
}

asio::awaitable<Response> Handlers::get_gateway(Call& call) {
  auto service = gateway_param(call);
  if (!service) {
    co_return service.error();
  }
  const std::string queue = (*service)->queue();
  auto job = [this, queue]() -> boost::system::result<json> {
    json counts = json::object();
    for (auto state : all_states) {
      auto n = ctx_.storage.work().count(queue, state);
      if (!n) {
        return n.error();
      }
      counts[std::string(storage::to_string(state))] = *n;
    }
    return boost::system::result<json>(boost::system::in_place_value, std::move(counts));
  };
  auto counts = co_await blocking(std::move(job));
  if (!counts) {
    co_return storage_problem(counts.error(), "outbox");
  }
  const auto& gateway = (*service)->gateway();
  const auto& settings = gateway.settings();
  co_return json_response(200, {{"domain", settings.domain},
                                {"kind", kind_name(settings.kind)},
                                {"name", settings.name.empty() ? std::string(gateway.default_name()) : settings.name},
                                {"outbox", std::move(*counts)},
                                {"max_attempts", settings.max_attempts},
                                {"max_age_seconds", settings.max_age_seconds},
                                {"concurrency_per_destination", settings.concurrency_per_destination}});
}

// ---- registrations ------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::gateway_registrations(Call& call) {
  auto service = gateway_param(call);
  if (!service) {
    co_return service.error();
  }
  auto page = page_of(call);
  if (!page) {
    co_return page.error();
  }
  // The cursor is "address\nowner" of the last row.
  std::string after_address;
  std::string after_owner;
  if (!page->cursor.empty()) {
    const auto newline = page->cursor.find('\n');
    if (newline == std::string::npos) {
      co_return problem(400, "invalid-field", "Bad Request", "not a cursor of this list");
    }
    after_address = page->cursor.substr(0, newline);
    after_owner = page->cursor.substr(newline + 1);
  }
  const std::string domain = (*service)->domain();
  const std::size_t limit = page->limit;
  auto job = [this, domain, after_address, after_owner, limit] {
    return ctx_.storage.registrations().list(domain, after_address, after_owner, limit);
  };
  auto rows = co_await blocking(std::move(job));
  if (!rows) {
    co_return storage_problem(rows.error(), "registrations");
  }
  json items = json::array();
  for (const auto& r : *rows) {
    items.push_back({{"address", r.address}, {"owner", r.owner}, {"created", timestamp(r.created)}});
  }
  std::optional<std::string> next;
  if (rows->size() == limit) {
    next = rows->back().address + "\n" + rows->back().owner;
  }
  co_return json_response(200, page_json(std::move(items), next));
}

asio::awaitable<Response> Handlers::user_registrations(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  if (auto ok = co_await require_user(*jid); !ok) {
    co_return ok.error();
  }
  const std::string owner = jid->full();
  auto job = [this, owner] { return ctx_.storage.registrations().of_owner(owner); };
  auto rows = co_await blocking(std::move(job));
  if (!rows) {
    co_return storage_problem(rows.error(), "registrations");
  }
  json items = json::array();
  for (const auto& r : *rows) {
    items.push_back({{"gateway", r.domain}, {"address", r.address}, {"created", timestamp(r.created)}});
  }
  co_return json_response(200, {{"items", std::move(items)}});
}

asio::awaitable<Response> Handlers::assign_registration(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  auto body = call.body();
  if (!body) {
    co_return body.error();
  }
  auto domain = string_member(*body, "gateway", true);
  auto address = string_member(*body, "address", true);
  if (!domain) {
    co_return domain.error();
  }
  if (!address) {
    co_return address.error();
  }
  call.request.params["gateway"] = *domain;
  auto service = gateway_param(call);
  if (!service) {
    co_return service.error();
  }
  if (auto ok = co_await require_user(*jid); !ok) {
    co_return ok.error();
  }
  // The gateway's own rules say what an address is (an E.164 number for SMS).
  auto local = (*service)->gateway().translate(*address);
  if (!local) {
    co_return problem(400, "invalid-address", "Bad Request", local.error().text);
  }
  const std::string normalized = core::jid::unescape_localpart(*local);
  const std::string gw = *domain;
  const std::string owner = jid->full();
  auto job = [this, gw, normalized, owner] { return ctx_.storage.registrations().assign(gw, normalized, owner, now()); };
  auto assigned = co_await blocking(std::move(job));
  if (!assigned) {
    co_return storage_problem(assigned.error(), "registration");
  }
  if (!*assigned) {
    co_return problem(409, "conflict", "Conflict", owner + " has " + normalized + " on " + gw + " already");
  }
  co_await (*service)->reload(); // the gateway may keep who owns which address (SMS senders)
  call.audit = "assigned " + normalized + " on " + gw + " to " + owner;
  co_return json_response(201, {{"gateway", gw}, {"address", normalized}, {"owner", owner}});
}

asio::awaitable<Response> Handlers::unassign_registration(Call& call) {
  auto jid = user_param(call);
  if (!jid) {
    co_return jid.error();
  }
  auto service = gateway_param(call);
  if (!service) {
    co_return service.error();
  }
  const std::string gw((*service)->domain());
  std::string address(call.param("address"));
  if (auto local = (*service)->gateway().translate(address)) {
    address = core::jid::unescape_localpart(*local);
  }
  const std::string owner = jid->full();
  auto job = [this, gw, address, owner] { return ctx_.storage.registrations().unassign(gw, address, owner); };
  if (auto removed = co_await blocking(std::move(job)); !removed) {
    co_return storage_problem(removed.error(), "registration of " + address + " on " + gw + " for " + owner);
  }
  co_await (*service)->reload();
  call.audit = "unassigned " + address + " on " + gw + " from " + owner;
  co_return no_content();
}

// ---- outbox -------------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::list_outbox(Call& call) {
  auto service = gateway_param(call);
  if (!service) {
    co_return service.error();
  }
  auto page = page_of(call);
  if (!page) {
    co_return page.error();
  }
  const auto state = storage::parse_work_state(call.query_value("state").value_or("dead"));
  if (!state) {
    co_return problem(400, "invalid-field", "Bad Request", "state must be pending, claimed, done or dead");
  }
  storage::WorkItemId after = 0;
  if (!page->cursor.empty()) {
    const auto [end, ec] = std::from_chars(page->cursor.data(), page->cursor.data() + page->cursor.size(), after);
    if (ec != std::errc() || end != page->cursor.data() + page->cursor.size()) {
      co_return problem(400, "invalid-field", "Bad Request", "not a cursor of this list");
    }
  }
  const std::string queue = (*service)->queue();
  const std::size_t limit = page->limit;
  const WorkState st = *state;
  auto job = [this, queue, st, after, limit] { return ctx_.storage.work().list(queue, st, after, limit); };
  auto items = co_await blocking(std::move(job));
  if (!items) {
    co_return storage_problem(items.error(), "outbox");
  }
  json out = json::array();
  for (const auto& item : *items) {
    out.push_back(work_item_json(item));
  }
  std::optional<std::string> next;
  if (items->size() == limit) {
    next = std::to_string(items->back().id);
  }
  co_return json_response(200, page_json(std::move(out), next));
}

namespace {

std::optional<storage::WorkItemId> item_id(const Call& call) {
  const auto text = call.param("id");
  storage::WorkItemId id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1) {
    return std::nullopt;
  }
  return id;
}

} // namespace

asio::awaitable<Response> Handlers::get_outbox_item(Call& call) {
  auto service = gateway_param(call);
  if (!service) {
    co_return service.error();
  }
  const auto id = item_id(call);
  if (!id) {
    co_return problem(404, "not-found", "Not Found", "no outbox item has this id");
  }
  const std::string queue = (*service)->queue();
  const storage::WorkItemId wanted = *id;
  auto job = [this, wanted]() -> boost::system::result<std::pair<storage::WorkItem, std::vector<storage::WorkEvent>>> {
    auto item = ctx_.storage.work().get(wanted);
    if (!item) {
      return item.error();
    }
    auto events = ctx_.storage.work().events(wanted);
    if (!events) {
      return events.error();
    }
    return std::pair(std::move(*item), std::move(*events));
  };
  auto found = co_await blocking(std::move(job));
  if (!found || found->first.queue != queue) {
    if (!found && found.error() != storage_errc::not_found) {
      co_return storage_problem(found.error(), "outbox item");
    }
    co_return problem(404, "not-found", "Not Found", "no outbox item " + std::string(call.param("id")) + " on this gateway");
  }
  json out = work_item_json(found->first);
  json timeline = json::array();
  for (const auto& e : found->second) {
    timeline.push_back({{"at", timestamp(e.at)}, {"event", e.event}, {"detail", e.detail}});
  }
  out["timeline"] = std::move(timeline);
  co_return json_response(200, out);
}

asio::awaitable<Response> Handlers::retry_outbox_item(Call& call) {
  auto service = gateway_param(call);
  if (!service) {
    co_return service.error();
  }
  const auto id = item_id(call);
  if (!id) {
    co_return problem(404, "not-found", "Not Found", "no outbox item has this id");
  }
  const std::string queue = (*service)->queue();
  const storage::WorkItemId wanted = *id;
  auto job = [this, wanted, queue]() -> boost::system::result<storage::WorkItem> {
    auto item = ctx_.storage.work().get(wanted);
    if (!item) {
      return item.error();
    }
    if (item->queue != queue) {
      return storage::make_error_code(storage_errc::not_found);
    }
    if (auto revived = ctx_.storage.work().revive(wanted, now()); !revived) {
      return revived.error();
    }
    return ctx_.storage.work().get(wanted);
  };
  auto revived = co_await blocking(std::move(job));
  if (!revived) {
    if (revived.error() == storage_errc::conflict) {
      co_return problem(409, "not-dead", "Conflict", "only a dead letter can be retried");
    }
    co_return storage_problem(revived.error(), "outbox item " + std::string(call.param("id")));
  }
  (*service)->wake();
  call.audit = "retried outbox item " + std::to_string(wanted) + " of " + queue;
  co_return json_response(200, work_item_json(*revived));
}

asio::awaitable<Response> Handlers::purge_outbox(Call& call) {
  auto service = gateway_param(call);
  if (!service) {
    co_return service.error();
  }
  const auto state = storage::parse_work_state(call.query_value("state").value_or(""));
  if (!state || (*state != WorkState::done && *state != WorkState::dead)) {
    co_return problem(400, "invalid-field", "Bad Request", "state must be done or dead");
  }
  storage::Timestamp before = now();
  if (auto text = call.query_value("before")) {
    auto parsed = parse_time(*text);
    if (!parsed) {
      co_return problem(400, "invalid-field", "Bad Request", "before must be an RFC 3339 UTC time (…Z)");
    }
    before = *parsed;
  }
  const std::string queue = (*service)->queue();
  const WorkState st = *state;
  auto job = [this, queue, st, before] { return ctx_.storage.work().purge(queue, st, before); };
  auto purged = co_await blocking(std::move(job));
  if (!purged) {
    co_return storage_problem(purged.error(), "outbox");
  }
  call.audit = "purged " + std::to_string(*purged) + " " + std::string(storage::to_string(st)) + " items of " + queue;
  co_return json_response(200, {{"purged", *purged}});
}

// ---- webhooks -----------------------------------------------------------------------------------

asio::awaitable<Response> Handlers::list_hooks(Call& call) {
  auto index = webhook_gateway_index(call);
  if (!index) {
    co_return index.error();
  }
  const auto& settings = ctx_.config.gateways[*index];
  json items = json::array();
  for (const auto& hook : settings.hooks) {
    items.push_back({{"name", hook.name},
                     {"source", "config"},
                     {"url", hook.url},
                     {"recipient", hook.recipient},
                     {"template", hook.template_name},
                     {"github_signature", hook.github_signature},
                     {"outbound", !hook.url.empty()},
                     {"inbound", !hook.inbound_secret.empty() || !hook.inbound_secret_env.empty()}});
  }
  const std::string domain = settings.domain;
  auto job = [this, domain] { return ctx_.storage.hooks().list(domain); };
  auto stored = co_await blocking(std::move(job));
  if (!stored) {
    co_return storage_problem(stored.error(), "hooks");
  }
  for (const auto& hook : *stored) {
    items.push_back(stored_hook_json(hook));
  }
  co_return json_response(200, {{"items", std::move(items)}});
}

asio::awaitable<Response> Handlers::create_hook(Call& call) {
  auto index = webhook_gateway_index(call);
  if (!index) {
    co_return index.error();
  }
  auto service = gateway_param(call);
  if (!service) {
    co_return service.error();
  }
  const auto& settings = ctx_.config.gateways[*index];
  auto body = call.body();
  if (!body) {
    co_return body.error();
  }
  auto name = string_member(*body, "name", true);
  auto url = string_member(*body, "url", false);
  auto recipient = string_member(*body, "recipient", false);
  auto template_name = string_member(*body, "template", false, "auto");
  for (const auto* member : {&name, &url, &recipient, &template_name}) {
    if (!*member) {
      co_return member->error();
    }
  }
  bool github = false;
  bool inbound = true;
  for (auto [key, out] : {std::pair<const char*, bool*>{"github_signature", &github}, {"inbound", &inbound}}) {
    if (auto v = body->find(key); v != body->end() && !v->is_null()) {
      if (!v->is_boolean()) {
        co_return problem(400, "invalid-field", "Bad Request", std::string("'") + key + "' must be true or false");
      }
      *out = v->get<bool>();
    }
  }
  // A hook's name is a JID localpart and a URL path segment: keep it simple.
  const bool name_ok = !name->empty() && name->size() <= 64 &&
                       std::all_of(name->begin(), name->end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
                       });
  if (!name_ok) {
    co_return problem(400, "invalid-field", "Bad Request",
                      "'name' must be 1 to 64 of a-z, 0-9, '-', '_' and '.'");
  }
  if (!url->empty() && !url->starts_with("http://") && !url->starts_with("https://")) {
    co_return problem(400, "invalid-field", "Bad Request", "'url' must be an http:// or https:// URL");
  }
  static constexpr std::array<std::string_view, 6> templates = {"auto", "github", "alertmanager", "grafana", "json", "text"};
  if (std::find(templates.begin(), templates.end(), *template_name) == templates.end()) {
    co_return problem(400, "invalid-field", "Bad Request",
                      "'template' must be auto, github, alertmanager, grafana, json or text");
  }
  if (url->empty() && !inbound) {
    co_return problem(400, "invalid-field", "Bad Request", "a hook needs a 'url' (outbound), 'inbound', or both");
  }
  if (!recipient->empty()) {
    auto r = Jid::parse(*recipient);
    if (!r) {
      co_return problem(400, "invalid-field", "Bad Request", "'recipient' is not a valid JID");
    }
  }
  for (const auto& hook : settings.hooks) {
    if (hook.name == *name) {
      co_return problem(409, "conflict", "Conflict", "the configuration file defines a hook named " + *name);
    }
  }
  storage::StoredHook hook;
  hook.domain = settings.domain;
  hook.name = *name;
  hook.url = *url;
  hook.secret = url->empty() ? std::string() : new_secret();
  hook.github_signature = github;
  hook.inbound_secret = inbound ? new_inbound_secret() : std::string();
  hook.recipient = *recipient;
  hook.template_name = *template_name;
  hook.created = now();
  hook.updated = hook.created;
  auto job = [this, hook] { return ctx_.storage.hooks().create(hook); };
  if (auto created = co_await blocking(std::move(job)); !created) {
    if (created.error() == storage_errc::conflict) {
      co_return problem(409, "conflict", "Conflict", "a hook named " + hook.name + " exists already");
    }
    co_return storage_problem(created.error(), "hook " + hook.name);
  }
  co_await (*service)->reload();
  call.audit = "created hook " + hook.name + " on " + hook.domain;
  json out = stored_hook_json(hook);
  out["jid"] = hook.name + "@" + hook.domain;
  if (!hook.secret.empty()) {
    out["secret"] = hook.secret;
  }
  if (!hook.inbound_secret.empty()) {
    out["inbound_secret"] = hook.inbound_secret;
    out["inbound_url"] = "/hooks/" + hook.name;
  }
  co_return json_response(201, out);
}

asio::awaitable<Response> Handlers::delete_hook(Call& call) {
  auto target = stored_hook_param(call, "is defined in the configuration file; remove it there");
  if (!target) {
    co_return target.error();
  }
  auto* service = target->service;
  const std::string name = target->name;
  const std::string domain = target->settings->domain;
  auto job = [this, domain, name] { return ctx_.storage.hooks().remove(domain, name); };
  if (auto removed = co_await blocking(std::move(job)); !removed) {
    co_return storage_problem(removed.error(), "hook " + name);
  }
  co_await service->reload();
  call.audit = "deleted hook " + name + " on " + domain;
  co_return no_content();
}

asio::awaitable<Response> Handlers::rotate_hook(Call& call) {
  auto target = stored_hook_param(call, "takes its secrets from the configuration file; change them there");
  if (!target) {
    co_return target.error();
  }
  auto* service = target->service;
  const std::string name = target->name;
  const std::string domain = target->settings->domain;
  auto job = [this, domain, name]() -> boost::system::result<storage::StoredHook> {
    auto hook = ctx_.storage.hooks().get(domain, name);
    if (!hook) {
      return hook.error();
    }
    if (!hook->secret.empty()) {
      hook->secret = new_secret();
    }
    if (!hook->inbound_secret.empty()) {
      hook->inbound_secret = new_inbound_secret();
    }
    hook->updated = now();
    if (auto updated = ctx_.storage.hooks().update(*hook); !updated) {
      return updated.error();
    }
    return hook;
  };
  auto rotated = co_await blocking(std::move(job));
  if (!rotated) {
    co_return storage_problem(rotated.error(), "hook " + name);
  }
  co_await service->reload();
  call.audit = "rotated the secrets of hook " + name + " on " + domain;
  json out = {{"name", name}};
  if (!rotated->secret.empty()) {
    out["secret"] = rotated->secret;
  }
  if (!rotated->inbound_secret.empty()) {
    out["inbound_secret"] = rotated->inbound_secret;
  }
  co_return json_response(200, out);
}

} // namespace parley::server::admin::detail
