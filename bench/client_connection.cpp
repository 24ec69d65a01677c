#include "bench/client_connection.hpp"

#include "core/sasl/crypto.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

namespace parley::bench {

namespace asio = boost::asio;
namespace crypto = core::sasl::crypto;
using tcp = asio::ip::tcp;
using core::sasl::ScramHash;

namespace {

constexpr std::string_view ns_tls = "urn:ietf:params:xml:ns:xmpp-tls";
constexpr std::string_view ns_sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
constexpr std::size_t read_chunk = 4096;

/// An attribute value copied into a new tag with quotes it cannot contain unescaped.
void append_attribute(std::string& out, std::string_view name, std::string_view raw_value) {
  const char quote = raw_value.find('\'') == std::string_view::npos ? '\'' : '"';
  out += ' ';
  out += name;
  out += '=';
  out += quote;
  out += raw_value;
  out += quote;
}

std::string sasl_auth(std::string_view mechanism, std::string_view initial_response) {
  std::string out = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='";
  out += mechanism;
  out += "'>";
  // RFC 6120 §6.4.2: an empty initial response is sent as "=".
  out += initial_response.empty() ? std::string("=") : crypto::base64_encode(initial_response);
  out += "</auth>";
  return out;
}

/// The condition of a SASL <failure/> or a <stream:error/>: the name of its first child.
std::string condition_of(std::string_view element) {
  const std::size_t open_end = element.find('>');
  if (open_end == std::string_view::npos || element[open_end - 1] == '/') {
    return "(no condition)";
  }
  const std::string_view child = element.substr(open_end + 1);
  const std::string_view name = element_name(child);
  return name.empty() ? std::string("(no condition)") : std::string(name);
}

/// The decoded base64 text of a SASL element (RFC 6120 §6.4.2: "=" or nothing is empty).
boost::system::result<std::string, core::Failure> sasl_payload(std::string_view element) {
  const std::size_t open_end = element.find('>');
  const std::size_t close = element.rfind("</");
  if (open_end == std::string_view::npos || element[open_end - 1] == '/' || close == std::string_view::npos ||
      close < open_end) {
    return {boost::system::in_place_value, std::string()};
  }
  const std::string_view text = element.substr(open_end + 1, close - open_end - 1);
  if (text.empty() || text == "=") {
    return {boost::system::in_place_value, std::string()};
  }
  return crypto::base64_decode(text);
}

} // namespace

std::shared_ptr<ClientConnection> ClientConnection::create(ClientEnvironment& env, std::size_t index,
                                                           std::string username) {
  return std::shared_ptr<ClientConnection>(new ClientConnection(env, index, std::move(username)));
}

ClientConnection::ClientConnection(ClientEnvironment& env, std::size_t index, std::string username)
    : env_(env), index_(index), username_(std::move(username)), socket_(env.io), login_timer_(env.io), wake_(env.io) {}

tcp::socket& ClientConnection::lowest_layer() {
  return tls_ ? tls_->next_layer() : socket_;
}

bool ClientConnection::fail(std::string why) {
  if (error_.empty()) {
    error_ = timed_out_ ? "login timed out (" + why + ")" : std::move(why);
  }
  return false;
}

void ClientConnection::abort() {
  boost::system::error_code ignored;
  auto& sock = lowest_layer();
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.close(ignored);
  wake_.cancel();
}

// ---- login ---------------------------------------------------------------------------------

asio::awaitable<bool> ClientConnection::login(ClientListener& listener) {
  auto self = shared_from_this();
  listener_ = &listener;
  state_ = State::logging_in;
  started_ = Clock::now();
  login_timer_.expires_after(env_.login_timeout);
  login_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto s = weak.lock();
    if (!ec && s && s->state_ == State::logging_in) {
      s->timed_out_ = true;
      s->abort();
    }
  });
  const bool ok = co_await negotiate();
  login_timer_.cancel();
  if (!ok) {
    state_ = State::closed;
    abort();
    co_return false;
  }
  state_ = State::ready;
  timings_.ready = Clock::now() - started_;
  asio::co_spawn(env_.io, read_loop(), asio::detached);
  asio::co_spawn(env_.io, write_loop(), asio::detached);
  co_return true;
}

asio::awaitable<bool> ClientConnection::negotiate() {
  auto [ec] = co_await socket_.async_connect(env_.endpoint, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return fail("connect: " + ec.message());
  }
  timings_.connected = Clock::now() - started_;
  boost::system::error_code ignored;
  // Nagle would hold back small stanzas behind the peer's delayed ACKs.
  socket_.set_option(tcp::no_delay(true), ignored);

  if (!co_await open_stream()) {
    co_return false;
  }
  if (env_.tls != nullptr) {
    if (!co_await starttls()) {
      co_return false;
    }
    timings_.secured = Clock::now() - started_;
  } else if (const auto pos = detail::find_start_tag(features_, "starttls", 0);
             pos != std::string_view::npos && has_child(std::string_view(features_).substr(pos), "required")) {
    co_return fail("the server requires STARTTLS (use --tls)");
  }
  if (!co_await authenticate()) {
    co_return false;
  }
  timings_.authenticated = Clock::now() - started_;
  if (!co_await bind_resource()) {
    co_return false;
  }
  timings_.bound = Clock::now() - started_;
  co_return co_await roster_and_presence();
}

asio::awaitable<bool> ClientConnection::open_stream() {
  scanner_.reset();
  std::string header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                       "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='";
  header += xml_escape(env_.domain);
  header += "'>";
  if (!co_await write_all(std::move(header))) {
    co_return false;
  }
  for (;;) {
    const Event ev = scanner_.next();
    if (ev.kind == StanzaScanner::Kind::header) {
      break;
    }
    if (ev.kind != StanzaScanner::Kind::none) {
      co_return fail("no stream header from the server");
    }
    boost::system::error_code ec;
    co_await read_some(ec);
    if (ec) {
      co_return fail("read while waiting for the stream header: " + ec.message());
    }
  }
  features_ = co_await next_element("stream features");
  if (features_.empty()) {
    co_return false;
  }
  if (element_name(features_) != "stream:features") {
    co_return fail("expected stream features, got <" + std::string(element_name(features_)) + ">");
  }
  co_return true;
}

asio::awaitable<bool> ClientConnection::starttls() {
  if (detail::find_start_tag(features_, "starttls", 0) == std::string_view::npos) {
    co_return fail("the server does not offer STARTTLS");
  }
  if (!co_await write_all("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")) {
    co_return false;
  }
  const std::string reply = co_await next_element("STARTTLS proceed");
  if (reply.empty()) {
    co_return false;
  }
  if (element_name(reply) != "proceed" || attribute(reply, "xmlns") != ns_tls) {
    co_return fail("STARTTLS refused");
  }
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket_), *env_.tls);
  // SNI, as real clients send it (RFC 6125 §6.4.2 / RFC 7590).
  SSL_set_tlsext_host_name(tls_->native_handle(), env_.domain.c_str());
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return fail("TLS handshake: " + ec.message());
  }
  co_return co_await open_stream();
}

asio::awaitable<bool> ClientConnection::authenticate() {
  bool scram256 = false;
  bool scram1 = false;
  bool plain = false;
  for_each_child_text(features_, "mechanism", [&](std::string_view m) {
    scram256 = scram256 || m == "SCRAM-SHA-256";
    scram1 = scram1 || m == "SCRAM-SHA-1";
    plain = plain || m == "PLAIN";
  });
  Mechanism chosen = env_.mechanism;
  if (chosen == Mechanism::automatic) {
    chosen = scram256 ? Mechanism::scram_sha_256
             : scram1 ? Mechanism::scram_sha_1
             : plain  ? Mechanism::plain
                      : Mechanism::automatic;
    if (chosen == Mechanism::automatic) {
      co_return fail("the server offers none of SCRAM-SHA-256, SCRAM-SHA-1, PLAIN");
    }
  }
  const bool offered = (chosen == Mechanism::scram_sha_256 && scram256) ||
                       (chosen == Mechanism::scram_sha_1 && scram1) || (chosen == Mechanism::plain && plain);
  if (!offered) {
    co_return fail(std::string(to_string(chosen)) + " is not offered");
  }
  mechanism_ = to_string(chosen);
  bool ok = false;
  if (chosen == Mechanism::plain) {
    ok = co_await authenticate_plain();
  } else {
    ok = co_await authenticate_scram(chosen == Mechanism::scram_sha_1 ? ScramHash::sha1 : ScramHash::sha256);
  }
  if (!ok) {
    co_return false;
  }
  co_return co_await open_stream();
}

asio::awaitable<bool> ClientConnection::authenticate_scram(ScramHash hash) {
  ScramClient scram(hash, username_, env_.password, env_.salted);
  if (!co_await write_all(sasl_auth(mechanism_, scram.first_message()))) {
    co_return false;
  }
  const std::string challenge = co_await next_element("SASL challenge");
  if (challenge.empty()) {
    co_return false;
  }
  if (element_name(challenge) == "failure") {
    co_return fail("SASL failure: " + condition_of(challenge));
  }
  if (element_name(challenge) != "challenge" || attribute(challenge, "xmlns") != ns_sasl) {
    co_return fail("expected a SASL challenge, got <" + std::string(element_name(challenge)) + ">");
  }
  auto server_first = sasl_payload(challenge);
  if (!server_first) {
    co_return fail("SASL challenge is not base64");
  }
  auto final_message = scram.final_message(*server_first);
  if (!final_message) {
    co_return fail("SCRAM: " + final_message.error().message);
  }
  std::string response = "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
  response += crypto::base64_encode(*final_message);
  response += "</response>";
  if (!co_await write_all(std::move(response))) {
    co_return false;
  }
  const std::optional<std::string> outcome = co_await sasl_success();
  if (!outcome) {
    co_return false;
  }
  std::string server_final;
  if (auto decoded = sasl_payload(*outcome)) {
    server_final = std::move(*decoded);
  }
  // RFC 6120 §6.4.6: the additional data carries server-final-message; without it the
  // client cannot check the server, so a benchmark that trusts it would hide a bug.
  if (!scram.verify_server_final(server_final)) {
    co_return fail("SCRAM: server signature missing or wrong");
  }
  co_return true;
}

asio::awaitable<std::optional<std::string>> ClientConnection::sasl_success() {
  std::string outcome = co_await next_element("SASL outcome");
  if (outcome.empty()) {
    co_return std::nullopt;
  }
  if (element_name(outcome) == "failure") {
    fail("SASL failure: " + condition_of(outcome));
    co_return std::nullopt;
  }
  if (element_name(outcome) != "success") {
    fail("expected SASL success, got <" + std::string(element_name(outcome)) + ">");
    co_return std::nullopt;
  }
  co_return outcome;
}

asio::awaitable<bool> ClientConnection::authenticate_plain() {
  std::string message;
  message += '\0';
  message += username_;
  message += '\0';
  message += env_.password;
  if (!co_await write_all(sasl_auth("PLAIN", message))) {
    co_return false;
  }
  co_return (co_await sasl_success()).has_value();
}

asio::awaitable<bool> ClientConnection::bind_resource() {
  if (detail::find_start_tag(features_, "bind", 0) == std::string_view::npos) {
    co_return fail("no resource binding offered");
  }
  std::string iq = "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>";
  iq += xml_escape(env_.resource);
  iq += "</resource></bind></iq>";
  if (!co_await write_all(std::move(iq))) {
    co_return false;
  }
  for (;;) {
    const std::string reply = co_await next_element("bind result");
    if (reply.empty()) {
      co_return false;
    }
    if (element_name(reply) != "iq" || attribute(reply, "id") != "bind1") {
      continue;
    }
    if (attribute(reply, "type") != "result") {
      co_return fail("bind refused");
    }
    full_jid_ = std::string(child_text(reply, "jid"));
    if (full_jid_.empty()) {
      co_return fail("bind result without a JID");
    }
    break;
  }
  // RFC 3921 §3 sessions: only for servers that still insist (no <optional/>).
  const std::size_t session = detail::find_start_tag(features_, "session", 0);
  if (session != std::string_view::npos && !has_child(std::string_view(features_).substr(session), "optional")) {
    if (!co_await write_all("<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")) {
      co_return false;
    }
    for (;;) {
      const std::string reply = co_await next_element("session result");
      if (reply.empty()) {
        co_return false;
      }
      if (element_name(reply) == "iq" && attribute(reply, "id") == "sess1") {
        if (attribute(reply, "type") != "result") {
          co_return fail("session establishment refused");
        }
        break;
      }
    }
  }
  co_return true;
}

asio::awaitable<bool> ClientConnection::roster_and_presence() {
  // Both go out together, as clients do; the roster answer comes first (RFC 6121 §2.2).
  if (!co_await write_all("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq><presence/>")) {
    co_return false;
  }
  bool roster = false;
  bool echoed = false;
  while (!roster || !echoed) {
    const std::string stanza = co_await next_element(roster ? "own presence" : "roster");
    if (stanza.empty()) {
      co_return false;
    }
    const std::string_view name = element_name(stanza);
    if (name == "iq" && attribute(stanza, "id") == "roster1") {
      if (attribute(stanza, "type") != "result") {
        co_return fail("roster get refused");
      }
      roster = true;
    } else if (name == "presence" && attribute(stanza, "from") == full_jid_ && !attribute(stanza, "type")) {
      // RFC 6121 §4.2.2: initial presence is also sent to the resource that sent it.
      echoed = true;
    } else if (name == "iq") {
      answer_iq(stanza);
    } else if (name == "message") {
      // Offline messages are sent on initial presence (RFC 6121 §8.5.2.2.1, XEP-0160) and may
      // come before the echo.
      dispatch(stanza);
    } else if (name == "stream:error") {
      co_return fail("stream error: " + condition_of(stanza));
    }
  }
  co_return true;
}

// ---- transport -----------------------------------------------------------------------------

asio::awaitable<std::string> ClientConnection::next_element(std::string_view waiting_for) {
  for (;;) {
    const Event ev = scanner_.next();
    switch (ev.kind) {
    case StanzaScanner::Kind::element:
      if (element_name(ev.text) == "stream:error") {
        fail("stream error while waiting for " + std::string(waiting_for) + ": " + condition_of(ev.text));
        co_return std::string();
      }
      co_return std::string(ev.text);
    case StanzaScanner::Kind::close:
      fail("server closed the stream while waiting for " + std::string(waiting_for));
      co_return std::string();
    case StanzaScanner::Kind::error:
      fail("unparsable input while waiting for " + std::string(waiting_for));
      co_return std::string();
    case StanzaScanner::Kind::header:
      fail("unexpected stream header while waiting for " + std::string(waiting_for));
      co_return std::string();
    case StanzaScanner::Kind::none: break;
    }
    boost::system::error_code ec;
    co_await read_some(ec);
    if (ec) {
      fail("read while waiting for " + std::string(waiting_for) + ": " + ec.message());
      co_return std::string();
    }
  }
}

asio::awaitable<std::size_t> ClientConnection::read_some(boost::system::error_code& ec) {
  const auto buffer = asio::buffer(scanner_.prepare(read_chunk), read_chunk);
  std::size_t n = 0;
  if (tls_) {
    std::tie(ec, n) = co_await tls_->async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
  } else {
    std::tie(ec, n) = co_await socket_.async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
  }
  scanner_.commit(n);
  co_return n;
}

asio::awaitable<bool> ClientConnection::write_all(std::string data) {
  boost::system::error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(*tls_, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(socket_, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
  }
  if (ec) {
    co_return fail("write: " + ec.message());
  }
  co_return true;
}

// ---- session -------------------------------------------------------------------------------

void ClientConnection::send(std::string_view stanza) {
  if (state_ != State::ready) {
    return;
  }
  queue_ += stanza;
  wake_.cancel();
}

void ClientConnection::close() {
  if (state_ != State::ready) {
    return;
  }
  queue_ += "</stream:stream>";
  state_ = State::closing;
  wake_.cancel();
}

asio::awaitable<void> ClientConnection::write_loop() {
  auto self = shared_from_this();
  while (state_ == State::ready || state_ == State::closing) {
    if (queue_.empty()) {
      wake_.expires_at(Clock::time_point::max());
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    writing_.swap(queue_);
    queue_.clear();
    boost::system::error_code ec;
    if (tls_) {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(*tls_, asio::buffer(writing_), asio::as_tuple(asio::use_awaitable));
    } else {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(socket_, asio::buffer(writing_), asio::as_tuple(asio::use_awaitable));
    }
    writing_.clear();
    if (ec) {
      break;
    }
  }
}

asio::awaitable<void> ClientConnection::read_loop() {
  auto self = shared_from_this();
  std::string why = "closed";
  for (;;) {
    const Event ev = scanner_.next();
    if (ev.kind == StanzaScanner::Kind::element) {
      if (!dispatch(ev.text)) {
        why = "stream error: " + condition_of(ev.text);
        break;
      }
      continue;
    }
    if (ev.kind == StanzaScanner::Kind::close) {
      why = state_ == State::closing ? "closed" : "server closed the stream";
      break;
    }
    if (ev.kind != StanzaScanner::Kind::none) {
      why = "unparsable input from the server";
      break;
    }
    boost::system::error_code ec;
    co_await read_some(ec);
    if (ec) {
      why = state_ == State::closing ? "closed" : "read: " + ec.message();
      break;
    }
  }
  end_session(why);
}

void ClientConnection::end_session(std::string_view why) {
  const bool was_open = state_ == State::ready || state_ == State::closing;
  state_ = State::closed;
  abort();
  queue_ = std::string();
  if (was_open && listener_ != nullptr) {
    listener_->on_session_end(index_, why);
  }
}

bool ClientConnection::dispatch(std::string_view element) {
  const std::string_view name = element_name(element);
  if (name == "message") {
    if (attribute(element, "type") == "error") {
      listener_->on_error_stanza(index_, element);
    } else if (has_child(element, "body")) {
      listener_->on_message(index_, child_text(element, "body"));
    }
  } else if (name == "iq") {
    const auto type = attribute(element, "type");
    if (type == "get" || type == "set") {
      answer_iq(element);
    } else if (type == "result" || type == "error") {
      if (type == "error") {
        listener_->on_error_stanza(index_, element);
      }
      listener_->on_iq_response(index_, attribute(element, "id").value_or(std::string_view()), type == "error");
    }
  } else if (name == "presence") {
    if (attribute(element, "type") == "error") {
      listener_->on_error_stanza(index_, element);
    }
  } else if (name == "stream:error") {
    return false;
  }
  return true;
}

void ClientConnection::answer_iq(std::string_view iq) {
  // Pings (XEP-0199) and roster pushes (RFC 6121 §2.1.6) both want an empty result.
  std::string reply = "<iq type='result'";
  if (const auto id = attribute(iq, "id")) {
    append_attribute(reply, "id", *id);
  }
  if (const auto from = attribute(iq, "from")) {
    append_attribute(reply, "to", *from);
  }
  reply += "/>";
  if (state_ == State::ready) {
    send(reply);
  } else {
    // During login: the write loop sends it once it starts.
    queue_ += reply;
  }
}

} // namespace parley::bench
