#pragma once
// The framework around one gateway plugin: its domain's routing (service discovery, XEP-0100,
// messages into the durable outbox) and the delivery worker that works the outbox.

#include "gateways/gateway.hpp"
#include "router/domain_handler.hpp"

#include <memory>
#include <string>

namespace parley::gateways {

/// One per [[gateway]]. Registered with the router as the handler of its domain; owns the
/// plugin. Start it after the router exists and before the HTTP listener starts; stop it
/// before the io_context goes.
class GatewayService final : public router::DomainHandler {
public:
  /// `node` names this process in the outbox ("host/pid"), so that claims of a node that
  /// died are told from live ones.
  GatewayService(std::unique_ptr<Gateway> gateway, router::Router& router, GatewayHost& host, std::string node);
  ~GatewayService() override;
  GatewayService(const GatewayService&) = delete;
  GatewayService& operator=(const GatewayService&) = delete;

  boost::asio::awaitable<router::Disposition> on_stanza(core::xml::Element stanza) override;

  /// Starts the plugin and the delivery worker.
  void start();
  /// Stops the delivery worker (deliveries in flight finish or are claimed again later).
  void stop();

  /// Wakes the delivery worker now (an item was revived, say) instead of at its next poll.
  void wake();
  /// Has the plugin re-read what it keeps in storage (hooks created through the admin API).
  boost::asio::awaitable<void> reload();
  const Gateway& gateway() const noexcept;

  const std::string& domain() const noexcept;
  /// The outbox queue of this gateway: "outbox:" + domain.
  const std::string& queue() const noexcept;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace parley::gateways
