#pragma once
// The one list of gateway plugins: every kind of [[gateway]] is created here, explicitly.

#include "config/config.hpp"
#include "gateways/gateway.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace parley::gateways {

/// The plugin for `settings.kind`, or why it cannot be made (a secret's variable not set).
boost::system::result<std::unique_ptr<Gateway>, std::string> make_gateway(const config::GatewayConfig& settings);

} // namespace parley::gateways
