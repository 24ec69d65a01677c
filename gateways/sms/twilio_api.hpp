#pragma once
// Twilio's Messages API on the wire, as Twilio documents it, in pure functions (any thread):
// the create request (form POST to /2010-04-01/Accounts/{Sid}/Messages.json), what its answer
// means, and the forms Twilio POSTs to us (an incoming message, a status callback).

#include "core/http/message.hpp"
#include "gateways/sms/provider.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace parley::gateways::sms::twilio {

/// A TwiML document that does nothing: the answer to an incoming message (no reply SMS).
inline constexpr std::string_view empty_twiml = R"(<?xml version="1.0" encoding="UTF-8"?><Response/>)";

/// The paths of our endpoints for the gateway `domain` on the HTTP listener:
/// "/sms/twilio/DOMAIN/inbound" (the number's "A message comes in" webhook) and
/// "/sms/twilio/DOMAIN/status" (the StatusCallback of each message we send).
std::string inbound_path(std::string_view domain);
std::string status_path(std::string_view domain);

/// "{base_url}/2010-04-01/Accounts/{account_sid}/Messages.json" (`base_url` without a
/// trailing '/'); the sid is percent-encoded as a path segment.
std::string messages_url(std::string_view base_url, std::string_view account_sid);

/// The StatusCallback URL of the message with outbox key `key`:
/// public_url + status_path(domain) + "?key=" + key (form-encoded).
std::string status_callback_url(std::string_view public_url, std::string_view domain, std::string_view key);

/// The form of a create request: From, To, Body (when not empty), one MediaUrl per medium,
/// StatusCallback (when not empty).
core::http::FormFields message_form(const OutboundSms& sms, std::string_view status_callback);

/// What Twilio's answer to a create request means. 2xx: accepted with the message's `sid`
/// (unless its `status` is already failed or undelivered); 429, 408 and 5xx: transient,
/// with Retry-After (seconds or an HTTP-date, relative to `now`); other statuses: permanent,
/// with Twilio's error `code` and `message` from the JSON body in the reason.
SendResult classify_create_response(unsigned status, std::string_view body, std::optional<std::string_view> retry_after,
                                    std::chrono::system_clock::time_point now);

/// An incoming-message webhook: MessageSid (or SmsSid), From, To, Body, and MediaUrl0..N
/// (http and https only) with MediaContentType0..N beside them. The error names what is
/// missing.
boost::system::result<InboundSms, std::string> parse_inbound(const core::http::FormFields& form);

/// A status callback: MessageSid (or SmsSid), MessageStatus (or SmsStatus), ErrorCode and,
/// where sent, ErrorMessage; `key` is the one our callback URL carries. delivered is
/// Kind::delivered; undelivered, failed and canceled are Kind::failed; the rest progress.
boost::system::result<DeliveryReport, std::string> parse_status(const core::http::FormFields& form,
                                                                std::string_view key);

} // namespace parley::gateways::sms::twilio
