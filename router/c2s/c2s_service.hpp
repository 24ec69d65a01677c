#pragma once
// Include only in the composition root and the c2s sources: brings Asio along.

#include "config/config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <mutex>
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
  void forget(const ClientSession* session);

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
};

} // namespace parley::router::c2s
