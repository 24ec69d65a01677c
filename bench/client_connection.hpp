#pragma once

#include "bench/options.hpp"
#include "bench/scram_client.hpp"
#include "bench/stanza_scanner.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace parley::bench {

using Clock = std::chrono::steady_clock;

/// What all connections of one run share. Outlives every connection.
struct ClientEnvironment {
  boost::asio::io_context& io;
  boost::asio::ip::tcp::endpoint endpoint;
  boost::asio::ssl::context* tls = nullptr; ///< null: no STARTTLS
  std::string domain;
  std::string password; ///< SASLprep'ed
  std::string resource;
  Mechanism mechanism = Mechanism::automatic;
  std::chrono::steady_clock::duration login_timeout = std::chrono::seconds(30);
  SaltedPasswordCache salted;
};

/// When each stage of a login completed, measured from the start of the TCP connect.
struct LoginTimings {
  Clock::duration connected{};     ///< TCP established
  Clock::duration secured{};       ///< TLS handshake done (zero without TLS)
  Clock::duration authenticated{}; ///< SASL success
  Clock::duration bound{};         ///< resource bound
  Clock::duration ready{};         ///< roster received and own initial presence echoed back
};

/// Receives what the connections see once they are logged in. Called on the io_context thread.
class ClientListener {
public:
  virtual ~ClientListener() = default;
  /// A message with a body arrived on connection `receiver`; `body` is raw (entities
  /// undecoded) and valid during the call only. Also called during the login, after the
  /// resource is bound: offline messages may come before the login completes.
  virtual void on_message(std::size_t receiver, std::string_view body) = 0;
  /// A stanza of type "error" arrived on connection `receiver`.
  virtual void on_error_stanza(std::size_t receiver, std::string_view stanza) = 0;
  /// An answer (type result or error) to an iq the generator sent once logged in; `id` is
  /// raw. An error also goes to on_error_stanza.
  virtual void on_iq_response(std::size_t /*index*/, std::string_view /*id*/, bool /*error*/) {}
  /// The session of a logged-in connection ended, at our request or not.
  virtual void on_session_end(std::size_t index, std::string_view why) = 0;
};

/// One client connection: STARTTLS, SASL, bind, roster, initial presence, then a read loop
/// and a coalescing write loop. Single-threaded: everything, `send` and `close` included,
/// runs on the io_context thread. The coroutine frames own `self`.
class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
public:
  enum class State { created, logging_in, ready, closing, closed };

  static std::shared_ptr<ClientConnection> create(ClientEnvironment& env, std::size_t index, std::string username);

  /// Connects and logs in; on success the read and write loops run and `listener` (which must
  /// outlive the session) hears of it. On failure, `error()` says why and the socket is closed.
  boost::asio::awaitable<bool> login(ClientListener& listener);

  /// Queues a serialized stanza; writes are coalesced. Ignored unless ready.
  void send(std::string_view stanza);
  /// Ends the stream politely; the session ends when the server closes its side.
  void close();
  /// Drops the TCP connection at once.
  void abort();

  State state() const noexcept { return state_; }
  std::size_t index() const noexcept { return index_; }
  const std::string& full_jid() const noexcept { return full_jid_; }
  const std::string& error() const noexcept { return error_; }
  const LoginTimings& timings() const noexcept { return timings_; }
  std::string_view mechanism() const noexcept { return mechanism_; }
  std::size_t queued_bytes() const noexcept { return queue_.size() + writing_.size(); }

private:
  ClientConnection(ClientEnvironment& env, std::size_t index, std::string username);

  using Event = StanzaScanner::Event;

  boost::asio::awaitable<bool> negotiate();
  boost::asio::awaitable<bool> open_stream();
  boost::asio::awaitable<bool> starttls();
  boost::asio::awaitable<bool> authenticate();
  boost::asio::awaitable<bool> authenticate_scram(core::sasl::ScramHash hash);
  boost::asio::awaitable<bool> authenticate_plain();
  /// Reads the SASL outcome; the <success/> element, or nullopt after recording the failure.
  boost::asio::awaitable<std::optional<std::string>> sasl_success();
  boost::asio::awaitable<bool> bind_resource();
  boost::asio::awaitable<bool> roster_and_presence();
  /// The next top-level element, copied; empty on failure (then `error_` is set).
  boost::asio::awaitable<std::string> next_element(std::string_view waiting_for);
  boost::asio::awaitable<std::size_t> read_some(boost::system::error_code& ec);
  boost::asio::awaitable<bool> write_all(std::string data);
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  /// Handles a stanza that arrives while logged in; returns false when the stream is over.
  bool dispatch(std::string_view element);
  void answer_iq(std::string_view iq);
  bool fail(std::string why);
  void end_session(std::string_view why);
  boost::asio::ip::tcp::socket& lowest_layer();

  ClientEnvironment& env_;
  std::size_t index_;
  std::string username_;
  State state_ = State::created;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  StanzaScanner scanner_;
  std::string features_;
  std::string full_jid_;
  std::string error_;
  std::string_view mechanism_;
  LoginTimings timings_;
  Clock::time_point started_;
  ClientListener* listener_ = nullptr;
  boost::asio::steady_timer login_timer_;
  bool timed_out_ = false;

  std::string queue_;
  std::string writing_;
  boost::asio::steady_timer wake_;
};

} // namespace parley::bench
