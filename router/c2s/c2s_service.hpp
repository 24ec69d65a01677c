#pragma once
// Include only in the composition root and the c2s sources: brings Asio along.

#include "config/config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace parley::router {
class Router;
}

namespace parley::router::c2s {

class ClientSession;

/// Creates a ClientSession for each accepted client connection and keeps track of them
/// so that shutdown can close every stream with <system-shutdown/>.
class C2sService : public std::enable_shared_from_this<C2sService> {
public:
  static std::shared_ptr<C2sService> create(boost::asio::io_context& io, const config::Config& config,
                                            std::shared_ptr<boost::asio::ssl::context> tls, Router& router);

  /// Starts a session on `socket` (already on its own strand). `direct_tls`: XEP-0368, the
  /// TLS handshake comes first. Any thread.
  void accept(boost::asio::ip::tcp::socket socket, bool direct_tls);
  /// Closes every open stream with <system-shutdown/>. Any thread.
  void stop();
  /// Open connections, authenticated or not.
  std::size_t connection_count() const;

  const config::Config& config() const noexcept { return config_; }
  boost::asio::ssl::context& tls() noexcept { return *tls_; }
  Router& router() noexcept { return router_; }

  /// Per-IP connection slots: `admit` takes one (false when the address is at its limit),
  /// `release` gives it back. Any thread.
  bool admit(const std::string& ip);
  void release(const std::string& ip);
  /// Per-IP authentication failures in the current minute. Any thread.
  bool auth_allowed(const std::string& ip);
  void auth_failed(const std::string& ip);

  /// XEP-0198 resumable sessions by their SM id. The registry keeps a session alive while it
  /// hibernates. Any thread.
  void register_resumable(const std::string& id, std::shared_ptr<ClientSession> session);
  void unregister_resumable(const std::string& id);
  std::shared_ptr<ClientSession> find_resumable(const std::string& id);

  /// A session gave back memory it held while idle. A second after the first of a burst of
  /// these, the allocator returns whole free pages to the system (glibc keeps them otherwise,
  /// holes between live allocations). Any thread.
  void memory_released();

private:
  C2sService(boost::asio::io_context& io, const config::Config& config,
             std::shared_ptr<boost::asio::ssl::context> tls, Router& router);

  boost::asio::io_context& io_;
  const config::Config& config_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  Router& router_;
  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<ClientSession>> sessions_;
  bool stopped_ = false;
  std::unordered_map<std::string, std::uint32_t> connections_per_ip_;
  struct FailureWindow {
    std::chrono::steady_clock::time_point start;
    std::uint32_t count = 0;
  };
  std::unordered_map<std::string, FailureWindow> auth_failures_;
  std::unordered_map<std::string, std::shared_ptr<ClientSession>> resumable_;
  boost::asio::steady_timer release_timer_;
  bool release_scheduled_ = false;
};

} // namespace parley::router::c2s
