#pragma once
// The stanzas of the SMS gateway: what a user's message becomes on the way out (text and
// XEP-0066 media URLs), and what inbound SMS, delivery reports and failures become on the way
// in. Pure functions; any thread.

#include "core/xml/element.hpp"
#include "gateways/sms/provider.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace parley::gateways::sms {

/// The namespace of the gateway's own error detail: <delivery-failed xmlns='urn:parley:sms:0'
/// status='undelivered' code='30003' provider='twilio'/> inside a message's <error/>.
inline constexpr std::string_view sms_error_ns = "urn:parley:sms:0";

/// What to send for a message a user wrote to a number.
struct OutboundContent {
  std::string body;
  /// XEP-0066 <x xmlns='jabber:x:oob'><url/></x> URLs (http and https only), to send as MMS.
  std::vector<std::string> media_urls;
};

/// The body and the out-of-band URLs of `message`. A body that is nothing but OOB URLs of the
/// message (the URL of the file, as Conversations sends a shared file) is not sent as text
/// too: the media go alone.
OutboundContent outbound_content(const core::xml::Element& message);

/// The chat message an inbound SMS becomes: from `from` (+E164@domain) to `to` (an owner's
/// bare JID) with id `id`; each media URL as XEP-0066 OOB and on a line of the body too, so
/// that clients without OOB show it. A body that would be empty is the first URL alone.
core::xml::Element inbound_message(const InboundSms& sms, std::string_view from, std::string_view to,
                                   std::string_view id);

/// XEP-0184: <message from to id><received xmlns='urn:xmpp:receipts' id='received_id'/></message>.
core::xml::Element receipt_message(std::string_view from, std::string_view to, std::string_view id,
                                   std::string_view received_id);

/// The error that tells the sender of `original` (the message as the user sent it: id, from,
/// to and payload) that the provider `provider` could not deliver it: a message of type
/// error, service-unavailable (cancel), a text with the status and the provider's code, and
/// <delivery-failed xmlns='urn:parley:sms:0'/> carrying them.
core::xml::Element failure_message(const core::xml::Element& original, std::string_view provider,
                                   const DeliveryReport& report);

} // namespace parley::gateways::sms
