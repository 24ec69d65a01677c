#include "router/modules/archive_rules.hpp"

#include "core/sasl/crypto.hpp"
#include "core/xml/namespaces.hpp"

namespace parley::router::modules {

namespace ns = core::xml::ns;
using core::xml::Element;

namespace {

/// XEP-0334 message processing hints.
constexpr std::string_view hints_ns = "urn:xmpp:hints";

bool has_hint(const Element& msg, std::string_view hint) { return msg.child(hint, hints_ns) != nullptr; }

} // namespace

bool archivable(const Element& msg) {
  const std::string_view type = msg.attribute("type").value_or("normal");
  if (type != "chat" && type != "normal") {
    return false; // groupchat is the room's archive; errors and headlines are not kept
  }
  if (msg.child("received", ns::carbons) != nullptr || msg.child("sent", ns::carbons) != nullptr ||
      msg.child("result", ns::mam) != nullptr) {
    return false; // copies of messages archived in their own right
  }
  if (has_hint(msg, "no-store") || has_hint(msg, "no-permanent-store")) {
    return false;
  }
  return msg.child("body", ns::client) != nullptr || has_hint(msg, "store");
}

bool room_archivable(const Element& msg) {
  if (has_hint(msg, "no-store") || has_hint(msg, "no-permanent-store")) {
    return false;
  }
  return msg.child("body", ns::client) != nullptr || msg.child("subject", ns::client) != nullptr;
}

void strip_stanza_ids(Element& msg, std::string_view by) {
  bool forged = false;
  for (const Element& id : msg.children("stanza-id", ns::stanza_id)) {
    forged = forged || id.attribute("by").value_or("") == by;
  }
  if (!forged) {
    return;
  }
  Element kept(std::string(msg.name()), std::string(msg.ns()));
  for (const auto& attribute : msg.attributes()) {
    kept.set_attribute(attribute.name, attribute.value, attribute.ns);
  }
  for (const auto& node : msg.nodes()) {
    const Element* child = node.element();
    if (child == nullptr) {
      kept.add_text(node.text());
    } else if (!(child->name() == "stanza-id" && child->ns() == ns::stanza_id &&
                 child->attribute("by").value_or("") == by)) {
      kept.add_child(*child);
    }
  }
  msg = std::move(kept);
}

void add_stanza_id(Element& msg, std::string_view by, std::string_view id) {
  Element sid("stanza-id", std::string(ns::stanza_id));
  sid.set_attribute("by", std::string(by));
  sid.set_attribute("id", std::string(id));
  msg.add_child(std::move(sid));
}

std::string new_archive_id() {
  static constexpr char hex[] = "0123456789abcdef";
  const std::string bytes = core::sasl::crypto::random_bytes(12);
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xf]);
  }
  return out;
}

} // namespace parley::router::modules
