#pragma once
// The gateway plugin interface and GatewayHost, all that a plugin may call. A plugin never
// sees sessions or sockets: it gets messages through Gateway, and hands stanzas back through
// GatewayHost::deliver.

#include "config/config.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/element.hpp"
#include "router/router.hpp"
#include "storage/work_queue.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}
namespace parley::core::async {
class WorkerPool;
}
namespace parley::core::http {
class Server;
}
namespace parley::storage {
class Storage;
}

namespace parley::gateways {

/// Why a gateway refuses something a user sent or typed: the stanza error to answer with.
struct Refusal {
  core::stanza::stanza_errc condition = core::stanza::stanza_errc::bad_request;
  std::string text;
};

/// What became of one attempt to deliver a message to the outside world.
struct Attempt {
  enum class Outcome {
    /// The far side took it. The sender gets a receipt (XEP-0184) if it asked for one.
    delivered,
    /// It may work later (timeout, 5xx, 429): retried with backoff until the gateway's
    /// max_attempts or max_age, then a `wait` error to the sender.
    transient,
    /// It will never work (4xx, unknown destination): a `cancel` error to the sender now.
    permanent,
  };
  Outcome outcome = Outcome::delivered;
  /// For the log, the outbox timeline and the error text the sender gets.
  std::string reason;
  /// The far side asked to be retried no earlier than this (Retry-After).
  std::optional<std::chrono::system_clock::time_point> retry_at;
  /// Stanzas the far side answered with (a bot's reply), from the gateway's domain to the
  /// sender; delivered after the outcome is recorded.
  std::vector<core::xml::Element> replies;
  /// delivered only: the far side took the message but reports its delivery later (an SMS
  /// delivery report), and the plugin sends the XEP-0184 receipt then; none is sent now.
  bool receipt_later = false;
};

class GatewayHost {
public:
  virtual ~GatewayHost() = default;

  /// Routes `stanza` (from a JID of the gateway's domain, to a local user) like any other:
  /// to the user's online resources, or into offline storage when none is online. handled
  /// means delivered or durably stored, and only then may the outside world be told "ok";
  /// refused: no such user (or their offline storage is full); not_stored: storage is down.
  /// `once`: a key of the SeenStore that names this delivery (a mail's Message-ID and its
  /// owner); if the message goes to offline storage the key is recorded with it, and a repeat
  /// whose key is recorded already is handled without a second copy (Router::route).
  virtual boost::asio::awaitable<router::Disposition>
  deliver(core::xml::Element stanza, std::optional<storage::DeliveryKey> once = std::nullopt) = 0;

  virtual boost::asio::io_context& io() = 0;
  /// For blocking work (storage calls), as everywhere: `co_await workers().run(fn)`.
  virtual core::async::WorkerPool& workers() = 0;
  virtual storage::Storage& storage() = 0;
  /// The HTTP listener, for inbound endpoints; add routes in Gateway::start only.
  virtual core::http::Server& http() = 0;
  virtual const config::Config& config() const = 0;

  /// The largest file store_media() takes ([upload] max_file_size); 0 when the server has no
  /// HTTP upload service, and media from outside stay at the URLs they came with.
  virtual std::uint64_t media_limit() const { return 0; }
  /// Re-hosts a file from the outside world (the media of an MMS) on the HTTP upload service
  /// and completes with the public URL it is served at, or the reason it is not. `filename`
  /// names it in the URL; `key`, stable per file (a provider's message id and the medium's
  /// index), gives a repeat the same URL. Any thread; the disk is written on the worker pool.
  virtual boost::asio::awaitable<boost::system::result<std::string, std::string>>
  store_media(std::string bytes, std::string filename, std::string content_type, std::string key) {
    (void)bytes, (void)filename, (void)content_type, (void)key;
    co_return boost::system::result<std::string, std::string>(boost::system::in_place_error,
                                                              "the server has no HTTP upload service");
  }
};

class Gateway {
public:
  virtual ~Gateway() = default;

  virtual const config::GatewayConfig& settings() const = 0;
  /// The XEP-0030 identity type under category `gateway`: "http", "sms", "smtp".
  virtual std::string_view identity_type() const = 0;
  /// The disco name when the configuration gives none.
  virtual std::string_view default_name() const = 0;
  /// Names the far side in metrics (parley_gateway_deliveries_total{provider=...}): the
  /// plugin's kind ("webhook"), or the provider where a kind has several ("twilio", "smpp").
  virtual std::string_view provider() const { return identity_type(); }

  /// XEP-0100 §6.3: what the user is asked for, and the field's label.
  virtual std::string prompt_description() const = 0;
  virtual std::string prompt_label() const = 0;
  /// XEP-0100 §6.3: turns what the user typed into the localpart of a JID of this domain.
  virtual boost::system::result<std::string, Refusal> translate(std::string_view input) const = 0;

  /// XEP-0077 in-band registration with the gateway: the address a user sends from (an SMS
  /// gateway's phone number), stored as a storage::Registration of the user. `field` is the
  /// XEP-0077 field that carries it ("phone"); none: the gateway takes no registrations.
  struct RegistrationForm {
    std::string field;
    std::string instructions;
  };
  virtual std::optional<RegistrationForm> registration_form() const { return std::nullopt; }
  /// Checks and normalises what a user gave in that field into the address stored
  /// ("+15551234567"), or refuses (not-acceptable for an address the user may not have).
  virtual boost::system::result<std::string, Refusal> registration_address(std::string_view input) const {
    (void)input;
    return Refusal{core::stanza::stanza_errc::service_unavailable, "this gateway takes no registrations"};
  }

  /// Checks a message from a local user before it is committed to the outbox, and names its
  /// destination (per-destination concurrency limits apply to it). A refusal is answered at
  /// once and nothing is stored.
  virtual boost::system::result<std::string, Refusal> accept(const core::xml::Element& message) const = 0;

  /// Delivers one committed message. Called by the delivery worker, at least once per
  /// message: `item.key` is its stable idempotency key, `item.attempts` counts this attempt.
  virtual boost::asio::awaitable<Attempt> deliver(core::xml::Element message, const storage::WorkItem& item) = 0;

  /// Serves whatever the gateway receives from outside (add HTTP routes here).
  virtual void start(GatewayHost& host) = 0;
  /// Stops taking new inbound work; pending requests end.
  virtual void stop() = 0;
  /// Re-reads what the plugin keeps in storage (the admin API changed it). Most keep nothing.
  virtual boost::asio::awaitable<void> reload() { co_return; }
};

} // namespace parley::gateways
