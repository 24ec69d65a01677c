#pragma once
// GET /metrics (Prometheus) and the health probes GET /health/live and GET /health/ready.

#include "core/metrics/registry.hpp"

#include <memory>
#include <vector>

namespace boost::asio {
class io_context;
}
namespace parley::core::async {
class WorkerPool;
}
namespace parley::core::http {
class Server;
}
namespace parley::storage {
class Storage;
}
namespace parley::router {
class Router;
}
namespace parley::gateways {
class GatewayService;
}

namespace parley::server {

/// What the endpoints and the scrape-time gauges read.
struct MetricsContext {
  boost::asio::io_context& io;
  core::async::WorkerPool& workers;
  storage::Storage& storage;
  router::Router& router;
  const std::vector<std::shared_ptr<gateways::GatewayService>>& gateways;
};

/// The gauges evaluated at scrape time (parley_sessions, parley_outbox_items); they stay
/// registered while this lives. Destroy it after the io_context has stopped and the worker pool
/// has been joined, and before the router, the storage and the gateway services.
struct MetricsRoutes {
  std::vector<core::metrics::CallbackRegistration> gauges;
};

/// Adds to `http` (before it starts):
///  - GET /metrics: the process-wide registry in the Prometheus text format 0.0.4, rendered
///    on the worker pool because the outbox gauge queries storage;
///  - GET /health/live: 200 {"status":"ok"} as long as the process serves HTTP at all;
///  - GET /health/ready: 200 while storage answers a ping, else 503 problem+json (like
///    /health), so that a load balancer stops sending users to a node that cannot store.
[[nodiscard]] MetricsRoutes add_metrics_routes(core::http::Server& http, const MetricsContext& context);

} // namespace parley::server
