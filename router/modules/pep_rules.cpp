#include "router/modules/pep_rules.hpp"

#include "core/sasl/crypto.hpp"
#include "core/xml/namespaces.hpp"
#include "router/modules/data_form.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

namespace parley::router::modules {

namespace ns = core::xml::ns;
using core::xml::Element;

std::string_view to_string(AccessModel model) noexcept {
  switch (model) {
  case AccessModel::open:
    return "open";
  case AccessModel::whitelist:
    return "whitelist";
  case AccessModel::presence:
    break;
  }
  return "presence";
}

std::optional<AccessModel> parse_access_model(std::string_view text) noexcept {
  if (text == "presence") {
    return AccessModel::presence;
  }
  if (text == "open") {
    return AccessModel::open;
  }
  if (text == "whitelist") {
    return AccessModel::whitelist;
  }
  return std::nullopt;
}

namespace {

std::optional<bool> parse_bool(std::string_view v) {
  if (v == "1" || v == "true") {
    return true;
  }
  if (v == "0" || v == "false") {
    return false;
  }
  return std::nullopt;
}

std::optional<std::size_t> parse_max_items(std::string_view v) {
  if (v == "max") {
    return max_pep_items;
  }
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n == 0) {
    return std::nullopt;
  }
  return std::min(n, max_pep_items);
}

/// One field of a node configuration form applied to `config`; false when the value is not
/// one this service takes. `known` turns false for a field it does not know.
bool apply_field(std::string_view var, std::string_view value, NodeConfig& config, bool& known) {
  known = true;
  if (var == "pubsub#access_model") {
    auto model = parse_access_model(value);
    if (model) {
      config.access = *model;
    }
    return model.has_value();
  }
  if (var == "pubsub#max_items") {
    auto n = parse_max_items(value);
    if (n) {
      config.max_items = *n;
    }
    return n.has_value();
  }
  if (var == "pubsub#send_last_published_item") {
    if (value == "never") {
      config.send_last = false;
      return true;
    }
    if (value == "on_sub_and_presence" || value == "on_sub") {
      config.send_last = true;
      return true;
    }
    return false;
  }
  if (var == "pubsub#title") {
    config.title = std::string(value);
    std::replace(config.title.begin(), config.title.end(), '\n', ' '); // stored one line per field
    return true;
  }
  bool* flag = var == "pubsub#persist_items"    ? &config.persist_items
               : var == "pubsub#notify_retract" ? &config.notify_retract
               : var == "pubsub#notify_delete"  ? &config.notify_delete
                                                : nullptr;
  if (flag != nullptr) {
    auto b = parse_bool(value);
    if (b) {
      *flag = *b;
    }
    return b.has_value();
  }
  // Fields every client sends that change nothing here: payloads are always delivered, only
  // the publisher may publish, notifications are always sent.
  if (var == "pubsub#deliver_payloads" || var == "pubsub#deliver_notifications") {
    return parse_bool(value) == true;
  }
  if (var == "pubsub#publish_model") {
    return value == "publishers" || value == "publisher";
  }
  known = false;
  return false;
}

} // namespace

std::string serialize(const NodeConfig& config) {
  std::string out;
  out += "access=";
  out += to_string(config.access);
  out += "\nmax_items=" + std::to_string(config.max_items);
  out += std::string("\npersist=") + (config.persist_items ? "1" : "0");
  out += std::string("\nsend_last=") + (config.send_last ? "1" : "0");
  out += std::string("\nnotify_retract=") + (config.notify_retract ? "1" : "0");
  out += std::string("\nnotify_delete=") + (config.notify_delete ? "1" : "0");
  out += "\ntitle=";
  for (const char c : config.title) {
    out += c == '\n' ? ' ' : c; // one line per field
  }
  return out;
}

NodeConfig parse_node_config(std::string_view text) {
  NodeConfig config;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    if (key == "access") {
      config.access = parse_access_model(value).value_or(config.access);
    } else if (key == "max_items") {
      config.max_items = parse_max_items(value).value_or(config.max_items);
    } else if (key == "title") {
      config.title = std::string(value);
    } else {
      bool* flag = key == "persist"          ? &config.persist_items
                   : key == "send_last"      ? &config.send_last
                   : key == "notify_retract" ? &config.notify_retract
                   : key == "notify_delete"  ? &config.notify_delete
                                             : nullptr;
      if (flag != nullptr) {
        *flag = parse_bool(value).value_or(*flag);
      }
    }
  }
  return config;
}

std::optional<std::string> apply_form(const Element& x, NodeConfig& config) {
  const DataForm form = DataForm::parse(x);
  NodeConfig changed = config;
  for (const auto& var : form.vars()) {
    if (var == "FORM_TYPE") {
      continue;
    }
    const auto value = form.value(var).value_or("");
    bool known = true;
    if (!apply_field(var, value, changed, known)) {
      return known ? "unsupported value '" + value + "' for " + var : "unsupported node option " + var;
    }
  }
  config = std::move(changed);
  return std::nullopt;
}

std::optional<std::string> check_preconditions(const Element& x, const NodeConfig& config) {
  const DataForm form = DataForm::parse(x);
  for (const auto& var : form.vars()) {
    if (var == "FORM_TYPE") {
      continue;
    }
    const auto value = form.value(var).value_or("");
    NodeConfig wanted = config;
    bool known = true;
    if (!apply_field(var, value, wanted, known)) {
      return known ? "unsupported value '" + value + "' for " + var : "unsupported node option " + var;
    }
    if (!(wanted == config)) {
      return "the node's " + var + " is not '" + value + "'";
    }
  }
  return std::nullopt;
}

Element config_form(const NodeConfig& config) {
  Element x = make_form("form");
  add_field(x, "FORM_TYPE", "hidden", "", {std::string(pubsub_node_config_form)});
  add_field(x, "pubsub#title", "text-single", "A friendly name for the node", {config.title});
  auto& access = add_field(x, "pubsub#access_model", "list-single", "Who may subscribe and retrieve items",
                           {std::string(to_string(config.access))});
  for (auto model : {AccessModel::presence, AccessModel::open, AccessModel::whitelist}) {
    add_option(access, "", to_string(model));
  }
  add_field(x, "pubsub#max_items", "text-single", "Max # of items to persist", {std::to_string(config.max_items)});
  add_field(x, "pubsub#persist_items", "boolean", "Persist items to storage", {config.persist_items ? "1" : "0"});
  auto& send = add_field(x, "pubsub#send_last_published_item", "list-single", "When to send the last published item",
                         {config.send_last ? "on_sub_and_presence" : "never"});
  add_option(send, "", "never");
  add_option(send, "", "on_sub_and_presence");
  add_field(x, "pubsub#notify_retract", "boolean", "Notify subscribers when items are removed",
            {config.notify_retract ? "1" : "0"});
  add_field(x, "pubsub#notify_delete", "boolean", "Notify subscribers when the node is deleted",
            {config.notify_delete ? "1" : "0"});
  return x;
}

Element pubsub_error(const Element& iq, core::stanza::stanza_errc condition, std::string_view pubsub_condition,
                     std::string_view text, std::string_view feature) {
  Element error = core::stanza::make_error(iq, condition, text);
  if (Element* e = error.child("error", iq.ns()); e != nullptr && !pubsub_condition.empty()) {
    Element& specific = e->add_child(Element(std::string(pubsub_condition), std::string(pubsub_errors_ns)));
    if (!feature.empty()) {
      specific.set_attribute("feature", std::string(feature));
    }
  }
  return error;
}

namespace {

Element headline(std::string_view owner, std::string_view to) {
  Element msg("message", std::string(ns::client));
  msg.set_attribute("from", std::string(owner));
  msg.set_attribute("to", std::string(to));
  msg.set_attribute("type", "headline");
  return msg;
}

} // namespace

Element event_message(std::string_view owner, std::string_view to, std::string_view node, std::string_view item_id,
                      const Element* payload) {
  Element msg = headline(owner, to);
  Element& items = msg.add_child(Element("event", std::string(ns::pubsub_event)))
                       .add_child(Element("items", std::string(ns::pubsub_event)));
  items.set_attribute("node", std::string(node));
  Element& item = items.add_child(Element("item", std::string(ns::pubsub_event)));
  item.set_attribute("id", std::string(item_id));
  if (payload != nullptr) {
    item.add_child(*payload);
  }
  return msg;
}

Element retract_message(std::string_view owner, std::string_view to, std::string_view node, std::string_view item_id) {
  Element msg = headline(owner, to);
  Element& items = msg.add_child(Element("event", std::string(ns::pubsub_event)))
                       .add_child(Element("items", std::string(ns::pubsub_event)));
  items.set_attribute("node", std::string(node));
  items.add_child(Element("retract", std::string(ns::pubsub_event))).set_attribute("id", std::string(item_id));
  return msg;
}

Element node_event_message(std::string_view owner, std::string_view to, std::string_view what, std::string_view node) {
  Element msg = headline(owner, to);
  msg.add_child(Element("event", std::string(ns::pubsub_event)))
      .add_child(Element(std::string(what), std::string(ns::pubsub_event)))
      .set_attribute("node", std::string(node));
  return msg;
}

std::optional<std::string> caps_verification_string(const Element& query) {
  using Identity = std::tuple<std::string, std::string, std::string, std::string>;
  std::vector<Identity> identities;
  std::vector<std::string> features;
  struct Form {
    std::string type;
    std::vector<std::pair<std::string, std::vector<std::string>>> fields;
  };
  std::vector<Form> forms;
  for (const Element& child : query.children()) {
    if (child.name() == "identity" && child.ns() == ns::disco_info) {
      identities.emplace_back(std::string(child.attribute("category").value_or("")),
                              std::string(child.attribute("type").value_or("")),
                              std::string(child.attribute("lang", ns::xml).value_or("")),
                              std::string(child.attribute("name").value_or("")));
    } else if (child.name() == "feature" && child.ns() == ns::disco_info) {
      features.emplace_back(child.attribute("var").value_or(""));
    } else if (child.name() == "x" && child.ns() == ns::data_forms) {
      Form form;
      bool hidden_type = false;
      for (const Element& field : child.children("field", ns::data_forms)) {
        const std::string var(field.attribute("var").value_or(""));
        std::vector<std::string> values;
        for (const Element& v : field.children("value", ns::data_forms)) {
          values.push_back(v.text());
        }
        if (var == "FORM_TYPE") {
          // §5.4 3.6: a FORM_TYPE that is not hidden, or not one value, cannot be verified.
          if (field.attribute("type").value_or("") != "hidden" || values.size() != 1) {
            return std::nullopt;
          }
          form.type = values.front();
          hidden_type = true;
          continue;
        }
        std::sort(values.begin(), values.end());
        form.fields.emplace_back(var, std::move(values));
      }
      if (!hidden_type) {
        continue; // §5.4 3.6: forms without a FORM_TYPE are ignored
      }
      std::sort(form.fields.begin(), form.fields.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      forms.push_back(std::move(form));
    }
  }
  // '<' separates the fields of the string: inside one, it would let a different answer hash
  // the same, so such an answer cannot be verified (and serves its own resource only).
  const auto has_lt = [](const std::string& text) { return text.find('<') != std::string::npos; };
  for (const auto& [category, type, lang, name] : identities) {
    if (has_lt(category) || has_lt(type) || has_lt(lang) || has_lt(name)) {
      return std::nullopt;
    }
  }
  if (std::any_of(features.begin(), features.end(), has_lt)) {
    return std::nullopt;
  }
  for (const auto& form : forms) {
    if (has_lt(form.type)) {
      return std::nullopt;
    }
    for (const auto& [var, values] : form.fields) {
      if (has_lt(var) || std::any_of(values.begin(), values.end(), has_lt)) {
        return std::nullopt;
      }
    }
  }
  std::sort(identities.begin(), identities.end());
  std::sort(features.begin(), features.end());
  std::sort(forms.begin(), forms.end(), [](const Form& a, const Form& b) { return a.type < b.type; });
  // §5.4 3.3-3.5: duplicates make the answer unverifiable.
  if (std::adjacent_find(identities.begin(), identities.end()) != identities.end() ||
      std::adjacent_find(features.begin(), features.end()) != features.end() ||
      std::adjacent_find(forms.begin(), forms.end(),
                         [](const Form& a, const Form& b) { return a.type == b.type; }) != forms.end()) {
    return std::nullopt;
  }
  std::string s;
  for (const auto& [category, type, lang, name] : identities) {
    s += category + "/" + type + "/" + lang + "/" + name + "<";
  }
  for (const auto& f : features) {
    s += f + "<";
  }
  for (const auto& form : forms) {
    s += form.type + "<";
    for (const auto& [var, values] : form.fields) {
      s += var + "<";
      for (const auto& v : values) {
        s += v + "<";
      }
    }
  }
  return s;
}

std::optional<std::string> caps_hash(std::string_view hash_name, std::string_view verification) {
  namespace crypto = core::sasl::crypto;
  if (hash_name == "sha-1") {
    return crypto::base64_encode(crypto::hash(core::sasl::ScramHash::sha1, verification));
  }
  if (hash_name == "sha-256") {
    return crypto::base64_encode(crypto::hash(core::sasl::ScramHash::sha256, verification));
  }
  return std::nullopt;
}

std::vector<std::string> disco_features(const Element& query) {
  std::vector<std::string> out;
  for (const Element& f : query.children("feature", ns::disco_info)) {
    out.emplace_back(f.attribute("var").value_or(""));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string_view> pep_features() {
  return {"http://jabber.org/protocol/pubsub#access-open",
          "http://jabber.org/protocol/pubsub#access-presence",
          "http://jabber.org/protocol/pubsub#access-whitelist",
          "http://jabber.org/protocol/pubsub#auto-create",
          "http://jabber.org/protocol/pubsub#config-node",
          "http://jabber.org/protocol/pubsub#create-and-configure",
          "http://jabber.org/protocol/pubsub#create-nodes",
          "http://jabber.org/protocol/pubsub#delete-items",
          "http://jabber.org/protocol/pubsub#delete-nodes",
          "http://jabber.org/protocol/pubsub#filtered-notifications",
          "http://jabber.org/protocol/pubsub#item-ids",
          "http://jabber.org/protocol/pubsub#last-published",
          "http://jabber.org/protocol/pubsub#persistent-items",
          "http://jabber.org/protocol/pubsub#publish",
          "http://jabber.org/protocol/pubsub#publish-options",
          "http://jabber.org/protocol/pubsub#purge-nodes",
          "http://jabber.org/protocol/pubsub#retract-items",
          "http://jabber.org/protocol/pubsub#retrieve-items",
          pep_vcard_conversion_feature};
}

std::optional<AvatarImage> vcard_photo(const Element& vcard) {
  const Element* photo = vcard.child("PHOTO", ns::vcard);
  const Element* binval = photo != nullptr ? photo->child("BINVAL", ns::vcard) : nullptr;
  if (binval == nullptr) {
    return std::nullopt;
  }
  std::string text;
  for (const char c : binval->text()) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      text += c;
    }
  }
  auto bytes = core::sasl::crypto::base64_decode(text);
  if (!bytes || bytes->empty()) {
    return std::nullopt;
  }
  AvatarImage image;
  const Element* type = photo->child("TYPE", ns::vcard);
  image.type = type != nullptr && !type->text().empty() ? type->text() : "image/png";
  image.bytes = std::move(*bytes);
  return image;
}

Element with_photo(Element vcard, const std::optional<AvatarImage>& image) {
  vcard.remove_children("PHOTO", ns::vcard);
  if (image) {
    Element& photo = vcard.add_child(Element("PHOTO", std::string(ns::vcard)));
    photo.add_child(Element("TYPE", std::string(ns::vcard))).add_text(image->type);
    photo.add_child(Element("BINVAL", std::string(ns::vcard)))
        .add_text(core::sasl::crypto::base64_encode(image->bytes));
  }
  return vcard;
}

std::string sha1_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  const std::string raw = core::sasl::crypto::hash(core::sasl::ScramHash::sha1, bytes);
  std::string out;
  for (const unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<AvatarInfo> stored_avatar_info(const Element& metadata) {
  for (const Element& info : metadata.children("info", avatar_metadata_node)) {
    if (info.attribute("url")) {
      continue; // an image hosted elsewhere cannot go into the vCard (XEP-0398 §3.1)
    }
    return AvatarInfo{std::string(info.attribute("id").value_or("")), std::string(info.attribute("type").value_or(""))};
  }
  return std::nullopt;
}

Element avatar_data_payload(const AvatarImage& image) {
  Element data("data", std::string(avatar_data_node));
  data.add_text(core::sasl::crypto::base64_encode(image.bytes));
  return data;
}

Element avatar_metadata_payload(const AvatarImage& image, std::string_view id) {
  Element metadata("metadata", std::string(avatar_metadata_node));
  Element& info = metadata.add_child(Element("info", std::string(avatar_metadata_node)));
  info.set_attribute("id", std::string(id));
  info.set_attribute("type", image.type);
  info.set_attribute("bytes", std::to_string(image.bytes.size()));
  return metadata;
}

bool stamp_avatar_hash(Element& presence, std::string_view hash) {
  if (const Element* x = presence.child("x", vcard_update_ns)) {
    const Element* photo = x->child("photo", vcard_update_ns);
    if (photo != nullptr && photo->text().empty()) {
      return false;
    }
    if (photo != nullptr && photo->text() == hash) {
      return false;
    }
  }
  presence.remove_children("x", vcard_update_ns);
  presence.add_child(Element("x", std::string(vcard_update_ns)))
      .add_child(Element("photo", std::string(vcard_update_ns)))
      .add_text(hash);
  return true;
}

} // namespace parley::router::modules
