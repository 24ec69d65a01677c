#pragma once
// Twilio's request signature (X-Twilio-Signature), as Twilio's "Webhooks security" page
// describes it: base64(HMAC-SHA1(auth token, URL + name1 + value1 + name2 + value2 ...)), the
// POST parameters sorted by name. Pure functions; any thread.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::gateways::sms {

/// Decoded application/x-www-form-urlencoded parameters, in any order, repeats allowed.
using FormParams = std::vector<std::pair<std::string, std::string>>;

/// The X-Twilio-Signature Twilio sends for a POST to `url` with `params`.
///
/// `url` is the full URL configured at Twilio, scheme to query string, exactly as Twilio
/// requested it (query parameters stay percent-encoded, and belong to the URL, not to
/// `params`). `params` are the form fields after percent-decoding. They are sorted by name
/// as byte strings (Unix, case-sensitive order); several values of one name are sorted too.
std::string twilio_signature(std::string_view auth_token, std::string_view url, FormParams params);

/// Whether `header` (the X-Twilio-Signature value) is the signature of this request,
/// compared in constant time. False when the auth token or the header is empty.
bool verify_twilio_signature(std::string_view auth_token, std::string_view url, const FormParams& params,
                             std::string_view header);

} // namespace parley::gateways::sms
