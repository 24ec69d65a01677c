#include "server/metrics_routes.hpp"

#include "core/async/worker_pool.hpp"
#include "core/http/server.hpp"
#include "gateways/gateway_service.hpp"
#include "router/router.hpp"
#include "storage/storage.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <string>
#include <utility>

namespace parley::server {

namespace asio = boost::asio;
using core::http::Request;
using core::http::Responder;
using core::http::Response;

namespace {

// Coroutines are free functions with by-value parameters rather than coroutine lambdas (GCC 12
// corrupts the by-value parameters of lambda coroutines).

asio::awaitable<void> scrape(core::async::WorkerPool& workers, std::shared_ptr<Responder> respond) {
  // Rendering calls the outbox gauge, which queries storage: it must not run on an I/O thread.
  auto render = [] { return core::metrics::registry().render(); };
  Response res;
  try {
    res.body = co_await workers.run(std::move(render));
  } catch (const std::exception& e) {
    spdlog::error("metrics: rendering failed: {}", e.what());
    (*respond)(Response::problem(500, "urn:parley:problem:internal", "Internal Server Error", "metrics unavailable"));
    co_return;
  }
  res.content_type = std::string(core::metrics::content_type);
  (*respond)(std::move(res));
}

asio::awaitable<void> check_ready(core::async::WorkerPool& workers, storage::Storage& storage,
                                  std::shared_ptr<Responder> respond) {
  auto ping = [&storage] { return storage.ping(); };
  auto reachable = co_await workers.run(std::move(ping));
  if (reachable) {
    (*respond)(Response::json(200, R"({"status":"ok","storage":"ok"})"));
  } else {
    (*respond)(Response::problem(503, "urn:parley:problem:storage-unavailable", "Storage unavailable",
                                 reachable.error().message()));
  }
}

/// One gateway's outbox, as the gauge names it.
struct Outbox {
  std::string gateway;
  std::string queue;
};

} // namespace

MetricsRoutes add_metrics_routes(core::http::Server& http, const MetricsContext& context) {
  auto& io = context.io;
  auto& workers = context.workers;
  auto& storage = context.storage;

  http.add_route("GET", "/metrics", [&io, &workers](Request, Responder respond) {
    asio::co_spawn(io, scrape(workers, std::make_shared<Responder>(std::move(respond))), asio::detached);
  });
  http.add_route("GET", "/health/live",
                 [](Request, Responder respond) { respond(Response::json(200, R"({"status":"ok"})")); });
  http.add_route("GET", "/health/ready", [&io, &workers, &storage](Request, Responder respond) {
    asio::co_spawn(io, check_ready(workers, storage, std::make_shared<Responder>(std::move(respond))), asio::detached);
  });

  MetricsRoutes routes;
  auto& registry = core::metrics::registry();
  routes.gauges.push_back(registry.gauge_callback(
      "parley_sessions", "Client sessions bound to a resource, on this node.", {}, [&router = context.router] {
        return std::vector<core::metrics::Sample>{{{}, static_cast<double>(router.sessions().count())}};
      }));

  std::vector<Outbox> outboxes;
  for (const auto& service : context.gateways) {
    outboxes.push_back({service->domain(), service->queue()});
  }
  routes.gauges.push_back(registry.gauge_callback(
      "parley_outbox_items",
      "Messages in a gateway's outbox by state: pending (waiting for a delivery attempt, retries included), "
      "claimed (being delivered) or dead (failed for good). Counted in storage at scrape time.",
      {"gateway", "state"}, [&storage, outboxes = std::move(outboxes)] {
        // Runs inside Registry::render(), which /metrics calls on the worker pool: these block.
        std::vector<core::metrics::Sample> samples;
        constexpr std::array states{storage::WorkState::pending, storage::WorkState::claimed, storage::WorkState::dead};
        for (const auto& outbox : outboxes) {
          for (const auto state : states) {
            auto counted = storage.work().count(outbox.queue, state);
            if (!counted) {
              // Storage is down: no sample rather than a wrong one (/health/ready says why).
              continue;
            }
            samples.push_back(
                {{outbox.gateway, std::string(storage::to_string(state))}, static_cast<double>(*counted)});
          }
        }
        return samples;
      }));
  return routes;
}

} // namespace parley::server
