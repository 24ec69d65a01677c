#pragma once
// The JSON a hook receives for an XMPP message, and how its reply is read. Pure functions:
// no I/O, no clock, no state; any thread may call them.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace parley::gateways::webhook {

// ---- Outbound webhook schema (README copy starts here) -----------------------------------
//
// A message sent to NAME@webhook.example.com is POSTed to the hook's URL with
// `Content-Type: application/json` and this body:
//
//     {
//       "id": "a1b2c3",                        // the stanza id (stable across retries)
//       "from": "alice@example.com",           // the sender's bare JID
//       "to": "deploy@webhook.example.com",    // the hook's address
//       "body": "ship it",                     // the message text (<body/>)
//       "subject": "release",                  // only when the message has a <subject/>
//       "thread": "thread-7",                  // only when the message has a <thread/>
//       "timestamp": "2026-11-24T03:37:00Z",   // when the server received it, RFC 3339, UTC
//       "type": "chat"                         // chat, normal, headline or groupchat
//     }
//
// Members appear in this order; consumers must ignore members they do not know, as more
// may be added. Every string is UTF-8.
//
// Replying: a 2xx response whose body is a JSON object with a non-blank string "reply"
// (or, failing that, "text", then "body") is sent back to the sender as a message from the
// hook's address, e.g. `{"reply": "deploying 1.4.2"}`. Any other 2xx body (empty, text,
// other JSON) means no reply and is not an error. Replies longer than 16 KiB are cut.
//
// ---- (README copy ends here) -------------------------------------------------------------

/// One message for a hook. Views into the caller's strings, which must outlive the call.
struct OutboundMessage {
  std::string_view id;      ///< the stanza's id
  std::string_view from;    ///< the sender's bare JID
  std::string_view to;      ///< the hook's JID, NAME@domain
  std::string_view body;    ///< the <body/> text
  std::string_view subject; ///< empty: the member is left out
  std::string_view thread;  ///< empty: the member is left out
  std::string_view type;    ///< the stanza's type; empty becomes "normal" (RFC 6121 §5.2.2)
  std::chrono::system_clock::time_point timestamp;
};

/// The JSON body for `message`, compact, members in the documented order. Bytes that are
/// not UTF-8 are written as U+FFFD, so this never throws for any input.
std::string outbound_payload(const OutboundMessage& message);

/// `time` in RFC 3339 as UTC with whole seconds, "2026-11-24T03:37:00Z" (rounded down).
/// Any time that `system_clock` represents (with libstdc++, 1678 to 2262) is in range.
std::string rfc3339_utc(std::chrono::system_clock::time_point time);

/// The reply text in a hook's response body (see the schema above), cut to 16 KiB with "…";
/// `std::nullopt` when the body holds no reply. Never throws for any input.
std::optional<std::string> parse_reply(std::string_view body);

} // namespace parley::gateways::webhook
