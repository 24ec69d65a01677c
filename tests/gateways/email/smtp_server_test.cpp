#include "gateways/email/smtp_server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// The listener on loopback, driven by a blocking POSIX client in the test thread while two
// threads run the io_context (so the connection strands matter).
//
// Replies are named before they are returned from a coroutine: GCC 12 destroys a braced
// temporary in a co_await expression twice.

using namespace parley::gateways::email;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::string local_part(const std::string& address) { return address.substr(0, address.find('@')); }

/// Accepts recipients whose local part starts with "alice" (550 for the others) and stores
/// every message, except for "alice-full" whose mailbox is full (452 after DATA).
class RecordingHandler final : public MailHandler {
public:
  asio::awaitable<SmtpReply> check_recipient(std::string address) override {
    SmtpReply reply;
    if (local_part(address).rfind("alice", 0) == 0) {
      reply = SmtpReply{250, "2.1.5", "Ok", {}};
    } else {
      reply = SmtpReply{550, "5.1.1", "No such user here", {}};
    }
    co_return reply;
  }

  asio::awaitable<std::vector<SmtpReply>> deliver(MailEnvelope envelope, std::string data) override {
    std::vector<SmtpReply> replies;
    for (const auto& recipient : envelope.recipients) {
      if (local_part(recipient) == "alice-full") {
        replies.push_back(SmtpReply{452, "4.2.2", "Mailbox full", {}});
      } else {
        replies.push_back(SmtpReply{250, "2.0.0", "Delivered to " + recipient, {}});
      }
    }
    const std::lock_guard lock(mutex);
    envelopes.push_back(std::move(envelope));
    messages.push_back(std::move(data));
    co_return replies;
  }

  std::mutex mutex;
  std::vector<MailEnvelope> envelopes;
  std::vector<std::string> messages;
};

/// Storage is down: every recipient gets 452.
class StorageDownHandler final : public MailHandler {
public:
  asio::awaitable<SmtpReply> check_recipient(std::string) override {
    SmtpReply reply{452, "4.3.0", "Storage unavailable", {}};
    co_return reply;
  }
  asio::awaitable<std::vector<SmtpReply>> deliver(MailEnvelope, std::string) override {
    throw std::logic_error("no recipient was accepted");
  }
};

/// Throws: for "boom@..." at RCPT, and for every delivery.
class ThrowingHandler final : public MailHandler {
public:
  asio::awaitable<SmtpReply> check_recipient(std::string address) override {
    if (local_part(address) == "boom") {
      throw std::runtime_error("recipient lookup exploded");
    }
    SmtpReply reply{250, "2.1.5", "Ok", {}};
    co_return reply;
  }
  asio::awaitable<std::vector<SmtpReply>> deliver(MailEnvelope, std::string) override {
    throw std::runtime_error("disk on fire");
  }
};

/// Answers one reply too few, with a code that is no code.
class SloppyHandler final : public MailHandler {
public:
  asio::awaitable<SmtpReply> check_recipient(std::string) override {
    SmtpReply reply{250, "", "fine", {}};
    co_return reply;
  }
  asio::awaitable<std::vector<SmtpReply>> deliver(MailEnvelope, std::string) override {
    std::vector<SmtpReply> replies{SmtpReply{99, "", "what", {}}};
    co_return replies;
  }
};

/// Shutting down: 421 to everything.
class ClosingHandler final : public MailHandler {
public:
  asio::awaitable<SmtpReply> check_recipient(std::string) override {
    SmtpReply reply{421, "4.3.2", "Shutting down", {}};
    co_return reply;
  }
  asio::awaitable<std::vector<SmtpReply>> deliver(MailEnvelope, std::string) override {
    throw std::logic_error("no recipient was accepted");
  }
};

/// The listener under test with an io_context run by two threads.
class Server {
public:
  Server(MailListenerOptions options, std::shared_ptr<MailHandler> handler) {
    testling = MailListener::create(io, std::move(options), std::move(handler));
    const auto listening = testling->listen();
    REQUIRE_MESSAGE(listening.has_value(), (listening ? "" : listening.error()));
    REQUIRE(testling->port() != 0);
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([this] { io.run(); });
    }
    finished = std::async(std::launch::async, [this] {
      for (auto& thread : threads) {
        thread.join();
      }
    });
  }
  ~Server() { finish(); }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Stops the listener; true if the io_context then runs out of work by itself.
  bool finish() {
    if (done) {
      return true;
    }
    done = true;
    testling->stop();
    if (finished.wait_for(10s) == std::future_status::ready) {
      return true;
    }
    io.stop();
    finished.wait();
    return false;
  }

  asio::io_context io;
  std::shared_ptr<MailListener> testling;

private:
  std::vector<std::thread> threads;
  std::future<void> finished;
  bool done = false;
};

/// A blocking client on loopback; every read gives up after 5 s.
class Client {
public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      REQUIRE(n > 0);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// One whole reply, every line with its CRLF; "" if none came.
  std::string reply() {
    std::string result;
    for (;;) {
      const auto end = buffer_.find("\r\n");
      if (end == std::string::npos) {
        if (!fill()) {
          return result;
        }
        continue;
      }
      const std::string line = buffer_.substr(0, end + 2);
      buffer_.erase(0, end + 2);
      result += line;
      if (line.size() < 6 || line[3] != '-') {
        return result;
      }
    }
  }

  /// The first line of the next reply without CRLF: "250 2.1.0 Ok".
  std::string line() {
    const auto whole = reply();
    return whole.substr(0, whole.find("\r\n"));
  }

  /// The code and enhanced code of the next reply: "250 2.1.0" (or "354").
  std::string code() {
    const auto first = line();
    return first.substr(0, first.size() > 4 && first[4] >= '2' && first[4] <= '5' ? 9 : 3);
  }

  /// True when the server has closed the connection and sent nothing more.
  bool closed() {
    if (!buffer_.empty()) {
      return false;
    }
    char c = 0;
    const auto n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

private:
  bool fill() {
    char chunk[4096];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

MailListenerOptions lmtp_options() {
  MailListenerOptions options;
  options.dialect = MailDialect::lmtp;
  options.hostname = "mx.test";
  return options;
}

MailListenerOptions smtp_options() {
  auto options = lmtp_options();
  options.dialect = MailDialect::smtp;
  return options;
}

} // namespace

TEST_CASE("mail listener: LMTP greeting and LHLO capabilities") {
  auto handler = std::make_shared<RecordingHandler>();
  Server server(lmtp_options(), handler);
  Client client(server.testling->port());
  CHECK(client.line() == "220 mx.test LMTP Parley");

  client.send("EHLO client\r\n");
  CHECK(client.code() == "500 5.5.1");
  client.send("HELO client\r\n");
  CHECK(client.code() == "500 5.5.1");
  client.send("MAIL FROM:<a@b>\r\n");
  CHECK(client.code() == "503 5.5.1"); // no LHLO yet

  client.send("LHLO client.test\r\n");
  CHECK(client.reply() == "250-mx.test\r\n"
                          "250-PIPELINING\r\n"
                          "250-8BITMIME\r\n"
                          "250-ENHANCEDSTATUSCODES\r\n"
                          "250-SIZE 10485760\r\n"
                          "250 SMTPUTF8\r\n");
  client.send("NOOP\r\n");
  CHECK(client.line() == "250 2.0.0 Ok");
  client.send("VRFY alice\r\n");
  CHECK(client.code() == "252 2.5.2");
  client.send("HELP\r\n");
  CHECK(client.code() == "214 2.0.0");
  client.send("STARTTLS\r\n");
  CHECK(client.code() == "502 5.5.1");
  client.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
  CHECK(client.code() == "502 5.5.1");
  client.send("XYZZY\r\n");
  CHECK(client.code() == "500 5.5.2");
  client.send("QUIT\r\n");
  CHECK(client.line() == "221 2.0.0 mx.test closing connection");
  CHECK(client.closed());
  CHECK(server.finish());
}

TEST_CASE("mail listener: LMTP answers each recipient after DATA") {
  auto handler = std::make_shared<RecordingHandler>();
  Server server(lmtp_options(), handler);
  Client client(server.testling->port());
  CHECK(client.code() == "220");
  client.send("LHLO client.test\r\n");
  client.reply();

  client.send("RCPT TO:<alice@example.org>\r\n");
  CHECK(client.code() == "503 5.5.1"); // RCPT before MAIL
  client.send("DATA\r\n");
  CHECK(client.code() == "503 5.5.1");

  client.send("MAIL FROM:<sender@Remote.Example> BODY=8BITMIME SIZE=100\r\n");
  CHECK(client.line() == "250 2.1.0 Ok");
  client.send("MAIL FROM:<other@remote.example>\r\n");
  CHECK(client.code() == "503 5.5.1"); // nested MAIL
  client.send("RCPT TO:<alice@example.org>\r\n");
  CHECK(client.code() == "250 2.1.5");
  client.send("RCPT TO:<bob@example.org>\r\n");
  CHECK(client.line() == "550 5.1.1 No such user here");
  client.send("RCPT TO:<alice-full@example.org>\r\n");
  CHECK(client.code() == "250 2.1.5");
  client.send("RCPT TO:<\"alice\"@Example.ORG>\r\n");
  CHECK(client.code() == "250 2.1.5");
  client.send("DATA\r\n");
  CHECK(client.code() == "354");
  client.send("Subject: test\r\n\r\n..dotted\r\nplain\r\n.\r\n");
  CHECK(client.line() == "250 2.0.0 Delivered to alice@example.org");
  CHECK(client.line() == "452 4.2.2 Mailbox full");
  CHECK(client.line() == "250 2.0.0 Delivered to alice@example.org");

  // The transaction is over: a new one needs MAIL.
  client.send("RCPT TO:<alice@example.org>\r\n");
  CHECK(client.code() == "503 5.5.1");
  // All recipients refused: DATA is out of sequence in LMTP.
  client.send("MAIL FROM:<>\r\n");
  CHECK(client.code() == "250 2.1.0");
  client.send("RCPT TO:<bob@example.org>\r\n");
  CHECK(client.code() == "550 5.1.1");
  client.send("DATA\r\n");
  CHECK(client.code() == "503 5.5.1");
  client.send("RSET\r\n");
  CHECK(client.code() == "250 2.0.0");
  client.send("QUIT\r\n");
  CHECK(client.code() == "221 2.0.0");
  CHECK(server.finish());

  const std::lock_guard lock(handler->mutex);
  REQUIRE(handler->envelopes.size() == 1);
  const auto& envelope = handler->envelopes[0];
  CHECK(envelope.helo == "client.test");
  CHECK(envelope.mail_from == "sender@remote.example");
  CHECK(envelope.recipients ==
        std::vector<std::string>{"alice@example.org", "alice-full@example.org", "alice@example.org"});
  CHECK(envelope.remote.rfind("127.0.0.1:", 0) == 0);
  CHECK(handler->messages[0] == "Subject: test\r\n\r\n.dotted\r\nplain\r\n");
}

TEST_CASE("mail listener: SMTP takes one recipient per transaction") {
  auto handler = std::make_shared<RecordingHandler>();
  Server server(smtp_options(), handler);
  Client client(server.testling->port());
  CHECK(client.line() == "220 mx.test ESMTP Parley");
  client.send("LHLO client.test\r\n");
  CHECK(client.code() == "500 5.5.1");
  client.send("EHLO client.test\r\n");
  CHECK(client.reply().find("250 SMTPUTF8\r\n") != std::string::npos);

  client.send("MAIL FROM:<sender@remote.example>\r\n");
  CHECK(client.code() == "250 2.1.0");
  client.send("RCPT TO:<bob@example.org>\r\n");
  CHECK(client.code() == "550 5.1.1"); // a refused one does not count
  client.send("RCPT TO:<alice@example.org>\r\n");
  CHECK(client.code() == "250 2.1.5");
  client.send("RCPT TO:<alice2@example.org>\r\n");
  CHECK(client.line() == "452 4.5.3 Too many recipients");
  client.send("DATA\r\n");
  CHECK(client.code() == "354");
  client.send("Hello\r\n.\r\n");
  CHECK(client.line() == "250 2.0.0 Delivered to alice@example.org");

  // The second recipient, in the next transaction.
  client.send("MAIL FROM:<sender@remote.example>\r\n");
  CHECK(client.code() == "250 2.1.0");
  client.send("RCPT TO:<alice2@example.org>\r\n");
  CHECK(client.code() == "250 2.1.5");
  client.send("DATA\r\n");
  CHECK(client.code() == "354");
  client.send("Hello\r\n.\r\n");
  CHECK(client.line() == "250 2.0.0 Delivered to alice2@example.org");

  // No valid recipient: SMTP with PIPELINING says 554 (RFC 2920 §3.1).
  client.send("MAIL FROM:<sender@remote.example>\r\n");
  client.reply();
  client.send("RCPT TO:<bob@example.org>\r\n");
  client.reply();
  client.send("DATA\r\n");
  CHECK(client.code() == "554 5.5.1");
  // HELO works in SMTP, and resets the transaction.
  client.send("HELO other.test\r\n");
  CHECK(client.line() == "250 mx.test");
  client.send("RCPT TO:<alice@example.org>\r\n");
  CHECK(client.code() == "503 5.5.1");
  CHECK(server.finish());

  const std::lock_guard lock(handler->mutex);
  REQUIRE(handler->envelopes.size() == 2);
  CHECK(handler->envelopes[0].recipients == std::vector<std::string>{"alice@example.org"});
  CHECK(handler->envelopes[1].recipients == std::vector<std::string>{"alice2@example.org"});
}

TEST_CASE("mail listener: pipelined commands in one write") {
  auto handler = std::make_shared<RecordingHandler>();
  Server server(lmtp_options(), handler);
  Client client(server.testling->port());
  client.reply();
  // Everything at once, two messages and QUIT; the replies come in order.
  client.send("LHLO c\r\nMAIL FROM:<s@r>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<nobody@x>\r\nRCPT TO:<alice-full@x>\r\n"
              "DATA\r\nfirst\r\n.\r\n"
              "MAIL FROM:<s@r>\r\nRCPT TO:<alice@x>\r\nDATA\r\nsecond\n.\nNOOP\r\nQUIT\r\n");
  CHECK(client.reply().find("250 SMTPUTF8") != std::string::npos);
  CHECK(client.code() == "250 2.1.0");
  CHECK(client.code() == "250 2.1.5");
  CHECK(client.code() == "550 5.1.1");
  CHECK(client.code() == "250 2.1.5");
  CHECK(client.code() == "354");
  CHECK(client.code() == "250 2.0.0");
  CHECK(client.code() == "452 4.2.2");
  CHECK(client.code() == "250 2.1.0");
  CHECK(client.code() == "250 2.1.5");
  CHECK(client.code() == "354");
  CHECK(client.code() == "250 2.0.0");
  CHECK(client.code() == "250 2.0.0");
  CHECK(client.code() == "221 2.0.0");
  CHECK(client.closed());
  CHECK(server.finish());

  const std::lock_guard lock(handler->mutex);
  CHECK(handler->messages == std::vector<std::string>{"first\r\n", "second\n"});
}

TEST_CASE("mail listener: messages over the size limit get 552") {
  auto handler = std::make_shared<RecordingHandler>();
  auto options = lmtp_options();
  options.max_message_bytes = 100;
  Server server(options, handler);
  Client client(server.testling->port());
  client.reply();
  client.send("LHLO c\r\n");
  CHECK(client.reply().find("250-SIZE 100\r\n") != std::string::npos);
  client.send("MAIL FROM:<s@r> SIZE=101\r\n");
  CHECK(client.code() == "552 5.3.4");
  client.send("MAIL FROM:<s@r> SIZE=99999999999999999999\r\n");
  CHECK(client.code() == "552 5.3.4");
  client.send("MAIL FROM:<s@r> SIZE=100\r\n");
  CHECK(client.code() == "250 2.1.0");
  client.send("RCPT TO:<alice@x>\r\nRCPT TO:<alice2@x>\r\nDATA\r\n");
  CHECK(client.code() == "250 2.1.5");
  CHECK(client.code() == "250 2.1.5");
  CHECK(client.code() == "354");
  // The whole message is read (in many pieces), then refused once per recipient.
  const std::string line(78, 'x');
  for (int i = 0; i < 2000; ++i) {
    client.send(line + "\r\n");
  }
  client.send(".\r\nNOOP\r\n");
  CHECK(client.code() == "552 5.3.4");
  CHECK(client.code() == "552 5.3.4");
  CHECK(client.code() == "250 2.0.0"); // the NOOP after it
  CHECK(server.finish());
  const std::lock_guard lock(handler->mutex);
  CHECK(handler->messages.empty());
}

TEST_CASE("mail listener: idle timeout") {
  auto options = lmtp_options();
  options.idle_timeout = 1s;
  Server server(options, std::make_shared<RecordingHandler>());
  Client client(server.testling->port());
  CHECK(client.code() == "220");
  client.send("LHLO c\r\n");
  client.reply();
  const auto started = std::chrono::steady_clock::now();
  CHECK(client.line() == "421 4.4.2 mx.test timeout");
  CHECK(std::chrono::steady_clock::now() - started >= 900ms);
  CHECK(client.closed());

  // Also in the middle of DATA.
  Client slow(server.testling->port());
  slow.reply();
  slow.send("LHLO c\r\nMAIL FROM:<s@r>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
  for (int i = 0; i < 4; ++i) {
    slow.reply();
  }
  slow.send("half a mess");
  CHECK(slow.code() == "421 4.4.2");
  CHECK(slow.closed());
  CHECK(server.finish());
}

TEST_CASE("mail listener: lines that are too long") {
  Server server(lmtp_options(), std::make_shared<RecordingHandler>());
  Client client(server.testling->port());
  client.reply();
  client.send("NOOP " + std::string(600, 'x') + "\r\nNOOP\r\n");
  CHECK(client.code() == "500 5.5.6");
  CHECK(client.code() == "250 2.0.0");
  // Far longer than any buffer, in many writes: discarded up to its end, one reply.
  client.send("MAIL FROM:<");
  for (int i = 0; i < 100; ++i) {
    client.send(std::string(1000, 'y'));
  }
  client.send(">\r\nNOOP\r\n");
  CHECK(client.code() == "500 5.5.6");
  CHECK(client.code() == "250 2.0.0");
  // The greatest allowed length still works.
  client.send("NOOP " + std::string(max_command_line - 5, 'z') + "\r\n");
  CHECK(client.code() == "250 2.0.0");
  CHECK(server.finish());
}

TEST_CASE("mail listener: too many bad commands") {
  Server server(lmtp_options(), std::make_shared<RecordingHandler>());
  Client client(server.testling->port());
  client.reply();
  std::string junk;
  for (int i = 0; i < 11; ++i) {
    junk += "BOGUS\r\n";
  }
  client.send(junk + "NOOP\r\n");
  for (int i = 0; i < 11; ++i) {
    CHECK(client.code() == "500 5.5.2");
  }
  CHECK(client.code() == "421 4.7.0");
  CHECK(client.closed());
  CHECK(server.finish());
}

TEST_CASE("mail listener: storage down and failing handlers") {
  SUBCASE("452 from the handler") {
    Server server(lmtp_options(), std::make_shared<StorageDownHandler>());
    Client client(server.testling->port());
    client.reply();
    client.send("LHLO c\r\nMAIL FROM:<s@r>\r\nRCPT TO:<alice@x>\r\nDATA\r\n");
    client.reply();
    CHECK(client.code() == "250 2.1.0");
    CHECK(client.line() == "452 4.3.0 Storage unavailable");
    CHECK(client.code() == "503 5.5.1");
    CHECK(server.finish());
  }
  SUBCASE("421 from the handler closes the connection") {
    Server server(lmtp_options(), std::make_shared<ClosingHandler>());
    Client client(server.testling->port());
    client.reply();
    client.send("LHLO c\r\nMAIL FROM:<s@r>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<alice2@x>\r\n");
    client.reply();
    CHECK(client.code() == "250 2.1.0");
    CHECK(client.line() == "421 4.3.2 Shutting down");
    CHECK(client.closed());
    CHECK(server.finish());
  }
  SUBCASE("exceptions become 451") {
    Server server(lmtp_options(), std::make_shared<ThrowingHandler>());
    Client client(server.testling->port());
    client.reply();
    client.send("LHLO c\r\nMAIL FROM:<s@r>\r\nRCPT TO:<boom@x>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
    client.reply();
    CHECK(client.code() == "250 2.1.0");
    CHECK(client.code() == "451 4.3.0");
    CHECK(client.code() == "250 2.1.5");
    CHECK(client.code() == "250 2.1.5");
    CHECK(client.code() == "354");
    client.send("x\r\n.\r\n");
    CHECK(client.code() == "451 4.3.0");
    CHECK(client.code() == "451 4.3.0");
    // The connection lives on.
    client.send("NOOP\r\n");
    CHECK(client.code() == "250 2.0.0");
    CHECK(server.finish());
  }
  SUBCASE("missing and malformed replies") {
    Server server(lmtp_options(), std::make_shared<SloppyHandler>());
    Client client(server.testling->port());
    client.reply();
    client.send("LHLO c\r\nMAIL FROM:<s@r>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
    client.reply();
    CHECK(client.code() == "250 2.1.0");
    CHECK(client.line() == "250 2.0.0 fine"); // an enhanced code is added
    CHECK(client.code() == "250 2.0.0");
    CHECK(client.code() == "354");
    client.send("x\r\n.\r\n");
    CHECK(client.code() == "451 4.3.0"); // code 99
    CHECK(client.code() == "451 4.3.0"); // no reply at all
    CHECK(server.finish());
  }
}

TEST_CASE("mail listener: connection limit") {
  auto options = lmtp_options();
  options.max_connections = 1;
  Server server(options, std::make_shared<RecordingHandler>());
  Client first(server.testling->port());
  CHECK(first.code() == "220");
  {
    Client second(server.testling->port());
    CHECK(second.line() == "421 4.3.2 mx.test Too many connections, try again later");
    CHECK(second.closed());
  }
  first.send("QUIT\r\n");
  CHECK(first.code() == "221 2.0.0");
  CHECK(first.closed());
  // The slot is free again once the first connection has gone.
  for (int i = 0; i < 100 && server.testling->connections() != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  Client third(server.testling->port());
  CHECK(third.code() == "220");
  CHECK(server.finish());
}

TEST_CASE("mail listener: stop closes open connections") {
  Server server(lmtp_options(), std::make_shared<RecordingHandler>());
  Client idle(server.testling->port());
  CHECK(idle.code() == "220");
  Client in_data(server.testling->port());
  in_data.reply();
  in_data.send("LHLO c\r\nMAIL FROM:<s@r>\r\nRCPT TO:<alice@x>\r\nDATA\r\npart of it\r\n");
  for (int i = 0; i < 4; ++i) {
    in_data.reply();
  }
  CHECK(server.testling->connections() == 2);
  CHECK(server.finish()); // the io_context runs out of work
  CHECK(idle.line() == "421 4.3.2 mx.test Service shutting down, closing connection");
  CHECK(idle.closed());
  CHECK(in_data.code() == "421 4.3.2");
  CHECK(in_data.closed());
  server.testling->stop(); // idempotent
}

TEST_CASE("mail listener: listen names the address on failure") {
  asio::io_context io;
  auto options = lmtp_options();
  options.address = "not an address";
  auto testling = MailListener::create(io, options, std::make_shared<RecordingHandler>());
  const auto listening = testling->listen();
  REQUIRE_FALSE(listening.has_value());
  CHECK(listening.error().find("not an address") != std::string::npos);

  auto taken = MailListener::create(io, lmtp_options(), std::make_shared<RecordingHandler>());
  REQUIRE(taken->listen().has_value());
  auto options2 = lmtp_options();
  options2.port = taken->port();
  auto second = MailListener::create(io, options2, std::make_shared<RecordingHandler>());
  const auto again = second->listen();
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().find("127.0.0.1:" + std::to_string(taken->port())) != std::string::npos);
  taken->stop();
  second->stop();
  testling->stop();
  io.run();
}
