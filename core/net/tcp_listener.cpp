#include "core/net/tcp_listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

namespace parley::core::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::shared_ptr<TcpListener> TcpListener::create(asio::io_context& io, std::string name, AcceptHandler on_accept) {
  return std::shared_ptr<TcpListener>(new TcpListener(io, std::move(name), std::move(on_accept)));
}

TcpListener::TcpListener(asio::io_context& io, std::string name, AcceptHandler on_accept)
    : io_(io), name_(std::move(name)), on_accept_(std::move(on_accept)), acceptor_(io) {}

boost::system::result<void, Failure> TcpListener::listen(const std::string& address, std::uint16_t port) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(address, ec);
  if (ec) {
    return Failure{name_ + ": invalid address " + address};
  }
  const tcp::endpoint endpoint(addr, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Failure{name_ + ": cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message()};
  }
  accept_next();
  return {};
}

void TcpListener::accept_next() {
  acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](boost::system::error_code ec,
                                                                           tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) {
        return;
      }
      // EMFILE and friends: log and keep accepting rather than stop serving.
      spdlog::warn("{}: accept failed: {}", self->name_, ec.message());
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      self->on_accept_(std::move(socket));
    }
    self->accept_next();
  });
}

void TcpListener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

std::uint16_t TcpListener::port() const {
  boost::system::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  return ec ? std::uint16_t{0} : ep.port();
}

} // namespace parley::core::net
