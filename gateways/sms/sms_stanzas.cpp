#include "gateways/sms/sms_stanzas.hpp"

#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"

#include <algorithm>

namespace parley::gateways::sms {

namespace ns = core::xml::ns;
using core::xml::Element;

namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool http_url(std::string_view url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

Element text_element(std::string name, std::string_view ns_name, std::string_view text) {
  Element e(std::move(name), std::string(ns_name));
  e.add_text(text);
  return e;
}

} // namespace

OutboundContent outbound_content(const Element& message) {
  OutboundContent content;
  if (const Element* body = message.child("body", ns::client)) {
    content.body = body->text();
  }
  for (const Element& x : message.children("x", ns::oob)) {
    const Element* url = x.child("url", ns::oob);
    if (url == nullptr) {
      continue;
    }
    const std::string text(trim(url->text()));
    if (http_url(text) &&
        std::find(content.media_urls.begin(), content.media_urls.end(), text) == content.media_urls.end()) {
      content.media_urls.push_back(text);
    }
  }
  // Conversations sends a shared file as a body that is its URL and the same URL as OOB;
  // several files, as their URLs on lines of their own. Such a body is not text to send.
  bool only_urls = !content.media_urls.empty() && !trim(content.body).empty();
  std::string_view rest = content.body;
  while (only_urls) {
    rest = trim(rest);
    if (rest.empty()) {
      break;
    }
    const auto end = rest.find_first_of(" \t\r\n");
    const std::string_view word = rest.substr(0, end);
    only_urls = std::find(content.media_urls.begin(), content.media_urls.end(), word) != content.media_urls.end();
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  if (only_urls) {
    content.body.clear();
  }
  return content;
}

Element inbound_message(const InboundSms& sms, std::string_view from, std::string_view to, std::string_view id) {
  Element message("message", std::string(ns::client));
  message.set_attribute("from", std::string(from));
  message.set_attribute("to", std::string(to));
  message.set_attribute("type", "chat");
  message.set_attribute("id", std::string(id));
  std::string body = sms.body;
  for (const auto& url : sms.media_urls) {
    // Clients that show OOB inline (Conversations) do so when the body is the URL alone.
    body += body.empty() ? url : "\n" + url;
  }
  message.add_child(text_element("body", ns::client, body));
  for (const auto& url : sms.media_urls) {
    Element x("x", std::string(ns::oob));
    x.add_child(text_element("url", ns::oob, url));
    message.add_child(std::move(x));
  }
  return message;
}

Element receipt_message(std::string_view from, std::string_view to, std::string_view id, std::string_view received_id) {
  Element message("message", std::string(ns::client));
  message.set_attribute("from", std::string(from));
  message.set_attribute("to", std::string(to));
  message.set_attribute("id", std::string(id));
  Element received("received", std::string(ns::receipts));
  received.set_attribute("id", std::string(received_id));
  message.add_child(std::move(received));
  return message;
}

Element failure_message(const Element& original, std::string_view provider, const DeliveryReport& report) {
  std::string number(original.attribute("to").value_or(""));
  number = number.substr(0, number.find('@'));
  std::string text = "the SMS to " + (number.empty() ? std::string("the number") : number) + " was not delivered (" +
                     std::string(provider) + " status " + report.status;
  if (!report.error_code.empty()) {
    text += ", error " + report.error_code;
  }
  if (!report.error_text.empty()) {
    text += ": " + report.error_text;
  }
  text += ")";
  Element reply = core::stanza::make_error(original, core::stanza::stanza_errc::service_unavailable,
                                           core::stanza::ErrorType::cancel, text);
  if (Element* error = reply.child("error", original.ns())) {
    Element detail("delivery-failed", std::string(sms_error_ns));
    detail.set_attribute("provider", std::string(provider));
    detail.set_attribute("status", report.status);
    if (!report.error_code.empty()) {
      detail.set_attribute("code", report.error_code);
    }
    error->add_child(std::move(detail));
  }
  return reply;
}

} // namespace parley::gateways::sms
