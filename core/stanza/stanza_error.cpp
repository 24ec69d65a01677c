#include "core/stanza/stanza_error.hpp"

#include "core/xml/namespaces.hpp"

namespace parley::core::stanza {

std::string_view wire_name(stanza_errc condition) noexcept {
  switch (condition) {
  case stanza_errc::bad_request: return "bad-request";
  case stanza_errc::conflict: return "conflict";
  case stanza_errc::feature_not_implemented: return "feature-not-implemented";
  case stanza_errc::forbidden: return "forbidden";
  case stanza_errc::gone: return "gone";
  case stanza_errc::internal_server_error: return "internal-server-error";
  case stanza_errc::item_not_found: return "item-not-found";
  case stanza_errc::jid_malformed: return "jid-malformed";
  case stanza_errc::not_acceptable: return "not-acceptable";
  case stanza_errc::not_allowed: return "not-allowed";
  case stanza_errc::not_authorized: return "not-authorized";
  case stanza_errc::policy_violation: return "policy-violation";
  case stanza_errc::recipient_unavailable: return "recipient-unavailable";
  case stanza_errc::redirect: return "redirect";
  case stanza_errc::registration_required: return "registration-required";
  case stanza_errc::remote_server_not_found: return "remote-server-not-found";
  case stanza_errc::remote_server_timeout: return "remote-server-timeout";
  case stanza_errc::resource_constraint: return "resource-constraint";
  case stanza_errc::service_unavailable: return "service-unavailable";
  case stanza_errc::subscription_required: return "subscription-required";
  case stanza_errc::undefined_condition: return "undefined-condition";
  case stanza_errc::unexpected_request: return "unexpected-request";
  }
  return "undefined-condition";
}

std::string_view wire_name(ErrorType type) noexcept {
  switch (type) {
  case ErrorType::auth: return "auth";
  case ErrorType::cancel: return "cancel";
  case ErrorType::continue_: return "continue";
  case ErrorType::modify: return "modify";
  case ErrorType::wait: return "wait";
  }
  return "cancel";
}

ErrorType default_type(stanza_errc condition) noexcept {
  switch (condition) {
  case stanza_errc::bad_request:
  case stanza_errc::jid_malformed:
  case stanza_errc::not_acceptable:
  case stanza_errc::policy_violation:
  case stanza_errc::redirect:
    return ErrorType::modify;
  case stanza_errc::forbidden:
  case stanza_errc::not_authorized:
  case stanza_errc::registration_required:
  case stanza_errc::subscription_required:
    return ErrorType::auth;
  case stanza_errc::internal_server_error:
  case stanza_errc::recipient_unavailable:
  case stanza_errc::remote_server_timeout:
  case stanza_errc::resource_constraint:
  case stanza_errc::unexpected_request:
    return ErrorType::wait;
  default:
    return ErrorType::cancel;
  }
}

bool may_answer_with_error(const xml::Element& stanza) {
  const auto type = stanza.attribute("type").value_or("");
  if (type == "error") {
    return false;
  }
  return !(stanza.name() == "iq" && type == "result");
}

xml::Element make_error(const xml::Element& stanza, stanza_errc condition, std::string_view text) {
  return make_error(stanza, condition, default_type(condition), text);
}

xml::Element make_error(const xml::Element& stanza, stanza_errc condition, ErrorType type, std::string_view text) {
  xml::Element reply(std::string(stanza.name()), std::string(stanza.ns()));
  if (auto id = stanza.attribute("id")) {
    reply.set_attribute("id", std::string(*id));
  }
  if (auto from = stanza.attribute("from")) {
    reply.set_attribute("to", std::string(*from));
  }
  if (auto to = stanza.attribute("to")) {
    reply.set_attribute("from", std::string(*to));
  }
  reply.set_attribute("type", "error");
  // RFC 6120 §8.3.1: the payload MAY be included; it helps clients match message errors.
  if (stanza.name() != "iq") {
    for (const auto& child : stanza.children()) {
      reply.add_child(child);
    }
  }
  xml::Element error("error", std::string(stanza.ns()));
  error.set_attribute("type", std::string(wire_name(type)));
  error.add_child(xml::Element(std::string(wire_name(condition)), std::string(xml::ns::stanzas)));
  if (!text.empty()) {
    auto& t = error.add_child(xml::Element("text", std::string(xml::ns::stanzas)));
    t.add_text(std::string(text));
  }
  reply.add_child(std::move(error));
  return reply;
}

xml::Element make_result(const xml::Element& iq) {
  xml::Element reply("iq", std::string(iq.ns()));
  if (auto id = iq.attribute("id")) {
    reply.set_attribute("id", std::string(*id));
  }
  if (auto from = iq.attribute("from")) {
    reply.set_attribute("to", std::string(*from));
  }
  if (auto to = iq.attribute("to")) {
    reply.set_attribute("from", std::string(*to));
  }
  reply.set_attribute("type", "result");
  return reply;
}

} // namespace parley::core::stanza
