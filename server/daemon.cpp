#include "server/daemon.hpp"

#include "core/async/worker_pool.hpp"
#include "core/http/server.hpp"
#include "core/net/tcp_listener.hpp"
#include "router/router.hpp"
#include "router/modules/archive.hpp"
#include "router/auth/user_directory.hpp"
#include "core/tls/self_signed.hpp"
#include "core/tls/server_context.hpp"
#include "router/c2s/c2s_service.hpp"
#include "router/muc/muc_service.hpp"
#include "router/upload/upload_service.hpp"
#include "gateways/gateway_service.hpp"
#include "gateways/registry.hpp"
#include "server/admin/admin_api.hpp"
#include "server/metrics_routes.hpp"
#include "server/storage_setup.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <filesystem>
#include <thread>

namespace parley::server {

namespace asio = boost::asio;

struct Daemon::Impl {
  // Declaration order is destruction order reversed: the io_context goes before what its
  // pending coroutines refer to (router, storage, workers), and after what refers to it.
  config::Config config;
  std::unique_ptr<core::async::WorkerPool> workers;
  std::unique_ptr<storage::Storage> storage;
  std::unique_ptr<router::Router> router;
  std::shared_ptr<asio::ssl::context> tls;
  asio::io_context io;
  /// Who checks passwords. After `io`: an HTTP directory's client goes before the io_context.
  std::unique_ptr<router::auth::UserDirectory> users;
  std::shared_ptr<router::c2s::C2sService> c2s;
  std::shared_ptr<core::net::TcpListener> c2s_listener;
  std::shared_ptr<core::net::TcpListener> direct_tls_listener;
  std::unique_ptr<core::http::Server> http;
  /// The admin API's own listener when [admin] port is set; otherwise the API is on `http`.
  std::unique_ptr<core::http::Server> admin_http;
  std::unique_ptr<admin::AdminApi> admin_api;
  std::vector<std::shared_ptr<gateways::GatewayService>> gateway_services;
  /// The chat services ([muc]), one per domain; handlers of the router like the gateways.
  std::vector<std::shared_ptr<router::muc::MucService>> muc_services;
  /// HTTP File Upload ([upload]), when enabled: a handler of the router with HTTP routes.
  std::shared_ptr<router::upload::UploadService> upload;
  /// The scrape-time gauges read the router, storage and gateway services: they go first.
  MetricsRoutes metrics;

  /// All that gateway plugins may call.
  struct Host final : gateways::GatewayHost {
    explicit Host(Impl& d) : daemon(d) {}
    asio::awaitable<router::Disposition> deliver(core::xml::Element stanza,
                                                 std::optional<storage::DeliveryKey> once) override {
      co_return co_await daemon.router->route(std::move(stanza), std::move(once));
    }
    asio::io_context& io() override { return daemon.io; }
    core::async::WorkerPool& workers() override { return *daemon.workers; }
    storage::Storage& storage() override { return *daemon.storage; }
    core::http::Server& http() override { return *daemon.http; }
    const config::Config& config() const override { return daemon.config; }
    std::uint64_t media_limit() const override { return daemon.upload ? daemon.upload->max_file_size() : 0; }
    asio::awaitable<boost::system::result<std::string, std::string>>
    store_media(std::string bytes, std::string filename, std::string content_type, std::string key) override {
      auto upload = daemon.upload;
      if (!upload) {
        co_return boost::system::result<std::string, std::string>(boost::system::in_place_error,
                                                                  "the server has no HTTP upload service");
      }
      auto job = [upload, bytes = std::move(bytes), filename = std::move(filename),
                  content_type = std::move(content_type), key = std::move(key)] {
        return upload->store(bytes, filename, content_type, key);
      };
      co_return co_await daemon.workers->run(std::move(job));
    }
    Impl& daemon;
  };
  Host gateway_host{*this};

  explicit Impl(config::Config c) : config(std::move(c)), io(static_cast<int>(io_threads())) {}
  // The router outlives the io_context, but the gateway and chat services it holds as domain
  // handlers use strands and timers of that io_context: they must go first, with the members
  // declared after `io` that own them too.
  ~Impl() {
    if (router) {
      router->clear_domains();
    }
  }

  std::size_t io_threads() const {
    if (config.io_threads != 0) {
      return config.io_threads;
    }
    return std::max(1U, std::thread::hardware_concurrency());
  }

  bool prepare() {
    namespace fs = std::filesystem;
    const fs::path data_dir = fs::absolute(config.data_dir);
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) {
      spdlog::critical("cannot create data directory {}: {}", data_dir.string(), ec.message());
      return false;
    }

    fs::path cert = config.tls.certificate;
    fs::path key = config.tls.key;
    if (cert.empty()) {
      auto generated = core::tls::ensure_self_signed(data_dir / "tls", config.hosts);
      if (!generated) {
        spdlog::critical("self-signed certificate: {}", generated.error().message);
        return false;
      }
      cert = generated->certificate;
      key = generated->key;
      spdlog::info("using the self-signed certificate {}", cert.string());
    }
    auto ctx = core::tls::make_server_context(cert, key);
    if (!ctx) {
      spdlog::critical("TLS: {}", ctx.error().message);
      return false;
    }
    tls = *ctx;

    auto target = target_of(config);
    if (!target) {
      spdlog::critical("storage: {}", target.error());
      return false;
    }
    target->postgres_connections = std::max<std::size_t>(target->postgres_connections, config.storage.workers);
    auto opened = open_storage(*target);
    if (!opened) {
      spdlog::critical("storage: {}", opened.error());
      return false;
    }
    storage = std::move(*opened);
    spdlog::info("storage: {}", describe(*target));
    workers = std::make_unique<core::async::WorkerPool>(config.storage.workers);

    auto directory = router::auth::make_user_directory(config, io, *storage, *workers);
    if (!directory) {
      spdlog::critical("auth: {}", directory.error());
      return false;
    }
    users = std::move(*directory);
    router = std::make_unique<router::Router>(config, *storage, *workers, *users);
    char hostname[256] = {};
    ::gethostname(hostname, sizeof hostname - 1);
    const std::string node = std::string(hostname) + "/" + std::to_string(::getpid());
    for (const auto& settings : config.gateways) {
      auto plugin = gateways::make_gateway(settings);
      if (!plugin) {
        spdlog::critical("gateway {}: {}", settings.domain, plugin.error());
        return false;
      }
      auto service = std::make_shared<gateways::GatewayService>(std::move(*plugin), *router, gateway_host, node);
      router->add_domain(settings.domain, service);
      gateway_services.push_back(std::move(service));
    }
    for (const auto& domain : router::muc::service_domains(config)) {
      auto service = std::make_shared<router::muc::MucService>(io, *router, domain, config.muc);
      auto loaded = service->load(); // before the io_context runs: no I/O thread blocks
      if (!loaded) {
        spdlog::critical("muc {}: cannot read the stored rooms: {}", domain, loaded.error().message());
        return false;
      }
      spdlog::info("muc: chat service {} ({} stored rooms)", domain, *loaded);
      router->add_domain(domain, service);
      muc_services.push_back(std::move(service));
    }
    if (const auto domain = router::upload::service_domain(config); !domain.empty()) {
      auto opened_upload = router::upload::UploadService::open(*router, config, data_dir);
      if (!opened_upload) {
        spdlog::critical("upload: cannot prepare {}: {}", (data_dir / "upload").string(), opened_upload.error().message());
        return false;
      }
      upload = std::move(*opened_upload);
      router->add_domain(domain, upload);
      spdlog::info("upload: HTTP file upload service {} (files up to {} bytes, under {})", domain,
                   config.upload.max_file_size, router::upload::public_base_url(config));
    }
    c2s = router::c2s::C2sService::create(io, config, tls, *router);
    c2s_listener = core::net::TcpListener::create(io, "c2s", [svc = c2s](asio::ip::tcp::socket s) {
      svc->accept(std::move(s), false);
    });
    if (auto r = c2s_listener->listen(config.c2s.address, config.c2s.port); !r) {
      spdlog::critical("{}", r.error().message);
      return false;
    }
    spdlog::info("c2s: listening on {}:{}", config.c2s.address, c2s_listener->port());
    if (config.c2s.direct_tls_port != 0) {
      direct_tls_listener = core::net::TcpListener::create(io, "c2s-direct-tls", [svc = c2s](asio::ip::tcp::socket s) {
        svc->accept(std::move(s), true);
      });
      if (auto r = direct_tls_listener->listen(config.c2s.address, config.c2s.direct_tls_port); !r) {
        spdlog::critical("{}", r.error().message);
        return false;
      }
      spdlog::info("c2s: direct TLS on {}:{}", config.c2s.address, direct_tls_listener->port());
    }

    core::http::ServerOptions http_options;
    http_options.address = config.http.address;
    http_options.port = config.http.port;
    http_options.max_body_bytes = config.http.max_body_bytes;
    http = std::make_unique<core::http::Server>(io, http_options);
    // 200 while the database answers; 503 (problem+json) while it does not, so that a load
    // balancer stops sending users to a node that cannot store their messages.
    http->add_route("GET", "/health", [this](core::http::Request, core::http::Responder respond) {
      auto shared = std::make_shared<core::http::Responder>(std::move(respond));
      asio::co_spawn(io, check_health(shared), asio::detached);
    });
    metrics = add_metrics_routes(*http, MetricsContext{io, *workers, *storage, *router, gateway_services});
    for (const auto& service : gateway_services) {
      service->start(); // adds its HTTP routes: before the listener starts
    }
    if (upload) {
      upload->install(*http);
    }
    admin_api = std::make_unique<admin::AdminApi>(
        admin::Context{config, io, *router, *storage, *workers, gateway_services, muc_services});
    if (config.admin.port != 0) {
      core::http::ServerOptions admin_options;
      admin_options.address = config.admin.address;
      admin_options.port = config.admin.port;
      admin_options.max_body_bytes = config.http.max_body_bytes;
      admin_http = std::make_unique<core::http::Server>(io, admin_options);
      admin_api->install(*admin_http);
      if (auto r = admin_http->start(); !r) {
        spdlog::critical("{}", r.error().message);
        return false;
      }
      spdlog::info("admin api: listening on {}:{}", config.admin.address, admin_http->port());
    } else {
      admin_api->install(*http);
    }
    if (auto r = http->start(); !r) {
      spdlog::critical("{}", r.error().message);
      return false;
    }
    spdlog::info("http: listening on {}:{}", config.http.address, http->port());
    if (config.archive.enabled && config.archive.retention_days > 0) {
      asio::co_spawn(io, expire_archives(), asio::detached);
    }
    if (upload) {
      asio::co_spawn(io, expire_uploads(), asio::detached);
    }
    return true;
  }

  /// [upload] expire_after_days: old files (and what broken-off uploads left) go at start (on
  /// the worker pool, so start does not wait: a server that was down for a while serves no file
  /// past its time), then once an hour.
  asio::awaitable<void> expire_uploads() {
    asio::steady_timer timer(io);
    for (;;) {
      auto job = [this] { return upload->expire_now(); };
      const std::size_t removed = co_await workers->run(std::move(job));
      if (removed > 0) {
        spdlog::info("upload: {} expired files deleted", removed);
      }
      timer.expires_after(std::chrono::hours(1));
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  /// [archive] retention_days: expired messages go a minute after start, then once an hour.
  asio::awaitable<void> expire_archives() {
    asio::steady_timer timer(io, std::chrono::minutes(1));
    for (;;) {
      co_await timer.async_wait(asio::use_awaitable);
      auto job = [this] { return router->archive().expire_now(); };
      co_await workers->run(std::move(job));
      timer.expires_after(std::chrono::hours(1));
    }
  }

  asio::awaitable<void> check_health(std::shared_ptr<core::http::Responder> respond) {
    auto job = [this] { return storage->ping(); };
    auto reachable = co_await workers->run(std::move(job));
    if (reachable) {
      (*respond)(core::http::Response::json(200, R"({"status":"ok","storage":"ok"})"));
    } else {
      (*respond)(core::http::Response::problem(503, "urn:parley:problem:storage-unavailable",
                                               "Storage unavailable", reachable.error().message()));
    }
  }

  void shutdown() {
    if (c2s_listener) c2s_listener->stop();
    if (direct_tls_listener) direct_tls_listener->stop();
    if (http) http->stop();
    if (admin_http) admin_http->stop();
    for (const auto& service : muc_services) {
      service->stop(); // status 332 to every occupant, before the sessions close
    }
    if (c2s) c2s->stop();
    if (users) users->stop();
    for (const auto& service : gateway_services) {
      service->stop();
    }
  }
};

Daemon::Daemon(config::Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Daemon::~Daemon() = default;

int Daemon::run() {
  auto& impl = *impl_;
  spdlog::info("parleyd " PARLEY_VERSION " starting for {}", fmt::join(impl.config.hosts, ", "));
  if (!impl.prepare()) {
    impl.shutdown();
    return 1;
  }

  asio::signal_set signals(impl.io, SIGINT, SIGTERM);
  signals.async_wait([&impl](boost::system::error_code ec, int signo) {
    if (ec) {
      return;
    }
    spdlog::info("signal {} received, stopping", signo);
    impl.shutdown();
    // Sessions get a moment to send their closing stream tags; then the loop ends.
    auto grace = std::make_shared<asio::steady_timer>(impl.io, std::chrono::milliseconds(300));
    grace->async_wait([grace, &impl](boost::system::error_code) { impl.io.stop(); });
  });

  std::vector<std::thread> threads;
  const std::size_t n = impl.io_threads();
  for (std::size_t i = 1; i < n; ++i) {
    threads.emplace_back([&impl] {
      core::async::mark_io_thread();
      impl.io.run();
    });
  }
  core::async::mark_io_thread();
  impl.io.run();
  for (auto& t : threads) {
    t.join();
  }
  impl.workers->join();
  spdlog::info("parleyd stopped");
  spdlog::default_logger()->flush();
  return 0;
}

} // namespace parley::server
