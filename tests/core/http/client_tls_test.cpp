// HTTPS: the client verifies the peer's certificate and host name, against the system store
// or the CA file it is given. The peer is a minimal TLS server with a self-signed certificate.

#include "core/http/client.hpp"
#include "core/tls/self_signed.hpp"
#include "core/tls/server_context.hpp"
#include "tests/core/http/run_coroutines.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace asio = boost::asio;
namespace http = parley::core::http;
using parley::core::http::client_errc;
using parley::core::http::testing::run_coroutine;
using namespace std::chrono_literals;

namespace {

/// A fresh directory under the system temp directory, removed with its contents.
class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-http-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

/// Answers each connection with "ok" after the TLS handshake and the request head.
class TlsServer {
public:
  TlsServer(asio::io_context& io, std::shared_ptr<asio::ssl::context> context)
      : acceptor_(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), context_(std::move(context)) {
    asio::co_spawn(io, accept_loop(&acceptor_, context_, &handshakes_), asio::detached);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int handshakes() const { return handshakes_; }

private:
  static asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor* acceptor,
                                           std::shared_ptr<asio::ssl::context> context, std::atomic<int>* handshakes) {
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      auto stream = std::make_shared<TlsStream>(std::move(socket), *context);
      asio::co_spawn(acceptor->get_executor(), serve(stream, context, handshakes), asio::detached);
    }
  }

  static asio::awaitable<void> serve(std::shared_ptr<TlsStream> stream, std::shared_ptr<asio::ssl::context>,
                                     std::atomic<int>* handshakes) {
    auto [handshake_ec] =
        co_await stream->async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (handshake_ec) {
      co_return;
    }
    ++*handshakes;
    std::string head;
    auto [read_ec, n] = co_await asio::async_read_until(*stream, asio::dynamic_buffer(head), "\r\n\r\n",
                                                        asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (read_ec) {
      co_return;
    }
    static const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    co_await asio::async_write(*stream, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
    boost::system::error_code ignored;
    stream->lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }

  asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<asio::ssl::context> context_;
  std::atomic<int> handshakes_{0};
};

struct TlsFixture {
  TempDir dir;
  parley::core::tls::CertificateFiles files;
  asio::io_context io;
  std::optional<TlsServer> server;

  TlsFixture() {
    auto generated = parley::core::tls::ensure_self_signed(dir.path(), {"localhost"});
    REQUIRE_MESSAGE(generated.has_value(), (generated ? std::string() : generated.error().message));
    files = *generated;
    auto context = parley::core::tls::make_server_context(files.certificate, files.key);
    REQUIRE_MESSAGE(context.has_value(), (context ? std::string() : context.error().message));
    server.emplace(io, *context);
  }

  std::string url(std::string_view host) const {
    return "https://" + std::string(host) + ":" + std::to_string(server->port()) + "/";
  }
};

http::ClientRequest get(std::string url) {
  http::ClientRequest request;
  request.url = std::move(url);
  request.timeout = 10s;
  return request;
}

std::string describe(const std::optional<http::ClientResult>& result) {
  if (!result) {
    return "no result";
  }
  if (result->has_value()) {
    return "status " + std::to_string((*result)->status);
  }
  return std::string(http::to_string(result->error().kind)) + ": " + result->error().message;
}

} // namespace

TEST_CASE("client tls: a certificate the system store does not trust fails tls") {
  TlsFixture fixture;
  http::ClientOptions options;
  options.allow_private_addresses = true;
  http::Client testling(fixture.io, options);
  std::optional<http::ClientResult> result;

  run_coroutine(fixture.io,
                [&]() -> asio::awaitable<void> { result = co_await testling.send(get(fixture.url("localhost"))); });

  INFO(describe(result));
  REQUIRE(result);
  REQUIRE(result->has_error());
  CHECK(result->error().kind == client_errc::tls);
  CHECK(fixture.server->handshakes() == 0);
}

TEST_CASE("client tls: with the CA file the certificate verifies, and the host name still counts") {
  TlsFixture fixture;
  http::ClientOptions options;
  options.allow_private_addresses = true;
  options.ca_file = fixture.files.certificate.string();
  http::Client testling(fixture.io, options);
  std::optional<http::ClientResult> trusted;
  std::optional<http::ClientResult> wrong_name;

  run_coroutine(fixture.io, [&]() -> asio::awaitable<void> {
    trusted = co_await testling.send(get(fixture.url("localhost")));
    // The certificate names localhost only, not the address.
    wrong_name = co_await testling.send(get(fixture.url("127.0.0.1")));
  });

  {
    INFO(describe(trusted));
    REQUIRE(trusted);
    REQUIRE(trusted->has_value());
    CHECK(trusted->value().status == 200);
    CHECK(trusted->value().body == "ok");
  }
  INFO(describe(wrong_name));
  REQUIRE(wrong_name);
  REQUIRE(wrong_name->has_error());
  CHECK(wrong_name->error().kind == client_errc::tls);
}
