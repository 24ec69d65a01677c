#pragma once

#include "core/jid/jid.hpp"
#include "core/xml/element.hpp"
#include "core/xml/errc.hpp"
#include "core/sasl/scram_server.hpp"
#include "router/session.hpp"
#include "storage/scram_credentials.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <list>
#include <memory>
#include <utility>
#include <vector>
#include <optional>
#include <string>

namespace parley::core::xml {
class StreamParser;
}
namespace parley::core::tls {
class TlsStream;
}

namespace parley::router::c2s {

class C2sService;

/// One client-to-server stream (RFC 6120): negotiation (STARTTLS, SASL, resource binding)
/// and then the bound session that exchanges stanzas with the Router.
///
/// Threading: everything runs on the socket's strand. `deliver` and `close` may be called from
/// any thread; they post onto the strand. The coroutine frames own `self`.
class ClientSession final : public Session, public std::enable_shared_from_this<ClientSession> {
public:
  /// hibernating: the connection dropped and the session waits to be resumed (XEP-0198);
  /// resumed: another connection took the session over, this object is finished.
  enum class State { connecting, negotiating, authenticated, bound, hibernating, resumed, closing, closed };

  /// XEP-0198 counters and the stanzas the client has not acknowledged yet.
  struct SmState {
    bool enabled = false;
    bool resumable = false;
    std::string id;
    std::uint32_t h_in = 0;  ///< stanzas received from the client and handled
    std::uint32_t acked = 0; ///< the client's last <a h=''/>
    /// A list rather than a deque: an empty std::deque already allocates some 600 bytes, and
    /// most sessions never enable stream management.
    std::list<std::string> unacked;
    std::size_t unacked_bytes = 0;
    bool r_pending = false;
    /// Stanzas sent (acknowledged or not) when the last <r/> went out: an <a/> is answered
    /// with another <r/> only when more have gone out since.
    std::uint32_t sent_at_r = 0;
  };
  struct Takeover {
    core::jid::Jid jid;
    std::string username;
    SmState sm;
    std::vector<std::string> push_keys; ///< XEP-0357 registrations its client enabled
  };

  static std::shared_ptr<ClientSession> create(boost::asio::ip::tcp::socket socket, C2sService& service,
                                               bool direct_tls);
  ~ClientSession() override;

  void start();

  /// Hands this session over to a new connection that resumes it (XEP-0198 §5). Must run on
  /// this session's strand (co_spawn on executor()). nullopt when it cannot be resumed.
  boost::asio::awaitable<std::optional<Takeover>> surrender();
  boost::asio::any_io_executor executor();

  const core::jid::Jid& jid() const noexcept override { return *jid_; }
  void deliver(core::xml::Element stanza) override;
  void close(core::xml::stream_errc reason) override;
  void push_registration(std::string key, bool enabled, bool prefix) override;

private:
  ClientSession(boost::asio::ip::tcp::socket socket, C2sService& service, bool direct_tls);

  struct Negotiation;
  boost::asio::awaitable<void> run();
  /// Starts write_loop() unless it runs: it writes the queue and ends when the queue is empty.
  void start_write_loop();
  boost::asio::awaitable<void> write_loop();
  /// Reads what has arrived, without waiting; would_block when nothing has.
  std::size_t read_now(char* data, std::size_t size, boost::system::error_code& ec);
  boost::asio::awaitable<boost::system::error_code> wait_readable();
  /// After a quiet spell, gives back what an idle bound session does not need.
  void arm_idle_trim();
  void idle_trim();
  boost::asio::awaitable<bool> write_now(std::string data);
  boost::asio::awaitable<void> write_and_close(std::string data);
  boost::asio::awaitable<bool> handshake();
  boost::asio::awaitable<void> handle(core::xml::Element element);
  boost::asio::awaitable<void> handle_negotiation(core::xml::Element element);
  boost::asio::awaitable<void> handle_sasl(core::xml::Element element);
  boost::asio::awaitable<void> handle_bind(core::xml::Element element);
  boost::asio::awaitable<void> sasl_refuse(core::sasl::SaslFailure failure, std::string text = {});
  boost::asio::awaitable<boost::system::result<storage::ScramCredentials>> lookup_credentials(std::string user,
                                                                                             std::string mechanism);
  boost::asio::awaitable<void> send_features();
  /// STARTTLS must come before authentication on this listener.
  bool tls_required() const;
  /// SASL PLAIN may be used on this stream as it is now.
  bool plain_allowed() const;
  void open_stream_reply();
  void enqueue(std::string data);
  void enqueue_stanza(std::string data);
  /// XEP-0352: keeps `data` (presence from `from`) until the client is active again, replacing
  /// what `from` sent before.
  void hold_presence(std::string from, std::string data);
  /// XEP-0357: a message for this session while it hibernates; notifies the user's app servers.
  void push_while_hibernating(std::string from);
  /// A chat or normal message with a body: what offline storage would keep, and what wakes a
  /// device whose session waits to be resumed.
  static bool wakes_device(const core::xml::Element& stanza);
  void flush_held_presence();
  boost::asio::awaitable<void> handle_sm(core::xml::Element element);
  boost::asio::awaitable<void> handle_registration(core::xml::Element iq);
  boost::asio::awaitable<void> handle_resume(core::xml::Element element);
  bool apply_ack(std::string_view h);
  boost::asio::awaitable<void> end_session();
  boost::asio::awaitable<void> resume_timeout();
  void close_socket();
  void fail(core::xml::stream_errc reason, std::string_view text = {});
  void shutdown_transport();

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<core::tls::TlsStream> tls_;
  std::shared_ptr<C2sService> service_holder_;
  C2sService& service_;
  bool direct_tls_;
  State state_ = State::connecting;
  std::unique_ptr<core::xml::StreamParser> parser_;
  bool stream_open_ = false;
  bool stream_restart_ = false;
  std::string stream_to_;
  std::string stream_id_;
  std::unique_ptr<Negotiation> negotiation_;
  std::optional<core::jid::Jid> jid_;
  std::string username_;

  // Write side: a queue coalesced into one write, bounded in bytes.
  std::string queue_;
  std::string writing_;
  bool write_loop_running_ = false;
  boost::asio::steady_timer auth_timer_;
  boost::asio::steady_timer write_timer_;
  boost::asio::steady_timer idle_timer_;
  bool idle_timer_armed_ = false;
  bool trimmed_since_bind_ = false;
  std::uint32_t reads_since_idle_check_ = 0;
  std::optional<core::xml::stream_errc> close_reason_;
  SmState sm_;
  /// XEP-0352 client state: inactive holds back presence (held_presence_, in arrival order).
  bool csi_inactive_ = false;
  std::vector<std::pair<std::string, std::string>> held_presence_;
  /// XEP-0357 registrations this session's client enabled (keys of the PushService).
  std::vector<std::string> push_keys_;
  std::unique_ptr<boost::asio::steady_timer> resume_timer_;
  std::string remote_ip_;
  bool admitted_ = false;
  bool session_ended_ = false;
  std::string close_text_;
};

} // namespace parley::router::c2s
