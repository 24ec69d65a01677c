#include "gateways/sms/kannel_provider.hpp"

#include "core/http/client.hpp"
#include "core/http/server.hpp"
#include "core/sasl/crypto.hpp"
#include "gateways/gateway.hpp"
#include "gateways/sms/kannel_api.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <optional>

namespace parley::gateways::sms {

namespace asio = boost::asio;
using core::http::Request;
using core::http::Responder;
using core::http::Response;

namespace {

Response problem(unsigned status, std::string_view type, std::string_view title, std::string_view detail) {
  return Response::problem(status, type, title, detail);
}

/// An empty 200: Kannel sends no reply SMS for it (with max-messages = 0 or omit-empty).
Response empty_ok() {
  Response response;
  response.status = 200;
  response.content_type = "text/plain";
  return response;
}

class KannelProvider final : public Provider, public std::enable_shared_from_this<KannelProvider> {
public:
  KannelProvider(config::GatewayConfig settings, kannel::Account account, std::string secret)
      : settings_(std::move(settings)), account_(std::move(account)), secret_(std::move(secret)) {}

  std::string_view name() const override { return "kannel"; }

  void start(GatewayHost& host, std::weak_ptr<ProviderSink> sink) override {
    host_ = &host;
    sink_ = std::move(sink);
    core::http::ClientOptions options;
    options.allow_private_addresses = settings_.allow_private_addresses;
    options.user_agent = "Parley SMS gateway";
    client_ = std::make_unique<core::http::Client>(host.io(), std::move(options));
    std::weak_ptr<KannelProvider> weak = shared_from_this();
    const auto route = [weak](bool dlr) {
      return [weak, dlr](Request request, Responder respond) {
        auto self = weak.lock();
        if (!self || self->stopped_) {
          respond(problem(503, "urn:parley:problem:shutting-down", "Service Unavailable", "the server is stopping"));
          return;
        }
        auto shared = std::make_shared<Responder>(std::move(respond));
        auto& io = self->host_->io();
        if (dlr) {
          asio::co_spawn(io, self->on_dlr(std::move(request), shared), asio::detached);
        } else {
          asio::co_spawn(io, self->on_inbound(std::move(request), shared), asio::detached);
        }
      };
    };
    // Kannel calls get-url and dlr-url with GET, post-url with POST.
    for (const char* method : {"GET", "POST"}) {
      host.http().add_route(method, kannel::inbound_path(settings_.domain), route(false));
      host.http().add_route(method, kannel::dlr_path(settings_.domain), route(true));
    }
  }

  asio::awaitable<SendResult> send(OutboundSms sms) override {
    auto self = shared_from_this();
    SendResult result;
    if (stopped_ || !client_) {
      result.outcome = SendResult::Outcome::transient;
      result.reason = "the gateway is stopping";
      co_return result;
    }
    core::http::ClientRequest request;
    request.method = "GET";
    request.url = kannel::sendsms_url(account_, sms,
                                      kannel::dlr_url(settings_.sms.public_url, settings_.domain, secret_, sms.key));
    request.timeout = std::chrono::seconds(settings_.timeout_seconds);
    request.max_response_bytes = 16 * 1024;
    auto response = co_await client_->send(std::move(request));
    if (!response) {
      // The URL holds the password: name only the endpoint.
      const auto kind = response.error().kind;
      result.reason = "sendsms at " + account_.sendsms_url + ": " + response.error().message;
      result.outcome =
          kind == core::http::client_errc::refused_address || kind == core::http::client_errc::invalid_request
              ? SendResult::Outcome::permanent
              : SendResult::Outcome::transient;
      if (kind == core::http::client_errc::refused_address) {
        result.reason += " (a private or loopback address; the gateway's allow_private_addresses permits it)";
      }
      co_return result;
    }
    co_return kannel::classify_sendsms_response(response->status, response->body, response->header("retry-after"),
                                                std::chrono::system_clock::now());
  }

  void stop() override {
    stopped_ = true;
    if (client_) {
      client_->stop();
    }
  }

private:
  /// The query of a request from Kannel, if it carries our secret; answers otherwise.
  std::optional<core::http::FormFields> authentic_query(const Request& request, Responder& respond) const {
    auto query = core::http::parse_form(request.query);
    if (!query) {
      respond(problem(400, "urn:parley:problem:invalid-query", "Bad Request", "the query string is malformed"));
      return std::nullopt;
    }
    const auto secret = core::http::form_field(*query, "secret");
    if (!secret || !core::sasl::crypto::equal_constant_time(*secret, secret_)) {
      spdlog::warn("sms gateway {}: refused a request to {} from {}: {}", settings_.domain, request.path,
                   request.remote_address, secret ? "wrong secret" : "no secret");
      respond(problem(403, "urn:parley:problem:bad-secret", "Forbidden",
                      "the secret query parameter is missing or wrong (the gateway's inbound_secret)"));
      return std::nullopt;
    }
    return query;
  }

  asio::awaitable<void> on_inbound(Request request, std::shared_ptr<Responder> respond) {
    auto self = shared_from_this();
    if (!authentic_query(request, *respond)) {
      co_return;
    }
    auto sms = kannel::parse_inbound(request);
    if (!sms) {
      (*respond)(problem(400, "urn:parley:problem:invalid-sms", "Bad Request", sms.error()));
      co_return;
    }
    auto sink = sink_.lock();
    if (!sink) {
      (*respond)(problem(503, "urn:parley:problem:shutting-down", "Service Unavailable", "the server is stopping"));
      co_return;
    }
    const std::string to = sms->to;
    const InboundOutcome outcome = co_await sink->inbound(std::move(*sms));
    switch (outcome) {
    case InboundOutcome::delivered: (*respond)(empty_ok()); break;
    case InboundOutcome::unknown_number:
      (*respond)(problem(404, "urn:parley:problem:unknown-number", "Not Found",
                         to + " is not a number of any user of " + settings_.domain));
      break;
    case InboundOutcome::invalid:
      (*respond)(
          problem(400, "urn:parley:problem:invalid-number", "Bad Request", "from or to is not a usable phone number"));
      break;
    case InboundOutcome::refused:
      (*respond)(problem(404, "urn:parley:problem:unknown-recipient", "Not Found",
                         "no owner of " + to + " can take messages"));
      break;
    case InboundOutcome::not_stored: {
      auto response = problem(503, "urn:parley:problem:storage-unavailable", "Service Unavailable",
                              "storage is unavailable; the message was not delivered, try again later");
      response.headers.emplace_back("Retry-After", "5");
      (*respond)(std::move(response));
      break;
    }
    }
  }

  asio::awaitable<void> on_dlr(Request request, std::shared_ptr<Responder> respond) {
    auto self = shared_from_this();
    auto query = authentic_query(request, *respond);
    if (!query) {
      co_return;
    }
    auto report = kannel::parse_dlr(*query);
    if (!report) {
      (*respond)(problem(400, "urn:parley:problem:invalid-report", "Bad Request", report.error()));
      co_return;
    }
    auto sink = sink_.lock();
    if (!sink) {
      (*respond)(problem(503, "urn:parley:problem:shutting-down", "Service Unavailable", "the server is stopping"));
      co_return;
    }
    const std::string key = report->key;
    const ReportOutcome outcome = co_await sink->report(std::move(*report));
    switch (outcome) {
    case ReportOutcome::handled: (*respond)(empty_ok()); break;
    case ReportOutcome::unknown_message:
      (*respond)(problem(404, "urn:parley:problem:unknown-message", "Not Found",
                         "no message sent through " + settings_.domain + " has key " + key));
      break;
    case ReportOutcome::not_stored: {
      auto response = problem(503, "urn:parley:problem:storage-unavailable", "Service Unavailable",
                              "storage is unavailable; try again later");
      response.headers.emplace_back("Retry-After", "5");
      (*respond)(std::move(response));
      break;
    }
    }
  }

  const config::GatewayConfig settings_;
  const kannel::Account account_;
  const std::string secret_;
  GatewayHost* host_ = nullptr;
  std::weak_ptr<ProviderSink> sink_;
  std::unique_ptr<core::http::Client> client_;
  std::atomic<bool> stopped_{false};
};

/// `value`, or the environment variable `env` names when it is set.
boost::system::result<std::string, std::string> secret(const std::string& value, const std::string& env,
                                                       std::string_view key) {
  if (env.empty()) {
    return {boost::system::in_place_value, value};
  }
  const char* from_env = std::getenv(env.c_str());
  if (from_env == nullptr || *from_env == '\0') {
    return {boost::system::in_place_error,
            "[gateway.kannel] " + std::string(key) + " names " + env + ", which is not set"};
  }
  return {boost::system::in_place_value, std::string(from_env)};
}

} // namespace

boost::system::result<std::shared_ptr<Provider>, std::string>
make_kannel_provider(const config::GatewayConfig& settings) {
  const auto& k = settings.sms.kannel;
  auto password = secret(k.password, k.password_env, "password_env");
  if (!password) {
    return {boost::system::in_place_error, password.error()};
  }
  auto inbound = secret(k.inbound_secret, k.inbound_secret_env, "inbound_secret_env");
  if (!inbound) {
    return {boost::system::in_place_error, inbound.error()};
  }
  const bool url_safe = !inbound->empty() && std::all_of(inbound->begin(), inbound->end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '~' || c == '-';
  });
  if (!url_safe) {
    return {boost::system::in_place_error,
            "[gateway.kannel] the inbound secret must be letters, digits, '.', '_', '~' and '-' only"};
  }
  if (settings.sms.public_url.empty()) {
    return {boost::system::in_place_error, "the kannel provider needs public_url (for the dlr-url)"};
  }
  kannel::Account account{k.sendsms_url, k.username, std::move(*password), k.smsc};
  return std::shared_ptr<Provider>(std::make_shared<KannelProvider>(settings, std::move(account), std::move(*inbound)));
}

} // namespace parley::gateways::sms
