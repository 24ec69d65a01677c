#pragma once
// The admin REST API under /api/v1: JSON in and out, RFC 9457 problem details for errors,
// bearer tokens with a scope, an audit line for every change, and an OpenAPI 3.1 document
// generated from the same route table that serves the requests.

#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}
namespace parley::config {
struct Config;
}
namespace parley::core::async {
class WorkerPool;
}
namespace parley::core::http {
class Server;
}
namespace parley::router {
class Router;
}
namespace parley::storage {
class Storage;
}
namespace parley::gateways {
class GatewayService;
}
namespace parley::router::muc {
class MucService;
}

namespace parley::server::admin {

/// What the API works on. Everything referred to outlives the AdminApi.
struct Context {
  const config::Config& config;
  boost::asio::io_context& io;
  router::Router& router;
  storage::Storage& storage;
  core::async::WorkerPool& workers;
  const std::vector<std::shared_ptr<gateways::GatewayService>>& gateways;
  const std::vector<std::shared_ptr<router::muc::MucService>>& rooms;
};

/// One route as the table declares it.
struct RouteInfo {
  std::string method;
  std::string path; ///< OpenAPI form: /api/v1/users/{user}
  std::string scope; ///< "admin", "read", or "" for none (the OpenAPI document itself)
};

class AdminApi {
public:
  explicit AdminApi(Context context);
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  /// Adds every route (and GET /api/v1/openapi.json) to `server`; call before it starts.
  void install(core::http::Server& server);

  /// Every route of the table.
  static std::vector<RouteInfo> routes();
  /// The OpenAPI 3.1 document (JSON) describing routes().
  static std::string openapi();

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace parley::server::admin
