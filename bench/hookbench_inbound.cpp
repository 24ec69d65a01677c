// parley-hookbench inbound: keep-alive HTTP/1.1 connections POST to the webhook endpoint, one
// request in flight each; the XMPP user receives the messages.

#include "bench/hookbench.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
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

constexpr auto io_timeout = 30s;

/// A JSON string literal (the tool's own bodies and JIDs; escapes what JSON requires).
std::string json_string(std::string_view text) {
  return nlohmann::json(text).dump();
}

class InboundBench final : public HookBench {
public:
  explicit InboundBench(HookOptions options) : HookBench(std::move(options)) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    endpoint_ = tcp::endpoint(ec ? asio::ip::address(asio::ip::address_v4::loopback()) : address, options_.http_port);
    bad_host_ = static_cast<bool>(ec);
    head_ = fmt::format("POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\n", options_.path,
                        options_.host, options_.http_port);
    if (!options_.authorization.empty()) {
      head_ += "Authorization: " + options_.authorization + "\r\n";
    }
    if (options_.api == InboundApi::ejabberd) {
      // mod_http_api send_message: type, from, to, subject, body (ejabberd 23.01).
      body_prefix_ = fmt::format(R"({{"type":"chat","from":{},"to":{},"subject":"","body":)",
                                 json_string(options_.from), json_string(options_.user + "@" + options_.domain));
      expected_status_ = 200;
    } else {
      body_prefix_ = R"({"body":)";
      expected_status_ = 202;
    }
  }

private:
  struct Connection {
    explicit Connection(asio::io_context& io) : stream(io) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    bool open = false;
  };

  bool deliveries_are_messages() const override { return true; }

  asio::awaitable<bool> connect(Connection& c) {
    c.buffer.clear();
    c.stream.expires_after(io_timeout);
    auto [ec] = co_await c.stream.async_connect(endpoint_, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      connect_error_ = ec.message();
      co_return false;
    }
    boost::system::error_code ignored;
    // Nagle would hold back a request behind the server's delayed ACK of the previous one.
    c.stream.socket().set_option(tcp::no_delay(true), ignored);
    c.open = true;
    co_return true;
  }

  void drop(Connection& c) {
    boost::system::error_code ignored;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    c.stream.close();
    c.open = false;
  }

  asio::awaitable<bool> prepare() override {
    if (bad_host_) {
      std::cerr << "parley-hookbench: inbound needs --host as an IP address, not " << options_.host << '\n';
      co_return false;
    }
    for (std::size_t i = 0; i < options_.connections; ++i) {
      connections_.push_back(std::make_unique<Connection>(io_));
      if (!co_await connect(*connections_.back())) {
        std::cerr << "parley-hookbench: cannot connect to " << options_.host << ":" << options_.http_port << ": "
                  << connect_error_ << '\n';
        co_return false;
      }
    }
    progress(fmt::format("{} HTTP connections open", connections_.size()));
    co_return true;
  }

  std::string request_for(std::uint64_t seq, std::int64_t sent_ns) const {
    std::string body = body_prefix_;
    body += json_string(body_for(seq, sent_ns));
    body += '}';
    std::string request = head_;
    request += fmt::format("Content-Length: {}\r\n\r\n", body.size());
    request += body;
    return request;
  }

  void refuse(HookPhase& p, std::string why, std::string_view detail = {}) {
    if (++refusals_logged_ <= 5) {
      progress("refused: " + why + (detail.empty() ? std::string() : " " + std::string(detail.substr(0, 300))));
    }
    ++p.refused[std::move(why)];
  }

  /// One connection's loop: take the next message, wait for its time (with --rate), POST it,
  /// read the answer. Ends when the phase has no more messages or runs out of time.
  asio::awaitable<void> worker(Connection& c, HookPhase& p) {
    while (next_ < end_ && !session_lost_ && Clock::now() < phase_deadline_) {
      const std::uint64_t seq = next_++;
      std::int64_t scheduled = 0;
      if (options_.rate > 0) {
        const auto due = start_ + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(static_cast<double>(seq - base_) / options_.rate));
        if (Clock::now() < due) {
          co_await sleep_for(due - Clock::now());
        }
        scheduled = std::chrono::duration_cast<std::chrono::nanoseconds>(due.time_since_epoch()).count();
      }
      ++p.offered;
      if (!c.open && !co_await connect(c)) {
        refuse(p, "connect: " + connect_error_);
        co_await sleep_for(10ms);
        continue;
      }
      const std::int64_t sent = now_ns();
      // With an offered rate, latency counts from the scheduled time, so a server that makes
      // the sends fall behind is charged for the wait (no coordinated omission).
      record_sent(seq, scheduled != 0 ? scheduled : sent);
      const std::string request = request_for(seq, sent);
      c.stream.expires_after(io_timeout);
      auto [wec, written] =
          co_await asio::async_write(c.stream, asio::buffer(request), asio::as_tuple(asio::use_awaitable));
      if (wec) {
        refuse(p, "write: " + wec.message());
        drop(c);
        continue;
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024);
      auto [rec, read] = co_await http::async_read(c.stream, c.buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (rec) {
        refuse(p, "read: " + rec.message());
        drop(c);
        continue;
      }
      const std::int64_t answered = now_ns();
      const auto& response = parser.get();
      if (response.result_int() == expected_status_) {
        record_accepted(seq);
        ++p.accepted;
        accept_ns_.push_back(answered - sent);
        last_accepted_ns_ = std::max(last_accepted_ns_, answered);
        // Parley answers {"id":"<stanza id>"}; ejabberd's send_message answers 0.
        if (options_.api == InboundApi::parley && response.body().find("\"id\"") == std::string::npos) {
          ++p.malformed;
        }
      } else {
        refuse(p, fmt::format("HTTP {}", response.result_int()), response.body());
      }
      if (!response.keep_alive()) {
        ++p.reconnects;
        drop(c);
      }
    }
  }

  asio::awaitable<void> drive(HookPhase& p) override {
    next_ = base_;
    end_ = base_ + count_;
    start_ = Clock::now();
    accept_ns_.clear();
    accept_ns_.reserve(count_);
    last_accepted_ns_ = 0;
    std::size_t running = connections_.size();
    for (auto& c : connections_) {
      asio::co_spawn(io_, worker(*c, p), [this, &running](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            progress(std::string("internal error in a worker: ") + ex.what());
          }
        }
        --running;
        notify();
      });
    }
    while (running > 0) {
      co_await wait_wake(100ms);
    }
    if (first_sent_ns_ != 0 && last_accepted_ns_ > first_sent_ns_) {
      p.accept_seconds = static_cast<double>(last_accepted_ns_ - first_sent_ns_) / 1e9;
    }
    p.accept_latency = summarize(accept_ns_);
    if (p.reconnects > 0) {
      progress(fmt::format("the server closed {} keep-alive connections", p.reconnects));
    }
  }

  tcp::endpoint endpoint_;
  bool bad_host_ = false;
  std::string head_;
  std::string body_prefix_;
  unsigned expected_status_ = 202;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::string connect_error_;
  std::uint64_t next_ = 0;
  std::uint64_t end_ = 0;
  Clock::time_point start_;
  std::vector<std::int64_t> accept_ns_;
  std::int64_t last_accepted_ns_ = 0;
  std::size_t refusals_logged_ = 0;
};

} // namespace

std::unique_ptr<HookBench> make_inbound_bench(HookOptions options) {
  return std::make_unique<InboundBench>(std::move(options));
}

} // namespace parley::bench
