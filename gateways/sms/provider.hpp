#pragma once
// The small interface between the SMS gateway and whoever carries the SMS (Twilio, Kannel,
// an SMSC over SMPP). The gateway owns addressing, numbers, the outbox, deduplication and the
// stanzas; a provider only speaks its wire format: it sends one SMS, and it turns what the
// provider sends us (inbound SMS, delivery reports) into calls on a ProviderSink.

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::gateways {
class GatewayHost;
}

namespace parley::gateways::sms {

/// One SMS (or MMS) to send.
struct OutboundSms {
  /// The outbox item's idempotency key: stable across retries, so a provider that can
  /// correlate (a callback URL, a client reference) uses it.
  std::string key;
  /// E.164: the sender's registered number, and the destination.
  std::string from;
  std::string to;
  /// UTF-8; may be empty when there is media.
  std::string body;
  /// Media to attach (MMS), as public URLs.
  std::vector<std::string> media_urls;
};

/// What became of one send.
struct SendResult {
  enum class Outcome {
    accepted,  ///< the provider took it; delivery is reported later
    transient, ///< may work later (timeout, 5xx, 429)
    permanent, ///< never will (refused number, bad credentials)
  };
  Outcome outcome = Outcome::accepted;
  /// The provider's id of the message (Twilio's MessageSid), when accepted.
  std::string provider_id;
  /// For the log, the outbox timeline and the error the sender gets.
  std::string reason;
  /// The provider asked to be retried no earlier than this (Retry-After).
  std::optional<std::chrono::system_clock::time_point> retry_at;
};

/// One SMS that arrived for one of our numbers.
struct InboundSms {
  /// The provider's id (Twilio's MessageSid): the deduplication key, as providers repeat.
  std::string provider_id;
  /// As the provider gives them; the gateway normalises and checks them.
  std::string from;
  std::string to;
  std::string body;
  std::vector<std::string> media_urls;
  /// The media type the provider gives for each of media_urls, in the same order ("" where it
  /// gives none; may be shorter).
  std::vector<std::string> media_types;
  /// Provider::name() of the provider it came through, which fetches its media.
  std::string via;
};

/// One medium of an inbound MMS as the provider's server handed it out.
struct FetchedMedium {
  std::string bytes;
  /// The response's Content-Type as sent ("" without one).
  std::string content_type;
};

/// What the gateway made of an inbound SMS; the provider turns it into its own answer.
enum class InboundOutcome {
  delivered,      ///< delivered live or stored offline for every owner (or a repeat of such)
  unknown_number, ///< nobody owns `to` (refused and logged, never silently dropped)
  invalid,        ///< unusable numbers
  refused,        ///< every owner refused it (deleted user, offline storage full)
  not_stored,     ///< storage is down: the provider should try again later
};

/// Where a sent message is, as a delivery report says.
struct DeliveryReport {
  /// The provider's id of the message, as SendResult::provider_id gave it.
  std::string provider_id;
  /// The outbox key, when the provider hands it back (in Twilio's case: our callback URL).
  std::string key;
  /// The provider's own word ("delivered", "undelivered", "failed", "sent", ...).
  std::string status;
  enum class Kind {
    progress,  ///< queued, sent, ...: recorded only
    delivered, ///< the handset has it: an XEP-0184 receipt to the sender
    failed,    ///< for good: a message error to the sender
  };
  Kind kind = Kind::progress;
  /// The provider's error code and text, if any ("30003", "Unreachable destination handset").
  std::string error_code;
  std::string error_text;
};

enum class ReportOutcome {
  handled,         ///< recorded and acted upon (or a repeat of a report that was)
  unknown_message, ///< no message of ours has this id or key (logged)
  not_stored,      ///< storage is down: the provider should try again later
};

/// What a provider calls with what arrives. Implemented by the SMS gateway; any thread.
class ProviderSink {
public:
  virtual ~ProviderSink() = default;
  /// Delivers `sms` to the owners of its number. Completes only once it is delivered or stored
  /// (or known to be impossible): only then may the provider acknowledge it.
  virtual boost::asio::awaitable<InboundOutcome> inbound(InboundSms sms) = 0;
  /// Records a delivery report and tells the sender, once per (provider id, status).
  virtual boost::asio::awaitable<ReportOutcome> report(DeliveryReport report) = 0;
};

/// One provider of one SMS gateway. Owned by the gateway through a shared_ptr; hands out only
/// weak references to itself (routes, timers).
class Provider {
public:
  virtual ~Provider() = default;
  /// "twilio": the provider label of the gateway's metrics.
  virtual std::string_view name() const = 0;
  /// Opens what receives (HTTP routes on host.http(), connections). Called once, at start-up,
  /// before the I/O threads run. `sink` outlives nothing: lock it per call.
  virtual void start(GatewayHost& host, std::weak_ptr<ProviderSink> sink) = 0;
  /// Sends one SMS. At least once per outbox item; never throws.
  virtual boost::asio::awaitable<SendResult> send(OutboundSms sms) = 0;
  /// Downloads a medium of an inbound MMS from the URL the provider gave (with the provider's
  /// credentials where it wants them), at most `max_bytes`; the error says why not. Never
  /// throws. Providers that carry no media: always an error.
  virtual boost::asio::awaitable<boost::system::result<FetchedMedium, std::string>> fetch_media(std::string url,
                                                                                               std::size_t max_bytes) {
    (void)url, (void)max_bytes;
    co_return boost::system::result<FetchedMedium, std::string>(boost::system::in_place_error,
                                                                "this provider carries no media");
  }
  /// Cancels what is pending; later sends fail as transient.
  virtual void stop() = 0;
};

} // namespace parley::gateways::sms
