#include "gateways/email/smtp_client.hpp"

#include "core/sasl/crypto.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace email = parley::gateways::email;
using Outcome = email::SmtpSendResult::Outcome;

namespace {

/// A one-connection SMTP server on 127.0.0.1 that answers from a script and records what the
/// client said. Runs on its own thread; read `commands` and `data` after `finish()`.
class ScriptedSmtpServer {
public:
  struct Script {
    bool greet = true;
    std::vector<std::string> ehlo = {"250-test.example", "250-8BITMIME", "250 SIZE 1000000"};
    std::string mail = "250 2.1.0 Ok";
    std::string rcpt = "250 2.1.5 Ok";
    std::string data = "354 End data with <CR><LF>.<CR><LF>";
    std::string after_data = "250 2.0.0 Ok: queued as 12345";
    std::string plain_credential; ///< the base64 AUTH PLAIN response to accept
  };

  explicit ScriptedSmtpServer(Script script) : script_(std::move(script)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
  }

  ~ScriptedSmtpServer() {
    finish();
    ::close(listener_);
  }

  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

  /// Waits until the client has gone (or the server gave up after 10 s).
  void finish() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  std::vector<std::string> commands;
  std::string data; ///< as received, still dot-stuffed, CRLF line ends, without the final "."

private:
  static constexpr int patience_ms = 10000;

  std::optional<std::string> read_line(int socket) {
    for (;;) {
      if (const std::size_t end = buffer_.find("\r\n"); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return line;
      }
      pollfd ready{socket, POLLIN, 0};
      if (::poll(&ready, 1, patience_ms) <= 0) {
        return std::nullopt;
      }
      char chunk[4096];
      const ssize_t n = ::recv(socket, chunk, sizeof chunk, 0);
      if (n <= 0) {
        return std::nullopt;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  static void reply(int socket, const std::string& lines) {
    const std::string out = lines + "\r\n";
    (void)::send(socket, out.data(), out.size(), MSG_NOSIGNAL);
  }

  void run() {
    pollfd ready{listener_, POLLIN, 0};
    if (::poll(&ready, 1, patience_ms) <= 0) {
      return;
    }
    const int socket = ::accept(listener_, nullptr, nullptr);
    if (socket < 0) {
      return;
    }
    converse(socket);
    ::close(socket);
  }

  void converse(int socket) {
    if (!script_.greet) {
      // Say nothing; wait for the client to give up and close.
      while (read_line(socket)) {
      }
      return;
    }
    reply(socket, "220 test.example ESMTP scripted");
    while (const auto line = read_line(socket)) {
      commands.push_back(*line);
      const std::string verb = line->substr(0, line->find(' '));
      if (verb == "EHLO") {
        std::string lines;
        for (const auto& ehlo : script_.ehlo) {
          lines += (lines.empty() ? "" : "\r\n") + ehlo;
        }
        reply(socket, lines);
      } else if (verb == "HELO") {
        reply(socket, "250 test.example");
      } else if (verb == "AUTH") {
        std::string credential = line->size() > 11 ? line->substr(11) : std::string();
        if (credential.empty()) {
          reply(socket, "334 ");
          const auto answer = read_line(socket);
          if (!answer) {
            return;
          }
          credential = *answer;
        }
        reply(socket, credential == script_.plain_credential ? "235 2.7.0 Authentication successful"
                                                             : "535 5.7.8 Authentication credentials invalid");
      } else if (verb == "MAIL") {
        reply(socket, script_.mail);
      } else if (verb == "RCPT") {
        reply(socket, script_.rcpt);
      } else if (verb == "DATA") {
        reply(socket, script_.data);
        if (!script_.data.starts_with("354")) {
          continue;
        }
        while (const auto text = read_line(socket)) {
          if (*text == ".") {
            break;
          }
          data += *text + "\r\n";
        }
        reply(socket, script_.after_data);
      } else if (verb == "RSET" || verb == "NOOP") {
        reply(socket, "250 2.0.0 Ok");
      } else if (verb == "QUIT") {
        reply(socket, "221 2.0.0 Bye");
        return;
      } else {
        reply(socket, "502 5.5.2 Error: command not recognized");
      }
    }
  }

  Script script_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::string buffer_;
};

/// RFC 5321 §4.5.2: the receiver drops the first '.' of a line that starts with one.
std::string unstuff(const std::string& data) {
  std::string out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t end = data.find("\r\n", pos) + 2;
    const std::size_t skip = data[pos] == '.' ? 1 : 0;
    out += data.substr(pos + skip, end - pos - skip);
    pos = end;
  }
  return out;
}

bool has_command(const std::vector<std::string>& commands, std::string_view prefix) {
  for (const auto& command : commands) {
    if (command.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

email::SmtpClientSettings settings_for(const ScriptedSmtpServer& server) {
  email::SmtpClientSettings settings;
  settings.url = server.url();
  settings.tls = email::SmtpClientSettings::Tls::none;
  settings.helo_name = "parley.test";
  settings.timeout_seconds = 5;
  return settings;
}

/// A port on 127.0.0.1 where nothing listens.
std::uint16_t closed_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(s);
  return ntohs(address.sin_port);
}

const std::string message = "From: alice@example.org\r\n"
                            "To: bob@example.org\r\n"
                            "Subject: dots\r\n"
                            "\r\n"
                            ".\r\n"
                            "..\r\n"
                            ".leading dot\r\n"
                            "normal line\r\n"
                            "\r\n"
                            "end.\r\n";

} // namespace

TEST_CASE("a mail the server accepts is sent, dot-stuffed on the wire") {
  ScriptedSmtpServer server({});
  const auto testling = email::smtp_send(settings_for(server), "alice@example.org", "bob@example.org", message);
  server.finish();
  CHECK(testling.outcome == Outcome::sent);
  CHECK(testling.code == 250);
  CHECK(testling.reply == "250 2.0.0 Ok: queued as 12345");
  CHECK(has_command(server.commands, "EHLO parley.test"));
  CHECK(has_command(server.commands, "MAIL FROM:<alice@example.org>"));
  CHECK(has_command(server.commands, "RCPT TO:<bob@example.org>"));
  CHECK(has_command(server.commands, "QUIT"));
  CHECK_FALSE(has_command(server.commands, "AUTH"));
  CHECK(server.data.find("\r\n..\r\n...\r\n..leading dot\r\n") != std::string::npos);
  CHECK(unstuff(server.data) == message);
}

TEST_CASE("the null sender and a message without final line end") {
  ScriptedSmtpServer server({});
  const auto testling = email::smtp_send(settings_for(server), "", "bob@example.org", "Subject: x\r\n\r\nno end");
  server.finish();
  CHECK(testling.outcome == Outcome::sent);
  CHECK(has_command(server.commands, "MAIL FROM:<>"));
  CHECK(server.data == "Subject: x\r\n\r\nno end\r\n");
}

TEST_CASE("a 550 to RCPT is permanent, with the server's reply") {
  ScriptedSmtpServer::Script script;
  script.rcpt = "550 5.1.1 <bob@example.org>: Recipient address rejected";
  ScriptedSmtpServer server(script);
  const auto testling = email::smtp_send(settings_for(server), "alice@example.org", "bob@example.org", message);
  server.finish();
  CHECK(testling.outcome == Outcome::permanent);
  CHECK(testling.code == 550);
  CHECK(testling.reply == "550 5.1.1 <bob@example.org>: Recipient address rejected");
  CHECK(server.data.empty());
}

TEST_CASE("a multi-line 451 to RCPT is transient, its lines joined") {
  ScriptedSmtpServer::Script script;
  script.rcpt = "451-4.7.1 Greylisted\r\n451 4.7.1 please try again later";
  ScriptedSmtpServer server(script);
  const auto testling = email::smtp_send(settings_for(server), "alice@example.org", "bob@example.org", message);
  server.finish();
  CHECK(testling.outcome == Outcome::transient);
  CHECK(testling.code == 451);
  CHECK(testling.reply == "451 4.7.1 Greylisted 4.7.1 please try again later");
}

TEST_CASE("a 554 after the data is permanent") {
  ScriptedSmtpServer::Script script;
  script.after_data = "554 5.7.1 Message rejected as spam";
  ScriptedSmtpServer server(script);
  const auto testling = email::smtp_send(settings_for(server), "alice@example.org", "bob@example.org", message);
  server.finish();
  CHECK(testling.outcome == Outcome::permanent);
  CHECK(testling.code == 554);
  CHECK(testling.reply == "554 5.7.1 Message rejected as spam");
}

TEST_CASE("a refused connection is transient without a reply code") {
  email::SmtpClientSettings settings;
  settings.url = "smtp://127.0.0.1:" + std::to_string(closed_port());
  settings.tls = email::SmtpClientSettings::Tls::none;
  const auto testling = email::smtp_send(settings, "alice@example.org", "bob@example.org", message);
  CHECK(testling.outcome == Outcome::transient);
  CHECK(testling.code == 0);
  CHECK_FALSE(testling.reply.empty());
  MESSAGE(testling.reply);
}

TEST_CASE("AUTH PLAIN sends the configured credential") {
  ScriptedSmtpServer::Script script;
  script.ehlo = {"250-test.example", "250-AUTH PLAIN", "250 8BITMIME"};
  script.plain_credential = parley::core::sasl::crypto::base64_encode(std::string("\0user\0s3cret", 12));
  SUBCASE("accepted") {
    ScriptedSmtpServer server(script);
    auto settings = settings_for(server);
    settings.username = "user";
    settings.password = "s3cret";
    const auto testling = email::smtp_send(settings, "alice@example.org", "bob@example.org", message);
    server.finish();
    CHECK(testling.outcome == Outcome::sent);
    CHECK(has_command(server.commands, "AUTH PLAIN"));
    CHECK(unstuff(server.data) == message);
  }
  SUBCASE("refused with 535") {
    ScriptedSmtpServer server(script);
    auto settings = settings_for(server);
    settings.username = "user";
    settings.password = "wrong";
    const auto testling = email::smtp_send(settings, "alice@example.org", "bob@example.org", message);
    server.finish();
    CHECK(testling.outcome == Outcome::permanent);
    CHECK(testling.code == 535);
    CHECK(testling.reply == "535 5.7.8 Authentication credentials invalid");
    CHECK_FALSE(has_command(server.commands, "MAIL"));
  }
}

TEST_CASE("a server that never greets times out as transient") {
  ScriptedSmtpServer::Script script;
  script.greet = false;
  ScriptedSmtpServer server(script);
  auto settings = settings_for(server);
  settings.timeout_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  const auto testling = email::smtp_send(settings, "alice@example.org", "bob@example.org", message);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  server.finish();
  CHECK(testling.outcome == Outcome::transient);
  CHECK(testling.code == 0);
  CHECK(elapsed < std::chrono::seconds(4));
  MESSAGE(testling.reply);
}

TEST_CASE("envelope addresses that could smuggle commands are refused before connecting") {
  email::SmtpClientSettings settings;
  settings.url = "smtp://127.0.0.1:" + std::to_string(closed_port());
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"alice@example.org", "bob@example.org\r\nDATA"},
                                 {"alice@example.org>\r\nRCPT TO:<x@y", "bob@example.org"},
                                 {"alice@example.org", ""},
                                 {"alice@example.org", "bob smith@example.org"}}) {
    const auto testling = email::smtp_send(settings, from, to, message);
    CHECK(testling.outcome == Outcome::permanent);
    CHECK(testling.code == 0);
  }
}

TEST_CASE("only SMTP URLs are used") {
  const auto target = std::filesystem::temp_directory_path() / "parley-smtp-client-test-must-not-exist";
  std::filesystem::remove(target);
  email::SmtpClientSettings settings;
  settings.url = "file://" + target.string();
  const auto testling = email::smtp_send(settings, "alice@example.org", "bob@example.org", message);
  CHECK(testling.outcome == Outcome::transient);
  CHECK(testling.code == 0);
  CHECK_FALSE(std::filesystem::exists(target));
}
