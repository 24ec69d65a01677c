#include "gateways/webhook/webhook_gateway.hpp"

#include "core/async/worker_pool.hpp"
#include "core/http/client.hpp"
#include "core/http/server.hpp"
#include "core/jid/jid.hpp"
#include "core/sasl/crypto.hpp"
#include "core/xml/namespaces.hpp"
#include "gateways/shared_owner.hpp"
#include "gateways/webhook/inbound_parse.hpp"
#include "gateways/webhook/outbound_payload.hpp"
#include "gateways/webhook/signing.hpp"
#include "router/muc/muc_service.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>

namespace parley::gateways::webhook {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::jid::Jid;
using core::stanza::stanza_errc;
using core::xml::Element;

namespace {

/// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
std::optional<std::chrono::system_clock::time_point> retry_after(std::optional<std::string_view> value) {
  if (!value || value->empty()) {
    return std::nullopt;
  }
  long seconds = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
  if (ec == std::errc() && end == value->data() + value->size() && seconds >= 0) {
    return std::chrono::system_clock::now() + std::chrono::seconds(std::min(seconds, 86400L));
  }
  std::tm tm{};
  const std::string text(*value);
  if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) != nullptr) {
    return std::chrono::system_clock::from_time_t(timegm(&tm));
  }
  return std::nullopt;
}

core::http::Response problem(unsigned status, std::string_view type, std::string_view title, std::string_view detail) {
  return core::http::Response::problem(status, type, title, detail);
}

struct Hook {
  config::WebhookConfig config;
  storage::Timestamp updated; // stored hooks: when the admin API last changed it
  std::string secret;         // outbound signing
  std::string inbound_secret; // POST /hooks/NAME
  InboundSettings inbound;
  std::atomic<bool> disabled{false}; // after a 410 Gone
};

class WebhookGateway final : public Gateway, public std::enable_shared_from_this<WebhookGateway> {
public:
  explicit WebhookGateway(config::GatewayConfig settings) : settings_(std::move(settings)) {}

  boost::system::result<void, std::string> resolve_secrets() {
    auto hooks = std::make_shared<HookMap>();
    for (const auto& hook_config : settings_.hooks) {
      auto read = [](const std::string& value, const std::string& env, std::string& out) -> bool {
        if (!env.empty()) {
          const char* from_env = std::getenv(env.c_str());
          if (from_env == nullptr) {
            return false;
          }
          out = from_env;
        } else {
          out = value;
        }
        return true;
      };
      std::string secret;
      std::string inbound_secret;
      if (!read(hook_config.secret, hook_config.secret_env, secret)) {
        return {boost::system::in_place_error, "hook " + hook_config.name + ": secret_env names " +
                                                   hook_config.secret_env + ", which is not set"};
      }
      if (!read(hook_config.inbound_secret, hook_config.inbound_secret_env, inbound_secret)) {
        return {boost::system::in_place_error, "hook " + hook_config.name + ": inbound_secret_env names " +
                                                   hook_config.inbound_secret_env + ", which is not set"};
      }
      auto hook = make_hook(hook_config, std::move(secret), std::move(inbound_secret));
      if (!hook) {
        return {boost::system::in_place_error, hook.error()};
      }
      hooks->emplace(hook_config.name, std::move(*hook));
    }
    config_hooks_ = hooks;
    hooks_ = std::move(hooks);
    return {};
  }

  static boost::system::result<std::shared_ptr<Hook>, std::string> make_hook(const config::WebhookConfig& hook_config,
                                                                            std::string secret,
                                                                            std::string inbound_secret) {
    auto hook = std::make_shared<Hook>();
    hook->config = hook_config;
    hook->secret = std::move(secret);
    hook->inbound_secret = std::move(inbound_secret);
    if (!hook->secret.empty()) {
      if (auto key = signing_key(hook->secret); !key) {
        return {boost::system::in_place_error,
                "hook " + hook_config.name + ": the signing secret is not usable: " + key.error().message()};
      }
    }
    hook->inbound.default_recipient = hook_config.recipient;
    hook->inbound.payload_template =
        parse_payload_template(hook_config.template_name == "json" || hook_config.template_name == "text"
                                   ? std::string_view("plain")
                                   : std::string_view(hook_config.template_name))
            .value_or(PayloadTemplate::auto_detect);
    return hook;
  }

  /// The hook named `name` (from the file or created through the admin API), or null.
  std::shared_ptr<Hook> find_hook(std::string_view name) const {
    std::shared_ptr<const HookMap> hooks;
    {
      std::lock_guard lock(hooks_mutex_);
      hooks = hooks_;
    }
    const auto found = hooks->find(name);
    return found == hooks->end() ? nullptr : found->second;
  }

  /// The hooks of the file plus those stored by the admin API. Blocks on storage: worker pool
  /// (or start-up) only. A stored hook that did not change keeps its Hook (and its 410 state).
  boost::system::result<void> load_stored_hooks(storage::Storage& storage) {
    auto stored = storage.hooks().list(settings_.domain);
    if (!stored) {
      return stored.error();
    }
    auto next = std::make_shared<HookMap>(*config_hooks_);
    std::shared_ptr<const HookMap> previous;
    {
      std::lock_guard lock(hooks_mutex_);
      previous = hooks_;
    }
    for (const auto& row : *stored) {
      if (next->find(row.name) != next->end()) {
        continue; // the file wins
      }
      if (auto old = previous->find(row.name); old != previous->end() && old->second->updated == row.updated) {
        next->emplace(row.name, old->second);
        continue;
      }
      config::WebhookConfig c;
      c.name = row.name;
      c.url = row.url;
      c.github_signature = row.github_signature;
      c.recipient = row.recipient;
      c.template_name = row.template_name;
      auto hook = make_hook(c, row.secret, row.inbound_secret);
      if (!hook) {
        spdlog::warn("webhook gateway {}: stored {}", settings_.domain, hook.error());
        continue;
      }
      (*hook)->updated = row.updated;
      next->emplace(row.name, std::move(*hook));
    }
    std::lock_guard lock(hooks_mutex_);
    hooks_ = std::move(next);
    return {};
  }

  asio::awaitable<void> reload() override {
    auto self = shared_from_this();
    if (host_ == nullptr) {
      co_return;
    }
    auto job = [self] { return self->load_stored_hooks(self->host_->storage()); };
    if (auto loaded = co_await host_->workers().run(std::move(job)); !loaded) {
      spdlog::warn("webhook gateway {}: cannot read stored hooks: {}", settings_.domain, loaded.error().message());
    }
  }

  /// Other nodes may change the stored hooks: re-read them now and then.
  asio::awaitable<void> reload_periodically() {
    auto self = shared_from_this();
    while (!stopped_) {
      reload_timer_->expires_after(std::chrono::seconds(30));
      auto [ec] = co_await reload_timer_->async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || stopped_) {
        co_return;
      }
      co_await reload();
    }
  }

  const config::GatewayConfig& settings() const override { return settings_; }
  std::string_view identity_type() const override { return "http"; }
  std::string_view provider() const override { return "webhook"; }
  std::string_view default_name() const override { return "Webhooks"; }
  std::string prompt_description() const override { return "Enter the name of a webhook of this server."; }
  std::string prompt_label() const override { return "Webhook name"; }

  boost::system::result<std::string, Refusal> translate(std::string_view input) const override {
    std::string name(input);
    std::erase_if(name, [](char c) { return c == ' ' || c == '\t'; });
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!find_hook(name)) {
      return {boost::system::in_place_error, Refusal{stanza_errc::item_not_found, "no webhook is named '" + name + "'"}};
    }
    return name;
  }

  boost::system::result<std::string, Refusal> accept(const Element& message) const override {
    auto to = Jid::parse(message.attribute("to").value_or(""));
    const std::string name = to ? std::string(to->local()) : std::string();
    const auto found = find_hook(name);
    if (!found) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::item_not_found, "no webhook is named '" + name + "'"}};
    }
    if (found->config.url.empty()) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::service_unavailable, "webhook '" + name + "' only receives; it has no URL"}};
    }
    if (found->disabled) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::gone, "webhook '" + name + "' was disabled after its endpoint answered 410 Gone"}};
    }
    return name;
  }

  asio::awaitable<Attempt> deliver(Element message, const storage::WorkItem& item) override {
    auto self = shared_from_this();
    Attempt attempt;
    auto to = Jid::parse(message.attribute("to").value_or(""));
    const auto found = to ? find_hook(to->local()) : nullptr;
    if (!found || found->config.url.empty()) {
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason = "no webhook with a URL is named so any more";
      co_return attempt;
    }
    Hook& hook = *found;
    if (hook.disabled) {
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason = "the webhook was disabled after its endpoint answered 410 Gone";
      co_return attempt;
    }
    const auto from = Jid::parse(message.attribute("from").value_or(""));
    const std::string id(message.attribute("id").value_or(""));
    const Element* body = message.child("body", ns::client);
    const Element* subject = message.child("subject", ns::client);
    const Element* thread = message.child("thread", ns::client);
    const std::string body_text = body ? body->text() : std::string();
    const std::string subject_text = subject ? subject->text() : std::string();
    const std::string thread_text = thread ? thread->text() : std::string();
    const std::string from_text = from ? std::string(from->bare_string()) : std::string();
    const std::string to_text = to->full();
    OutboundMessage outbound;
    outbound.id = id;
    outbound.from = from_text;
    outbound.to = to_text;
    outbound.body = body_text;
    outbound.subject = subject_text;
    outbound.thread = thread_text;
    outbound.type = message.attribute("type").value_or("");
    outbound.timestamp = std::chrono::time_point_cast<std::chrono::system_clock::duration>(item.created);
    core::http::ClientRequest request;
    request.method = "POST";
    request.url = hook.config.url;
    request.body = outbound_payload(outbound);
    request.timeout = std::chrono::seconds(settings_.timeout_seconds);
    request.max_response_bytes = 64 * 1024;
    // Standard Webhooks: the id is stable across retries, so the receiver can deduplicate.
    const std::string webhook_id = "msg_" + item.key;
    const auto timestamp = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    request.headers = {{"Content-Type", "application/json"},
                       {"webhook-id", webhook_id},
                       {"webhook-timestamp", std::to_string(timestamp.time_since_epoch().count())},
                       {"Idempotency-Key", item.key}};
    if (!hook.secret.empty()) {
      auto signature = sign(hook.secret, webhook_id, timestamp, request.body);
      if (signature) {
        request.headers.emplace_back("webhook-signature", *signature);
      }
      if (hook.config.github_signature) {
        if (auto github = github_signature(hook.secret, request.body)) {
          request.headers.emplace_back("X-Hub-Signature-256", *github);
        }
      }
    }
    auto response = co_await client_->send(std::move(request));
    if (!response) {
      const auto kind = response.error().kind;
      attempt.reason = "POST " + hook.config.url + ": " + response.error().message;
      attempt.outcome = kind == core::http::client_errc::refused_address ||
                                kind == core::http::client_errc::invalid_request
                            ? Attempt::Outcome::permanent
                            : Attempt::Outcome::transient;
      if (kind == core::http::client_errc::refused_address) {
        attempt.reason += " (a private or loopback address; the gateway's allow_private_addresses permits it)";
      }
      co_return attempt;
    }
    const unsigned status = response->status;
    attempt.reason = "the endpoint answered " + std::to_string(status);
    if (status >= 200 && status < 300) {
      attempt.outcome = Attempt::Outcome::delivered;
      // A bot may answer in the response body; it comes back as a message from the hook.
      if (auto reply = parse_reply(response->body); reply && from) {
        Element answer("message", std::string(ns::client));
        answer.set_attribute("from", to->full());
        answer.set_attribute("to", from->full());
        answer.set_attribute("type", "chat");
        answer.set_attribute("id", core::sasl::crypto::hex_encode(core::sasl::crypto::random_bytes(8)));
        Element reply_body("body", std::string(ns::client));
        reply_body.add_text(*reply);
        answer.add_child(std::move(reply_body));
        if (thread != nullptr) {
          answer.add_child(*thread);
        }
        attempt.replies.push_back(std::move(answer));
      }
      co_return attempt;
    }
    if (status == 410) {
      // Gone: the receiver asks never to be called again (as Standard Webhooks suggests).
      hook.disabled = true;
      spdlog::warn("webhook {}: {} answered 410 Gone; the hook is disabled until parleyd restarts", hook.config.name,
                   hook.config.url);
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason += " (Gone); the webhook is disabled";
      co_return attempt;
    }
    if (status == 429 || status == 408 || status >= 500) {
      attempt.outcome = Attempt::Outcome::transient;
      attempt.retry_at = retry_after(response->header("retry-after"));
      co_return attempt;
    }
    attempt.outcome = Attempt::Outcome::permanent; // other 4xx, and 3xx: redirects are not followed
    co_return attempt;
  }

  void start(GatewayHost& host) override {
    host_ = &host;
    core::http::ClientOptions options;
    options.allow_private_addresses = settings_.allow_private_addresses;
    options.user_agent = "Parley webhook gateway";
    client_ = std::make_unique<core::http::Client>(host.io(), std::move(options));
    // Start-up, before the I/O threads run: blocking on storage is fine here.
    if (auto loaded = load_stored_hooks(host.storage()); !loaded) {
      spdlog::warn("webhook gateway {}: cannot read stored hooks yet: {}", settings_.domain, loaded.error().message());
    }
    reload_timer_ = std::make_unique<asio::steady_timer>(host.io());
    asio::co_spawn(host.io(), reload_periodically(), asio::detached);
    std::weak_ptr<WebhookGateway> weak = shared_from_this();
    host.http().add_route("POST", "/hooks/{name}", [weak](core::http::Request request, core::http::Responder respond) {
      auto self = weak.lock();
      if (!self) {
        respond(problem(503, "urn:parley:problem:shutting-down", "Service Unavailable", "the server is stopping"));
        return;
      }
      auto shared = std::make_shared<core::http::Responder>(std::move(respond));
      auto& io = self->host_->io();
      asio::co_spawn(io, self->inbound(std::move(request), shared), asio::detached);
    });
  }

  void stop() override {
    stopped_ = true;
    if (reload_timer_) {
      asio::post(reload_timer_->get_executor(), [self = shared_from_this()] { self->reload_timer_->cancel(); });
    }
    if (client_) {
      client_->stop();
    }
  }

private:
  /// POST /hooks/NAME: checked, parsed, delivered (online or offline storage), and only then
  /// answered 202. Nothing is half-delivered: every refusal happens before delivery.
  asio::awaitable<void> inbound(core::http::Request request, std::shared_ptr<core::http::Responder> respond) {
    auto self = shared_from_this();
    const std::string name = request.params["name"];
    const auto found = find_hook(name);
    if (!found || found->inbound_secret.empty()) {
      (*respond)(problem(404, "urn:parley:problem:unknown-hook", "Not Found", "no inbound webhook is named '" + name + "'"));
      co_return;
    }
    Hook& hook = *found;
    if (auto authorized = authenticate(hook, request); !authorized) {
      (*respond)(problem(401, "urn:parley:problem:unauthorized", "Unauthorized", authorized.error().message()));
      co_return;
    }
    InboundRequest parse_input;
    parse_input.content_type = request.header("content-type").value_or("");
    parse_input.body = request.body;
    parse_input.headers = request.headers;
    auto parsed = parse_inbound(parse_input, hook.inbound);
    if (!parsed) {
      (*respond)(problem(parsed.error().status, parsed.error().type, parsed.error().title, parsed.error().detail));
      co_return;
    }
    const std::string recipient_text = parsed->to.empty() ? hook.config.recipient : parsed->to;
    auto recipient = Jid::parse(recipient_text);
    const auto& hosts = host_->config().hosts;
    const auto rooms = router::muc::service_domains(host_->config());
    const bool to_room = recipient && std::find(rooms.begin(), rooms.end(), recipient->domain()) != rooms.end();
    if (!recipient || recipient->local().empty() ||
        (!to_room && std::find(hosts.begin(), hosts.end(), recipient->domain()) == hosts.end())) {
      (*respond)(problem(404, "urn:parley:problem:unknown-recipient", "Not Found",
                         "'" + recipient_text + "' is not a user or a chat room of this server"));
      co_return;
    }
    const std::string scope = "webhook:" + settings_.domain + "/" + name;
    if (!parsed->dedupe_key.empty()) {
      auto lookup = [self, scope, key = parsed->dedupe_key] { return self->host_->storage().seen().lookup(scope, key); };
      auto seen = co_await host_->workers().run(std::move(lookup));
      if (seen) {
        (*respond)(core::http::Response::json(202, R"({"id":")" + core::http::json_escape(*seen) +
                                                       R"(","duplicate":true})"));
        co_return;
      }
      if (seen.error() != storage::storage_errc::not_found) {
        (*respond)(problem(503, "urn:parley:problem:storage-unavailable", "Service Unavailable",
                           "storage is unavailable; try again later"));
        co_return;
      }
    }
    const std::string id = core::sasl::crypto::hex_encode(core::sasl::crypto::random_bytes(12));
    Element message("message", std::string(ns::client));
    message.set_attribute("from", name + "@" + settings_.domain);
    message.set_attribute("to", std::string(recipient->bare_string()));
    // Into a room: a groupchat message under the hook's nick (XEP-0172), which the MUC
    // service posts from room@service/NICK.
    message.set_attribute("type", to_room ? std::string("groupchat") : std::string(to_string(parsed->type)));
    message.set_attribute("id", id);
    if (!parsed->subject.empty()) {
      Element subject("subject", std::string(ns::client));
      subject.add_text(parsed->subject);
      message.add_child(std::move(subject));
    }
    Element body("body", std::string(ns::client));
    body.add_text(parsed->body);
    message.add_child(std::move(body));
    if (to_room) {
      Element nick("nick", std::string(router::muc::nick_ns));
      nick.add_text(hook.config.nick.empty() ? name : hook.config.nick);
      message.add_child(std::move(nick));
    }
    // Offline, the delivery's key is recorded with the message: a retry after a crash in between
    // stores no second copy.
    std::optional<storage::DeliveryKey> once;
    if (!parsed->dedupe_key.empty()) {
      once = storage::DeliveryKey{scope, parsed->dedupe_key, id};
    }
    const auto disposition = co_await host_->deliver(std::move(message), std::move(once));
    if (disposition == router::Disposition::refused && to_room) {
      (*respond)(problem(403, "urn:parley:problem:room-refused", "Forbidden",
                         "the room '" + recipient_text +
                             "' does not exist or refused the message (members-only, moderated, "
                             "password, banned, or the nick is taken); the server log says which"));
      co_return;
    }
    if (disposition == router::Disposition::refused) {
      (*respond)(problem(404, "urn:parley:problem:unknown-recipient", "Not Found",
                         "'" + recipient_text + "' is not a user of this server, or cannot take more messages"));
      co_return;
    }
    if (disposition == router::Disposition::not_stored) {
      auto response = problem(503, "urn:parley:problem:storage-unavailable", "Service Unavailable",
                              "storage is unavailable; the message was not delivered, try again later");
      response.headers.emplace_back("Retry-After", "5");
      (*respond)(std::move(response));
      co_return;
    }
    if (!parsed->dedupe_key.empty()) {
      // After the delivery, for what went to a session (offline storage recorded it already): a
      // crash in between delivers such a repeat twice, never zero times.
      auto remember = [self, scope, key = parsed->dedupe_key, id] {
        const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
        return self->host_->storage().seen().remember(scope, key, id, now);
      };
      if (auto remembered = co_await host_->workers().run(std::move(remember)); !remembered) {
        spdlog::warn("webhook {}: delivered {}, but cannot remember its key: {}", name, id,
                     remembered.error().message());
      }
    }
    (*respond)(core::http::Response::json(202, R"({"id":")" + id + R"("})"));
  }

  /// A bearer token, a Standard Webhooks signature, or a GitHub signature, keyed with the
  /// hook's inbound secret.
  boost::system::result<void> authenticate(const Hook& hook, const core::http::Request& request) const {
    if (auto authorization = request.header("authorization")) {
      return check_bearer(authorization, hook.inbound_secret);
    }
    if (auto signature = request.header("webhook-signature")) {
      StandardWebhookHeaders headers;
      headers.id = request.header("webhook-id");
      headers.timestamp = request.header("webhook-timestamp");
      headers.signature = signature;
      return verify(hook.inbound_secret, headers, request.body,
                    std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    }
    if (auto github = request.header("x-hub-signature-256")) {
      return verify_github(hook.inbound_secret, github, request.body);
    }
    return signature_errc::missing_authorization;
  }

  config::GatewayConfig settings_;
  using HookMap = std::map<std::string, std::shared_ptr<Hook>, std::less<>>;
  std::shared_ptr<const HookMap> config_hooks_ = std::make_shared<HookMap>();
  mutable std::mutex hooks_mutex_;
  std::shared_ptr<const HookMap> hooks_ = config_hooks_;
  std::unique_ptr<asio::steady_timer> reload_timer_;
  std::atomic<bool> stopped_{false};
  std::unique_ptr<core::http::Client> client_;
  GatewayHost* host_ = nullptr;
};

} // namespace

boost::system::result<std::unique_ptr<Gateway>, std::string> make_webhook_gateway(const config::GatewayConfig& settings) {
  auto gateway = std::make_shared<WebhookGateway>(settings);
  if (auto resolved = gateway->resolve_secrets(); !resolved) {
    return {boost::system::in_place_error, resolved.error()};
  }
  return own_shared(std::move(gateway));
}

} // namespace parley::gateways::webhook
