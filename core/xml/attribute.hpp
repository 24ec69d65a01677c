#pragma once

#include <string>

namespace parley::core::xml {

/// One attribute of an element, with its namespace resolved. `ns` is empty for an unqualified
/// attribute (the default namespace never applies to attributes); `xml:lang` has
/// ns::xml ("http://www.w3.org/XML/1998/namespace"). `value` is decoded text: no entity or
/// character references remain in it.
struct Attribute {
  std::string name;
  std::string ns;
  std::string value;

  friend bool operator==(const Attribute&, const Attribute&) = default;
};

} // namespace parley::core::xml
