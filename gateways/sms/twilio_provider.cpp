#include "gateways/sms/twilio_provider.hpp"

#include "core/http/client.hpp"
#include "core/http/server.hpp"
#include "gateways/gateway.hpp"
#include "gateways/sms/twilio_api.hpp"
#include "gateways/sms/twilio_signature.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

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

Response twiml() {
  Response response;
  response.status = 200;
  response.content_type = "text/xml";
  response.body = std::string(twilio::empty_twiml);
  return response;
}

class TwilioProvider final : public Provider, public std::enable_shared_from_this<TwilioProvider> {
public:
  TwilioProvider(config::GatewayConfig settings, std::string auth_token)
      : settings_(std::move(settings)), auth_token_(std::move(auth_token)),
        messages_url_(twilio::messages_url(settings_.sms.twilio.base_url, settings_.sms.twilio.account_sid)),
        authorization_(core::http::basic_authorization(settings_.sms.twilio.account_sid, auth_token_)) {}

  std::string_view name() const override { return "twilio"; }

  void start(GatewayHost& host, std::weak_ptr<ProviderSink> sink) override {
    host_ = &host;
    sink_ = std::move(sink);
    core::http::ClientOptions options;
    options.allow_private_addresses = settings_.allow_private_addresses;
    options.user_agent = "Parley SMS gateway";
    // Media: Twilio answers a media URL with a redirect to its storage (another host, where
    // libcurl does not send our Authorization header on).
    core::http::ClientOptions media_options = options;
    media_options.max_redirects = 5;
    client_ = std::make_unique<core::http::Client>(host.io(), std::move(options));
    media_client_ = std::make_unique<core::http::Client>(host.io(), std::move(media_options));
    std::weak_ptr<TwilioProvider> weak = shared_from_this();
    const auto route = [weak](bool status) {
      return [weak, status](Request request, Responder respond) {
        auto self = weak.lock();
        if (!self || self->stopped_) {
          respond(problem(503, "urn:parley:problem:shutting-down", "Service Unavailable", "the server is stopping"));
          return;
        }
        auto shared = std::make_shared<Responder>(std::move(respond));
        auto& io = self->host_->io();
        if (status) {
          asio::co_spawn(io, self->on_status(std::move(request), shared), asio::detached);
        } else {
          asio::co_spawn(io, self->on_inbound(std::move(request), shared), asio::detached);
        }
      };
    };
    host.http().add_route("POST", twilio::inbound_path(settings_.domain), route(false));
    host.http().add_route("POST", twilio::status_path(settings_.domain), route(true));
  }

  asio::awaitable<SendResult> send(OutboundSms sms) override {
    auto self = shared_from_this();
    SendResult result;
    if (stopped_ || !client_) {
      result.outcome = SendResult::Outcome::transient;
      result.reason = "the gateway is stopping";
      co_return result;
    }
    const std::string callback = twilio::status_callback_url(settings_.sms.public_url, settings_.domain, sms.key);
    core::http::ClientRequest request;
    request.method = "POST";
    request.url = messages_url_;
    request.headers = {{"Authorization", authorization_},
                       {"Content-Type", "application/x-www-form-urlencoded"},
                       {"Accept", "application/json"}};
    request.body = core::http::form_urlencoded(twilio::message_form(sms, callback));
    request.timeout = std::chrono::seconds(settings_.timeout_seconds);
    request.max_response_bytes = 256 * 1024;
    auto response = co_await client_->send(std::move(request));
    if (!response) {
      const auto kind = response.error().kind;
      result.reason = "POST " + messages_url_ + ": " + response.error().message;
      result.outcome =
          kind == core::http::client_errc::refused_address || kind == core::http::client_errc::invalid_request
              ? SendResult::Outcome::permanent
              : SendResult::Outcome::transient;
      if (kind == core::http::client_errc::refused_address) {
        result.reason += " (a private or loopback address; the gateway's allow_private_addresses permits it)";
      }
      co_return result;
    }
    co_return twilio::classify_create_response(response->status, response->body, response->header("retry-after"),
                                               std::chrono::system_clock::now());
  }

  asio::awaitable<boost::system::result<FetchedMedium, std::string>> fetch_media(std::string url,
                                                                                std::size_t max_bytes) override {
    auto self = shared_from_this();
    using Fetched = boost::system::result<FetchedMedium, std::string>;
    if (stopped_ || !media_client_) {
      co_return Fetched(boost::system::in_place_error, "the gateway is stopping");
    }
    core::http::ClientRequest request;
    request.method = "GET";
    request.url = url;
    // Accounts with "enforce HTTP auth" on want the media URL fetched with basic auth. Only
    // ever sent to the API's own origin: a URL elsewhere does not get our credentials.
    const std::string& base = settings_.sms.twilio.base_url;
    if (url.starts_with(base) && url.size() > base.size() && url[base.size()] == '/') {
      request.headers.emplace_back("Authorization", authorization_);
    }
    request.timeout = std::chrono::seconds(settings_.timeout_seconds);
    request.max_response_bytes = max_bytes;
    auto response = co_await media_client_->send(std::move(request));
    if (!response) {
      co_return Fetched(boost::system::in_place_error,
                        std::string(core::http::to_string(response.error().kind)) + ": " + response.error().message);
    }
    if (response->status != 200) {
      co_return Fetched(boost::system::in_place_error, "HTTP " + std::to_string(response->status));
    }
    FetchedMedium medium;
    medium.content_type = std::string(response->header("content-type").value_or(""));
    medium.bytes = std::move(response->body);
    co_return medium;
  }

  void stop() override {
    stopped_ = true;
    if (client_) {
      client_->stop();
    }
    if (media_client_) {
      media_client_->stop();
    }
  }

private:
  /// The form of a POST from Twilio, if its X-Twilio-Signature is right; answers otherwise.
  std::optional<core::http::FormFields> authentic_form(const Request& request, Responder& respond) const {
    auto form = core::http::parse_form(request.body);
    if (!form) {
      respond(problem(400, "urn:parley:problem:invalid-form", "Bad Request",
                      "the body is not application/x-www-form-urlencoded"));
      return std::nullopt;
    }
    // Twilio signs the URL it requested: our public base URL, then the path and query as sent.
    const std::string url = settings_.sms.public_url + request.target;
    const auto signature = request.header("x-twilio-signature");
    if (!signature || !verify_twilio_signature(auth_token_, url, *form, *signature)) {
      spdlog::warn("sms gateway {}: refused a POST to {} from {}: {}", settings_.domain, request.path,
                   request.remote_address, signature ? "X-Twilio-Signature does not match" : "no X-Twilio-Signature");
      respond(problem(403, "urn:parley:problem:bad-signature", "Forbidden",
                      signature ? "X-Twilio-Signature does not match this request (auth token and public_url "
                                  "must be those Twilio uses)"
                                : "X-Twilio-Signature is missing"));
      return std::nullopt;
    }
    return form;
  }

  /// An incoming message: answered with empty TwiML only once every owner of the number has
  /// it live or in offline storage.
  asio::awaitable<void> on_inbound(Request request, std::shared_ptr<Responder> respond) {
    auto self = shared_from_this();
    auto form = authentic_form(request, *respond);
    if (!form) {
      co_return;
    }
    auto sms = twilio::parse_inbound(*form);
    if (!sms) {
      (*respond)(problem(400, "urn:parley:problem:invalid-form", "Bad Request", sms.error()));
      co_return;
    }
    sms->via = std::string(name());
    auto sink = sink_.lock();
    if (!sink) {
      (*respond)(problem(503, "urn:parley:problem:shutting-down", "Service Unavailable", "the server is stopping"));
      co_return;
    }
    const std::string to = sms->to;
    const InboundOutcome outcome = co_await sink->inbound(std::move(*sms));
    switch (outcome) {
    case InboundOutcome::delivered: (*respond)(twiml()); break;
    case InboundOutcome::unknown_number:
      (*respond)(problem(404, "urn:parley:problem:unknown-number", "Not Found",
                         to + " is not a number of any user of " + settings_.domain));
      break;
    case InboundOutcome::invalid:
      (*respond)(
          problem(400, "urn:parley:problem:invalid-number", "Bad Request", "From or To is not a usable phone number"));
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

  /// A status callback of a message we sent (its outbox key is in our callback URL's query).
  asio::awaitable<void> on_status(Request request, std::shared_ptr<Responder> respond) {
    auto self = shared_from_this();
    auto form = authentic_form(request, *respond);
    if (!form) {
      co_return;
    }
    std::string key;
    if (auto query = core::http::parse_form(request.query)) {
      key = std::string(core::http::form_field(*query, "key").value_or(""));
    }
    auto report = twilio::parse_status(*form, key);
    if (!report) {
      (*respond)(problem(400, "urn:parley:problem:invalid-form", "Bad Request", report.error()));
      co_return;
    }
    auto sink = sink_.lock();
    if (!sink) {
      (*respond)(problem(503, "urn:parley:problem:shutting-down", "Service Unavailable", "the server is stopping"));
      co_return;
    }
    const std::string sid = report->provider_id;
    const ReportOutcome outcome = co_await sink->report(std::move(*report));
    switch (outcome) {
    case ReportOutcome::handled: (*respond)(twiml()); break;
    case ReportOutcome::unknown_message:
      (*respond)(problem(404, "urn:parley:problem:unknown-message", "Not Found",
                         "no message sent through " + settings_.domain + " is " + sid));
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
  const std::string auth_token_;
  const std::string messages_url_;
  const std::string authorization_;
  GatewayHost* host_ = nullptr;
  std::weak_ptr<ProviderSink> sink_;
  std::unique_ptr<core::http::Client> client_;
  std::unique_ptr<core::http::Client> media_client_;
  std::atomic<bool> stopped_{false};
};

} // namespace

boost::system::result<std::shared_ptr<Provider>, std::string>
make_twilio_provider(const config::GatewayConfig& settings) {
  const auto& account = settings.sms.twilio;
  std::string token = account.auth_token;
  if (!account.auth_token_env.empty()) {
    const char* from_env = std::getenv(account.auth_token_env.c_str());
    if (from_env == nullptr || *from_env == '\0') {
      return {boost::system::in_place_error,
              "[gateway.twilio] auth_token_env names " + account.auth_token_env + ", which is not set"};
    }
    token = from_env;
  }
  if (token.empty()) {
    return {boost::system::in_place_error, "[gateway.twilio] has no auth token"};
  }
  if (settings.sms.public_url.empty()) {
    return {boost::system::in_place_error, "the twilio provider needs public_url (Twilio signs its callbacks over it)"};
  }
  return std::shared_ptr<Provider>(std::make_shared<TwilioProvider>(settings, std::move(token)));
}

} // namespace parley::gateways::sms
