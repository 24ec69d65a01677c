#include "gateways/registry.hpp"

#include "gateways/email/email_gateway.hpp"
#include "gateways/sms/sms_gateway.hpp"
#include "gateways/webhook/webhook_gateway.hpp"

namespace parley::gateways {

boost::system::result<std::unique_ptr<Gateway>, std::string> make_gateway(const config::GatewayConfig& settings) {
  switch (settings.kind) {
  case config::GatewayKind::webhook: return webhook::make_webhook_gateway(settings);
  case config::GatewayKind::sms: return sms::make_sms_gateway(settings);
  case config::GatewayKind::email: return email::make_email_gateway(settings);
  }
  return {boost::system::in_place_error, "unknown gateway kind"};
}

} // namespace parley::gateways
