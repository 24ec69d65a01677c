// The admin API's route table against its OpenAPI document, and the token format.

#include "config/config.hpp"
#include "core/async/worker_pool.hpp"
#include "core/http/server.hpp"
#include "router/auth/user_directory.hpp"
#include "router/router.hpp"
#include "server/admin/admin_api.hpp"
#include "server/admin/tokens.hpp"
#include "storage/sqlite/open.hpp"
#include "storage/storage.hpp"

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

using namespace parley;
using Route = std::pair<std::string, std::string>;

TEST_CASE("every route the admin API serves is in the OpenAPI document, and every documented route is served") {
  const auto dir = std::filesystem::temp_directory_path() / ("parley-admin-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    config::Config config;
    boost::asio::io_context io;
    auto storage = storage::sqlite::open(dir / "db.sqlite");
    REQUIRE(storage.has_value());
    core::async::WorkerPool workers(1);
    auto users = router::auth::make_user_directory(config, io, **storage, workers);
    REQUIRE(users.has_value());
    router::Router router(config, **storage, workers, **users);
    std::vector<std::shared_ptr<gateways::GatewayService>> gateways;
    std::vector<std::shared_ptr<router::muc::MucService>> rooms;
    server::admin::AdminApi api(server::admin::Context{config, io, router, **storage, workers, gateways, rooms});
    core::http::Server http(io, core::http::ServerOptions{});
    http.add_route("GET", "/health", [](core::http::Request, core::http::Responder) {});
    api.install(http);

    std::set<Route> served;
    for (const auto& [method, path] : http.routes()) {
      if (path.starts_with("/api/")) {
        served.emplace(method, path);
      }
    }
    const auto doc = nlohmann::json::parse(server::admin::AdminApi::openapi());
    CHECK(doc["openapi"] == "3.1.0");
    std::set<Route> documented;
    std::set<std::string> operation_ids;
    for (const auto& [path, operations] : doc["paths"].items()) {
      for (const auto& [method, operation] : operations.items()) {
        std::string upper = method;
        for (auto& c : upper) {
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        documented.emplace(upper, path);
        CHECK_MESSAGE(operation.contains("responses"), std::string(path));
        CHECK_MESSAGE(operation_ids.insert(operation["operationId"].get<std::string>()).second, std::string(path));
        // Each {param} of the path is a documented path parameter.
        std::size_t path_params = 0;
        for (const auto& p : operation.value("parameters", nlohmann::json::array())) {
          if (p["in"] == "path") {
            ++path_params;
            CHECK(path.find("{" + p["name"].get<std::string>() + "}") != std::string::npos);
          }
        }
        CHECK(path_params == static_cast<std::size_t>(std::count(path.begin(), path.end(), '{')));
      }
    }
    for (const auto& route : served) {
      CHECK_MESSAGE(documented.count(route) == 1, std::string(route.first + " " + route.second + " is served but not documented"));
    }
    for (const auto& route : documented) {
      CHECK_MESSAGE(served.count(route) == 1, std::string(route.first + " " + route.second + " is documented but not served"));
    }
    CHECK(served.size() >= 30);
    // The table's own list agrees too.
    std::set<Route> listed;
    for (const auto& r : server::admin::AdminApi::routes()) {
      listed.emplace(r.method, r.path);
      CHECK((r.scope == "admin" || r.scope == "read" || r.path.ends_with("openapi.json")));
      if (r.method != "GET" && !r.path.ends_with("openapi.json")) {
        CHECK_MESSAGE(r.scope == "admin", std::string(r.method + " " + r.path + " changes something: it needs scope admin"));
      }
    }
    CHECK(listed == documented);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("tokens: minted tokens split and match, tampered ones do not") {
  const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
  const auto minted = server::admin::mint_token("admin", "ci", now);
  CHECK(minted.stored.scope == "admin");
  CHECK(minted.stored.hash.size() == 64);
  CHECK(minted.presented.find(minted.stored.hash) == std::string::npos); // the hash is not the secret
  const auto split = server::admin::split_token(minted.presented);
  REQUIRE(split.has_value());
  CHECK(split->id == minted.stored.id);
  CHECK(server::admin::token_matches(minted.stored, split->secret));
  std::string tampered = split->secret;
  tampered[0] = tampered[0] == 'a' ? 'b' : 'a';
  CHECK_FALSE(server::admin::token_matches(minted.stored, tampered));
  CHECK_FALSE(server::admin::split_token("").has_value());
  CHECK_FALSE(server::admin::split_token("pt_abc_def").has_value());
  CHECK_FALSE(server::admin::split_token("xx_" + minted.presented.substr(3)).has_value());
  CHECK_FALSE(server::admin::split_token(minted.presented + "0").has_value());
  CHECK_FALSE(server::admin::split_token(minted.presented.substr(0, 10) + "_" + minted.presented.substr(11)).has_value());
  CHECK(server::admin::valid_scope("read"));
  CHECK_FALSE(server::admin::valid_scope("root"));
  const auto other = server::admin::mint_token("read", "", now);
  CHECK(other.stored.id != minted.stored.id);
  CHECK(other.presented != minted.presented);
}
