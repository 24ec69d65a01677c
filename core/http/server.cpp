#include "core/http/server.hpp"

#include "core/metrics/registry.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/message.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <list>
#include <mutex>

namespace parley::core::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

Responder::Responder(std::function<void(Response)> send) : send_(std::move(send)) {}

Responder::~Responder() {
  if (send_) {
    send_(Response::problem(500, "urn:parley:problem:internal", "Internal Server Error",
                            "the request was dropped without a response"));
  }
}

void Responder::operator()(Response response) {
  if (auto send = std::exchange(send_, nullptr)) {
    send(std::move(response));
  }
}

namespace {

struct Route {
  std::string method;
  std::string pattern; ///< as given to add_route: the `route` label of the metrics
  std::vector<std::string> segments;
  Handler handler;
  RouteOptions options;
};

/// parley_http_requests_total and parley_http_request_duration_seconds. Label values come from
/// small fixed sets only (route patterns, known methods, the statuses we answer with), never
/// from what a client sends, so that a client cannot make the registry grow.
struct HttpMetrics {
  metrics::CounterFamily& requests = metrics::registry().counter_family(
      "parley_http_requests_total",
      "HTTP requests answered, by route pattern (\"unmatched\" when none applied), method and status.",
      {"route", "method", "status"});
  metrics::HistogramFamily& duration = metrics::registry().histogram_family(
      "parley_http_request_duration_seconds",
      "Time from a request having been read to its response being ready, by route pattern and method.",
      {"route", "method"}, metrics::latency_buckets());

  static HttpMetrics& get() {
    static HttpMetrics instance;
    return instance;
  }

  static std::string_view method_label(std::string_view method) {
    for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
      if (method == known) {
        return known;
      }
    }
    return "other";
  }

  void count(std::string_view route, std::string_view method, unsigned status) {
    const std::string code = std::to_string(status);
    requests.with({route, method_label(method), code}).inc();
  }

  void time(std::string_view route, std::string_view method, std::chrono::steady_clock::time_point start) {
    duration.with({route, method_label(method)}).observe_since(start);
  }
};

constexpr std::string_view unmatched_route = "unmatched";

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  if (!path.empty() && path.front() == '/') {
    start = 1;
  }
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    const auto stop = end == std::string_view::npos ? path.size() : end;
    out.push_back(path.substr(start, stop - start));
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Percent-decodes one path segment; fails on a broken escape or an encoded NUL or slash.
std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0' || c == '/') return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

} // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  ServerOptions options;
  std::vector<Route> routes;
  tcp::acceptor acceptor;
  std::mutex mutex;
  std::list<std::weak_ptr<beast::tcp_stream>> connections;
  bool stopped = false;

  Impl(asio::io_context& io_, ServerOptions options_) : io(io_), options(std::move(options_)), acceptor(io_) {
    (void)HttpMetrics::get(); // registered now, so that they show before the first request
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
          co_return;
        }
        spdlog::warn("http: accept failed: {}", ec.message());
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      {
        std::lock_guard lock(mutex);
        if (stopped) {
          co_return;
        }
        std::erase_if(connections, [](const auto& w) { return w.expired(); });
        connections.push_back(stream);
      }
      asio::co_spawn(stream->get_executor(), serve(self, stream), asio::detached);
    }
  }

  /// Finds the route; sets `status` to 404 or 405 when none fits.
  const Route* match(std::string_view method, const std::vector<std::string>& segments,
                     std::map<std::string, std::string, std::less<>>& params, unsigned& status) const {
    status = 404;
    for (const auto& route : routes) {
      if (route.segments.size() != segments.size()) {
        continue;
      }
      std::map<std::string, std::string, std::less<>> found;
      bool ok = true;
      for (std::size_t i = 0; i < segments.size() && ok; ++i) {
        const auto& pat = route.segments[i];
        if (pat.size() >= 2 && pat.front() == '{' && pat.back() == '}') {
          if (segments[i].empty()) {
            ok = false;
          } else {
            found.emplace(pat.substr(1, pat.size() - 2), segments[i]);
          }
        } else {
          ok = pat == segments[i];
        }
      }
      if (!ok) {
        continue;
      }
      // RFC 9110 §9.3.2: HEAD wherever GET.
      if (route.method != method && !(method == "HEAD" && route.method == "GET")) {
        status = 405;
        continue;
      }
      params = std::move(found);
      return &route;
    }
    return nullptr;
  }

  /// Parses the target into `req` and finds its route. Null with `error` set when there is
  /// none (400, 404, 405).
  const Route* route_of(Request& req, Response& error) const {
    const auto qpos = req.target.find('?');
    const std::string_view raw_path = std::string_view(req.target).substr(0, qpos);
    if (qpos != std::string::npos) {
      req.query = req.target.substr(qpos + 1);
    }
    std::vector<std::string> segments;
    for (auto seg : split_path(raw_path)) {
      auto decoded = percent_decode(seg);
      if (!decoded) {
        error = Response::problem(400, "urn:parley:problem:bad-request", "Bad Request", "malformed path");
        return nullptr;
      }
      segments.push_back(std::move(*decoded));
    }
    req.path = std::string(raw_path);
    unsigned status = 404;
    const Route* route = match(req.method, segments, req.params, status);
    if (route == nullptr) {
      error = status == 405 ? Response::problem(405, "urn:parley:problem:method-not-allowed", "Method Not Allowed")
                            : Response::problem(404, "urn:parley:problem:not-found", "Not Found",
                                                "no resource at " + req.path);
    }
    return route;
  }

  static asio::awaitable<Response> dispatch(const Route& route, Request req) {
    const Handler& handler = route.handler;
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Response)>(
        [&handler, &req](auto completion) {
          auto shared = std::make_shared<decltype(completion)>(std::move(completion));
          auto ex = asio::get_associated_executor(*shared);
          handler(std::move(req), Responder([shared, ex](Response r) {
                    asio::post(ex, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
                  }));
        },
        asio::use_awaitable);
  }

  template <class Message>
  static void set_fields(Message& out, const Response& res, bool keep_alive) {
    out.set(bhttp::field::server, "parley");
    if (!res.body.empty() || !res.body_file.empty() || res.status >= 200) {
      out.set(bhttp::field::content_type, res.content_type);
    }
    for (const auto& [name, value] : res.headers) {
      out.set(name, value);
    }
    out.keep_alive(keep_alive);
  }

  /// Writes `res`; a HEAD request (`head`) gets the header only, with the body's length.
  asio::awaitable<void> write(beast::tcp_stream& stream, const Response& res, unsigned version, bool keep_alive,
                              bool head = false) {
    if (!res.body_file.empty()) {
      bhttp::response<bhttp::file_body> out{static_cast<bhttp::status>(res.status), version};
      beast::error_code ec;
      out.body().open(res.body_file.c_str(), beast::file_mode::scan, ec);
      if (ec) {
        // Gone between the handler's check and now (expired, say).
        const Response gone = Response::problem(404, "urn:parley:problem:not-found", "Not Found");
        co_await write(stream, gone, version, keep_alive, head);
        co_return;
      }
      set_fields(out, res, keep_alive);
      out.prepare_payload();
      if (head) {
        bhttp::response<bhttp::empty_body> header{out.base()};
        co_await bhttp::async_write(stream, header, asio::as_tuple(asio::use_awaitable));
        co_return;
      }
      // A large file takes longer than one request timeout: the timeout applies per chunk.
      bhttp::response_serializer<bhttp::file_body> serializer{out};
      while (!serializer.is_done()) {
        stream.expires_after(options.request_timeout);
        auto [write_ec, n] =
            co_await bhttp::async_write_some(stream, serializer, asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (write_ec) {
          co_return;
        }
      }
      co_return;
    }
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
    set_fields(out, res, keep_alive);
    if (head) {
      bhttp::response<bhttp::empty_body> header{static_cast<bhttp::status>(res.status), version};
      for (const auto& field : out) {
        header.set(field.name_string(), field.value());
      }
      header.keep_alive(keep_alive);
      header.content_length(res.body.size());
      co_await bhttp::async_write(stream, header, asio::as_tuple(asio::use_awaitable));
      co_return;
    }
    out.body() = res.body;
    out.prepare_payload();
    co_await bhttp::async_write(stream, out, asio::as_tuple(asio::use_awaitable));
  }

  /// Answers with `res` and ends the connection without reading the rest of the body: a
  /// lingering close (RFC 9112 §9.6): stop sending, then read and drop what the client is still
  /// sending for a moment. Closing with its body unread would make the kernel answer with a
  /// reset, which can destroy the response before the client reads it.
  asio::awaitable<void> refuse_and_close(beast::tcp_stream& stream, const Response& res, std::uint64_t limit) {
    stream.expires_after(options.request_timeout);
    co_await write(stream, res, 11, false);
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(2));
    std::array<char, 16384> sink{};
    for (std::uint64_t drained = 0; drained < 4 * limit + (1U << 20);) {
      auto [read_ec, got] = co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
      if (read_ec) {
        break;
      }
      drained += got;
    }
  }

  static Response too_large(std::uint64_t limit) {
    return Response::problem(413, "urn:parley:problem:too-large", "Payload Too Large",
                             "the body exceeds " + std::to_string(limit) + " bytes");
  }

  static bool is_quiet_end(const boost::system::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
           ec == asio::error::connection_reset || ec == asio::error::eof;
  }

  static asio::awaitable<void> serve(std::shared_ptr<Impl> self, std::shared_ptr<beast::tcp_stream> stream) {
    beast::flat_buffer buffer;
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = stream->socket().remote_endpoint(ec);
      if (!ec) {
        remote = ep.address().to_string();
      }
    }
    for (;;) {
      // The header first: the route decides the body's limit and where the body goes.
      bhttp::request_parser<bhttp::empty_body> head;
      head.body_limit(boost::none);
      head.header_limit(static_cast<std::uint32_t>(self->options.max_header_bytes));
      stream->expires_after(buffer.size() == 0 ? self->options.idle_timeout : self->options.request_timeout);
      auto [ec, n] = co_await bhttp::async_read_header(*stream, buffer, head, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (is_quiet_end(ec)) {
        break;
      }
      // Requests refused before routing count as unmatched; their method is known only once the
      // header has been read.
      std::string method_seen;
      if (head.is_header_done()) {
        method_seen = std::string(head.get().method_string());
      }
      const auto refused = [&](unsigned status) { HttpMetrics::get().count(unmatched_route, method_seen, status); };
      if (ec == bhttp::error::header_limit) {
        refused(431);
        const Response answer = Response::problem(431, "urn:parley:problem:headers-too-large",
                                                  "Request Header Fields Too Large");
        co_await self->write(*stream, answer, 11, false);
        break;
      }
      if (ec) {
        refused(400);
        stream->expires_after(self->options.request_timeout);
        const Response answer = Response::problem(400, "urn:parley:problem:bad-request", "Bad Request", ec.message());
        co_await self->write(*stream, answer, 11, false);
        break;
      }
      const auto started = std::chrono::steady_clock::now();
      Request req;
      {
        const auto& msg = head.get();
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        for (const auto& field : msg) {
          std::string name(field.name_string());
          for (auto& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          }
          req.headers.emplace_back(std::move(name), std::string(field.value()));
        }
      }
      req.remote_address = remote;
      const bool keep_alive = head.get().keep_alive();
      const unsigned version = head.get().version();
      const bool is_head = req.method == "HEAD";
      const std::string_view method = HttpMetrics::method_label(req.method);
      Response unrouted;
      const Route* route = self->route_of(req, unrouted);
      const std::uint64_t limit = route != nullptr && route->options.max_body_bytes != 0
                                      ? route->options.max_body_bytes
                                      : self->options.max_body_bytes;
      if (const auto length = head.content_length(); length && *length > limit) {
        refused(413);
        const Response answer = too_large(limit);
        co_await self->refuse_and_close(*stream, answer, limit);
        break;
      }
      const bool to_file = route != nullptr && route->options.body_to_file;
      std::string body_path;
      if (to_file) {
        auto verdict = route->options.body_to_file(req);
        if (auto* answer = std::get_if<Response>(&verdict)) {
          HttpMetrics::get().count(route->pattern, method, answer->status);
          if (head.is_done()) {
            stream->expires_after(self->options.request_timeout);
            co_await self->write(*stream, *answer, version, keep_alive, is_head);
            if (!keep_alive) {
              break;
            }
            continue;
          }
          co_await self->refuse_and_close(*stream, *answer, limit);
          break;
        }
        body_path = std::get<std::string>(std::move(verdict));
      }
      if (!head.is_done()) {
        if (const auto expect = req.header("expect"); expect && beast::iequals(*expect, "100-continue")) {
          // The client waits for this before it sends a large body (curl does).
          bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, version};
          stream->expires_after(self->options.request_timeout);
          co_await bhttp::async_write(*stream, go_on, asio::as_tuple(asio::use_awaitable));
        }
      }
      if (to_file) {
        bhttp::request_parser<bhttp::file_body> parser{std::move(head)};
        parser.body_limit(limit);
        beast::error_code open_ec;
        parser.get().body().open(body_path.c_str(), beast::file_mode::write_new, open_ec);
        if (open_ec) {
          spdlog::warn("http: cannot create {}: {}", body_path, open_ec.message());
          if (route->options.body_abandoned) {
            route->options.body_abandoned(req, body_path);
          }
          HttpMetrics::get().count(route->pattern, method, 500);
          const Response answer =
              Response::problem(500, "urn:parley:problem:internal", "Internal Server Error", "cannot store the body");
          co_await self->refuse_and_close(*stream, answer, limit);
          break;
        }
        boost::system::error_code read_ec;
        while (!parser.is_done()) {
          // Per chunk: a large body may take longer than one request timeout in all.
          stream->expires_after(self->options.request_timeout);
          auto [chunk_ec, got] = co_await bhttp::async_read_some(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
          (void)got;
          if (chunk_ec) {
            read_ec = chunk_ec;
            break;
          }
        }
        parser.get().body().close();
        if (read_ec) {
          std::error_code ignored;
          std::filesystem::remove(body_path, ignored);
          if (route->options.body_abandoned) {
            route->options.body_abandoned(req, body_path);
          }
          if (read_ec == bhttp::error::body_limit) {
            HttpMetrics::get().count(route->pattern, method, 413);
            const Response answer = too_large(limit);
            co_await self->refuse_and_close(*stream, answer, limit);
          } else if (!is_quiet_end(read_ec) && read_ec != bhttp::error::partial_message) {
            HttpMetrics::get().count(route->pattern, method, 400);
            stream->expires_after(self->options.request_timeout);
            const Response answer =
                Response::problem(400, "urn:parley:problem:bad-request", "Bad Request", read_ec.message());
            co_await self->write(*stream, answer, 11, false);
          }
          break;
        }
        req.body_file = body_path;
      } else {
        bhttp::request_parser<bhttp::string_body> parser{std::move(head)};
        parser.body_limit(limit);
        if (!parser.is_done()) {
          stream->expires_after(self->options.request_timeout);
          auto [read_ec, got] = co_await bhttp::async_read(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
          (void)got;
          if (is_quiet_end(read_ec)) {
            break;
          }
          if (read_ec == bhttp::error::body_limit) {
            refused(413);
            const Response answer = too_large(limit);
            co_await self->refuse_and_close(*stream, answer, limit);
            break;
          }
          if (read_ec) {
            refused(400);
            stream->expires_after(self->options.request_timeout);
            const Response answer =
                Response::problem(400, "urn:parley:problem:bad-request", "Bad Request", read_ec.message());
            co_await self->write(*stream, answer, 11, false);
            break;
          }
        }
        req.body = std::move(parser.get().body());
      }
      std::string_view route_label = unmatched_route;
      Response res;
      if (route == nullptr) {
        res = std::move(unrouted);
      } else {
        route_label = route->pattern;
        stream->expires_never(); // handlers may take a while (storage); the client waits
        res = co_await dispatch(*route, std::move(req));
      }
      // Counted before the write, so that a client that has its response sees it counted.
      HttpMetrics::get().count(route_label, method, res.status);
      HttpMetrics::get().time(route_label, method, started);
      stream->expires_after(self->options.request_timeout);
      co_await self->write(*stream, res, version, keep_alive, is_head);
      if (!keep_alive) {
        break;
      }
    }
    boost::system::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
};

Server::Server(asio::io_context& io, ServerOptions options) : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Server::~Server() { stop(); }

void Server::add_route(std::string method, std::string path_pattern, Handler handler, RouteOptions options) {
  Route route;
  route.method = std::move(method);
  route.pattern = path_pattern;
  for (auto seg : split_path(path_pattern)) {
    route.segments.emplace_back(seg);
  }
  route.handler = std::move(handler);
  route.options = std::move(options);
  impl_->routes.push_back(std::move(route));
}

std::vector<std::pair<std::string, std::string>> Server::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& route : impl_->routes) {
    out.emplace_back(route.method, route.pattern);
  }
  return out;
}

boost::system::result<void, Failure> Server::start() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) {
    return Failure{"invalid HTTP address " + impl_->options.address};
  }
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Failure{"cannot listen for HTTP on " + impl_->options.address + ":" + std::to_string(impl_->options.port) + ": " +
           ec.message()};
  }
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  return {};
}

void Server::stop() {
  auto impl = impl_;
  std::list<std::weak_ptr<beast::tcp_stream>> open;
  {
    std::lock_guard lock(impl->mutex);
    if (impl->stopped) {
      return;
    }
    impl->stopped = true;
    open.swap(impl->connections);
  }
  asio::post(impl->io, [impl] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
  });
  for (auto& weak : open) {
    if (auto stream = weak.lock()) {
      asio::post(stream->get_executor(), [stream] { stream->close(); });
    }
  }
}

std::uint16_t Server::port() const noexcept {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? std::uint16_t{0} : ep.port();
}

} // namespace parley::core::http
