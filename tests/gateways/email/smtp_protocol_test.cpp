#include "gateways/email/smtp_protocol.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace parley::gateways::email;

namespace {

SmtpCommand parsed(std::string_view line) {
  auto result = parse_command(line);
  REQUIRE_MESSAGE(result.has_value(), (std::string(line) + " -> " + (result ? "" : result.error().to_wire())));
  return *result;
}

/// "501 5.1.3" for a line that fails, "" for one that parses.
std::string error_of(std::string_view line) {
  const auto result = parse_command(line);
  if (result) {
    return "";
  }
  return std::to_string(result.error().code) + " " + result.error().enhanced;
}

/// Feeds `wire` to a DataReader in pieces of `chunk` bytes; the message, or "TOO LARGE".
std::string read_data(std::string_view wire, std::size_t chunk, std::size_t max = 1 << 20,
                      std::size_t* consumed = nullptr) {
  DataReader testling(max);
  std::size_t used = 0;
  while (used < wire.size() && !testling.done()) {
    const auto piece = wire.substr(used, chunk);
    const auto n = testling.feed(piece);
    REQUIRE(n <= piece.size());
    used += n;
    if (n < piece.size()) {
      REQUIRE(testling.done());
    }
  }
  if (consumed != nullptr) {
    *consumed = used;
  }
  REQUIRE(testling.done());
  return testling.too_large() ? "TOO LARGE" : testling.take();
}

} // namespace

TEST_CASE("SmtpReply: wire form") {
  CHECK(SmtpReply{250, "2.1.0", "Ok", {}}.to_wire() == "250 2.1.0 Ok\r\n");
  CHECK(SmtpReply{354, "", "Go ahead", {}}.to_wire() == "354 Go ahead\r\n");
  CHECK(SmtpReply{250, "", "mx.example", {"PIPELINING", "SIZE 100"}}.to_wire() ==
        "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n");
  CHECK(SmtpReply{214, "2.0.0", "a", {"b"}}.to_wire() == "214-2.0.0 a\r\n214 2.0.0 b\r\n");
  CHECK(SmtpReply{250, "", "", {}}.to_wire() == "250\r\n");
  // No reply can smuggle a second one in.
  CHECK(SmtpReply{550, "5.1.1", "no\r\n250 ok", {}}.to_wire() == "550 5.1.1 no  250 ok\r\n");
}

TEST_CASE("parse_command: verbs in any case, unknown verbs") {
  CHECK(parsed("NOOP").verb == SmtpVerb::noop);
  CHECK(parsed("noop").verb == SmtpVerb::noop);
  CHECK(parsed("QuIt").verb == SmtpVerb::quit);
  CHECK(parsed("RSET  ").verb == SmtpVerb::rset);
  CHECK(parsed("STARTTLS").verb == SmtpVerb::starttls);
  CHECK(parsed("AUTH PLAIN AGFsaWNlAHNlY3JldA==").verb == SmtpVerb::auth);
  CHECK(parsed("BDAT 100 LAST").verb == SmtpVerb::bdat);
  CHECK(parsed("HELP").verb == SmtpVerb::help);
  CHECK(parsed("HELP MAIL").argument == "MAIL");
  const auto unknown = parsed("XYZZY plugh");
  CHECK(unknown.verb == SmtpVerb::unknown);
  CHECK(unknown.argument == "XYZZY plugh");
  CHECK(parsed("MAILX FROM:<a@b>").verb == SmtpVerb::unknown);
}

TEST_CASE("parse_command: greetings") {
  const auto ehlo = parsed("EHLO client.example.org");
  CHECK(ehlo.verb == SmtpVerb::ehlo);
  CHECK(ehlo.argument == "client.example.org");
  CHECK(parsed("LHLO [127.0.0.1]").verb == SmtpVerb::lhlo);
  CHECK(parsed("helo x").verb == SmtpVerb::helo);
  CHECK(error_of("EHLO") == "501 5.5.4");
  CHECK(error_of("LHLO   ") == "501 5.5.4");
}

TEST_CASE("parse_command: syntax errors and line length") {
  CHECK(error_of("") == "500 5.5.2");
  CHECK(error_of("   ") == "500 5.5.2");
  CHECK(error_of(std::string_view("NOOP\0x", 6)) == "500 5.5.2");
  CHECK(error_of("NOOP\rRSET") == "500 5.5.2");
  CHECK(error_of("DATA now") == "501 5.5.4");
  CHECK(error_of("QUIT please") == "501 5.5.4");
  CHECK(error_of("VRFY") == "501 5.5.4");
  const std::string longest = "NOOP " + std::string(max_command_line - 5, 'x');
  CHECK(error_of(longest).empty());
  CHECK(error_of(longest + "x") == "500 5.5.6");
}

TEST_CASE("parse_command: MAIL FROM paths") {
  const auto mail = parsed("MAIL FROM:<Bob@Example.ORG>");
  CHECK(mail.verb == SmtpVerb::mail);
  CHECK(mail.address == "Bob@example.org"); // only the domain is case-insensitive
  CHECK(mail.params.empty());

  CHECK(parsed("MAIL FROM:<>").address.empty());
  CHECK(parsed("mail from:<a@b.c>").address == "a@b.c");
  // Lenient forms that clients send.
  CHECK(parsed("MAIL FROM: <a@b.c>").address == "a@b.c");
  CHECK(parsed("MAIL FROM:a@b.c").address == "a@b.c");
  CHECK(parsed("MAIL FROM:a@b.c SIZE=10").param("SIZE") != nullptr);
  CHECK(parsed("MAIL FROM:<first..last@b.c>").address == "first..last@b.c");
  // Source routes are dropped (RFC 5321 appendix C).
  CHECK(parsed("MAIL FROM:<@relay.one,@Relay.Two:user@D.example>").address == "user@d.example");
  CHECK(parsed("MAIL FROM:<a@[192.0.2.1]>").address == "a@[192.0.2.1]");
  CHECK(parsed("MAIL FROM:<a@[IPv6:2001:DB8::1]>").address == "a@[ipv6:2001:db8::1]");
  // RFC 6531 addresses.
  CHECK(parsed("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc\x63her.example> SMTPUTF8").address ==
        "j\xc3\xb6rg@b\xc3\xbc\x63her.example");

  CHECK(error_of("MAIL") == "501 5.5.4");
  CHECK(error_of("MAIL TO:<a@b>") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<a@b>x") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<ab>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<a@>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<@b.c>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<a@b..c>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<a@b.c.>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<a b@c>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<a@b c>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<a@[1.2.3.4>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<@relay:>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<@relay a@b>") == "501 5.1.3");
  CHECK(error_of("MAIL FROM:<@,@x:a@b>") == "501 5.1.3");
}

TEST_CASE("parse_command: quoted local parts") {
  // A quoted local part that is a plain dot-string is that dot-string (RFC 5321 §4.1.2).
  CHECK(parsed("RCPT TO:<\"alice\"@example.org>").address == "alice@example.org");
  CHECK(parsed("RCPT TO:<\"a.b\"@example.org>").address == "a.b@example.org");
  CHECK(parsed("RCPT TO:<\"john doe\"@example.org>").address == "\"john doe\"@example.org");
  CHECK(parsed("RCPT TO:<\"a>b\"@example.org>").address == "\"a>b\"@example.org");
  CHECK(parsed("RCPT TO:<\"a\\\"b\"@example.org>").address == "\"a\\\"b\"@example.org");
  CHECK(parsed("RCPT TO:<\"a\\x\"@example.org>").address == "ax@example.org");
  CHECK(error_of("RCPT TO:<\"alice@example.org>") == "501 5.1.3");
  CHECK(error_of("RCPT TO:<\"alice\"example.org>") == "501 5.1.3");
  CHECK(error_of("RCPT TO:<\"alice\\") == "501 5.1.3");
  CHECK(error_of("RCPT TO:\"a\\") == "501 5.1.3");
}

TEST_CASE("parse_command: RCPT TO") {
  const auto rcpt = parsed("RCPT TO:<alice@Mail.Example.COM>");
  CHECK(rcpt.verb == SmtpVerb::rcpt);
  CHECK(rcpt.address == "alice@mail.example.com");
  CHECK(parsed("RCPT TO:<Postmaster>").address == "postmaster");
  CHECK(parsed("rcpt to: alice@x").address == "alice@x");
  CHECK(error_of("RCPT TO:<>") == "501 5.1.3");
  CHECK(error_of("RCPT FROM:<a@b>") == "501 5.5.4");
  // DSN is not advertised, so its parameters are unknown here.
  CHECK(error_of("RCPT TO:<a@b> NOTIFY=NEVER") == "555 5.5.4");
  CHECK(error_of("RCPT TO:<a@b> SIZE=10") == "555 5.5.4");
}

TEST_CASE("parse_command: ESMTP parameters") {
  const auto mail = parsed("MAIL FROM:<a@b> size=1000  body=8bitmime SMTPUTF8");
  REQUIRE(mail.params.size() == 3);
  CHECK(mail.params[0] == std::pair<std::string, std::string>{"SIZE", "1000"});
  CHECK(mail.params[1] == std::pair<std::string, std::string>{"BODY", "8bitmime"});
  CHECK(mail.params[2] == std::pair<std::string, std::string>{"SMTPUTF8", ""});
  CHECK(*mail.param("SIZE") == "1000");
  CHECK(mail.param("RET") == nullptr);
  CHECK(parsed("MAIL FROM:<> BODY=7BIT").params.size() == 1);

  CHECK(error_of("MAIL FROM:<a@b> SIZE") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> SIZE=") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> SIZE=12x") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> SIZE=123456789012345678901") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> SIZE=1 SIZE=2") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> BODY=BINARYMIME") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> SMTPUTF8=yes") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> =x") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> A_B=1") == "501 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> RET=HDRS") == "555 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> AUTH=<>") == "555 5.5.4");
  CHECK(error_of("MAIL FROM:<a@b> X-FOO") == "555 5.5.4");
}

TEST_CASE("DataReader: a message and its terminator") {
  std::size_t consumed = 0;
  const std::string wire = "Subject: hi\r\n\r\nHello\r\n.\r\n";
  CHECK(read_data(wire, wire.size(), 1 << 20, &consumed) == "Subject: hi\r\n\r\nHello\r\n");
  CHECK(consumed == wire.size());
  CHECK(read_data(".\r\n", 100) == "");
  CHECK(read_data("\r\n.\r\n", 100) == "\r\n");
}

TEST_CASE("DataReader: dot-stuffing is removed") {
  CHECK(read_data("..\r\n.\r\n", 100) == ".\r\n");
  CHECK(read_data("a\r\n..b\r\n...\r\n.x\r\n.\r\n", 100) == "a\r\n.b\r\n..\r\nx\r\n");
  // A dot in the middle of a line, or after a bare CR, is content.
  CHECK(read_data("a.b\r\nc\r.d\r\n.\r\n", 100) == "a.b\r\nc\r.d\r\n");
  // ".\r" without LF: the dot is stuffing, the CR content.
  CHECK(read_data(".\rx\r\n.\r\n", 100) == "\rx\r\n");
  CHECK(read_data(".\r\r\n.\r\n", 100) == "\r\r\n");
}

TEST_CASE("DataReader: the terminator split across feeds") {
  const std::string wire = "line one\r\n..two\r\nthree\r\n.\r\n";
  const std::string message = "line one\r\n.two\r\nthree\r\n";
  for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    CAPTURE(chunk);
    std::size_t consumed = 0;
    CHECK(read_data(wire, chunk, 1 << 20, &consumed) == message);
    CHECK(consumed == wire.size());
  }
}

TEST_CASE("DataReader: bare LF line ends") {
  CHECK(read_data("a\n..b\n.\n", 1) == "a\n.b\n");
  CHECK(read_data("a\n.\n", 100) == "a\n");
  CHECK(read_data(".\n", 100) == "");
  // Mixed: the terminator may end with either.
  CHECK(read_data("a\r\n.\n", 100) == "a\r\n");
  CHECK(read_data("a\n.\r\n", 100) == "a\n");
}

TEST_CASE("DataReader: pipelined bytes after the terminator stay with the caller") {
  DataReader testling(1000);
  const std::string wire = "body\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n";
  const auto n = testling.feed(wire);
  CHECK(testling.done());
  CHECK(wire.substr(n) == "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
  CHECK(testling.feed("more") == 0);
  CHECK(testling.take() == "body\r\n");
}

TEST_CASE("DataReader: oversized messages are read to the end and dropped") {
  DataReader testling(10);
  CHECK(testling.feed("0123456789") == 10);
  CHECK_FALSE(testling.too_large());
  CHECK(testling.feed("\r\n") == 2);
  CHECK(testling.too_large());
  CHECK_FALSE(testling.done());
  const std::string rest = std::string(100000, 'x') + "\r\n.\r\nQUIT\r\n";
  const auto n = testling.feed(rest);
  CHECK(testling.done());
  CHECK(rest.substr(n) == "QUIT\r\n");
  CHECK(testling.too_large());
  CHECK(testling.size() == 100014);
  CHECK(testling.take().empty());

  CHECK(read_data("0123456789\r\n.\r\n", 3, 12) == "0123456789\r\n");
  CHECK(read_data("0123456789\r\n.\r\n", 3, 11) == "TOO LARGE");
}
