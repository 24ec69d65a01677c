#pragma once

#include "core/failure.hpp"
// Include only where connections are accepted: brings Asio's TCP along.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace parley::core::net {

/// Accepts TCP connections on one address and hands each socket (TCP_NODELAY set) to
/// `on_accept`, on the acceptor's executor. Each accepted socket gets its own strand
/// (`io` is run by several threads, so the socket is bound to a new strand of it).
class TcpListener : public std::enable_shared_from_this<TcpListener> {
public:
  using AcceptHandler = std::function<void(boost::asio::ip::tcp::socket)>;

  static std::shared_ptr<TcpListener> create(boost::asio::io_context& io, std::string name, AcceptHandler on_accept);

  /// Binds and starts accepting. The error names the address and the reason.
  boost::system::result<void, Failure> listen(const std::string& address, std::uint16_t port);
  /// Stops accepting. Safe from any thread; idempotent.
  void stop();
  std::uint16_t port() const;

private:
  TcpListener(boost::asio::io_context& io, std::string name, AcceptHandler on_accept);
  void accept_next();

  boost::asio::io_context& io_;
  std::string name_;
  AcceptHandler on_accept_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

} // namespace parley::core::net
