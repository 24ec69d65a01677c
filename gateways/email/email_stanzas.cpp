#include "gateways/email/email_stanzas.hpp"

#include "core/jid/escaping.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"

#include <algorithm>
#include <cstdio>

namespace parley::gateways::email {

namespace ns = core::xml::ns;
using core::xml::Element;

namespace {

Element text_element(std::string name, std::string_view ns_name, std::string_view text) {
  Element e(std::move(name), std::string(ns_name));
  e.add_text(text);
  return e;
}

bool starts_with_reply_prefix(std::string_view subject) {
  // "Re:", "RE:", "Aw:", "Sv:", "Fwd:" mark a subject carried over from an earlier mail.
  static constexpr std::string_view prefixes[] = {"re:", "aw:", "sv:", "fwd:", "fw:", "wg:"};
  std::string head(subject.substr(0, 4));
  std::transform(head.begin(), head.end(), head.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return std::any_of(std::begin(prefixes), std::end(prefixes),
                     [&](std::string_view p) { return std::string_view(head).starts_with(p); });
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return out;
}

} // namespace

std::optional<std::string> normalize_address(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size() || address.size() > 254 ||
      at > 64) {
    return std::nullopt;
  }
  const bool bad = std::any_of(address.begin(), address.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= ' ' || u == 0x7f || c == '<' || c == '>' || c == '"' || c == '(' || c == ')' || c == ',' ||
           c == ';' || c == '\\' || c == '[' || c == ']' || c == ':';
  });
  if (bad) {
    return std::nullopt;
  }
  const std::string_view domain = address.substr(at + 1);
  if (domain.find('@') != std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(address.substr(0, at + 1)) + lower(domain);
}

std::optional<std::string> address_from_input(std::string_view input) {
  const auto open = input.rfind('<');
  if (open != std::string_view::npos) {
    const auto close = input.find('>', open);
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    input = input.substr(open + 1, close - open - 1);
  }
  const auto first = input.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return std::nullopt;
  }
  input = input.substr(first, input.find_last_not_of(" \t\r\n") - first + 1);
  if (input.starts_with("mailto:")) {
    input.remove_prefix(7);
  }
  return normalize_address(input);
}

std::optional<std::string> address_of_localpart(std::string_view localpart) {
  return normalize_address(core::jid::unescape_localpart(localpart));
}

std::string localpart_of_address(std::string_view address) { return core::jid::escape_localpart(address); }

bool is_automatic(const ParsedMail& mail) {
  return (!mail.auto_submitted.empty() && mail.auto_submitted != "no") || mail.precedence == "bulk" ||
         mail.precedence == "junk" || mail.precedence == "list" || mail.list;
}

std::string human_size(std::size_t bytes) {
  char text[32];
  if (bytes < 1024) {
    std::snprintf(text, sizeof text, "%zu bytes", bytes);
  } else if (bytes < 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.0f KiB", static_cast<double>(bytes) / 1024.0);
  } else {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  }
  return text;
}

Element inbound_message(const ParsedMail& mail, std::string_view from, std::string_view to, std::string_view id,
                        std::string_view thread) {
  Element message("message", std::string(ns::client));
  message.set_attribute("from", std::string(from));
  message.set_attribute("to", std::string(to));
  message.set_attribute("id", std::string(id));
  // RFC 6121 §5.2.2: "normal" is a message no reply is expected to; automatic mail is that.
  message.set_attribute("type", is_automatic(mail) ? "normal" : "chat");
  std::string body;
  if (!mail.subject.empty()) {
    message.add_child(text_element("subject", ns::client, mail.subject));
    if (!starts_with_reply_prefix(mail.subject)) {
      body = mail.subject + "\n\n";
    }
  }
  body += mail.text;
  if (mail.truncated) {
    body += "\n[…]";
  }
  for (const auto& attachment : mail.attachments) {
    body += body.empty() || body.ends_with('\n') ? "" : "\n";
    body += "[attachment: " + (attachment.filename.empty() ? std::string("unnamed") : attachment.filename) + ", " +
            (attachment.content_type.empty() ? std::string("application/octet-stream") : attachment.content_type) +
            ", " + human_size(attachment.size) + "]";
  }
  while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) {
    body.pop_back();
  }
  if (body.empty()) {
    body = "(empty mail)";
  }
  message.add_child(text_element("body", ns::client, body));
  if (!thread.empty()) {
    message.add_child(text_element("thread", ns::client, thread));
  }
  Element marker("mail", std::string(email_ns));
  if (!mail.message_id.empty()) {
    marker.set_attribute("message-id", mail.message_id);
  }
  message.add_child(std::move(marker));
  return message;
}

Element bounce_message(std::string_view contact, std::string_view sender, std::string_view stanza_id,
                       const DeliveryStatus& status) {
  Element original("message", std::string(ns::client));
  if (!stanza_id.empty()) {
    original.set_attribute("id", std::string(stanza_id));
  }
  original.set_attribute("from", std::string(sender));
  original.set_attribute("to", std::string(contact));
  std::string text = "the mail to " + (status.recipient.empty() ? std::string("the recipient") : status.recipient) +
                     " bounced";
  if (!status.status.empty()) {
    text += " (" + status.status + ")";
  }
  if (!status.diagnostic.empty()) {
    text += ": " + status.diagnostic;
  }
  Element reply = core::stanza::make_error(original, core::stanza::stanza_errc::recipient_unavailable,
                                           core::stanza::ErrorType::cancel, text);
  if (Element* error = reply.child("error", original.ns())) {
    Element detail("bounce", std::string(email_ns));
    if (!status.status.empty()) {
      detail.set_attribute("status", status.status);
    }
    if (!status.recipient.empty()) {
      detail.set_attribute("recipient", status.recipient);
    }
    error->add_child(std::move(detail));
  }
  return reply;
}

} // namespace parley::gateways::email
