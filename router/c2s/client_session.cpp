#include "router/c2s/client_session.hpp"

#include "core/sasl/crypto.hpp"
#include "core/sasl/scram_server.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "router/modules/registration.hpp"
#include "core/xml/serializer.hpp"
#include "core/xml/stream_parser.hpp"
#include "core/tls/tls_stream.hpp"
#include "router/c2s/c2s_service.hpp"
#include "router/modules/push.hpp"
#include "router/router.hpp"
#include "core/async/worker_pool.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <vector>
#include <variant>

namespace parley::router::c2s {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::xml::Element;
using core::xml::stream_errc;
using tcp = asio::ip::tcp;
using core::sasl::SaslFailure;
using core::sasl::ScramHash;

namespace {

/// A client's write queue past this many bytes means it does not read: end the stream.
constexpr std::size_t max_queued_bytes = 2 * 1024 * 1024;
/// Failed authentications allowed on one stream before it is closed (RFC 6120 §6.4.5).
constexpr int max_auth_failures = 3;
/// How long one write may stall before the connection is given up.
constexpr auto write_timeout = std::chrono::seconds(60);
/// A bound session that has read nothing for this long frees its parser state and buffers.
constexpr auto idle_trim_after = std::chrono::seconds(2);
/// The same, the first time after binding: the login's parser context (about 15 KiB) kept
/// for idle_trim_after lies between what the logins that follow allocate for good, and freed
/// that late it leaves partly used pages that malloc_trim cannot return (RSS per idle session
/// was twice its live heap). A client sends the rest of its login in one burst per round
/// trip, so a short quiet spell is enough; a busy session checks again at this pace until it
/// has been quiet once, then at idle_trim_after.
constexpr auto first_idle_trim_after = std::chrono::milliseconds(20);
/// Bytes read from a socket in one go, into a buffer each I/O thread lends to every session.
constexpr std::size_t read_buffer_size = 16 * 1024;
/// XEP-0440: SASL channel-binding type capability.
constexpr std::string_view sasl_cb_ns = "urn:xmpp:sasl-cb:0";
/// XEP-0352 client state indication.
constexpr std::string_view csi_ns = "urn:xmpp:csi:0";
/// XEP-0115 entity capabilities.
constexpr std::string_view caps_ns = "http://jabber.org/protocol/caps";
/// Presences held for an inactive client at most (one per sender).
constexpr std::size_t max_held_presences = 2000;

/// The read buffer of the calling I/O thread. Not inlined, so that a coroutine never keeps
/// the address of another thread's buffer across a suspension.
[[gnu::noinline]] char* io_thread_read_buffer() {
  thread_local const std::unique_ptr<char[]> buffer(new char[read_buffer_size]);
  return buffer.get();
}

std::string random_id() {
  static constexpr char hex[] = "0123456789abcdef";
  const std::string raw = core::sasl::crypto::random_bytes(12);
  std::string out;
  out.reserve(raw.size() * 2);
  for (const unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string sasl_failure(SaslFailure failure, std::string_view text = {}) {
  Element f("failure", std::string(ns::sasl));
  f.add_child(Element(std::string(core::sasl::wire_name(failure)), std::string(ns::sasl)));
  if (!text.empty()) {
    f.add_child(Element("text", std::string(ns::sasl))).add_text(std::string(text));
  }
  return core::xml::serialize(f, ns::client);
}

std::string sasl_element(std::string_view name, std::string_view payload) {
  Element e(std::string(name), std::string(ns::sasl));
  // RFC 6120 §6.4.2/§6.4.6: an empty payload is sent as "=".
  e.add_text(payload.empty() ? std::string("=") : core::sasl::crypto::base64_encode(payload));
  return core::xml::serialize(e, ns::client);
}

/// The base64 payload of <auth/> or <response/>: "=" or nothing means empty.
std::optional<std::string> sasl_payload(const Element& e) {
  const std::string text(e.text());
  if (text.empty() || text == "=") {
    return std::string();
  }
  auto decoded = core::sasl::crypto::base64_decode(text);
  if (!decoded) {
    return std::nullopt;
  }
  return std::move(*decoded);
}

/// RFC 5929 §4.1: the certificate hashed with its signature's digest, SHA-256 for MD5/SHA-1.
std::string tls_server_end_point(SSL* ssl) {
  X509* cert = SSL_get_certificate(ssl);
  if (cert == nullptr) {
    return {};
  }
  int md_nid = NID_undef;
  int pk_nid = NID_undef;
  if (OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, &pk_nid) == 0 || md_nid == NID_md5 ||
      md_nid == NID_sha1 || md_nid == NID_undef) {
    md_nid = NID_sha256;
  }
  const EVP_MD* md = EVP_get_digestbynid(md_nid);
  if (md == nullptr) {
    return {};
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, out, &len) != 1) {
    return {};
  }
  return {reinterpret_cast<const char*>(out), len};
}

/// RFC 9266: tls-exporter is defined for TLS 1.3 only (1.2 would need extended master secret).
std::string tls_exporter(SSL* ssl) {
  if (SSL_version(ssl) != TLS1_3_VERSION) {
    return {};
  }
  unsigned char out[32];
  static constexpr char label[] = "EXPORTER-Channel-Binding";
  if (SSL_export_keying_material(ssl, out, sizeof out, label, sizeof label - 1, nullptr, 0, 0) != 1) {
    return {};
  }
  return {reinterpret_cast<const char*>(out), sizeof out};
}

} // namespace

/// State that lives only until the session is bound.
struct ClientSession::Negotiation {
  std::vector<core::sasl::ChannelBinding> bindings;
  std::optional<core::sasl::ScramServer> scram;
  ScramHash hash = ScramHash::sha256;
  bool awaiting_client_first = false;
  bool awaiting_final = false;
  int failures = 0;
  std::string pending_username;
};

namespace {
using Event = std::variant<core::xml::StreamHeader, Element, std::monostate>;
}

std::shared_ptr<ClientSession> ClientSession::create(tcp::socket socket, C2sService& service, bool direct_tls) {
  return std::shared_ptr<ClientSession>(new ClientSession(std::move(socket), service, direct_tls));
}

ClientSession::ClientSession(tcp::socket socket, C2sService& service, bool direct_tls)
    : socket_(std::move(socket)), service_holder_(service.shared_from_this()), service_(service), direct_tls_(direct_tls),
      auth_timer_(socket_.get_executor()), write_timer_(socket_.get_executor()), idle_timer_(socket_.get_executor()) {}

ClientSession::~ClientSession() {
  if (admitted_) {
    service_.release(remote_ip_);
  }
}

asio::any_io_executor ClientSession::executor() { return socket_.get_executor(); }

void ClientSession::start() {
  asio::co_spawn(socket_.get_executor(), run(), asio::detached);
}

void ClientSession::deliver(Element stanza) {
  // XEP-0352: a contact's available or unavailable presence is not urgent; while the client
  // is inactive only the latest one per sender is kept, and sent when it is active again.
  // Subscriptions, errors, messages and iqs go out at once.
  std::string hold_as;
  if (stanza.name() == "presence") {
    const std::string_view type = stanza.attribute("type").value_or("");
    if (type.empty() || type == "unavailable") {
      hold_as = std::string(stanza.attribute("from").value_or(""));
    }
  }
  // XEP-0357: a message that would be stored offline wakes the device of a session that waits
  // to be resumed; here, who sent it.
  std::optional<std::string> push_from;
  if (wakes_device(stanza)) {
    push_from = std::string(stanza.attribute("from").value_or(""));
  }
  std::string data = core::xml::serialize(stanza, ns::client);
  asio::post(socket_.get_executor(), [self = shared_from_this(), data = std::move(data), hold_as = std::move(hold_as),
                                      push_from = std::move(push_from)]() mutable {
    if (self->csi_inactive_ && !hold_as.empty()) {
      self->hold_presence(std::move(hold_as), std::move(data));
      return;
    }
    if (push_from && self->state_ == State::hibernating) {
      self->push_while_hibernating(std::move(*push_from));
    }
    self->enqueue_stanza(std::move(data));
  });
}

bool ClientSession::wakes_device(const Element& stanza) {
  // What offline storage would keep (RFC 6121 §8.5.2.2.1, XEP-0160): a chat or normal message
  // with a body of its own (a carbon or a MAM result carries its body deeper down).
  if (stanza.name() != "message" || stanza.child("body", ns::client) == nullptr) {
    return false;
  }
  const std::string_view type = stanza.attribute("type").value_or("normal");
  return type == "chat" || type == "normal";
}

void ClientSession::push_registration(std::string key, bool enabled, bool prefix) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), key = std::move(key), enabled, prefix] {
    auto& keys = self->push_keys_;
    std::erase_if(keys, [&](const std::string& k) { return prefix ? k.starts_with(key) : k == key; });
    if (enabled) {
      keys.push_back(key);
    }
  });
}

void ClientSession::push_while_hibernating(std::string from) {
  // Prosody's mod_cloud_notify and ejabberd's mod_push do the same: the client's connection is
  // gone (a phone's app suspended), so only its push service can tell it there is something to
  // fetch. Only this client's own registrations: the user's other devices may be online. The
  // summary names the sender, never the body.
  if (push_keys_.empty()) {
    return;
  }
  Element note("message", std::string(ns::client));
  if (!from.empty()) {
    note.set_attribute("from", std::move(from));
  }
  auto bare = jid_->bare();
  asio::co_spawn(socket_.get_executor(),
                 service_.router().push().session_waiting(std::move(bare), std::move(note), push_keys_), asio::detached);
}

void ClientSession::hold_presence(std::string from, std::string data) {
  for (auto& [sender, held] : held_presence_) {
    if (sender == from) {
      held = std::move(data);
      return;
    }
  }
  held_presence_.emplace_back(std::move(from), std::move(data));
  if (held_presence_.size() > max_held_presences) {
    flush_held_presence(); // bounded: a very large roster just gets its presence now
  }
}

void ClientSession::flush_held_presence() {
  auto held = std::exchange(held_presence_, {});
  for (auto& [sender, data] : held) {
    enqueue_stanza(std::move(data));
  }
}

void ClientSession::close(stream_errc reason) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), reason] {
    if (self->state_ == State::hibernating) {
      // Shutdown: a session waiting to be resumed ends now, its messages kept offline.
      asio::co_spawn(self->socket_.get_executor(), self->resume_timeout(), asio::detached);
      return;
    }
    self->fail(reason);
  });
}

// ---- transport -----------------------------------------------------------------------------

std::size_t ClientSession::read_now(char* data, std::size_t size, boost::system::error_code& ec) {
  if (tls_) {
    return tls_->read_now(asio::buffer(data, size), ec);
  }
  // The socket is non-blocking (see run()): would_block when nothing has arrived.
  return socket_.read_some(asio::buffer(data, size), ec);
}

asio::awaitable<boost::system::error_code> ClientSession::wait_readable() {
  if (tls_) {
    co_return co_await tls_->wait_readable();
  }
  auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

void ClientSession::arm_idle_trim() {
  if (idle_timer_armed_ || state_ != State::bound) {
    return;
  }
  idle_timer_armed_ = true;
  reads_since_idle_check_ = 0;
  idle_timer_.expires_after(trimmed_since_bind_ ? idle_trim_after : first_idle_trim_after);
  idle_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto s = weak.lock();
    if (!s) {
      return;
    }
    s->idle_timer_armed_ = false;
    if (ec || s->state_ != State::bound) {
      return;
    }
    if (s->reads_since_idle_check_ > 0) {
      s->arm_idle_trim(); // still busy: look again later
      return;
    }
    s->trimmed_since_bind_ = true;
    s->idle_trim();
  });
}

void ClientSession::idle_trim() {
  // A busy stream would only build all this again; an idle one holds nothing it does not use.
  // The parser comes back on the next read; the write buffers when something is sent.
  bool freed = parser_ && parser_->trim();
  if (queue_.empty() && queue_.capacity() > 0) {
    std::string().swap(queue_);
    freed = true;
  }
  if (freed) {
    service_.memory_released();
  }
}

asio::awaitable<bool> ClientSession::write_now(std::string data) {
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await tls_->write(asio::buffer(data));
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
  }
  co_return !ec;
}

asio::awaitable<bool> ClientSession::handshake() {
  tls_ = std::make_unique<core::tls::TlsStream>(std::move(socket_), service_.tls().native_handle());
  const auto ec = co_await tls_->handshake();
  if (ec) {
    spdlog::debug("c2s: TLS handshake failed: {}", ec.message());
    co_return false;
  }
  co_return true;
}

void ClientSession::close_socket() {
  boost::system::error_code ignored;
  auto& lowest = tls_ ? tls_->next_layer() : socket_;
  lowest.shutdown(tcp::socket::shutdown_both, ignored);
  lowest.close(ignored);
  idle_timer_.cancel();
}

void ClientSession::shutdown_transport() {
  if (state_ == State::closed) {
    return;
  }
  state_ = State::closed;
  boost::system::error_code ignored;
  auto& lowest = tls_ ? tls_->next_layer() : socket_;
  lowest.shutdown(tcp::socket::shutdown_both, ignored);
  lowest.close(ignored);
  auth_timer_.cancel();
  idle_timer_.cancel();
}

void ClientSession::enqueue(std::string data) {
  if (state_ == State::closing || state_ == State::closed) {
    return;
  }
  if (queue_.size() + data.size() > max_queued_bytes) {
    spdlog::info("c2s: {} reads too slowly; closing its stream", jid_ ? jid_->full() : std::string("client"));
    fail(stream_errc::policy_violation, "the client does not read what it is sent");
    return;
  }
  queue_ += data;
  if (state_ == State::bound) {
    start_write_loop();
  }
}

void ClientSession::enqueue_stanza(std::string data) {
  if (sm_.enabled && (state_ == State::bound || state_ == State::hibernating)) {
    // XEP-0198 §4: every stanza counts, and is kept until the client acknowledges it.
    sm_.unacked_bytes += data.size();
    sm_.unacked.push_back(data);
    if (sm_.unacked_bytes > 4 * max_queued_bytes) {
      if (state_ == State::hibernating) {
        // Nobody will resume a session this far behind; end it and keep its messages.
        asio::co_spawn(socket_.get_executor(), resume_timeout(), asio::detached);
      } else {
        fail(stream_errc::policy_violation, "too many unacknowledged stanzas");
      }
      return;
    }
  }
  if (state_ != State::bound) {
    return;
  }
  enqueue(std::move(data));
  if (sm_.enabled && !sm_.r_pending && state_ == State::bound) {
    sm_.r_pending = true;
    sm_.sent_at_r = sm_.acked + static_cast<std::uint32_t>(sm_.unacked.size());
    enqueue("<r xmlns='urn:xmpp:sm:3'/>");
  }
}

void ClientSession::start_write_loop() {
  if (write_loop_running_) {
    return;
  }
  // Set before the coroutine first runs (co_spawn posts it): what is queued meanwhile is
  // written by this loop, and nobody starts a second one.
  write_loop_running_ = true;
  asio::co_spawn(socket_.get_executor(), write_loop(), asio::detached);
}

asio::awaitable<void> ClientSession::write_loop() {
  auto self = shared_from_this();
  write_loop_running_ = true;
  for (;;) {
    if (queue_.empty()) {
      if (state_ == State::bound) {
        // Nothing to write: the loop ends and enqueue() starts it again. An idle session
        // then holds no suspended writer (its coroutine frames were about 1 KiB).
        write_loop_running_ = false;
        co_return;
      }
      break;
    }
    writing_.swap(queue_);
    queue_.clear();
    // A peer that stops reading must not hold its socket and buffers forever: a write that
    // makes no progress for this long ends the connection.
    write_timer_.expires_after(write_timeout);
    write_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto s = weak.lock(); s && !ec) {
        spdlog::info("c2s: {} stopped reading; closing", s->jid_ ? s->jid_->full() : std::string("client"));
        s->close_socket();
      }
    });
    const bool ok = co_await write_now(std::move(writing_));
    write_timer_.cancel();
    writing_ = std::string();
    if (!ok) {
      break;
    }
    // Idle sessions keep no large buffers around.
    if (queue_.capacity() > 64 * 1024 && queue_.empty()) {
      queue_ = std::string();
    }
  }
  write_loop_running_ = false;
  if (state_ == State::bound || state_ == State::closing) {
    shutdown_transport();
  }
}

void ClientSession::fail(stream_errc reason, std::string_view text) {
  if (state_ == State::closing || state_ == State::closed) {
    return;
  }
  std::string out;
  if (!stream_open_) {
    open_stream_reply();
    out = std::move(queue_);
    queue_.clear();
  }
  Element error("error", std::string(ns::streams));
  error.add_child(Element(std::string(core::xml::wire_name(reason)), std::string(ns::stream_errors)));
  if (!text.empty()) {
    error.add_child(Element("text", std::string(ns::stream_errors))).add_text(std::string(text));
  }
  out += "<stream:error>";
  // Children are serialized in their own namespace; the wrapper needs the stream prefix.
  for (const auto& child : error.children()) {
    out += core::xml::serialize(child, ns::streams);
  }
  out += "</stream:error></stream:stream>";
  close_reason_ = reason;
  spdlog::debug("c2s: stream error {} {}", core::xml::wire_name(reason), text);
  if (state_ == State::bound) {
    // Unbind now, not when the socket finally closes: nothing more may be routed here, and
    // what the client never acknowledged goes elsewhere (another resource, offline storage).
    asio::co_spawn(socket_.get_executor(), end_session(), asio::detached);
  }
  if (write_loop_running_) {
    queue_ += out;
    state_ = State::closing;
    return;
  }
  state_ = State::closing;
  asio::co_spawn(socket_.get_executor(), write_and_close(std::move(out)), asio::detached);
}

asio::awaitable<void> ClientSession::write_and_close(std::string data) {
  auto self = shared_from_this();
  co_await write_now(std::move(data));
  shutdown_transport();
}

// ---- stream --------------------------------------------------------------------------------

void ClientSession::open_stream_reply() {
  stream_id_ = random_id();
  std::string header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                       "xmlns:stream='http://etherx.jabber.org/streams' id='" +
                       stream_id_ + "'";
  if (!stream_to_.empty()) {
    header += " from='";
    core::xml::escape_attribute(header, stream_to_);
    header += "'";
  }
  header += " version='1.0' xml:lang='en'>";
  queue_ += header;
  stream_open_ = true;
}

bool ClientSession::tls_required() const {
  const auto tls_mode = service_.config().c2s.tls;
  // With an external directory only PLAIN is possible, and PLAIN needs TLS: "optional" would
  // offer nothing to authenticate with before STARTTLS.
  return tls_mode == config::C2sTls::required ||
         (tls_mode == config::C2sTls::optional && service_.router().users().external());
}

bool ClientSession::plain_allowed() const {
  // "disabled" is the operator saying that this listener has no TLS of its own (loopback
  // tests, or a TLS-terminating proxy in front): with an external directory PLAIN is then the
  // only way in, so it is offered in the clear. The internal directory has SCRAM for that.
  return tls_ != nullptr ||
         (service_.router().users().external() && service_.config().c2s.tls == config::C2sTls::disabled);
}

asio::awaitable<void> ClientSession::send_features() {
  Element features("features", std::string(ns::streams));
  const auto tls_mode = service_.config().c2s.tls;
  const bool tls_offered = !tls_ && tls_mode != config::C2sTls::disabled;
  const bool external = service_.router().users().external();
  if (state_ == State::negotiating) {
    if (tls_offered) {
      auto& starttls = features.add_child(Element("starttls", std::string(ns::tls)));
      if (tls_required()) {
        starttls.add_child(Element("required", std::string(ns::tls)));
      }
    }
    if (!(tls_offered && tls_required())) {
      auto& mechs = features.add_child(Element("mechanisms", std::string(ns::sasl)));
      auto add = [&](std::string_view name) {
        mechs.add_child(Element("mechanism", std::string(ns::sasl))).add_text(std::string(name));
      };
      if (!external) {
        // An external directory has no stored keys, so SCRAM is impossible there.
        if (tls_ && !negotiation_->bindings.empty()) {
          add("SCRAM-SHA-256-PLUS");
          add("SCRAM-SHA-1-PLUS");
        }
        add("SCRAM-SHA-256");
        add("SCRAM-SHA-1");
      }
      if (plain_allowed()) {
        add("PLAIN"); // RFC 6120 §6.3.3: PLAIN only where the channel is encrypted
      }
      if (service_.config().c2s.allow_registration) {
        features.add_child(Element("register", std::string(ns::register_feature)));
      }
      if (!external && !negotiation_->bindings.empty()) {
        // XEP-0440: tell the client which channel-binding types this stream supports.
        auto& cb = features.add_child(Element("sasl-channel-binding", std::string(sasl_cb_ns)));
        for (const auto& b : negotiation_->bindings) {
          cb.add_child(Element("channel-binding", std::string(sasl_cb_ns))).set_attribute("type", b.type);
        }
      }
    }
  } else if (state_ == State::authenticated) {
    features.add_child(Element("bind", std::string(ns::bind)));
    features.add_child(Element("session", std::string(ns::session)))
        .add_child(Element("optional", std::string(ns::session)));
    features.add_child(Element("ver", std::string(ns::roster_ver_feature)));
    features.add_child(Element("sm", std::string(ns::sm)));
    features.add_child(Element("csi", std::string(csi_ns)));
  }
  // XEP-0115 §6.3: the server's own capabilities, so that clients need not ask its disco#info.
  auto& caps = features.add_child(Element("c", std::string(caps_ns)));
  caps.set_attribute("hash", "sha-1");
  caps.set_attribute("node", std::string(Router::caps_node));
  caps.set_attribute("ver", service_.router().caps_ver());
  queue_ += "<stream:features>";
  for (const auto& child : features.children()) {
    queue_ += core::xml::serialize(child, ns::streams);
  }
  queue_ += "</stream:features>";
  std::string out = std::move(queue_);
  queue_.clear();
  co_await write_now(std::move(out));
}

asio::awaitable<void> ClientSession::run() {
  auto self = shared_from_this();
  const auto& cfg = service_.config();
  auth_timer_.expires_after(std::chrono::seconds(cfg.limits.unauthenticated_timeout_seconds));
  auth_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto s = weak.lock();
    if (!ec && s && s->state_ != State::bound && s->state_ != State::closed) {
      s->fail(stream_errc::connection_timeout, "authentication took too long");
    }
  });
  negotiation_ = std::make_unique<Negotiation>();
  {
    boost::system::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    remote_ip_ = ec ? std::string("unknown") : remote.address().to_string();
  }
  if (direct_tls_ && !co_await handshake()) {
    shutdown_transport();
    co_return;
  }
  admitted_ = service_.admit(remote_ip_);
  if (!admitted_) {
    spdlog::info("c2s: refusing a connection from {}: too many from that address", remote_ip_);
    fail(stream_errc::policy_violation, "too many connections from your address");
    co_return;
  }

  // Filled by the parser during one feed(), handled, then emptied.
  std::vector<Event> events;
  std::size_t next_event = 0;
  core::xml::StreamParser::Callbacks callbacks;
  callbacks.on_open = [&events](core::xml::StreamHeader header) { events.emplace_back(std::move(header)); };
  callbacks.on_element = [&events](Element element) { events.emplace_back(std::move(element)); };
  callbacks.on_close = [&events] { events.emplace_back(std::monostate{}); };
  core::xml::StreamParser::Limits limits;
  limits.max_stanza_bytes = cfg.limits.max_stanza_bytes_unauthenticated;
  limits.max_depth = cfg.limits.max_depth;
  limits.max_attributes = cfg.limits.max_attributes;
  parser_ = std::make_unique<core::xml::StreamParser>(callbacks, limits);

  state_ = State::negotiating;
  bool peer_closed = false;
  if (!tls_) {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
  }
  // Nothing is read while the session waits: it waits for readiness, then reads into a buffer
  // of the I/O thread and hands every byte to the parser before it suspends again. An idle
  // connection thus holds no read buffer, in this frame or in the TLS layer.
  bool drained = false;
  while (state_ != State::closing && state_ != State::closed && !peer_closed) {
    boost::system::error_code ec;
    std::size_t n = 0;
    if (!drained) {
      // Asked for again after every suspension: the coroutine may resume on another thread.
      n = read_now(io_thread_read_buffer(), read_buffer_size, ec);
    }
    if (drained || ec == asio::error::would_block) {
      drained = false;
      std::vector<Event>().swap(events);
      arm_idle_trim();
      if (co_await wait_readable()) {
        break;
      }
      continue;
    }
    char* const buffer = io_thread_read_buffer();
    if (ec) {
      break;
    }
    ++reads_since_idle_check_;
    const auto parse_error = parser_->feed(std::string_view(buffer, n));
    while (next_event < events.size() && state_ != State::closing && state_ != State::closed) {
      Event event = std::move(events[next_event++]);
      if (auto* header = std::get_if<core::xml::StreamHeader>(&event)) {
        // RFC 6120 §4.8/§4.9.3: check what the client opened.
        stream_to_ = std::string(header->to().value_or(""));
        const bool known = std::find(cfg.hosts.begin(), cfg.hosts.end(), stream_to_) != cfg.hosts.end();
        if (header->content_ns() != ns::client) {
          fail(stream_errc::invalid_namespace, "the content namespace must be jabber:client");
        } else if (!known) {
          stream_to_ = cfg.hosts.front();
          fail(stream_errc::host_unknown, "this server does not serve that domain");
        } else if (!header->version().value_or("").starts_with("1.")) {
          fail(stream_errc::unsupported_version, "only XMPP 1.0 streams are supported");
        } else {
          open_stream_reply();
          if (tls_ && negotiation_ && negotiation_->bindings.empty() && state_ == State::negotiating) {
            SSL* ssl = tls_->native_handle();
            if (auto exporter = tls_exporter(ssl); !exporter.empty()) {
              negotiation_->bindings.push_back({"tls-exporter", std::move(exporter)});
            }
            if (auto endpoint = tls_server_end_point(ssl); !endpoint.empty()) {
              negotiation_->bindings.push_back({"tls-server-end-point", std::move(endpoint)});
            }
          }
          co_await send_features();
        }
      } else if (auto* element = std::get_if<Element>(&event)) {
        co_await handle(std::move(*element));
      } else {
        peer_closed = true;
        break;
      }
      if (stream_restart_) {
        // RFC 6120 §5.4.3.3 / §6.4.6: after TLS or SASL the stream starts over, and whatever
        // followed in the same read is discarded.
        stream_restart_ = false;
        events.clear();
        stream_open_ = false;
        parser_->reset();
        if (state_ == State::authenticated) {
          limits.max_stanza_bytes = cfg.limits.max_stanza_bytes;
          parser_->set_limits(limits);
        }
        break;
      }
    }
    events.clear();
    next_event = 0;
    // A read that did not fill the buffer emptied the socket: wait rather than pay for a read
    // that would only say so. Over TLS (STARTTLS may just have begun it), OpenSSL knows
    // whether it holds more.
    drained = tls_ ? tls_->drained() : n < read_buffer_size;
    if (parse_error && state_ != State::closing && state_ != State::closed && !peer_closed) {
      fail(static_cast<stream_errc>(parse_error.value()));
    }
  }

  const auto resume_after = std::chrono::seconds(cfg.c2s.sm_resume_timeout_seconds);
  if (state_ == State::bound && !peer_closed && sm_.resumable && resume_after.count() > 0) {
    // XEP-0198 §5: the connection is gone but the session stays, collecting stanzas, until it
    // is resumed or the timeout ends it.
    state_ = State::hibernating;
    close_socket();
    resume_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor(), resume_after);
    resume_timer_->async_wait([self](boost::system::error_code ec) {
      if (!ec && self->state_ == State::hibernating) {
        asio::co_spawn(self->socket_.get_executor(), self->resume_timeout(), asio::detached);
      }
    });
    spdlog::debug("c2s: {} hibernates for {} s", jid_->full(), resume_after.count());
    // Messages the client never acknowledged may not have reached it: one push for them all.
    for (const auto& unacked : sm_.unacked) {
      if (!unacked.starts_with("<message")) {
        continue;
      }
      if (auto stanza = core::xml::parse_element(unacked, ns::client); stanza && wakes_device(*stanza)) {
        push_while_hibernating({});
        break;
      }
    }
    auth_timer_.cancel();
    parser_.reset();
    co_return;
  }
  if (state_ == State::resumed) {
    parser_.reset();
    co_return;
  }
  if (jid_ && !session_ended_) {
    co_await end_session();
  }
  if (state_ == State::bound || state_ == State::authenticated || state_ == State::negotiating) {
    // The client closed its stream (or the connection); close ours.
    if (write_loop_running_) {
      queue_ += "</stream:stream>";
      state_ = State::closing;
    } else {
      // Closing first: a stanza delivered while the close is written must not start the
      // write loop beside this write.
      state_ = State::closing;
      if (peer_closed) {
        co_await write_now("</stream:stream>");
      }
      shutdown_transport();
    }
  }
  auth_timer_.cancel();
  parser_.reset();
}

asio::awaitable<void> ClientSession::handle(Element element) {
  if (state_ == State::bound) {
    const std::string_view name = element.name();
    if (element.ns() == ns::sm) {
      co_await handle_sm(std::move(element));
      co_return;
    }
    if (element.ns() == csi_ns && (name == "active" || name == "inactive")) {
      // XEP-0352 §4: nonzas, not counted by stream management.
      csi_inactive_ = name == "inactive";
      if (!csi_inactive_) {
        flush_held_presence();
      }
      co_return;
    }
    if (element.ns() != ns::client || (name != "message" && name != "presence" && name != "iq")) {
      fail(stream_errc::unsupported_stanza_type);
      co_return;
    }
    // RFC 6120 §8.1.2.1: the server stamps 'from'; a client may only claim its own JID.
    if (auto from = element.attribute("from")) {
      if (*from != jid_->full() && *from != jid_->bare_string()) {
        fail(stream_errc::invalid_from, "'from' does not match the authenticated JID");
        co_return;
      }
    }
    element.set_attribute("from", jid_->full());
    const auto disposition = co_await service_.router().from_client(shared_from_this(), std::move(element));
    if (disposition == Disposition::not_stored && sm_.enabled) {
      // Acknowledged means durable: this stanza must not be counted. But h is a count, and
      // every later <a/> would then acknowledge the wrong stanzas; so the stream ends here, h
      // not counting it, and the client sends it again on its next session (XEP-0198 §5).
      // The router posted its stanza error (wait) to this strand; let it out first.
      co_await asio::post(socket_.get_executor(), asio::use_awaitable);
      fail(stream_errc::internal_server_error, "storage is unavailable; unacknowledged stanzas were not stored");
      co_return;
    }
    // XEP-0198 §4: counted once handled, i.e. delivered, stored or answered; so an <a/> never
    // covers a stanza that could still be lost.
    if (sm_.enabled) {
      ++sm_.h_in;
    }
    co_return;
  }
  co_await handle_negotiation(std::move(element));
}

asio::awaitable<void> ClientSession::handle_negotiation(Element element) {
  const auto& cfg = service_.config();
  if (element.ns() == ns::tls && element.name() == "starttls") {
    if (tls_ || cfg.c2s.tls == config::C2sTls::disabled || state_ != State::negotiating) {
      // RFC 6120 §5.4.2.2: failure, then close.
      co_await write_now("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>");
      shutdown_transport();
      co_return;
    }
    if (!co_await write_now("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") || !co_await handshake()) {
      shutdown_transport();
      co_return;
    }
    stream_restart_ = true;
    co_return;
  }
  if (element.ns() == ns::sasl && state_ == State::negotiating) {
    co_await handle_sasl(std::move(element));
    co_return;
  }
  if (state_ == State::negotiating && element.ns() == ns::client && element.name() == "iq" &&
      element.child("query", ns::register_) != nullptr) {
    co_await handle_registration(std::move(element));
    co_return;
  }
  if (state_ == State::authenticated && element.ns() == ns::sm) {
    if (element.name() == "resume") {
      co_await handle_resume(std::move(element));
    } else {
      co_await write_now("<failed xmlns='urn:xmpp:sm:3'><unexpected-request "
                         "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
    }
    co_return;
  }
  if (state_ == State::authenticated && element.ns() == ns::client && element.name() == "iq") {
    co_await handle_bind(std::move(element));
    co_return;
  }
  // RFC 6120 §4.9.3.12: nothing but negotiation before authentication.
  fail(stream_errc::not_authorized, "authenticate first");
}

asio::awaitable<void> ClientSession::handle_sasl(Element element) {
  auto& neg = *negotiation_;
  if (!tls_ && tls_required()) {
    co_await write_now(sasl_failure(SaslFailure::encryption_required));
    co_return;
  }


  const std::string_view name = element.name();
  if (name == "abort") {
    neg.scram.reset();
    neg.awaiting_client_first = neg.awaiting_final = false;
    co_await write_now("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/></failure>");
    co_return;
  }
  auto payload = sasl_payload(element);
  if (!payload) {
    co_await sasl_refuse(SaslFailure::malformed_request, "invalid base64");
    co_return;
  }
  const std::string& host = stream_to_;



  if (name == "auth" && !service_.auth_allowed(remote_ip_)) {
    co_await write_now(sasl_failure(SaslFailure::temporary_auth_failure, "too many failed attempts; try later"));
    fail(stream_errc::policy_violation, "too many failed authentication attempts from your address");
    co_return;
  }
  if (name == "auth") {
    const std::string mechanism(element.attribute("mechanism").value_or(""));
    neg.scram.reset();
    neg.awaiting_client_first = neg.awaiting_final = false;
    if (mechanism == "PLAIN") {
      if (!plain_allowed()) {
        co_await write_now(sasl_failure(SaslFailure::encryption_required));
        co_return;
      }
      auto plain = core::sasl::parse_plain(*payload);
      if (!plain) {
        co_await sasl_refuse(plain.error());
        co_return;
      }
      auto user = core::jid::Jid::make(plain->authcid, host);
      auto password = core::sasl::saslprep(plain->password);
      if (!user || !password) {
        co_await sasl_refuse(SaslFailure::not_authorized);
        co_return;
      }
      if (!plain->authzid.empty() && plain->authzid != user->bare_string()) {
        co_await sasl_refuse(SaslFailure::invalid_authzid);
        co_return;
      }
      // The directory decides: stored SCRAM keys, or the external authentication service.
      std::string local(user->local());
      std::string domain(user->domain());
      std::string prepared = std::move(*password);
      const auto verdict = co_await service_.router().users().check_password(local, std::move(domain),
                                                                              std::move(prepared));
      if (verdict == router::auth::Answer::unavailable) {
        // Never a login, and not the client's fault: no delay, no failure counted.
        co_await write_now(sasl_failure(SaslFailure::temporary_auth_failure,
                                        "the account service is unavailable; try again later"));
        co_return;
      }
      if (verdict != router::auth::Answer::yes) {
        co_await sasl_refuse(SaslFailure::not_authorized);
        co_return;
      }
      username_ = std::move(local);
    } else if ((mechanism == "SCRAM-SHA-1" || mechanism == "SCRAM-SHA-256" || mechanism == "SCRAM-SHA-1-PLUS" ||
                mechanism == "SCRAM-SHA-256-PLUS") &&
               !service_.router().users().external()) {
      const bool plus = mechanism.ends_with("-PLUS");
      if (plus && (neg.bindings.empty() || !tls_)) {
        co_await write_now(sasl_failure(SaslFailure::invalid_mechanism));
        co_return;
      }
      neg.hash = mechanism.starts_with("SCRAM-SHA-1") ? ScramHash::sha1 : ScramHash::sha256;
      // A "y" flag is accepted: clients such as slixmpp implement only tls-unique, which
      // TLS 1.3 does not have, so for them "y" is the truth and not a downgrade. The types we
      // offer are listed per XEP-0440, so a client that knows them uses -PLUS.
      neg.scram.emplace(neg.hash, plus, tls_ ? neg.bindings : std::vector<core::sasl::ChannelBinding>{}, false);
      if (payload->empty()) {
        neg.awaiting_client_first = true; // RFC 6120 §6.4.2: empty initial response
        co_await write_now(sasl_element("challenge", ""));
        co_return;
      }
      neg.awaiting_client_first = true;
    } else {
      co_await write_now(sasl_failure(SaslFailure::invalid_mechanism));
      co_return;
    }
  } else if (name != "response" || (!neg.awaiting_client_first && !neg.awaiting_final)) {
    co_await sasl_refuse(SaslFailure::malformed_request, "unexpected SASL element");
    co_return;
  }

  if (neg.scram && neg.awaiting_client_first) {
    neg.awaiting_client_first = false;
    auto username = neg.scram->client_first(*payload);
    if (!username) {
      co_await sasl_refuse(username.error());
      co_return;
    }
    auto user = core::jid::Jid::make(*username, host);
    if (!neg.scram->authzid().empty() && (!user || neg.scram->authzid() != user->bare_string())) {
      co_await sasl_refuse(SaslFailure::invalid_authzid);
      co_return;
    }
    std::optional<core::sasl::ScramSecrets> secrets;
    if (user) {
      auto creds = co_await lookup_credentials(std::string(user->local()), std::string(core::sasl::mechanism_name(neg.hash)));
      if (!creds && creds.error() != storage::storage_errc::not_found) {
        neg.scram.reset();
        co_await write_now(sasl_failure(SaslFailure::temporary_auth_failure));
        co_return;
      }
      if (creds) {
        secrets = core::sasl::ScramSecrets{creds->salt, creds->iterations, creds->stored_key, creds->server_key};
      }
      neg.pending_username = std::string(user->local());
    }
    co_await write_now(sasl_element("challenge", neg.scram->server_first(secrets)));
    neg.awaiting_final = true;
    co_return;
  }
  if (neg.scram && neg.awaiting_final) {
    neg.awaiting_final = false;
    auto verdict = neg.scram->client_final(*payload);
    if (!verdict) {
      co_await sasl_refuse(verdict.error());
      co_return;
    }
    username_ = neg.pending_username;
    co_await write_now(sasl_element("success", *verdict));
  } else {
    co_await write_now(sasl_element("success", ""));
  }
  neg.scram.reset();
  state_ = State::authenticated;
  stream_restart_ = true;
  spdlog::debug("c2s: {}@{} authenticated", username_, host);
}

// ---- in-band registration (XEP-0077) ------------------------------------------------------

asio::awaitable<void> ClientSession::handle_registration(Element iq) {
  const auto& cfg = service_.config();
  const std::string_view type = iq.attribute("type").value_or("");
  auto reply = [&](Element e) { return write_now(core::xml::serialize(e, ns::client)); };
  if (service_.router().users().external()) {
    co_await reply(core::stanza::make_error(iq, core::stanza::stanza_errc::not_allowed,
                                            "accounts are created in an external service, not here"));
    co_return;
  }
  if (!cfg.c2s.allow_registration || (!tls_ && cfg.c2s.tls == config::C2sTls::required)) {
    // XEP-0077 §3.1: a server that does not offer registration says service-unavailable.
    co_await reply(core::stanza::make_error(iq, core::stanza::stanza_errc::service_unavailable));
    co_return;
  }
  if (type == "get") {
    auto result = core::stanza::make_result(iq);
    result.add_child(router::modules::registration_form());
    co_await reply(std::move(result));
    co_return;
  }
  if (type != "set") {
    co_await reply(core::stanza::make_error(iq, core::stanza::stanza_errc::bad_request));
    co_return;
  }
  if (!service_.auth_allowed(remote_ip_)) {
    co_await reply(core::stanza::make_error(iq, core::stanza::stanza_errc::resource_constraint,
                                            "too many attempts from your address; try later"));
    co_return;
  }
  // Registrations count against the same per-address budget as failed logins.
  service_.auth_failed(remote_ip_);
  const auto submission = router::modules::read_submission(*iq.child("query", ns::register_));
  auto jid = core::jid::Jid::make(submission.username, stream_to_);
  if (submission.username.empty() || submission.password.empty()) {
    co_await reply(core::stanza::make_error(iq, core::stanza::stanza_errc::not_acceptable,
                                            "username and password are required"));
    co_return;
  }
  if (!jid) {
    co_await reply(core::stanza::make_error(iq, core::stanza::stanza_errc::jid_malformed,
                                            "that username is not allowed"));
    co_return;
  }
  const std::string password = submission.password;
  auto derive = [password] { return router::modules::make_credentials(password); };
  auto creds = co_await service_.router().workers().run(std::move(derive));
  if (!creds) {
    co_await reply(core::stanza::make_error(iq, core::stanza::stanza_errc::not_acceptable, creds.error().message));
    co_return;
  }
  auto& db = service_.router().storage();
  const std::string user(jid->local());
  auto create = [&db, user, c = std::move(*creds)] { return db.users().create_user(user, c); };
  auto created = co_await service_.router().workers().run(std::move(create));
  if (!created) {
    const auto condition = created.error() == storage::storage_errc::conflict
                               ? core::stanza::stanza_errc::conflict
                               : core::stanza::stanza_errc::internal_server_error;
    co_await reply(core::stanza::make_error(iq, condition));
    co_return;
  }
  spdlog::info("register: {} created from {}", jid->bare_string(), remote_ip_);
  co_await reply(core::stanza::make_result(iq));
}

// ---- stream management (XEP-0198) -------------------------------------------------------

bool ClientSession::apply_ack(std::string_view h_text) {
  std::uint32_t h = 0;
  const auto [ptr, ec] = std::from_chars(h_text.data(), h_text.data() + h_text.size(), h);
  if (ec != std::errc() || ptr != h_text.data() + h_text.size()) {
    return false;
  }
  // Counters wrap at 2^32 (XEP-0198 §4).
  const std::uint32_t newly = h - sm_.acked;
  if (newly > sm_.unacked.size()) {
    return false;
  }
  for (std::uint32_t i = 0; i < newly; ++i) {
    sm_.unacked_bytes -= sm_.unacked.front().size();
    sm_.unacked.pop_front();
  }
  sm_.acked = h;
  return true;
}

asio::awaitable<void> ClientSession::handle_sm(Element element) {
  const std::string_view name = element.name();
  if (name == "r") {
    enqueue("<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(sm_.h_in) + "'/>");
  } else if (name == "a") {
    if (!apply_ack(element.attribute("h").value_or(""))) {
      // XEP-0198 §4: acknowledging more than was sent is an error.
      fail(stream_errc::undefined_condition, "<a/> acknowledges stanzas that were never sent");
      co_return;
    }
    sm_.r_pending = false;
    // Ask again only for what went out after the last request: a client that acknowledges
    // less than it got (some count no iq results) would otherwise ping-pong <r/> and <a/>
    // without end. The next stanza sent asks again anyway.
    const std::uint32_t sent = sm_.acked + static_cast<std::uint32_t>(sm_.unacked.size());
    if (!sm_.unacked.empty() && sent != sm_.sent_at_r) {
      sm_.r_pending = true;
      sm_.sent_at_r = sent;
      enqueue("<r xmlns='urn:xmpp:sm:3'/>");
    }
  } else if (name == "enable") {
    if (sm_.enabled) {
      enqueue("<failed xmlns='urn:xmpp:sm:3'><unexpected-request "
              "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
      co_return;
    }
    sm_.enabled = true;
    const auto resume = element.attribute("resume").value_or("");
    const auto timeout = service_.config().c2s.sm_resume_timeout_seconds;
    std::string reply = "<enabled xmlns='urn:xmpp:sm:3'";
    if ((resume == "true" || resume == "1") && timeout > 0) {
      sm_.resumable = true;
      sm_.id = random_id() + random_id();
      service_.register_resumable(sm_.id, shared_from_this());
      reply += " id='" + sm_.id + "' resume='true' max='" + std::to_string(timeout) + "'";
    }
    reply += "/>";
    enqueue(std::move(reply));
  } else {
    fail(stream_errc::unsupported_stanza_type);
  }
}

asio::awaitable<std::optional<ClientSession::Takeover>> ClientSession::surrender() {
  auto self = shared_from_this();
  if ((state_ != State::hibernating && state_ != State::bound) || !sm_.resumable || !jid_) {
    co_return std::nullopt;
  }
  if (resume_timer_) {
    resume_timer_->cancel();
  }
  const bool was_bound = state_ == State::bound;
  state_ = State::resumed;
  if (was_bound) {
    // The client came back before we noticed that its old connection was gone.
    close_socket();
  }
  service_.unregister_resumable(sm_.id);
  Takeover out{*jid_, username_, std::move(sm_), std::move(push_keys_)};
  sm_ = SmState{};
  push_keys_.clear();
  co_return out;
}

asio::awaitable<void> ClientSession::handle_resume(Element element) {
  const std::string previd(element.attribute("previd").value_or(""));
  auto failed = [] {
    return std::string("<failed xmlns='urn:xmpp:sm:3'><item-not-found "
                       "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
  };
  auto old = service_.find_resumable(previd);
  if (!old || old.get() == this) {
    spdlog::debug("c2s: {}: no session to resume under that id", username_);
    co_await write_now(failed());
    co_return;
  }
  auto surrender_old = old->surrender();
  auto taken = co_await asio::co_spawn(old->executor(), std::move(surrender_old), asio::use_awaitable);
  if (!taken) {
    spdlog::debug("c2s: {}: the session under that id cannot be resumed any more", username_);
    co_await write_now(failed());
    co_return;
  }
  if (taken->username != username_ || taken->jid.domain() != stream_to_) {
    // Not this user's session: give it back untouched is not possible once surrendered, so
    // the other session ends; this is only reachable by guessing a 192-bit id.
    co_await write_now(failed());
    co_return;
  }
  jid_ = taken->jid;
  sm_ = std::move(taken->sm);
  push_keys_ = std::move(taken->push_keys);
  if (!apply_ack(element.attribute("h").value_or(""))) {
    fail(stream_errc::undefined_condition, "<resume/> acknowledges stanzas that were never sent");
    co_return;
  }
  service_.router().sessions().replace(*old, shared_from_this());
  service_.register_resumable(sm_.id, shared_from_this());
  state_ = State::bound;
  auth_timer_.cancel();
  negotiation_.reset();
  queue_ += "<resumed xmlns='urn:xmpp:sm:3' previd='" + sm_.id + "' h='" + std::to_string(sm_.h_in) + "'/>";
  // XEP-0198 §5: send again what the client did not acknowledge.
  for (const auto& stanza : sm_.unacked) {
    queue_ += stanza;
  }
  sm_.r_pending = !sm_.unacked.empty();
  if (sm_.r_pending) {
    sm_.sent_at_r = sm_.acked + static_cast<std::uint32_t>(sm_.unacked.size());
    queue_ += "<r xmlns='urn:xmpp:sm:3'/>";
  }
  start_write_loop();
  spdlog::info("c2s: {} resumed", jid_->full());
}

asio::awaitable<void> ClientSession::resume_timeout() {
  auto self = shared_from_this();
  if (state_ != State::hibernating) {
    co_return;
  }
  spdlog::debug("c2s: {} was not resumed in time", jid_->full());
  state_ = State::closed;
  co_await end_session();
}

asio::awaitable<void> ClientSession::end_session() {
  auto self = shared_from_this();
  if (session_ended_ || !jid_) {
    co_return;
  }
  session_ended_ = true;
  if (sm_.resumable) {
    service_.unregister_resumable(sm_.id);
  }
  co_await service_.router().session_ended(self);
  // XEP-0198 §5 / RFC 6121 §8.5.3.2.1: what the client never acknowledged may not have
  // arrived. Messages go back to the router for the now resourceless JID, which hands them to
  // another resource or to offline storage; nothing is dropped.
  auto unacked = std::move(sm_.unacked);
  sm_ = SmState{};
  for (const auto& data : unacked) {
    auto stanza = core::xml::parse_element(data, ns::client);
    if (!stanza || stanza->name() != "message") {
      continue;
    }
    const auto type = stanza->attribute("type").value_or("normal");
    if (type == "error" || type == "groupchat" || type == "headline") {
      continue;
    }
    stanza->set_attribute("to", std::string(jid_->bare_string()));
    const std::string id(stanza->attribute("id").value_or(""));
    if (co_await service_.router().route(std::move(*stanza)) == Disposition::not_stored) {
      // Its sender was acknowledged when it reached this session; with storage down there is
      // nowhere left to keep it. Loud, so that an operator sees what an outage cost.
      spdlog::error("c2s: {}: a message the client never acknowledged (id '{}') could not be stored and is lost",
                    jid_->full(), id);
    }
  }
}

// Member coroutines rather than coroutine lambdas: GCC 12 corrupts the by-value parameters
// of lambda coroutines.
asio::awaitable<void> ClientSession::sasl_refuse(SaslFailure failure, std::string text) {
  auto& neg = *negotiation_;
  neg.scram.reset();
  neg.awaiting_client_first = neg.awaiting_final = false;
  if (failure == SaslFailure::not_authorized) {
    // RFC 6120 §6.4.5 leaves the delay to us; it slows down password guessing.
    ++neg.failures;
    service_.auth_failed(remote_ip_);
    asio::steady_timer delay(socket_.get_executor(), std::chrono::milliseconds(400 * neg.failures));
    co_await delay.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (failure == SaslFailure::unsupported_channel_binding && text.empty()) {
    text = "unsupported channel-binding type";
  }
  co_await write_now(sasl_failure(failure, text));
  if (neg.failures >= max_auth_failures) {
    fail(stream_errc::policy_violation, "too many failed authentication attempts");
  }
}

asio::awaitable<boost::system::result<storage::ScramCredentials>>
ClientSession::lookup_credentials(std::string user, std::string mechanism) {
  auto& db = service_.router().storage();
  auto job13 = [&db, user = std::move(user), mechanism = std::move(mechanism)] { return db.users().get_credentials(user, mechanism); };
  co_return co_await service_.router().workers().run(std::move(job13));
}

asio::awaitable<void> ClientSession::handle_bind(Element iq) {
  const Element* bind = iq.child("bind", ns::bind);
  const std::string_view type = iq.attribute("type").value_or("");

  if (bind == nullptr || type != "set") {
    // RFC 6120 §7.1: only binding is possible before a resource is bound.
    if (type == "get" || type == "set") {
      co_await write_now(core::xml::serialize(core::stanza::make_error(iq, core::stanza::stanza_errc::not_authorized), ns::client));
    }
    co_return;
  }
  std::string resource;
  if (const Element* r = bind->child("resource", ns::bind)) {
    resource = std::string(r->text());
  }
  if (resource.empty()) {
    resource = "parley-" + random_id().substr(0, 12);
  }
  auto jid = core::jid::Jid::make(username_, stream_to_, resource);
  if (!jid) {
    // RFC 6120 §7.7.2.1
    co_await write_now(core::xml::serialize(core::stanza::make_error(iq, core::stanza::stanza_errc::bad_request), ns::client));
    co_return;
  }
  jid_ = *jid;
  auto self = shared_from_this();
  if (auto replaced = service_.router().sessions().bind(self)) {
    // RFC 6120 §7.7.2.2: the newer session wins; the older one ends with <conflict/>.
    replaced->close(stream_errc::conflict);
  }
  state_ = State::bound;
  auth_timer_.cancel();
  negotiation_.reset();
  auto result = core::stanza::make_result(iq);
  result.remove_attribute("to");
  result.add_child(Element("bind", std::string(ns::bind)))
      .add_child(Element("jid", std::string(ns::bind)))
      .add_text(jid_->full());
  queue_ += core::xml::serialize(result, ns::client);
  start_write_loop();
  spdlog::info("c2s: {} bound", jid_->full());
}

} // namespace parley::router::c2s
