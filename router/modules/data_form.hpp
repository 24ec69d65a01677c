#pragma once
// XEP-0004 data forms as the local services use them: the chat service's room configuration
// (muc#roomconfig) and room information (muc#roominfo) forms, the archive's query form.

#include "core/xml/element.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::router::modules {

/// A form read from an <x xmlns='jabber:x:data'/>: its type and the values of its fields.
/// Parsing never fails: what is not a field with a 'var' is ignored.
class DataForm {
public:
  static DataForm parse(const core::xml::Element& x);

  /// "form", "submit", "cancel" or "result"; whatever the element said.
  const std::string& type() const noexcept { return type_; }
  /// The hidden FORM_TYPE field's value; empty when absent.
  std::string form_type() const;
  bool has(std::string_view var) const;
  /// The names of the fields it carries, ascending.
  std::vector<std::string> vars() const;
  /// Every <value/> of the field; empty when absent.
  const std::vector<std::string>& values(std::string_view var) const;
  /// The first value of the field; nullopt when the field is absent, "" when it has no value.
  std::optional<std::string> value(std::string_view var) const;
  /// A boolean field (XEP-0004 §3.3: "1"/"true", "0"/"false"). nullopt when absent;
  /// `valid` turns false for anything else.
  std::optional<bool> boolean(std::string_view var, bool& valid) const;

private:
  std::string type_;
  std::map<std::string, std::vector<std::string>, std::less<>> fields_;
};

/// <x xmlns='jabber:x:data' type='…'/> with a title and instructions when given.
core::xml::Element make_form(std::string_view type, std::string_view title = {}, std::string_view instructions = {});
/// Appends <field var='…' type='…' label='…'> with one <value/> per entry of `values` and
/// returns it (for options). An empty `type` or `label` is left out.
core::xml::Element& add_field(core::xml::Element& form, std::string_view var, std::string_view type,
                              std::string_view label, const std::vector<std::string>& values = {});
/// Appends <option label='…'><value>…</value></option> to a list field.
void add_option(core::xml::Element& field, std::string_view label, std::string_view value);

} // namespace parley::router::modules
