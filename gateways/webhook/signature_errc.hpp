#pragma once
// Why an inbound webhook request failed authentication, as a boost::system error code.

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace parley::gateways::webhook {

/// Reasons for refusing a webhook request's signature or token, or for refusing to sign.
///
/// Wire mapping: `invalid_secret` and `invalid_message_id` are faults of our own
/// configuration or caller (HTTP 500, and a config error at start-up); every other
/// enumerator is the sender's fault and becomes HTTP 401 with a problem-details body whose
/// detail is `message()`. The messages name no secret material.
enum class signature_errc {
  invalid_secret = 1,      ///< the configured secret is empty, or `whsec_` followed by bad base64
  invalid_message_id,      ///< sign(): a message id that is empty or contains '.'
  missing_id,              ///< no `webhook-id` header
  missing_timestamp,       ///< no `webhook-timestamp` header
  missing_signature,       ///< no `webhook-signature` / `X-Hub-Signature-256` header
  malformed_id,            ///< `webhook-id` is empty or contains '.' (it would shift the signed fields)
  malformed_timestamp,     ///< `webhook-timestamp` is not a decimal integer of seconds
  timestamp_too_old,       ///< `webhook-timestamp` lies more than the tolerance in the past
  timestamp_too_new,       ///< `webhook-timestamp` lies more than the tolerance in the future
  malformed_signature,     ///< `X-Hub-Signature-256` does not read `sha256=<64 hex digits>`
  no_matching_signature,   ///< no signature in the header matches the body
  missing_authorization,   ///< no `Authorization` header
  malformed_authorization, ///< `Authorization` is not `Bearer <token>`
  invalid_token,           ///< the bearer token is not the configured one
};

/// The category of `signature_errc`, named "parley.webhook.signature". Thread-safe; lives
/// forever.
const boost::system::error_category& signature_category() noexcept;

/// Found by argument-dependent lookup, so `return signature_errc::missing_id;` works in a
/// function returning `boost::system::result<T>`.
boost::system::error_code make_error_code(signature_errc e) noexcept;

} // namespace parley::gateways::webhook

template <> struct boost::system::is_error_code_enum<parley::gateways::webhook::signature_errc> : std::true_type {};
