#pragma once
// The `twilio` provider of the SMS gateway: Twilio's Messages API (or a Twilio-compatible one
// at another base_url) out, Twilio's signed webhooks in.

#include "config/config.hpp"
#include "gateways/sms/provider.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace parley::gateways::sms {

/// The provider of one [[gateway]] with kind = "sms" and provider = "twilio". Reads the auth
/// token from the environment when auth_token_env names it; the error names a variable that
/// is not set.
///
/// Out: POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json with basic auth
/// (account sid, auth token) and the form From, To, Body, MediaUrl, StatusCallback.
/// In: POST /sms/twilio/DOMAIN/inbound (incoming messages) and /sms/twilio/DOMAIN/status
/// (status callbacks) on the HTTP listener, each checked against X-Twilio-Signature over
/// public_url + the path and query as requested; 403 when it does not match.
boost::system::result<std::shared_ptr<Provider>, std::string>
make_twilio_provider(const config::GatewayConfig& settings);

} // namespace parley::gateways::sms
