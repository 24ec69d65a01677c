#pragma once
// XML namespace names used by XMPP. Compare element namespaces against these, never against
// prefixes: the parser resolves every prefix to its namespace name.

#include <string_view>

namespace parley::core::xml::ns {

// XML itself (Namespaces in XML 1.0 §3): bound by definition, never declared.
inline constexpr std::string_view xml = "http://www.w3.org/XML/1998/namespace";
inline constexpr std::string_view xmlns = "http://www.w3.org/2000/xmlns/";

// RFC 6120 streams and their content namespaces.
inline constexpr std::string_view streams = "http://etherx.jabber.org/streams";
inline constexpr std::string_view client = "jabber:client";
inline constexpr std::string_view server = "jabber:server";
inline constexpr std::string_view component_accept = "jabber:component:accept"; // XEP-0114
inline constexpr std::string_view dialback = "jabber:server:dialback";          // XEP-0220
inline constexpr std::string_view dialback_feature = "urn:xmpp:features:dialback";

// RFC 6120 errors and stream negotiation.
inline constexpr std::string_view stream_errors = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr std::string_view stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view tls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view bind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view session = "urn:ietf:params:xml:ns:xmpp-session"; // RFC 3921
inline constexpr std::string_view sm = "urn:xmpp:sm:3";                            // XEP-0198
inline constexpr std::string_view csi = "urn:xmpp:csi:0";                          // XEP-0352
inline constexpr std::string_view register_feature = "http://jabber.org/features/iq-register";

// RFC 6121 roster and presence.
inline constexpr std::string_view roster = "jabber:iq:roster";
inline constexpr std::string_view roster_ver_feature = "urn:xmpp:features:rosterver";
inline constexpr std::string_view pre_approval_feature = "urn:xmpp:features:pre-approval";

// Service discovery and friends.
inline constexpr std::string_view disco_info = "http://jabber.org/protocol/disco#info"; // XEP-0030
inline constexpr std::string_view disco_items = "http://jabber.org/protocol/disco#items";
inline constexpr std::string_view caps = "http://jabber.org/protocol/caps"; // XEP-0115
inline constexpr std::string_view ping = "urn:xmpp:ping";                   // XEP-0199
inline constexpr std::string_view version = "jabber:iq:version";            // XEP-0092
inline constexpr std::string_view last = "jabber:iq:last";                  // XEP-0012
inline constexpr std::string_view time = "urn:xmpp:time";                   // XEP-0202
inline constexpr std::string_view register_ = "jabber:iq:register";         // XEP-0077
inline constexpr std::string_view private_storage = "jabber:iq:private";    // XEP-0049
inline constexpr std::string_view vcard = "vcard-temp";                     // XEP-0054
inline constexpr std::string_view blocking = "urn:xmpp:blocking";           // XEP-0191
inline constexpr std::string_view data_forms = "jabber:x:data";             // XEP-0004
inline constexpr std::string_view rsm = "http://jabber.org/protocol/rsm";   // XEP-0059

// Messaging.
inline constexpr std::string_view delay = "urn:xmpp:delay";                              // XEP-0203
inline constexpr std::string_view msgoffline = "msgoffline";                             // XEP-0160
inline constexpr std::string_view receipts = "urn:xmpp:receipts";                        // XEP-0184
inline constexpr std::string_view chat_states = "http://jabber.org/protocol/chatstates"; // XEP-0085
inline constexpr std::string_view carbons = "urn:xmpp:carbons:2";                        // XEP-0280
inline constexpr std::string_view forward = "urn:xmpp:forward:0";                        // XEP-0297
inline constexpr std::string_view mam = "urn:xmpp:mam:2";                                // XEP-0313
inline constexpr std::string_view stanza_id = "urn:xmpp:sid:0";                          // XEP-0359
inline constexpr std::string_view oob = "jabber:x:oob";                                  // XEP-0066
inline constexpr std::string_view http_upload = "urn:xmpp:http:upload:0";                // XEP-0363

// Multi-user chat (XEP-0045).
inline constexpr std::string_view muc = "http://jabber.org/protocol/muc";
inline constexpr std::string_view muc_user = "http://jabber.org/protocol/muc#user";
inline constexpr std::string_view muc_admin = "http://jabber.org/protocol/muc#admin";
inline constexpr std::string_view muc_owner = "http://jabber.org/protocol/muc#owner";

// Publish-subscribe (XEP-0060, XEP-0163).
inline constexpr std::string_view pubsub = "http://jabber.org/protocol/pubsub";
inline constexpr std::string_view pubsub_event = "http://jabber.org/protocol/pubsub#event";

} // namespace parley::core::xml::ns
