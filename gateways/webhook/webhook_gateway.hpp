#pragma once
// The webhook gateway (kind "webhook"): messages to NAME@domain are POSTed as signed JSON to
// the hook's URL; POST /hooks/NAME turns what other services send into messages to users.

#include "gateways/gateway.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace parley::gateways::webhook {

/// The plugin for one [[gateway]] of kind "webhook". Secrets named by `*_env` keys are read
/// from the environment here; an error message names a variable that is not set.
boost::system::result<std::unique_ptr<Gateway>, std::string> make_webhook_gateway(const config::GatewayConfig& settings);

} // namespace parley::gateways::webhook
