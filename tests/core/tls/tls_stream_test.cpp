// TlsStream, the server side of c2s TLS, against Asio's TLS client on a loopback connection.

#include "core/tls/tls_stream.hpp"

#include "core/tls/self_signed.hpp"
#include "core/tls/server_context.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <system_error>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using parley::core::tls::TlsStream;
using namespace std::chrono_literals;

namespace {

class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-tls-XXXXXX").string();
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

/// A connected pair: `testling` (server side) and an Asio TLS client, both on `io`.
struct Fixture {
  TempDir dir;
  asio::io_context io;
  std::shared_ptr<asio::ssl::context> server_context;
  asio::ssl::context client_context{asio::ssl::context::tls_client};
  std::unique_ptr<TlsStream> testling;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> client;

  Fixture() {
    auto files = parley::core::tls::ensure_self_signed(dir.path(), {"localhost"});
    REQUIRE(files.has_value());
    auto context = parley::core::tls::make_server_context(files->certificate, files->key);
    REQUIRE(context.has_value());
    server_context = *context;
    client_context.set_verify_mode(asio::ssl::verify_none);

    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket server_socket(io);
    client = std::make_unique<asio::ssl::stream<tcp::socket>>(io, client_context);
    client->next_layer().connect(acceptor.local_endpoint());
    acceptor.accept(server_socket);
    testling = std::make_unique<TlsStream>(std::move(server_socket), server_context->native_handle());
  }

  /// Runs the handshake on both sides.
  void handshake() {
    auto server = asio::co_spawn(io, testling->handshake(), asio::use_future);
    auto client_done = client->async_handshake(asio::ssl::stream_base::client, asio::use_future);
    io.run_for(10s);
    io.restart();
    REQUIRE_FALSE(server.get());
    client_done.get();
  }

  /// Reads until `want` bytes have arrived or reading fails; returns them and the error.
  asio::awaitable<std::pair<std::string, boost::system::error_code>> read(std::size_t want) {
    std::string got;
    char buffer[1000];
    while (got.size() < want) {
      boost::system::error_code ec;
      const std::size_t n = testling->read_now(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block) {
        if (auto e = co_await testling->wait_readable()) {
          co_return std::pair{got, e};
        }
        continue;
      }
      if (ec) {
        co_return std::pair{got, ec};
      }
      got.append(buffer, n);
    }
    co_return std::pair{got, boost::system::error_code()};
  }
};

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>('a' + i % 23);
  }
  return s;
}

} // namespace

TEST_CASE("handshake, then data both ways, larger than a TLS record") {
  Fixture f;
  f.handshake();
  CHECK(f.testling->native_handle() != nullptr);

  const std::string up = pattern(70000);
  auto sent = asio::async_write(*f.client, asio::buffer(up), asio::use_future);
  auto got = asio::co_spawn(f.io, f.read(up.size()), asio::use_future);
  f.io.run_for(10s);
  f.io.restart();
  CHECK(sent.get() == up.size());
  auto [data, ec] = got.get();
  CHECK_FALSE(ec);
  CHECK(data == up);

  // Nothing more has arrived: reading now would block, without failing the stream.
  boost::system::error_code ec2;
  char one[1];
  CHECK(f.testling->read_now(asio::buffer(one), ec2) == 0);
  CHECK(ec2 == asio::error::would_block);

  const std::string down = pattern(300000);
  auto written = asio::co_spawn(f.io, f.testling->write(asio::buffer(down)), asio::use_future);
  std::string received(down.size(), '\0');
  auto read = asio::async_read(*f.client, asio::buffer(received), asio::use_future);
  f.io.run_for(10s);
  f.io.restart();
  auto [wec, wn] = written.get();
  CHECK_FALSE(wec);
  CHECK(wn == down.size());
  CHECK(read.get() == down.size());
  CHECK(received == down);
}

TEST_CASE("close_notify reads as eof, a dropped connection as stream_truncated") {
  SUBCASE("close_notify") {
    Fixture f;
    f.handshake();
    auto shut = f.client->async_shutdown(asio::use_future);
    auto got = asio::co_spawn(f.io, f.read(1), asio::use_future);
    f.io.run_for(2s);
    f.io.restart();
    CHECK(got.get().second == asio::error::eof);
    (void)shut;
  }
  SUBCASE("TCP closed without close_notify") {
    Fixture f;
    f.handshake();
    // A FIN: closing with the server's session tickets still unread would send a reset.
    f.client->next_layer().shutdown(tcp::socket::shutdown_send);
    auto got = asio::co_spawn(f.io, f.read(1), asio::use_future);
    f.io.run_for(10s);
    f.io.restart();
    CHECK(got.get().second == asio::ssl::error::stream_truncated);
  }
}

TEST_CASE("closing the socket ends a waiting read and a stalled write") {
  Fixture f;
  f.handshake();
  auto got = asio::co_spawn(f.io, f.read(1), asio::use_future);
  // The client never reads: the write fills the socket buffers and waits.
  const std::string big = pattern(8 * 1024 * 1024);
  auto written = asio::co_spawn(f.io, f.testling->write(asio::buffer(big)), asio::use_future);
  f.io.run_for(500ms);
  boost::system::error_code ignored;
  f.testling->next_layer().close(ignored);
  f.io.run_for(5s);
  f.io.restart();
  CHECK(got.get().second == asio::error::operation_aborted);
  auto [ec, n] = written.get();
  CHECK(ec == asio::error::operation_aborted);
  CHECK(n < big.size());
}

TEST_CASE("a peer that is not speaking TLS fails the handshake") {
  Fixture f;
  asio::write(f.client->next_layer(), asio::buffer(std::string("<stream:stream xmlns='jabber:client'>")));
  auto server = asio::co_spawn(f.io, f.testling->handshake(), asio::use_future);
  f.io.run_for(10s);
  f.io.restart();
  const auto ec = server.get();
  CHECK(ec);
  CHECK(ec.category() == asio::error::get_ssl_category());
}

TEST_CASE("no TLS 1.3 session tickets are issued") {
  Fixture f;
  f.handshake();
  REQUIRE(SSL_version(f.client->native_handle()) == TLS1_3_VERSION);
  // Tickets follow the handshake; the client sees them when it reads what comes after.
  const std::string x = "x"; // lives until the write has run (a temporary would not)
  auto written = asio::co_spawn(f.io, f.testling->write(asio::buffer(x)), asio::use_future);
  char one[1];
  auto read = asio::async_read(*f.client, asio::buffer(one), asio::use_future);
  f.io.run_for(10s);
  f.io.restart();
  CHECK_FALSE(std::get<0>(written.get()));
  CHECK(read.get() == 1);
  SSL_SESSION* session = SSL_get1_session(f.client->native_handle());
  REQUIRE(session != nullptr);
  CHECK(SSL_SESSION_has_ticket(session) == 0);
  CHECK(SSL_SESSION_is_resumable(session) == 0);
  SSL_SESSION_free(session);
}
