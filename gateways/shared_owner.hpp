#pragma once
// The gateway service owns each plugin through a unique_ptr, but a plugin that hands out weak
// references to itself (HTTP routes, listeners, detached coroutines) must live in a shared_ptr.
// own_shared() gives the service a small owner that keeps the plugin's shared_ptr and forwards
// every call of the Gateway interface to it, so no plugin repeats that forwarding (and none
// forgets a virtual added later).

#include "gateways/gateway.hpp"

#include <memory>
#include <utility>

namespace parley::gateways {

template <class Plugin> class SharedOwner final : public Gateway {
public:
  explicit SharedOwner(std::shared_ptr<Plugin> plugin) : inner_(std::move(plugin)) {}

  const config::GatewayConfig& settings() const override { return inner_->settings(); }
  std::string_view identity_type() const override { return inner_->identity_type(); }
  std::string_view default_name() const override { return inner_->default_name(); }
  std::string_view provider() const override { return inner_->provider(); }
  std::string prompt_description() const override { return inner_->prompt_description(); }
  std::string prompt_label() const override { return inner_->prompt_label(); }
  boost::system::result<std::string, Refusal> translate(std::string_view input) const override {
    return inner_->translate(input);
  }
  std::optional<RegistrationForm> registration_form() const override { return inner_->registration_form(); }
  boost::system::result<std::string, Refusal> registration_address(std::string_view input) const override {
    return inner_->registration_address(input);
  }
  boost::system::result<std::string, Refusal> accept(const core::xml::Element& message) const override {
    return inner_->accept(message);
  }
  boost::asio::awaitable<Attempt> deliver(core::xml::Element message, const storage::WorkItem& item) override {
    return inner_->deliver(std::move(message), item);
  }
  void start(GatewayHost& host) override { inner_->start(host); }
  void stop() override { inner_->stop(); }
  boost::asio::awaitable<void> reload() override { return inner_->reload(); }

private:
  std::shared_ptr<Plugin> inner_;
};

/// The unique owner of `plugin` for the gateway service.
template <class Plugin> std::unique_ptr<Gateway> own_shared(std::shared_ptr<Plugin> plugin) {
  return std::make_unique<SharedOwner<Plugin>>(std::move(plugin));
}

} // namespace parley::gateways
