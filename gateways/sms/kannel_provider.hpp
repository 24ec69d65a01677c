#pragma once
// The `kannel` provider of the SMS gateway: Kannel's smsbox (sendsms out, an sms-service in,
// delivery reports through the dlr-url).

#include "config/config.hpp"
#include "gateways/sms/provider.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace parley::gateways::sms {

/// The provider of one [[gateway]] with kind = "sms" and provider = "kannel". Reads the
/// password and the inbound secret from the environment when *_env keys name them; the error
/// names a variable that is not set.
///
/// Out: GET sendsms_url?username&password&from&to&text&charset=UTF-8[&coding=2]&dlr-mask&dlr-url
/// In: GET or POST /sms/kannel/DOMAIN/inbound (the sms-service's get-url or post-url) and
/// /sms/kannel/DOMAIN/dlr (the dlr-url set on each message), each with ?secret=INBOUND_SECRET
/// (403 without it). An inbound SMS is answered with an empty 200 once delivered or stored:
/// set max-messages = 0 (or omit-empty = true) in the sms-service so that Kannel sends no
/// reply SMS.
boost::system::result<std::shared_ptr<Provider>, std::string>
make_kannel_provider(const config::GatewayConfig& settings);

} // namespace parley::gateways::sms
