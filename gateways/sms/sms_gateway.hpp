#pragma once
// The SMS gateway (kind "sms"): contacts are phone numbers in E.164 (+15551234567@domain).
// Messages to them go out as SMS from the sender's registered number through a provider;
// SMS to a registered number come in as chat messages to its owners; delivery reports become
// XEP-0184 receipts or message errors.

#include "gateways/gateway.hpp"

#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace parley::gateways::sms {

/// The plugin for one [[gateway]] of kind "sms", with the provider its settings name. Fails
/// with a message for a default_country this build does not know, or a provider secret whose
/// environment variable is not set.
///
/// What it keeps in storage (every backend):
/// - RegistrationStore: who owns which number on this domain (the admin API assigns them);
///   the sender's first number (by address) is the From of what they send. accept() reads a
///   copy kept in memory, re-read by reload() and every 30 seconds.
/// - SeenStore scopes, per domain: "sms-out:DOMAIN" (outbox key -> correlation) and
///   "sms-sid:DOMAIN" (provider id -> correlation), the correlation being
///   "outbox item id\nstanza id\nsender JID\ncontact JID"; "sms-in:DOMAIN" (provider id and
///   owner of a delivered inbound SMS) and "sms-status:DOMAIN" (provider id and status of a
///   handled delivery report), for deduplication.
/// - The outbox timeline of each message: "provider-id" (the provider's id, once accepted;
///   "accepted" for providers that give none) and "status" (each delivery report).
boost::system::result<std::unique_ptr<Gateway>, std::string> make_sms_gateway(const config::GatewayConfig& settings);

} // namespace parley::gateways::sms
