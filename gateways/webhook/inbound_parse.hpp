#pragma once
// Turning an inbound webhook POST into the message to deliver. A pure function: no I/O, no
// state; any thread may call it. Authentication (signing.hpp) comes before it.

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace parley::gateways::webhook {

/// The `type` of the message stanza to deliver (RFC 6121 §5.2.2). `groupchat` and `error`
/// are not for webhooks to send.
enum class MessageType { chat, normal, headline };

/// "chat", "normal" or "headline".
std::string_view to_string(MessageType type) noexcept;
/// The inverse of `to_string` (exact, lower case); `std::nullopt` for anything else.
std::optional<MessageType> parse_message_type(std::string_view text) noexcept;

/// How a hook reads JSON bodies: the hook setting `template`.
enum class PayloadTemplate {
  auto_detect,  ///< "auto": GitHub if X-GitHub-Event is present, then Grafana, then
                ///< Alertmanager (see `parse_inbound`), else `plain`
  github,       ///< "github": GitHub's webhook events, named by X-GitHub-Event
  alertmanager, ///< "alertmanager": Prometheus Alertmanager's webhook_config, version 4
  grafana,      ///< "grafana": Grafana alerting's webhook contact point
  plain,        ///< "plain": only the generic forms ({"to","body",...}, {"text"}, text/plain)
};

/// The setting's value ("auto", "github", "alertmanager", "grafana", "plain") to the enum;
/// `std::nullopt` for anything else, which config validation reports.
std::optional<PayloadTemplate> parse_payload_template(std::string_view name) noexcept;

/// What a hook's configuration contributes to parsing.
struct InboundSettings {
  /// The JID that gets messages which name no recipient; empty when the hook has none, and
  /// then such messages are refused with `no-recipient`. Validated by the config loader.
  std::string default_recipient;
  PayloadTemplate payload_template = PayloadTemplate::auto_detect;
};

/// The parts of the HTTP request that matter. Views into the caller's request, which must
/// outlive the call.
struct InboundRequest {
  std::string_view content_type; ///< the Content-Type header's value; empty when absent
  std::string_view body;         ///< the raw body
  /// Header fields with lower-case names, as in `core::http::Request::headers`. Read here:
  /// `x-github-event`, and for the dedupe key `webhook-id`, `x-github-delivery`,
  /// `idempotency-key` (the first present wins).
  std::span<const std::pair<std::string, std::string>> headers;
};

/// A message to deliver. All strings are valid UTF-8 (control characters may remain: the
/// XML serializer replaces what XML cannot carry).
struct InboundMessage {
  /// The recipient from the payload, prepared (RFC 7622); empty means the hook's
  /// default recipient, which then exists.
  std::string to;
  /// Never blank; at most `max_body_bytes`, ending in "…" when cut.
  std::string body;
  /// Empty when there is none; at most `max_subject_bytes`.
  std::string subject;
  MessageType type = MessageType::chat;
  /// From `webhook-id`, `x-github-delivery` or `idempotency-key`: 1 to `max_dedupe_key_bytes`
  /// visible ASCII characters. Empty when the request has none.
  std::string dedupe_key;
};

/// Why a request is refused, ready for an RFC 9457 problem-details response
/// (`core::http::Response::problem(status, type, title, detail)`).
///
/// The stable `type` values, each `urn:parley:problem:` followed by:
/// - 415 `unsupported-media-type`: Content-Type missing or not JSON, form or text/plain; a
///   charset other than UTF-8; text/plain for a hook whose template needs JSON;
/// - 400 `invalid-utf8`: the body, or a decoded form field, is not UTF-8;
/// - 400 `invalid-json`: a JSON syntax error, or nesting deeper than `max_json_depth`;
/// - 400 `invalid-form`: bad percent-encoding in a form body;
/// - 400 `invalid-header`: a malformed dedupe-key header; `template = "github"` without
///   X-GitHub-Event;
/// - 422 `invalid-payload`: JSON that is not an object;
/// - 422 `invalid-field`: `to`, `body`, `text`, `subject` or `type` of the wrong JSON type, a
///   `type` other than chat, normal or headline, a `to` that is not a JID;
/// - 422 `missing-body`: no `body` or `text`, or a blank one; a blank text/plain body;
/// - 422 `no-recipient`: no `to` and no default recipient configured.
struct InboundProblem {
  unsigned status = 400;
  std::string type;   ///< one of the URNs above
  std::string title;  ///< the status's reason phrase
  std::string detail; ///< for a person: which field, what was expected
};

/// Lets `result<T, InboundProblem>::value()` throw (found by argument-dependent lookup).
[[noreturn]] void throw_exception_from_error(const InboundProblem& problem, const boost::source_location& loc);

inline constexpr std::size_t max_body_bytes = 16 * 1024;
inline constexpr std::size_t max_subject_bytes = 1024;
/// Commits of a push, alerts of a notification: at most this many are listed, then "… and N more".
inline constexpr std::size_t max_listed_items = 20;
inline constexpr std::size_t max_dedupe_key_bytes = 256;
/// JSON nesting deeper than this is refused before parsing.
inline constexpr std::size_t max_json_depth = 64;

/// Turns an inbound webhook request into a message, or says why not. Never throws for any
/// input (only std::bad_alloc can escape).
///
/// Content types (parameters other than a UTF-8 or US-ASCII charset refused):
/// - `application/json` and `application/*+json`: a JSON body, read as below;
/// - `application/x-www-form-urlencoded`: a `payload` field holding JSON (GitHub's form
///   content type, Slack's incoming webhooks), else the fields themselves as if they were
///   a JSON object of strings (`curl -d to=alice@example.com -d body=hi`);
/// - `text/plain`: the body itself, trailing whitespace removed, to the default recipient.
///
/// JSON is read by the hook's template. `auto` picks, in this order: GitHub when the
/// request has X-GitHub-Event; Grafana when the object has `alerts` and `orgId` or `state`
/// (or the legacy `ruleName` and `state`), since Grafana's payload is Alertmanager's plus
/// those fields; Alertmanager when it has `alerts` and `groupLabels`; else the generic form:
///
///     {"to": "alice@example.com",   // optional: JID string, default recipient otherwise
///      "body": "text",               // required, non-blank string; "text" (Slack) also works
///      "subject": "optional",        // optional string
///      "type": "chat"}               // optional: "chat" (default), "normal" or "headline"
///
/// `null` counts as absent; other fields are ignored. Templates deliver to the default
/// recipient, as chat messages without a subject.
boost::system::result<InboundMessage, InboundProblem> parse_inbound(const InboundRequest& request,
                                                                    const InboundSettings& settings);

} // namespace parley::gateways::webhook
