// The HTTP client against the project's own HTTP server and against scripted peers, all on
// 127.0.0.1 in the same io_context as the client.

#include "core/http/client.hpp"
#include "core/http/server.hpp"
#include "tests/core/http/run_coroutines.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <variant>

#include <unistd.h>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace http = parley::core::http;
using parley::core::http::client_errc;
using parley::core::http::testing::run_coroutine;
using parley::core::http::testing::run_coroutines;
using namespace std::chrono_literals;

namespace {

http::ClientOptions private_allowed() {
  http::ClientOptions options;
  options.allow_private_addresses = true;
  options.user_agent = "Parley/test";
  return options;
}

http::ClientRequest get(std::string url, std::chrono::milliseconds timeout = 10s) {
  http::ClientRequest request;
  request.url = std::move(url);
  request.timeout = timeout;
  return request;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

/// Reports a result for doctest: the status or the failure.
std::string describe(const std::optional<http::ClientResult>& result) {
  if (!result) {
    return "no result";
  }
  if (result->has_value()) {
    return "status " + std::to_string((*result)->status);
  }
  return std::string(http::to_string(result->error().kind)) + ": " + result->error().message;
}

void check_failure(const std::optional<http::ClientResult>& result, client_errc expected) {
  INFO(describe(result));
  REQUIRE(result.has_value());
  REQUIRE(result->has_error());
  CHECK(result->error().kind == expected);
  CHECK_FALSE(result->error().message.empty());
}

/// The project's server on 127.0.0.1 with a few routes that show what arrived.
struct Fixture {
  asio::io_context io;
  http::Server server{io, http::ServerOptions{}};
  std::atomic<int> handled{0};
  std::mutex parked_mutex;
  std::vector<http::Responder> parked; // requests to /slow, never answered in time

  Fixture() {
    server.add_route("GET", "/hello", [this](http::Request request, http::Responder respond) {
      ++handled;
      http::Response response;
      response.content_type = "text/plain";
      response.headers = {{"Retry-After", "120"}, {"X-Echo", std::string(request.header("x-test").value_or(""))}};
      response.body = "hello";
      respond(std::move(response));
    });
    const auto echo = [this](http::Request request, http::Responder respond) {
      ++handled;
      http::Response response;
      response.content_type = std::string(request.header("content-type").value_or("none"));
      response.headers.emplace_back("X-Method", request.method);
      for (const auto& [name, value] : request.headers) {
        response.headers.emplace_back("X-Seen-" + name, value);
      }
      response.body = std::move(request.body);
      respond(std::move(response));
    };
    server.add_route("POST", "/echo", echo);
    server.add_route("PUT", "/echo", echo);
    server.add_route("GET", "/slow", [this](http::Request, http::Responder respond) {
      ++handled;
      std::lock_guard lock(parked_mutex);
      parked.push_back(std::move(respond));
    });
    server.add_route("GET", "/big", [this](http::Request, http::Responder respond) {
      ++handled;
      respond(http::Response::json(200, std::string(100'000, 'x')));
    });
    server.add_route("GET", "/redirect", [this](http::Request, http::Responder respond) {
      ++handled;
      http::Response response;
      response.status = 302;
      response.headers = {{"Location", "/hello"}};
      respond(std::move(response));
    });
    server.add_route("GET", "/redirect-to-file", [this](http::Request, http::Responder respond) {
      ++handled;
      http::Response response;
      response.status = 302;
      response.headers = {{"Location", "file:///etc/passwd"}};
      respond(std::move(response));
    });
    REQUIRE(server.start());
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(path);
  }
};

/// Answers every connection with the same bytes once the request head has arrived, then
/// closes it: for responses the project's server does not produce.
class ScriptedServer {
public:
  ScriptedServer(asio::io_context& io, std::string reply)
      : acceptor_(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        reply_(std::make_shared<const std::string>(std::move(reply))) {
    asio::co_spawn(io, accept_loop(&acceptor_, reply_), asio::detached);
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + std::string(path);
  }

private:
  static asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor* acceptor,
                                           std::shared_ptr<const std::string> reply) {
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_return;
      }
      asio::co_spawn(acceptor->get_executor(), serve(std::move(socket), reply), asio::detached);
    }
  }

  static asio::awaitable<void> serve(asio::ip::tcp::socket socket, std::shared_ptr<const std::string> reply) {
    std::string head;
    auto [read_ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(head), "\r\n\r\n",
                                                        asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (read_ec) {
      co_return;
    }
    co_await asio::async_write(socket, asio::buffer(*reply), asio::as_tuple(asio::use_awaitable));
    boost::system::error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }

  asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<const std::string> reply_;
};

} // namespace

TEST_CASE("client: GET round trip with request and response headers") {
  Fixture fixture;
  http::Client testling(fixture.io, private_allowed());
  std::optional<http::ClientResult> result;

  run_coroutine(fixture.io, [&]() -> asio::awaitable<void> {
    auto request = get(fixture.url("/hello"));
    request.headers = {{"X-Test", "abc"}};
    result = co_await testling.send(std::move(request));
  });

  INFO(describe(result));
  REQUIRE(result);
  REQUIRE(result->has_value());
  const auto& response = result->value();
  CHECK(response.status == 200);
  CHECK(response.body == "hello");
  CHECK(response.header("x-echo") == "abc");
  CHECK(response.header("content-type") == "text/plain");
  // Case-insensitive lookup, e.g. for a provider's Retry-After.
  CHECK(response.header("Retry-After") == "120");
  CHECK(response.header("RETRY-AFTER") == "120");
  CHECK_FALSE(response.header("x-missing").has_value());
  CHECK(fixture.handled == 1);
}

TEST_CASE("client: POST and PUT round trips carry method, headers and body") {
  Fixture fixture;
  http::Client testling(fixture.io, private_allowed());
  std::optional<http::ClientResult> json;
  std::optional<http::ClientResult> large;
  std::optional<http::ClientResult> form;
  std::chrono::steady_clock::duration large_took{};
  const std::string large_body(200'000, 'b');

  run_coroutine(fixture.io, [&]() -> asio::awaitable<void> {
    http::ClientRequest request;
    request.method = "POST";
    request.url = fixture.url("/echo");
    request.headers = {{"Content-Type", "application/json"}, {"X-Empty", ""}};
    request.body = R"({"event":"message","body":"hi"})";
    json = co_await testling.send(std::move(request));

    // A body past libcurl's threshold for "Expect: 100-continue": the server does not answer
    // 100, so with the header the request would stall for a second.
    http::ClientRequest big;
    big.method = "POST";
    big.url = fixture.url("/echo");
    big.body = large_body;
    const auto started = std::chrono::steady_clock::now();
    large = co_await testling.send(std::move(big));
    large_took = std::chrono::steady_clock::now() - started;

    http::ClientRequest put;
    put.method = "PUT";
    put.url = fixture.url("/echo");
    put.headers = {{"Authorization", http::basic_authorization("AC123", "s3cr:t")},
                   {"Content-Type", "application/x-www-form-urlencoded"}};
    put.body = http::form_urlencoded({{"To", "+15551234567"}, {"Body", "hi there! ü&="}});
    form = co_await testling.send(std::move(put));
  });

  {
    INFO(describe(json));
    REQUIRE(json);
    REQUIRE(json->has_value());
    const auto& response = json->value();
    CHECK(response.status == 200);
    CHECK(response.body == R"({"event":"message","body":"hi"})");
    CHECK(response.header("content-type") == "application/json");
    CHECK(response.header("x-method") == "POST");
    CHECK(response.header("x-seen-user-agent") == "Parley/test");
    CHECK(response.header("x-seen-x-empty") == "");
    CHECK(response.header("x-seen-content-length") == "31");
    CHECK_FALSE(response.header("x-seen-expect").has_value());
  }
  {
    INFO(describe(large));
    REQUIRE(large);
    REQUIRE(large->has_value());
    CHECK(large->value().status == 200);
    CHECK(large->value().body == large_body);
    CHECK_FALSE(large->value().header("x-seen-expect").has_value());
    CHECK(large_took < 900ms);
  }
  {
    INFO(describe(form));
    REQUIRE(form);
    REQUIRE(form->has_value());
    const auto& response = form->value();
    CHECK(response.header("x-method") == "PUT");
    CHECK(response.header("x-seen-authorization") == "Basic QUMxMjM6czNjcjp0");
    CHECK(response.body == "To=%2B15551234567&Body=hi+there%21+%C3%BC%26%3D");
  }
  CHECK(fixture.handled == 3);
}

TEST_CASE("client: 100 concurrent requests all complete") {
  Fixture fixture;
  http::Client testling(fixture.io, private_allowed());
  constexpr std::size_t count = 100;
  std::vector<std::optional<http::ClientResult>> results(count);

  run_coroutines(fixture.io, count, [&](std::size_t i) -> asio::awaitable<void> {
    http::ClientRequest request;
    request.method = "POST";
    request.url = fixture.url("/echo");
    request.body = "request " + std::to_string(i);
    results[i] = co_await testling.send(std::move(request));
  });

  for (std::size_t i = 0; i < count; ++i) {
    CAPTURE(i);
    INFO(describe(results[i]));
    REQUIRE(results[i]);
    REQUIRE(results[i]->has_value());
    CHECK(results[i]->value().status == 200);
    CHECK(results[i]->value().body == "request " + std::to_string(i));
  }
  CHECK(fixture.handled == static_cast<int>(count));
}

TEST_CASE("client: the io_context may run on two threads") {
  Fixture fixture;
  http::Client testling(fixture.io, private_allowed());
  constexpr std::size_t count = 60;
  std::vector<std::optional<http::ClientResult>> results(count);
  std::mutex threads_mutex;
  std::set<std::thread::id> resumed_on;

  run_coroutines(
      fixture.io, count,
      [&](std::size_t i) -> asio::awaitable<void> {
        auto request = get(fixture.url(i % 3 == 0 ? "/big" : "/hello"));
        results[i] = co_await testling.send(std::move(request));
        std::lock_guard lock(threads_mutex);
        resumed_on.insert(std::this_thread::get_id());
      },
      2);

  for (std::size_t i = 0; i < count; ++i) {
    CAPTURE(i);
    INFO(describe(results[i]));
    REQUIRE(results[i]);
    REQUIRE(results[i]->has_value());
    CHECK(results[i]->value().status == 200);
    CHECK(results[i]->value().body.size() == (i % 3 == 0 ? 100'000U : 5U));
  }
  CHECK(resumed_on.size() <= 2);
  CHECK(fixture.handled == static_cast<int>(count));
}

TEST_CASE("client: a slow handler hits the request timeout") {
  Fixture fixture;
  http::Client testling(fixture.io, private_allowed());
  std::optional<http::ClientResult> result;
  std::chrono::steady_clock::duration took{};

  run_coroutine(fixture.io, [&]() -> asio::awaitable<void> {
    const auto started = std::chrono::steady_clock::now();
    result = co_await testling.send(get(fixture.url("/slow"), 300ms));
    took = std::chrono::steady_clock::now() - started;
  });

  check_failure(result, client_errc::timeout);
  CHECK(took >= 250ms);
  CHECK(took < 3s);
  CHECK(fixture.handled == 1);
}

TEST_CASE("client: a response past max_response_bytes fails too_large") {
  Fixture fixture;
  // Chunked, so that only counting the received bytes can catch it (no Content-Length).
  std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  for (int i = 0; i < 4; ++i) {
    chunked += "3e8\r\n" + std::string(1000, 'c') + "\r\n";
  }
  chunked += "0\r\n\r\n";
  ScriptedServer scripted(fixture.io, chunked);
  http::Client testling(fixture.io, private_allowed());
  std::optional<http::ClientResult> declared;
  std::optional<http::ClientResult> exact;
  std::optional<http::ClientResult> streamed;
  std::optional<http::ClientResult> streamed_fits;

  run_coroutine(fixture.io, [&]() -> asio::awaitable<void> {
    auto request = get(fixture.url("/big"));
    request.max_response_bytes = 1000;
    declared = co_await testling.send(std::move(request));

    auto fits = get(fixture.url("/big"));
    fits.max_response_bytes = 100'000;
    exact = co_await testling.send(std::move(fits));

    auto chunks = get(scripted.url("/"));
    chunks.max_response_bytes = 2500;
    streamed = co_await testling.send(std::move(chunks));

    auto chunks_fit = get(scripted.url("/"));
    chunks_fit.max_response_bytes = 4000;
    streamed_fits = co_await testling.send(std::move(chunks_fit));
  });

  check_failure(declared, client_errc::too_large);
  check_failure(streamed, client_errc::too_large);
  INFO(describe(exact));
  REQUIRE(exact);
  REQUIRE(exact->has_value());
  CHECK(exact->value().body.size() == 100'000);
  INFO(describe(streamed_fits));
  REQUIRE(streamed_fits);
  REQUIRE(streamed_fits->has_value());
  CHECK(streamed_fits->value().body == std::string(4000, 'c'));
}

TEST_CASE("client: response headers past max_header_bytes fail too_large") {
  Fixture fixture;
  auto options = private_allowed();
  options.max_header_bytes = 64;
  http::Client testling(fixture.io, options);
  std::optional<http::ClientResult> result;

  run_coroutine(fixture.io,
                [&]() -> asio::awaitable<void> { result = co_await testling.send(get(fixture.url("/hello"))); });

  check_failure(result, client_errc::too_large);
}

TEST_CASE("client: only the final response's headers count, folded lines are joined") {
  asio::io_context io;
  ScriptedServer scripted(io, "HTTP/1.1 100 Continue\r\n\r\n"
                              "HTTP/1.1 429 Too Many Requests\r\n"
                              "Retry-After: 7\r\n"
                              "X-Folded: a\r\n"
                              "  b\r\n"
                              "Content-Length: 2\r\n"
                              "\r\n"
                              "no");
  http::Client testling(io, private_allowed());
  std::optional<http::ClientResult> result;

  run_coroutine(io, [&]() -> asio::awaitable<void> { result = co_await testling.send(get(scripted.url("/"))); });

  INFO(describe(result));
  REQUIRE(result);
  REQUIRE(result->has_value());
  const auto& response = result->value();
  CHECK(response.status == 429); // a status, not a failure
  CHECK(response.header("retry-after") == "7");
  CHECK(response.header("x-folded") == "a b");
  CHECK(response.body == "no");
  CHECK(response.headers.size() == 3);
}

TEST_CASE("client: a closed port fails connect") {
  asio::io_context io;
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor probe(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  http::Client testling(io, private_allowed());
  std::optional<http::ClientResult> result;

  run_coroutine(io, [&]() -> asio::awaitable<void> {
    result = co_await testling.send(get("http://127.0.0.1:" + std::to_string(port) + "/"));
  });

  check_failure(result, client_errc::connect);
}

TEST_CASE("client: an unknown host fails dns") {
  asio::io_context io;
  http::Client testling(io, http::ClientOptions{});
  std::optional<http::ClientResult> result;

  run_coroutine(io, [&]() -> asio::awaitable<void> {
    result = co_await testling.send(get("http://parley-does-not-exist.invalid/"));
  });

  check_failure(result, client_errc::dns);
}

TEST_CASE("client: loopback, private and link-local peers are refused before connecting") {
  Fixture fixture;
  http::Client testling(fixture.io, http::ClientOptions{}); // allow_private_addresses = false
  const std::string port = std::to_string(fixture.server.port());
  const std::vector<std::string> urls = {
      fixture.url("/hello"),
      "http://localhost:" + port + "/hello",
      "http://[::1]:" + port + "/hello",
      "http://[::ffff:127.0.0.1]:" + port + "/hello",
      "http://2130706433:" + port + "/hello", // 127.0.0.1 as one number
      "http://0.0.0.0:" + port + "/hello",
      "http://10.0.0.1/",
      "http://192.168.1.1/",
      "http://100.64.0.1/",
      "http://169.254.169.254/latest/meta-data/",
      "https://169.254.169.254/",
      "http://[fe80::1]/",
      "http://[fd00::1]/",
      "http://224.0.0.1/",
  };
  std::vector<std::optional<http::ClientResult>> results(urls.size());

  run_coroutines(fixture.io, urls.size(), [&](std::size_t i) -> asio::awaitable<void> {
    results[i] = co_await testling.send(get(urls[i], 5s));
  });

  for (std::size_t i = 0; i < urls.size(); ++i) {
    CAPTURE(urls[i]);
    check_failure(results[i], client_errc::refused_address);
  }
  CHECK(fixture.handled == 0);
}

TEST_CASE("client: only http and https URLs and well-formed requests are sent") {
  Fixture fixture;
  http::Client testling(fixture.io, private_allowed());
  std::vector<http::ClientRequest> requests;
  for (const char* url : {"file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/", "dict://127.0.0.1/",
                          "ldap://127.0.0.1/", "not a url", "/relative", "", "unknownscheme://host/"}) {
    requests.push_back(get(url));
  }
  auto injected = get(fixture.url("/hello"));
  injected.headers = {{"X-Bad", "a\r\nX-Injected: yes"}};
  requests.push_back(injected);
  auto bad_name = get(fixture.url("/hello"));
  bad_name.headers = {{"X Bad", "a"}};
  requests.push_back(bad_name);
  auto length = get(fixture.url("/hello"));
  length.headers = {{"Content-Length", "5"}};
  requests.push_back(length);
  auto method = get(fixture.url("/hello"));
  method.method = "GET /x HTTP/1.1\r\n";
  requests.push_back(method);
  std::vector<std::optional<http::ClientResult>> results(requests.size());

  run_coroutines(fixture.io, requests.size(),
                 [&](std::size_t i) -> asio::awaitable<void> { results[i] = co_await testling.send(requests[i]); });

  for (std::size_t i = 0; i < requests.size(); ++i) {
    CAPTURE(requests[i].url);
    CAPTURE(i);
    check_failure(results[i], client_errc::invalid_request);
  }
  CHECK(fixture.handled == 0);
}

TEST_CASE("client: redirects are returned by default and re-checked when followed") {
  Fixture fixture;
  http::Client testling(fixture.io, private_allowed());
  auto options = private_allowed();
  options.max_redirects = 3;
  http::Client following(fixture.io, options);
  std::optional<http::ClientResult> returned;
  std::optional<http::ClientResult> followed;
  std::optional<http::ClientResult> to_file;

  run_coroutine(fixture.io, [&]() -> asio::awaitable<void> {
    returned = co_await testling.send(get(fixture.url("/redirect")));
    followed = co_await following.send(get(fixture.url("/redirect")));
    to_file = co_await following.send(get(fixture.url("/redirect-to-file")));
  });

  {
    INFO(describe(returned));
    REQUIRE(returned);
    REQUIRE(returned->has_value());
    CHECK(returned->value().status == 302);
    CHECK(returned->value().header("location") == "/hello");
  }
  {
    INFO(describe(followed));
    REQUIRE(followed);
    REQUIRE(followed->has_value());
    CHECK(followed->value().status == 200);
    CHECK(followed->value().body == "hello");
    CHECK(followed->value().header("retry-after") == "120");
    CHECK_FALSE(followed->value().header("location").has_value());
  }
  check_failure(to_file, client_errc::invalid_request);
  CHECK(fixture.handled == 4);
}

TEST_CASE("client: stop() completes pending requests with cancelled and refuses new ones") {
  Fixture fixture;
  http::Client testling(fixture.io, private_allowed());
  std::vector<std::optional<http::ClientResult>> pending(3);
  std::optional<http::ClientResult> after;

  run_coroutines(fixture.io, 4, [&](std::size_t i) -> asio::awaitable<void> {
    if (i < 3) {
      pending[i] = co_await testling.send(get(fixture.url("/slow")));
      co_return;
    }
    while (fixture.handled < 3) {
      co_await sleep_for(10ms);
    }
    testling.stop();
    testling.stop(); // idempotent
    after = co_await testling.send(get(fixture.url("/hello")));
  });

  for (const auto& result : pending) {
    check_failure(result, client_errc::cancelled);
  }
  check_failure(after, client_errc::cancelled);
  CHECK(fixture.handled == 3);
}

TEST_CASE("client: destroying the client completes pending requests with cancelled") {
  Fixture fixture;
  auto testling = std::make_unique<http::Client>(fixture.io, private_allowed());
  std::optional<http::ClientResult> result;

  run_coroutines(fixture.io, 2, [&](std::size_t i) -> asio::awaitable<void> {
    if (i == 0) {
      result = co_await testling->send(get(fixture.url("/slow")));
      co_return;
    }
    while (fixture.handled < 1) {
      co_await sleep_for(10ms);
    }
    testling.reset();
  });

  check_failure(result, client_errc::cancelled);
}

TEST_CASE("client: an io_context stopped with requests in flight is torn down cleanly") {
  // Nothing to resume: the coroutines waiting for responses are destroyed with the
  // io_context. Their frames must really go (a reference cycle through the client would keep
  // them, and the client, alive for ever); the sanitizer build also checks for leaks.
  struct Witness {
    std::atomic<int>* destroyed;
    ~Witness() { ++*destroyed; }
  };
  std::atomic<int> completed{0};
  std::atomic<int> destroyed{0};
  {
    Fixture fixture;
    http::Client testling(fixture.io, private_allowed());
    for (int i = 0; i < 5; ++i) {
      asio::co_spawn(
          fixture.io,
          [&]() -> asio::awaitable<void> {
            Witness witness{&destroyed};
            auto result = co_await testling.send(get(fixture.url("/slow")));
            (void)result;
            ++completed;
          },
          asio::detached);
    }
    run_coroutine(fixture.io, [&]() -> asio::awaitable<void> {
      while (fixture.handled < 5) {
        co_await sleep_for(10ms);
      }
    });
    CHECK(destroyed == 0);
  }
  CHECK(completed == 0);
  CHECK(destroyed == 5);
}

TEST_CASE("client: a request queued behind the per-host connection limit is bounded by its timeout") {
  Fixture fixture;
  auto options = private_allowed();
  options.max_connections_per_host = 1;
  http::Client testling(fixture.io, options);
  std::optional<http::ClientResult> first;
  std::optional<http::ClientResult> queued;
  std::chrono::steady_clock::duration queued_took{};

  run_coroutines(fixture.io, 2, [&](std::size_t i) -> asio::awaitable<void> {
    if (i == 0) {
      first = co_await testling.send(get(fixture.url("/slow"), 1s));
      co_return;
    }
    while (fixture.handled < 1) {
      co_await sleep_for(10ms);
    }
    const auto started = std::chrono::steady_clock::now();
    queued = co_await testling.send(get(fixture.url("/hello"), 300ms));
    queued_took = std::chrono::steady_clock::now() - started;
  });

  check_failure(queued, client_errc::timeout);
  CHECK(queued_took >= 300ms);
  CHECK(queued_took < 800ms);
  check_failure(first, client_errc::timeout);
  CHECK(fixture.handled == 1);
}

TEST_CASE("server: per-route body limits, bodies streamed to a file, HEAD") {
  Fixture fixture;
  const auto dir = std::filesystem::temp_directory_path() / ("parley_http_file_body_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::atomic<int> abandoned{0};
  std::string seen_file;
  std::uintmax_t seen_size = 0;
  http::RouteOptions options;
  options.max_body_bytes = 3 * 1024 * 1024;
  options.body_to_file = [&](const http::Request& head) -> std::variant<std::string, http::Response> {
    if (head.params.at("name") == "refused") {
      return http::Response::problem(403, "urn:test:refused", "Forbidden");
    }
    return (dir / head.params.at("name")).string();
  };
  options.body_abandoned = [&](const http::Request&, const std::string&) { ++abandoned; };
  fixture.server.add_route(
      "PUT", "/file/{name}",
      [&](http::Request request, http::Responder respond) {
        seen_file = request.body_file;
        seen_size = std::filesystem::file_size(request.body_file);
        CHECK(request.body.empty());
        http::Response response;
        response.status = 201;
        respond(std::move(response));
      },
      std::move(options));
  fixture.server.add_route("GET", "/file/{name}", [&](http::Request request, http::Responder respond) {
    http::Response response;
    response.content_type = "application/octet-stream";
    response.body_file = (dir / request.params.at("name")).string();
    respond(std::move(response));
  });
  http::Client testling(fixture.io, private_allowed());
  std::optional<http::ClientResult> stored, fetched, headed, head_hello, too_large_file, too_large_echo, refused;
  const std::string two_mib(2 * 1024 * 1024, 'z');
  run_coroutine(fixture.io, [&]() -> asio::awaitable<void> {
    const auto put = [&](std::string path, std::string body) {
      http::ClientRequest request;
      request.method = "PUT";
      request.url = fixture.url(path);
      request.body = std::move(body);
      return request;
    };
    auto r1 = put("/file/a.bin", two_mib);
    stored = co_await testling.send(std::move(r1));
    auto r2 = get(fixture.url("/file/a.bin"));
    r2.max_response_bytes = 4 * 1024 * 1024;
    fetched = co_await testling.send(std::move(r2));
    auto r3 = get(fixture.url("/file/a.bin"));
    r3.method = "HEAD";
    r3.max_response_bytes = 4 * 1024 * 1024; // the client checks Content-Length even for HEAD
    headed = co_await testling.send(std::move(r3));
    auto r4 = get(fixture.url("/hello"));
    r4.method = "HEAD";
    head_hello = co_await testling.send(std::move(r4));
    auto r5 = put("/file/b.bin", std::string(4 * 1024 * 1024, 'y'));
    too_large_file = co_await testling.send(std::move(r5));
    auto r6 = put("/echo", two_mib);
    too_large_echo = co_await testling.send(std::move(r6));
    auto r7 = put("/file/refused", "x");
    refused = co_await testling.send(std::move(r7));
  });
  REQUIRE(stored);
  REQUIRE(stored->has_value());
  CHECK(stored->value().status == 201);
  CHECK(seen_file == (dir / "a.bin").string());
  CHECK(seen_size == two_mib.size());
  REQUIRE(fetched);
  REQUIRE(fetched->has_value());
  CHECK(fetched->value().status == 200);
  CHECK(fetched->value().body == two_mib);
  REQUIRE(headed);
  REQUIRE(headed->has_value());
  CHECK(headed->value().status == 200);
  CHECK(headed->value().header("content-length") == std::to_string(two_mib.size()));
  CHECK(headed->value().body.empty());
  REQUIRE(head_hello);
  REQUIRE(head_hello->has_value());
  CHECK(head_hello->value().header("content-length") == "5");
  CHECK(head_hello->value().body.empty());
  REQUIRE(too_large_file);
  REQUIRE(too_large_file->has_value());
  CHECK(too_large_file->value().status == 413);
  CHECK(too_large_file->value().header("content-type") == "application/problem+json");
  CHECK_FALSE(std::filesystem::exists(dir / "b.bin"));
  REQUIRE(too_large_echo);
  REQUIRE(too_large_echo->has_value());
  CHECK(too_large_echo->value().status == 413);
  REQUIRE(refused);
  REQUIRE(refused->has_value());
  CHECK(refused->value().status == 403);
  CHECK_FALSE(std::filesystem::exists(dir / "refused"));
  std::filesystem::remove_all(dir);
}
