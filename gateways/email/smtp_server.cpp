#include "gateways/email/smtp_server.hpp"

#include "core/net/tcp_listener.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace parley::gateways::email {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
/// Bytes asked of the socket per read.
constexpr std::size_t read_chunk = 16 * 1024;
/// Replies to pipelined commands wait in one buffer up to this much, then go out.
constexpr std::size_t flush_threshold = 16 * 1024;
/// Beyond this many bad commands the client is not worth talking to (Postfix uses 20).
constexpr int max_bad_commands = 10;
/// How long the last words (421, 221) may take once the connection is closing anyway.
constexpr std::chrono::seconds closing_grace{5};

SmtpReply reply_of(int code, std::string_view enhanced, std::string text) {
  return SmtpReply{code, std::string(enhanced), std::move(text), {}};
}

SmtpReply local_error() { return reply_of(451, "4.3.0", "Local error in processing, try again later"); }

// RFC 3463: class.subject.detail, class matching the reply code.
bool valid_enhanced(std::string_view enhanced, int code) {
  const auto first_dot = enhanced.find('.');
  const auto second_dot = enhanced.find('.', first_dot == std::string_view::npos ? first_dot : first_dot + 1);
  if (first_dot != 1 || second_dot == std::string_view::npos || enhanced[0] != static_cast<char>('0' + code / 100)) {
    return false;
  }
  const auto subject = enhanced.substr(2, second_dot - 2);
  const auto detail = enhanced.substr(second_dot + 1);
  auto digits = [](std::string_view part) {
    return !part.empty() && part.size() <= 3 &&
           std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(subject) && digits(detail);
}

/// A handler's reply made fit for the wire: a code 200-599 (else 451), and an enhanced code
/// of the right class (ENHANCEDSTATUSCODES is advertised, so every reply needs one).
SmtpReply sanitized(SmtpReply reply) {
  if (reply.code < 200 || reply.code > 599) {
    spdlog::warn("email: mail handler replied with code {}; sending 451 instead", reply.code);
    return local_error();
  }
  if (!valid_enhanced(reply.enhanced, reply.code)) {
    reply.enhanced = std::to_string(reply.code / 100) + ".0.0";
  }
  return reply;
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const auto port = std::to_string(endpoint.port());
  return address.is_v6() ? "[" + address.to_string() + "]:" + port : address.to_string() + ":" + port;
}

/// Beyond max_connections: say so and hang up, without a coroutine or a wait. A fresh
/// socket's send buffer has room for one line; if it has not, the client just sees the close.
void refuse(tcp::socket socket, const std::string& hostname) {
  const auto line = reply_of(421, "4.3.2", hostname + " Too many connections, try again later").to_wire();
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(line), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

} // namespace

namespace detail {

class MailConnection;

/// What the listener and its connections share. `options` and `handler` never change after
/// creation; the rest is under `mutex`.
struct MailListenerState : std::enable_shared_from_this<MailListenerState> {
  MailListenerState(asio::io_context& io_context, MailListenerOptions listener_options,
                    std::shared_ptr<MailHandler> mail_handler)
      : io(io_context), options(std::move(listener_options)), handler(std::move(mail_handler)) {}

  void on_accept(tcp::socket socket);
  void remove(std::uint64_t id) {
    const std::lock_guard lock(mutex);
    connections.erase(id);
  }

  asio::io_context& io;
  const MailListenerOptions options;
  const std::shared_ptr<MailHandler> handler;
  std::shared_ptr<core::net::TcpListener> acceptor;

  mutable std::mutex mutex;
  bool stopped = false;
  std::uint64_t next_id = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<MailConnection>> connections;
};

/// One client. Everything runs on the socket's strand: one coroutine reads, answers and
/// writes in turn (SMTP is lock-step, with pipelining only batching both directions); the
/// idle timer and shut_down() reach it by cancelling the socket.
class MailConnection : public std::enable_shared_from_this<MailConnection> {
public:
  MailConnection(std::shared_ptr<MailListenerState> listener, tcp::socket socket, std::uint64_t id)
      : listener_(std::move(listener)), options_(listener_->options), executor_(socket.get_executor()),
        socket_(std::move(socket)), timer_(executor_), id_(id) {
    boost::system::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    remote_ = ec ? std::string("unknown") : endpoint_text(remote);
  }

  /// The connection's whole life; `self` keeps it alive meanwhile.
  static asio::awaitable<void> run(std::shared_ptr<MailConnection> self) {
    try {
      co_await self->serve();
    } catch (const std::exception& e) {
      spdlog::warn("email: connection from {} failed: {}", self->remote_, e.what());
    }
    self->close_socket();
    self->listener_->remove(self->id_);
  }

  /// Asks the connection to finish: 421 to a client we are waiting for, else after the
  /// current command. Safe from any thread.
  void shut_down() {
    asio::post(executor_, [self = shared_from_this()] {
      self->stopping_ = true;
      if (self->phase_ == Phase::reading) {
        boost::system::error_code ignored;
        self->socket_.cancel(ignored);
      }
    });
  }

  const asio::any_io_executor& executor() const { return executor_; }

private:
  enum class State { command, data, closing };
  /// What the socket is busy with: only a read is cancelled by shut_down().
  enum class Phase { idle, reading, writing };
  enum class ReadResult { ok, closed, timed_out, stopped };

  bool lmtp() const { return options_.dialect == MailDialect::lmtp; }

  asio::awaitable<void> serve() {
    send(reply_of(220, "", options_.hostname + (lmtp() ? " LMTP Parley" : " ESMTP Parley")));
    spdlog::debug("email: connection from {}", remote_);
    for (;;) {
      // Pipelining (RFC 2920): answer everything buffered, then write the replies at once.
      const bool progressed = co_await step();
      if (state_ == State::closing) {
        break;
      }
      if (progressed) {
        if (out_.size() >= flush_threshold && !co_await flush()) {
          co_return;
        }
        continue;
      }
      if (stopping_) {
        send(reply_of(421, "4.3.2", options_.hostname + " Service shutting down, closing connection"));
        break;
      }
      if (!co_await flush()) {
        co_return;
      }
      const auto result = co_await read_more();
      if (result == ReadResult::ok) {
        continue;
      }
      if (result == ReadResult::timed_out) {
        // RFC 5321 §4.5.3.2.7
        send(reply_of(421, "4.4.2", options_.hostname + " timeout"));
        break;
      }
      if (result == ReadResult::stopped) {
        continue; // says 421 above
      }
      co_return; // the client went away
    }
    state_ = State::closing;
    co_await flush();
  }

  /// Handles one command or one piece of DATA from the buffer; false if it holds none.
  asio::awaitable<bool> step() {
    const std::string_view buffered = std::string_view(in_).substr(in_start_);
    if (state_ == State::data) {
      if (buffered.empty()) {
        co_return false;
      }
      consume(reader_->feed(buffered));
      if (reader_->done()) {
        co_await finish_data();
      }
      co_return true;
    }
    const auto lf = buffered.find('\n');
    if (lf == std::string_view::npos) {
      // +1: the CR of a line of the greatest length may be here without its LF.
      if (discarding_ || buffered.size() > max_command_line + 1) {
        discarding_ = true;
        consume(buffered.size());
      }
      co_return false;
    }
    if (discarding_) {
      // RFC 5321 §4.5.3.1.4: the line was too long; its end has come, and with it the reply.
      discarding_ = false;
      consume(lf + 1);
      bad(reply_of(500, "5.5.6", "Line too long"));
      co_return true;
    }
    std::string_view line = buffered.substr(0, lf);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    auto command = parse_command(line);
    consume(lf + 1);
    if (!command) {
      bad(command.error());
      co_return true;
    }
    co_await handle(std::move(*command));
    co_return true;
  }

  asio::awaitable<void> handle(SmtpCommand command) {
    switch (command.verb) {
    case SmtpVerb::helo:
    case SmtpVerb::ehlo:
    case SmtpVerb::lhlo:
      greet(command);
      break;
    case SmtpVerb::mail:
      mail(command);
      break;
    case SmtpVerb::rcpt:
      co_await rcpt(std::move(command.address));
      break;
    case SmtpVerb::data:
      data();
      break;
    case SmtpVerb::rset:
      reset_transaction();
      send(reply_of(250, "2.0.0", "Ok"));
      break;
    case SmtpVerb::noop:
      send(reply_of(250, "2.0.0", "Ok"));
      break;
    case SmtpVerb::help:
      send(reply_of(214, "2.0.0",
                    lmtp() ? "Commands: LHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"
                           : "Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"));
      break;
    case SmtpVerb::vrfy:
      // RFC 5321 §3.5.3: no address book for strangers.
      send(reply_of(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"));
      break;
    case SmtpVerb::quit:
      send(reply_of(221, "2.0.0", options_.hostname + " closing connection"));
      state_ = State::closing;
      break;
    case SmtpVerb::starttls:
    case SmtpVerb::auth:
    case SmtpVerb::bdat:
      send(reply_of(502, "5.5.1", "Command not implemented"));
      break;
    case SmtpVerb::unknown:
      bad(reply_of(500, "5.5.2", "Command unrecognized"));
      break;
    }
  }

  void greet(const SmtpCommand& command) {
    const bool lhlo = command.verb == SmtpVerb::lhlo;
    if (lmtp() && !lhlo) {
      // RFC 2033 §4.1: LMTP has LHLO instead.
      bad(reply_of(500, "5.5.1", "This is LMTP: use LHLO"));
      return;
    }
    if (!lmtp() && lhlo) {
      bad(reply_of(500, "5.5.1", "This is SMTP: use EHLO"));
      return;
    }
    reset_transaction();
    helo_ = command.argument;
    if (command.verb == SmtpVerb::helo) {
      send(reply_of(250, "", options_.hostname));
      return;
    }
    SmtpReply reply = reply_of(250, "", options_.hostname);
    reply.more_lines = {"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES",
                        "SIZE " + std::to_string(options_.max_message_bytes), "SMTPUTF8"};
    send(reply);
  }

  void mail(const SmtpCommand& command) {
    if (helo_.empty()) {
      bad(reply_of(503, "5.5.1", lmtp() ? "Send LHLO first" : "Send EHLO first"));
      return;
    }
    if (mail_from_) {
      bad(reply_of(503, "5.5.1", "Nested MAIL command"));
      return;
    }
    if (const auto* size = command.param("SIZE")) {
      // RFC 1870 §6.2; the parser checked digits only, so overflow means too large too.
      std::uint64_t declared = 0;
      const auto [end, ec] = std::from_chars(size->data(), size->data() + size->size(), declared);
      if (ec != std::errc() || declared > options_.max_message_bytes) {
        send(reply_of(552, "5.3.4", "Message size exceeds fixed maximum message size"));
        return;
      }
    }
    mail_from_ = command.address;
    recipients_.clear();
    send(reply_of(250, "2.1.0", "Ok"));
  }

  asio::awaitable<void> rcpt(std::string address) {
    if (!mail_from_) {
      bad(reply_of(503, "5.5.1", "Need MAIL command"));
      co_return;
    }
    // SMTP: one recipient per transaction, so that the one reply after DATA is true for all
    // (RFC 5321 §4.5.3.1.10: the client sends the others in the next transaction).
    const std::size_t limit = lmtp() ? options_.max_recipients : 1;
    if (recipients_.size() >= limit) {
      send(reply_of(452, "4.5.3", "Too many recipients"));
      co_return;
    }
    std::optional<SmtpReply> reply;
    try {
      std::string checked = address;
      reply = co_await listener_->handler->check_recipient(std::move(checked));
    } catch (const std::exception& e) {
      spdlog::warn("email: checking recipient {} failed: {}", address, e.what());
    } catch (...) {
      spdlog::warn("email: checking recipient {} failed", address);
    }
    SmtpReply answer = reply ? sanitized(std::move(*reply)) : local_error();
    if (answer.positive()) {
      recipients_.push_back(std::move(address));
    }
    send_final(answer);
  }

  void data() {
    if (!mail_from_) {
      bad(reply_of(503, "5.5.1", "Need MAIL command"));
      return;
    }
    if (recipients_.empty()) {
      // RFC 2920 §3.1 (and RFC 5321 §3.3): with PIPELINING, 554 for a DATA without valid
      // recipients. LMTP gives 503 like any command out of sequence.
      if (lmtp()) {
        bad(reply_of(503, "5.5.1", "No valid recipients"));
      } else {
        send(reply_of(554, "5.5.1", "No valid recipients"));
      }
      return;
    }
    send(reply_of(354, "", "End data with <CR><LF>.<CR><LF>"));
    reader_.emplace(options_.max_message_bytes);
    state_ = State::data;
  }

  asio::awaitable<void> finish_data() {
    DataReader reader = std::move(*reader_);
    reader_.reset();
    state_ = State::command;
    MailEnvelope envelope;
    envelope.helo = helo_;
    envelope.mail_from = std::move(*mail_from_);
    envelope.recipients = std::move(recipients_);
    envelope.remote = remote_;
    reset_transaction();
    const std::size_t count = envelope.recipients.size();

    if (reader.too_large()) {
      // RFC 1870 §6.3; RFC 2033 §4.2: one reply per recipient in LMTP.
      for (std::size_t i = 0; i < count; ++i) {
        send(reply_of(552, "5.3.4", "Message size exceeds fixed maximum message size"));
      }
      co_return;
    }

    std::string message = reader.take();
    std::vector<SmtpReply> replies;
    bool failed = false;
    try {
      replies = co_await listener_->handler->deliver(std::move(envelope), std::move(message));
    } catch (const std::exception& e) {
      failed = true;
      spdlog::warn("email: delivery of a message from {} failed: {}", remote_, e.what());
    } catch (...) {
      failed = true;
      spdlog::warn("email: delivery of a message from {} failed", remote_);
    }
    if (!failed && replies.size() != count) {
      spdlog::error("email: mail handler gave {} replies for {} recipients", replies.size(), count);
    }
    for (std::size_t i = 0; i < count; ++i) {
      // A missing reply is a message of unknown fate: 451 makes the client try again.
      send_final(!failed && i < replies.size() ? sanitized(std::move(replies[i])) : local_error());
    }
  }

  /// A handler's reply: 421 means closing the connection (RFC 5321 §3.8), so it does.
  void send_final(const SmtpReply& reply) {
    send(reply);
    if (reply.code == 421) {
      state_ = State::closing;
    }
  }

  void reset_transaction() {
    mail_from_.reset();
    recipients_.clear();
  }

  void send(const SmtpReply& reply) { out_ += reply.to_wire(); }

  /// A reply to a command the client should not have sent; too many and we hang up.
  void bad(const SmtpReply& reply) {
    send(reply);
    if (++bad_commands_ > max_bad_commands) {
      send(reply_of(421, "4.7.0", options_.hostname + " Too many errors, closing connection"));
      state_ = State::closing;
    }
  }

  void consume(std::size_t n) {
    in_start_ += n;
    if (in_start_ == in_.size()) {
      in_.clear();
      in_start_ = 0;
    }
  }

  asio::awaitable<ReadResult> read_more() {
    if (stopping_) {
      co_return ReadResult::stopped; // shut_down() came during the flush before
    }
    in_.erase(0, in_start_);
    in_start_ = 0;
    const auto old_size = in_.size();
    in_.resize(old_size + read_chunk);
    arm(options_.idle_timeout);
    phase_ = Phase::reading;
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(in_.data() + old_size, read_chunk), tuple_awaitable);
    phase_ = Phase::idle;
    disarm();
    in_.resize(old_size + n);
    if (!ec) {
      co_return ReadResult::ok;
    }
    if (timed_out_) {
      co_return ReadResult::timed_out;
    }
    if (stopping_) {
      co_return ReadResult::stopped;
    }
    co_return ReadResult::closed;
  }

  /// Writes the replies held back; false if the connection is lost.
  asio::awaitable<bool> flush() {
    if (out_.empty()) {
      co_return true;
    }
    const bool finishing = stopping_ || state_ == State::closing;
    arm(finishing ? std::min<std::chrono::steady_clock::duration>(options_.idle_timeout, closing_grace)
                  : std::chrono::steady_clock::duration(options_.idle_timeout));
    phase_ = Phase::writing;
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out_), tuple_awaitable);
    phase_ = Phase::idle;
    disarm();
    out_.clear();
    co_return !ec;
  }

  /// Starts the deadline of one read or write: when it passes, the socket is cancelled.
  void arm(std::chrono::steady_clock::duration timeout) {
    const auto generation = ++timer_generation_;
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
      if (ec || generation != self->timer_generation_) {
        return; // the operation finished first
      }
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->socket_.cancel(ignored);
    });
  }

  void disarm() {
    ++timer_generation_;
    timer_.cancel();
  }

  void close_socket() {
    disarm();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  const std::shared_ptr<MailListenerState> listener_;
  const MailListenerOptions& options_;
  const asio::any_io_executor executor_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  const std::uint64_t id_;
  std::string remote_;

  // Everything below is touched on the strand only.
  State state_ = State::command;
  Phase phase_ = Phase::idle;
  bool stopping_ = false;
  bool timed_out_ = false;
  std::uint64_t timer_generation_ = 0;
  int bad_commands_ = 0;
  bool discarding_ = false; ///< inside a command line that is too long
  std::string in_;          ///< bytes read; those before in_start_ are handled
  std::size_t in_start_ = 0;
  std::string out_;         ///< replies not yet written
  std::string helo_;
  std::optional<std::string> mail_from_;
  std::vector<std::string> recipients_;
  std::optional<DataReader> reader_;
};

void MailListenerState::on_accept(tcp::socket socket) {
  std::shared_ptr<MailConnection> connection;
  {
    const std::lock_guard lock(mutex);
    if (stopped) {
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    if (connections.size() < options.max_connections) {
      const auto id = ++next_id;
      connection = std::make_shared<MailConnection>(shared_from_this(), std::move(socket), id);
      connections.emplace(id, connection);
    }
  }
  if (!connection) {
    refuse(std::move(socket), options.hostname);
    return;
  }
  asio::co_spawn(connection->executor(), MailConnection::run(connection), [](std::exception_ptr error) {
    if (error) {
      spdlog::error("email: a mail connection ended with an exception");
    }
  });
}

} // namespace detail

std::shared_ptr<MailListener> MailListener::create(asio::io_context& io, MailListenerOptions options,
                                                   std::shared_ptr<MailHandler> handler) {
  assert(handler);
  return std::shared_ptr<MailListener>(new MailListener(io, std::move(options), std::move(handler)));
}

MailListener::MailListener(asio::io_context& io, MailListenerOptions options, std::shared_ptr<MailHandler> handler)
    : state_(std::make_shared<detail::MailListenerState>(io, std::move(options), std::move(handler))) {
  const std::string name = state_->options.dialect == MailDialect::lmtp ? "LMTP listener" : "SMTP listener";
  // Weakly: the state holds the TcpListener, and the TcpListener this callback.
  std::weak_ptr<detail::MailListenerState> weak = state_;
  state_->acceptor = core::net::TcpListener::create(io, name, [weak](tcp::socket socket) {
    if (auto state = weak.lock()) {
      state->on_accept(std::move(socket));
    }
  });
}

MailListener::~MailListener() { stop(); }

boost::system::result<void, std::string> MailListener::listen() {
  auto listening = state_->acceptor->listen(state_->options.address, state_->options.port);
  if (!listening) {
    return listening.error().message;
  }
  return {};
}

void MailListener::stop() {
  std::vector<std::weak_ptr<detail::MailConnection>> open;
  {
    const std::lock_guard lock(state_->mutex);
    if (state_->stopped) {
      return;
    }
    state_->stopped = true;
    open.reserve(state_->connections.size());
    for (const auto& [id, connection] : state_->connections) {
      open.push_back(connection);
    }
  }
  state_->acceptor->stop();
  for (const auto& weak : open) {
    if (auto connection = weak.lock()) {
      connection->shut_down();
    }
  }
}

std::uint16_t MailListener::port() const { return state_->acceptor->port(); }

std::size_t MailListener::connections() const {
  const std::lock_guard lock(state_->mutex);
  return state_->connections.size();
}

} // namespace parley::gateways::email
