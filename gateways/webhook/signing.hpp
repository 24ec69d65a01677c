#pragma once
// Authenticating webhook requests: Standard Webhooks signatures, GitHub's X-Hub-Signature-256
// and bearer tokens. Pure functions: no I/O, no clock (the caller passes `now`), no state.
// Any thread may call them at the same time.

#include "gateways/webhook/signature_errc.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace parley::gateways::webhook {

/// How far `webhook-timestamp` may lie from `now`, either way (the reference libraries' value).
inline constexpr std::chrono::seconds default_tolerance{std::chrono::minutes(5)};

/// The prefix of a Standard Webhooks symmetric secret: `whsec_` and the base64 of the key.
inline constexpr std::string_view standard_secret_prefix = "whsec_";

/// The HMAC key for a configured Standard Webhooks secret.
///
/// `whsec_<base64>` (the spec's serialisation, "Signature scheme") gives the decoded bytes;
/// the base64 must be strict RFC 4648 with padding. Any other non-empty secret is used as
/// its raw bytes, so a shared password such as `correct horse` works with senders that take
/// the key literally. (The reference libraries instead base64-decode an unprefixed secret
/// too; such a secret must be configured with its `whsec_` prefix here.) `invalid_secret` for an empty secret or an empty or malformed key
/// after `whsec_`; config validation calls this so that a bad secret fails at start-up.
boost::system::result<std::string> signing_key(std::string_view secret);

/// The `webhook-signature` value for a message: `v1,` and the base64 of
/// HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}") (Standard Webhooks 1.0.0, "Signature
/// scheme"), the key as `signing_key` gives it. `msg_id` must be non-empty and free of '.'
/// (the spec forbids it: a dot would let the signed fields shift), else
/// `invalid_message_id`.
boost::system::result<std::string> sign(std::string_view secret, std::string_view msg_id,
                                        std::chrono::sys_seconds timestamp, std::string_view body);

/// The three Standard Webhooks headers of a request; `std::nullopt` where a header is absent.
struct StandardWebhookHeaders {
  std::optional<std::string_view> id;        ///< `webhook-id`
  std::optional<std::string_view> timestamp; ///< `webhook-timestamp`, Unix seconds
  std::optional<std::string_view> signature; ///< `webhook-signature`, e.g. "v1,abc= v1,def="
};

/// Checks a Standard Webhooks request. In this order: the secret (`invalid_secret`), the
/// presence of each header (`missing_*`), the id (`malformed_id`), the timestamp
/// (`malformed_timestamp`; then `timestamp_too_old` or `timestamp_too_new` when it lies more
/// than `tolerance` from `now`, the replay protection of the spec's "Verifying signatures"),
/// and finally the signatures (`no_matching_signature`).
///
/// `webhook-signature` is a space-delimited list (several entries during secret rotation);
/// it matches if any `v1,<base64>` entry equals the expected one, compared in constant time.
/// Entries of other versions (`v1a`, ed25519) are skipped. `body` must be the raw bytes
/// received, never re-serialised JSON. `tolerance` must not be negative.
///
/// The caller still has to remember `webhook-id` for a while to drop redeliveries.
boost::system::result<void> verify(std::string_view secret, const StandardWebhookHeaders& headers,
                                   std::string_view body, std::chrono::sys_seconds now,
                                   std::chrono::seconds tolerance = default_tolerance);

/// GitHub's `X-Hub-Signature-256` value for `body`: `sha256=` and the lower-case hex of
/// HMAC-SHA256(secret, body), the secret taken as its raw bytes. `invalid_secret` when empty.
boost::system::result<std::string> github_signature(std::string_view secret, std::string_view body);

/// Checks GitHub's `X-Hub-Signature-256` header (`std::nullopt` when absent) against `body`:
/// `missing_signature`, `malformed_signature` unless it reads `sha256=` and 64 hex digits
/// (either case), `no_matching_signature`; the digests are compared in constant time.
boost::system::result<void> verify_github(std::string_view secret, std::optional<std::string_view> header,
                                          std::string_view body);

/// Checks an `Authorization` header (`std::nullopt` when absent) for `Bearer <token>`
/// (RFC 6750 §2.1; the scheme name is case-insensitive). The tokens are compared through
/// their SHA-256 digests in constant time, so neither their bytes nor their lengths leak.
/// `invalid_secret` when `expected_token` is empty, then `missing_authorization`,
/// `malformed_authorization` or `invalid_token`.
boost::system::result<void> check_bearer(std::optional<std::string_view> authorization,
                                         std::string_view expected_token);

} // namespace parley::gateways::webhook
