#pragma once

#include "core/failure.hpp"

#include "core/http/message.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace parley::core::http {

/// Completes a request. Call it exactly once, from any thread; a Responder dropped without
/// being called answers 500 so that no client waits forever.
class Responder {
public:
  explicit Responder(std::function<void(Response)> send);
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept = default;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();
  void operator()(Response response);

private:
  std::function<void(Response)> send_;
};

/// A route's handler. Runs on the connection's executor (an I/O thread): it must not block;
/// hand blocking work to the worker pool and call `respond` when done.
using Handler = std::function<void(Request request, Responder respond)>;

/// What one route sets apart from the server's defaults.
struct RouteOptions {
  /// The largest request body; 0: ServerOptions::max_body_bytes.
  std::uint64_t max_body_bytes = 0;
  /// Set: the body is streamed to a file instead of being kept in memory (large uploads). Runs
  /// on the connection's executor once the header is read and the route matched (Request::body
  /// empty, params filled); must not block beyond creating a directory. Returns the path to
  /// write the body to (the handler then gets it in Request::body_file), or a Response that
  /// refuses the request before its body is read. Each chunk of the body must arrive within
  /// the request timeout; the whole body may take longer.
  std::function<std::variant<std::string, Response>(const Request& head)> body_to_file;
  /// With body_to_file: the body was not received in full (too large, connection lost, timed
  /// out) and the partial file is removed already; undo what body_to_file prepared. Same
  /// executor; must not block.
  std::function<void(const Request& head, const std::string& path)> body_abandoned;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0; ///< 0: any free port (see Server::port())
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::seconds request_timeout{30};
  std::chrono::seconds idle_timeout{60};
};

/// An HTTP/1.1 server (Boost.Beast) with a route table. Routes match the method and the path,
/// where a segment `{name}` matches any one segment and is handed over in Request::params.
/// Unknown paths get 404 problem+json, a known path with another method 405, a body past
/// the limit 413, a malformed request 400. A HEAD request gets the headers its route's
/// handler produced, with the Content-Length of the body, and no body.
class Server {
public:
  Server(boost::asio::io_context& io, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Adds a route; call before start().
  void add_route(std::string method, std::string path_pattern, Handler handler, RouteOptions options = {});
  /// Every route added so far as (method, path pattern), in the order added.
  std::vector<std::pair<std::string, std::string>> routes() const;
  /// Binds and starts accepting. Fails with a message when the address cannot be bound.
  boost::system::result<void, Failure> start();
  /// Stops accepting and closes open connections. Safe from any thread.
  void stop();
  /// The bound port (useful with port 0).
  std::uint16_t port() const noexcept;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace parley::core::http
