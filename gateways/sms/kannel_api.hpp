#pragma once
// Kannel's smsbox on the wire, in pure functions (any thread): the sendsms request and what
// its answer means, the dlr-url we hand over and the delivery reports that come back on it,
// and the requests of an sms-service's get-url or post-url (inbound SMS).

#include "core/http/message.hpp"
#include "gateways/sms/provider.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace parley::gateways::sms::kannel {

/// dlr-mask: delivered (1), undeliverable (2), accepted by the SMSC (8), rejected by it (16).
inline constexpr unsigned dlr_mask = 1 | 2 | 8 | 16;

/// Our endpoints for the gateway `domain` on the HTTP listener (GET and POST each):
/// "/sms/kannel/DOMAIN/inbound" (an sms-service's get-url or post-url) and
/// "/sms/kannel/DOMAIN/dlr" (the dlr-url of each message we send).
std::string inbound_path(std::string_view domain);
std::string dlr_path(std::string_view domain);

/// The dlr-url of the message with outbox key `key`:
/// public_url + dlr_path(domain) + "?secret=SECRET&key=KEY&type=%d&reply=%A", where Kannel
/// fills in %d (the report type) and %A (the SMSC's reply). `secret` and `key` must be
/// URL-safe as they are (letters, digits, '.', '_', '~', '-').
std::string dlr_url(std::string_view public_url, std::string_view domain, std::string_view secret,
                    std::string_view key);

/// Who sends through smsbox.
struct Account {
  std::string sendsms_url;
  std::string username;
  std::string password;
  std::string smsc; ///< empty: no `smsc` parameter
};

/// The sendsms GET URL for `sms`: username, password, from, to, text (UTF-8, with charset=UTF-8),
/// coding=2 (UCS-2) unless the text fits GSM-7 (Kannel turns other characters into '?'),
/// dlr-mask and dlr-url, and smsc. An SMS carries no media, so media URLs are appended to the
/// text, one per line.
std::string sendsms_url(const Account& account, const OutboundSms& sms, std::string_view dlr);

/// What smsbox's answer means: 2xx ("0: Accepted for delivery", "3: Queued for later
/// delivery") accepted; 429 and 5xx transient (with Retry-After, relative to `now`); other
/// statuses permanent, with smsbox's text in the reason.
SendResult classify_sendsms_response(unsigned status, std::string_view body,
                                     std::optional<std::string_view> retry_after,
                                     std::chrono::system_clock::time_point now);

/// An inbound SMS from an sms-service. get-url: the query holds from (%p), to (%P), text (%a
/// or %b), id (%I) and optionally charset (%C). post-url: the body is the text, its
/// Content-Type names the charset, X-Kannel-From and X-Kannel-To the numbers (or from/to in
/// the query), and the query holds id. Text in UTF-8, ISO-8859-1 or UTF-16BE becomes UTF-8.
boost::system::result<InboundSms, std::string> parse_inbound(const core::http::Request& request);

/// A delivery report on our dlr-url: key, type (%d) and reply (%A). 1 is delivered; 2
/// (undeliverable) and 16 (rejected by the SMSC) failed, with the reply as the error text and
/// the code of a "NACK/code/..." reply; 4 (buffered) and 8 (submitted) progress.
boost::system::result<DeliveryReport, std::string> parse_dlr(const core::http::FormFields& query);

} // namespace parley::gateways::sms::kannel
