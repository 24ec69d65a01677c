#pragma once
// Addresses and stanzas of the email gateway: mail addresses as JIDs (XEP-0106), and what an
// inbound mail or a bounce becomes. Pure functions; any thread.

#include "core/xml/element.hpp"
#include "gateways/email/mail_parse.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace parley::gateways::email {

/// The namespace of the gateway's own payload on inbound messages and errors:
/// <mail xmlns='urn:parley:email:0' message-id='...'/>, <bounce xmlns='urn:parley:email:0'
/// status='5.1.1' recipient='bob@example.org'/>.
inline constexpr std::string_view email_ns = "urn:parley:email:0";

/// A mail address in the form the gateway uses: "local@domain" with the domain lowercased;
/// nullopt for anything else (no '@', empty parts, spaces, control characters, brackets,
/// quotes, over 254 octets).
std::optional<std::string> normalize_address(std::string_view address);

/// What a user typed (XEP-0100 jabber:iq:gateway): "bob@example.org" or
/// "Bob <bob@example.org>", as the normalised address; nullopt if it is none.
std::optional<std::string> address_from_input(std::string_view input);

/// The address a contact's JID localpart stands for (XEP-0106 unescaped), normalised.
std::optional<std::string> address_of_localpart(std::string_view localpart);

/// The JID localpart of an address (XEP-0106 escaped): "bob\40example.org".
std::string localpart_of_address(std::string_view address);

/// The chat message an inbound mail becomes, from `from` (the sender's contact JID) to `to`
/// (a user's bare JID): type chat (normal for automatic mail: Auto-Submitted, Precedence
/// bulk/junk/list, mailing lists, so that nothing answers it automatically), the Subject as
/// <subject/> and as the first line of the body (unless it is a reply's "Re: ..."), the text,
/// the attachments listed by name, type and size, <thread/> and <mail xmlns='urn:parley:email:0'/>
/// with the Message-ID.
core::xml::Element inbound_message(const ParsedMail& mail, std::string_view from, std::string_view to,
                                   std::string_view id, std::string_view thread);

/// Whether mail is automatic (RFC 3834 Auto-Submitted other than "no", Precedence bulk, junk or
/// list, a List-Id): it is delivered, but marked so that nothing answers it.
bool is_automatic(const ParsedMail& mail);

/// The error that tells the sender (`sender`, the JID that sent the message `stanza_id` to
/// `contact`) that the mail bounced: recipient-unavailable (cancel) with the status and the
/// diagnostic, and <bounce xmlns='urn:parley:email:0' status recipient/>.
core::xml::Element bounce_message(std::string_view contact, std::string_view sender, std::string_view stanza_id,
                                  const DeliveryStatus& status);

/// "12 KiB": a size for people.
std::string human_size(std::size_t bytes);

} // namespace parley::gateways::email
