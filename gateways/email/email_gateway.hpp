#pragma once
// The email gateway (kind "email"): contacts are mail addresses escaped into a JID localpart
// (XEP-0106: bob\40example.org@mail.example.com). A user's message goes out as an RFC 5322
// mail through the configured smarthost (SMTP, libcurl); mail for the users comes in over
// LMTP (or SMTP) from the MTA and becomes a chat message; bounces (RFC 3464) become message
// errors to the sender of the mail that bounced.

#include "gateways/gateway.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace parley::gateways::email {

/// The plugin for one [[gateway]] of kind "email". Fails with a message when the smarthost's
/// password variable is not set.
///
/// What it keeps in storage (every backend), in SeenStore scopes per domain:
/// - "email-sent:DOMAIN": Message-ID of each mail sent -> "outbox item\nstanza id\nsender
///   JID\ncontact JID", to turn a bounce into an error to the right sender;
/// - "email-thread:DOMAIN": Message-ID (sent or received) -> XMPP thread id;
/// - "email-root:DOMAIN": thread id -> "root Message-ID\nSubject", for In-Reply-To,
///   References and "Re:" of replies from XMPP;
/// - "email-in:DOMAIN": "Message-ID\nowner" of mail delivered, so that a mail the MTA sends
///   again (a lost 250) is not delivered twice.
/// Users' addresses: [[gateway.user]], then registrations assigned through the admin API
/// (RegistrationStore, domain = the gateway's), then USER@address_domain (recipients =
/// "localpart").
boost::system::result<std::unique_ptr<Gateway>, std::string> make_email_gateway(const config::GatewayConfig& settings);

} // namespace parley::gateways::email
