#include "gateways/email/email_stanzas.hpp"

#include "core/xml/namespaces.hpp"

#include <doctest/doctest.h>

namespace email = parley::gateways::email;
namespace ns = parley::core::xml::ns;

TEST_CASE("mail addresses are normalised and escaped into JID localparts") {
  CHECK(email::normalize_address("Bob@Example.ORG") == "Bob@example.org");
  CHECK_FALSE(email::normalize_address("bob"));
  CHECK_FALSE(email::normalize_address("@example.org"));
  CHECK_FALSE(email::normalize_address("bob@"));
  CHECK_FALSE(email::normalize_address("bob smith@example.org"));
  CHECK_FALSE(email::normalize_address("bob@exa..mple.org"));
  CHECK_FALSE(email::normalize_address("<bob@example.org>"));
  CHECK_FALSE(email::normalize_address("bob@example.org\r\nBcc: x@y"));

  CHECK(email::address_from_input("Bob Smith <bob@Example.org>") == "bob@example.org");
  CHECK(email::address_from_input("  mailto:bob@example.org ") == "bob@example.org");
  CHECK_FALSE(email::address_from_input("Bob <bob@example.org"));

  const std::string testling = email::localpart_of_address("bob@example.org");
  CHECK(testling == "bob\\40example.org");
  CHECK(email::address_of_localpart(testling) == "bob@example.org");
  CHECK_FALSE(email::address_of_localpart("bob"));
}

TEST_CASE("an inbound mail becomes a chat message with subject, text, attachments and thread") {
  email::ParsedMail mail;
  mail.subject = "Lunch";
  mail.text = "Shall we meet at noon?";
  mail.message_id = "m1@example.org";
  mail.attachments.push_back({"menu.pdf", "application/pdf", 2048});
  const auto testling = email::inbound_message(mail, "bob\\40example.org@mail.example.com", "alice@example.com",
                                               "mail-1", "m1@example.org");
  CHECK(testling.attribute("type") == "chat");
  CHECK(testling.attribute("from") == "bob\\40example.org@mail.example.com");
  REQUIRE(testling.child("subject", ns::client) != nullptr);
  CHECK(testling.child("subject", ns::client)->text() == "Lunch");
  REQUIRE(testling.child("body", ns::client) != nullptr);
  CHECK(testling.child("body", ns::client)->text() ==
        "Lunch\n\nShall we meet at noon?\n[attachment: menu.pdf, application/pdf, 2 KiB]");
  REQUIRE(testling.child("thread", ns::client) != nullptr);
  CHECK(testling.child("thread", ns::client)->text() == "m1@example.org");
  REQUIRE(testling.child("mail", email::email_ns) != nullptr);
  CHECK(testling.child("mail", email::email_ns)->attribute("message-id") == "m1@example.org");

  SUBCASE("a reply's subject is not repeated in the body") {
    mail.subject = "Re: Lunch";
    mail.attachments.clear();
    const auto reply = email::inbound_message(mail, "b@m", "a@e", "x", "t");
    CHECK(reply.child("body", ns::client)->text() == "Shall we meet at noon?");
  }
  SUBCASE("automatic mail is a normal message, which nothing answers") {
    mail.auto_submitted = "auto-replied";
    CHECK(email::is_automatic(mail));
    CHECK(email::inbound_message(mail, "b@m", "a@e", "x", "t").attribute("type") == "normal");
    mail.auto_submitted = "no";
    CHECK_FALSE(email::is_automatic(mail));
    mail.precedence = "bulk";
    CHECK(email::is_automatic(mail));
  }
  SUBCASE("an empty mail still says something") {
    mail.subject.clear();
    mail.text.clear();
    mail.attachments.clear();
    CHECK(email::inbound_message(mail, "b@m", "a@e", "x", "").child("body", ns::client)->text() == "(empty mail)");
  }
}

TEST_CASE("a bounce becomes a recipient-unavailable error to the sender") {
  email::DeliveryStatus status;
  status.recipient = "nobody@example.org";
  status.action = "failed";
  status.status = "5.1.1";
  status.diagnostic = "550 5.1.1 no such user";
  const auto testling = email::bounce_message("nobody\\40example.org@mail.example.com", "alice@example.com/phone",
                                              "s1", status);
  CHECK(testling.attribute("type") == "error");
  CHECK(testling.attribute("id") == "s1");
  CHECK(testling.attribute("to") == "alice@example.com/phone");
  CHECK(testling.attribute("from") == "nobody\\40example.org@mail.example.com");
  const auto* error = testling.child("error", ns::client);
  REQUIRE(error != nullptr);
  CHECK(error->attribute("type") == "cancel");
  CHECK(error->child("recipient-unavailable", ns::stanzas) != nullptr);
  REQUIRE(error->child("text", ns::stanzas) != nullptr);
  CHECK(error->child("text", ns::stanzas)->text().find("5.1.1") != std::string::npos);
  REQUIRE(error->child("bounce", email::email_ns) != nullptr);
  CHECK(error->child("bounce", email::email_ns)->attribute("status") == "5.1.1");
}
