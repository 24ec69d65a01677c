// parley-hookbench outbound: the XMPP user sends messages to the webhook contact; the server
// POSTs each to the sink, a minimal HTTP/1.1 server in this process that answers 200 at once.

#include "bench/hookbench.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include <iostream>

namespace parley::bench {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr std::string_view ok_keep_alive = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view ok_close = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
constexpr std::string_view not_found = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

class OutboundBench final : public HookBench {
public:
  explicit OutboundBench(HookOptions options) : HookBench(std::move(options)), acceptor_(io_) {
    to_prefix_ = "<message type='chat' to='" + xml_escape(options_.to) + "' id='hb";
  }

private:
  bool deliveries_are_messages() const override { return false; }

  asio::awaitable<bool> prepare() override {
    const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), options_.sink_port);
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      std::cerr << "parley-hookbench: cannot listen on 127.0.0.1:" << options_.sink_port << ": " << ec.message()
                << '\n';
      co_return false;
    }
    asio::co_spawn(io_, accept_loop(), asio::detached);
    progress(fmt::format("sink listening on http://127.0.0.1:{}{}", options_.sink_port, options_.sink_path));
    co_return true;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted) {
          co_return;
        }
        continue;
      }
      ++connections_;
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  /// One sink connection: read a request, count it, answer, until the server closes it.
  asio::awaitable<void> serve(tcp::socket socket) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(1024 * 1024);
      auto [ec, n] = co_await http::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        break;
      }
      const auto& request = parser.get();
      std::string_view answer = request.keep_alive() ? ok_keep_alive : ok_close;
      if (request.method() != http::verb::post ||
          std::string_view(request.target().data(), request.target().size()) != options_.sink_path) {
        ++malformed_;
        answer = not_found;
      } else {
        // The server's payload: {"id", "from", "to", "body", "timestamp", "type"}.
        const auto j = nlohmann::json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
        const auto body = j.is_object() ? j.find("body") : j.end();
        if (j.is_discarded() || !j.is_object() || body == j.end() || !body->is_string()) {
          ++malformed_;
          if (++bad_logged_ <= 3) {
            progress("sink: a POST without a body string: " + request.body().substr(0, 300));
          }
        } else {
          record_arrival(body->get_ref<const std::string&>());
          notify();
        }
      }
      auto [wec, written] =
          co_await asio::async_write(socket, asio::buffer(answer), asio::as_tuple(asio::use_awaitable));
      if (wec || answer != ok_keep_alive) {
        break;
      }
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  void send(std::uint64_t seq, std::int64_t scheduled) {
    const std::int64_t now = now_ns();
    record_sent(seq, scheduled != 0 ? scheduled : now);
    record_accepted(seq);
    std::string stanza = to_prefix_;
    stanza += std::to_string(seq);
    stanza += "'><body>";
    stanza += body_for(seq, now);
    stanza += "</body></message>";
    alice_->send(stanza);
  }

  asio::awaitable<void> drive(HookPhase& p) override {
    const auto start = Clock::now();
    const std::int64_t start_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count();
    std::uint64_t next = base_;
    const std::uint64_t end = base_ + count_;
    while (next < end && !session_lost_ && Clock::now() < phase_deadline_) {
      if (options_.rate > 0) {
        // Every millisecond, what is due by then: a late timer catches up instead of
        // lowering the rate. Latency counts from the scheduled time.
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        const auto due = std::min<std::uint64_t>(end, base_ + static_cast<std::uint64_t>(elapsed * options_.rate) + 1);
        for (; next < due; ++next) {
          send(next, start_ns + static_cast<std::int64_t>(static_cast<double>(next - base_) / options_.rate * 1e9));
        }
        if (next < end) {
          co_await sleep_for(1ms);
        }
      } else {
        // A window of messages sent but not yet POSTed to the sink.
        while (next < end && (next - base_) - delivered_ < options_.window) {
          send(next++, 0);
        }
        if (next < end) {
          co_await wait_wake(100ms);
        }
      }
    }
    p.offered = p.accepted = static_cast<std::size_t>(next - base_);
    p.http_connections = connections_;
  }

  tcp::acceptor acceptor_;
  std::string to_prefix_;
  std::size_t connections_ = 0;
  std::size_t bad_logged_ = 0;
};

} // namespace

std::unique_ptr<HookBench> make_outbound_bench(HookOptions options) {
  return std::make_unique<OutboundBench>(std::move(options));
}

} // namespace parley::bench
