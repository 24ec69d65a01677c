#include "router/modules/data_form.hpp"

#include "core/xml/namespaces.hpp"

namespace parley::router::modules {

namespace ns = core::xml::ns;
using core::xml::Element;

DataForm DataForm::parse(const Element& x) {
  DataForm form;
  form.type_ = std::string(x.attribute("type").value_or(""));
  for (const Element& field : x.children("field", ns::data_forms)) {
    const auto var = field.attribute("var");
    if (!var || var->empty()) {
      continue;
    }
    auto& values = form.fields_[std::string(*var)];
    values.clear(); // a field given twice: the last one counts
    for (const Element& value : field.children("value", ns::data_forms)) {
      values.push_back(value.text());
    }
  }
  return form;
}

std::string DataForm::form_type() const {
  return value("FORM_TYPE").value_or("");
}

std::vector<std::string> DataForm::vars() const {
  std::vector<std::string> out;
  out.reserve(fields_.size());
  for (const auto& [var, values] : fields_) {
    out.push_back(var);
  }
  return out;
}

bool DataForm::has(std::string_view var) const {
  return fields_.find(var) != fields_.end();
}

const std::vector<std::string>& DataForm::values(std::string_view var) const {
  static const std::vector<std::string> none;
  const auto found = fields_.find(var);
  return found == fields_.end() ? none : found->second;
}

std::optional<std::string> DataForm::value(std::string_view var) const {
  const auto found = fields_.find(var);
  if (found == fields_.end()) {
    return std::nullopt;
  }
  return found->second.empty() ? std::string() : found->second.front();
}

std::optional<bool> DataForm::boolean(std::string_view var, bool& valid) const {
  const auto text = value(var);
  if (!text) {
    return std::nullopt;
  }
  if (*text == "1" || *text == "true") {
    return true;
  }
  if (*text == "0" || *text == "false") {
    return false;
  }
  valid = false;
  return std::nullopt;
}

Element make_form(std::string_view type, std::string_view title, std::string_view instructions) {
  Element x("x", std::string(ns::data_forms));
  x.set_attribute("type", std::string(type));
  if (!title.empty()) {
    x.add_child(Element("title", std::string(ns::data_forms))).add_text(title);
  }
  if (!instructions.empty()) {
    x.add_child(Element("instructions", std::string(ns::data_forms))).add_text(instructions);
  }
  return x;
}

Element& add_field(Element& form, std::string_view var, std::string_view type, std::string_view label,
                   const std::vector<std::string>& values) {
  Element field("field", std::string(ns::data_forms));
  field.set_attribute("var", std::string(var));
  if (!type.empty()) {
    field.set_attribute("type", std::string(type));
  }
  if (!label.empty()) {
    field.set_attribute("label", std::string(label));
  }
  for (const auto& value : values) {
    field.add_child(Element("value", std::string(ns::data_forms))).add_text(value);
  }
  return form.add_child(std::move(field));
}

void add_option(Element& field, std::string_view label, std::string_view value) {
  Element option("option", std::string(ns::data_forms));
  option.set_attribute("label", std::string(label));
  option.add_child(Element("value", std::string(ns::data_forms))).add_text(value);
  field.add_child(std::move(option));
}

} // namespace parley::router::modules
