#include "core/xml/element.hpp"

#include <algorithm>

namespace parley::core::xml {

std::optional<std::string_view> Element::attribute(std::string_view name, std::string_view ns) const noexcept {
  for (const Attribute& a : attributes_) {
    if (a.name == name && a.ns == ns) {
      return std::string_view(a.value);
    }
  }
  return std::nullopt;
}

void Element::set_attribute(std::string_view name, std::string value, std::string_view ns) {
  for (Attribute& a : attributes_) {
    if (a.name == name && a.ns == ns) {
      a.value = std::move(value);
      return;
    }
  }
  attributes_.push_back(Attribute{std::string(name), std::string(ns), std::move(value)});
}

bool Element::remove_attribute(std::string_view name, std::string_view ns) noexcept {
  const auto it = std::find_if(attributes_.begin(), attributes_.end(),
                               [&](const Attribute& a) { return a.name == name && a.ns == ns; });
  if (it == attributes_.end()) {
    return false;
  }
  attributes_.erase(it);
  return true;
}

const Element* Element::child(std::string_view name, std::string_view ns) const noexcept {
  for (const Node& node : nodes_) {
    const Element* e = node.element();
    if (e != nullptr && e->name_ == name && e->ns_ == ns) {
      return e;
    }
  }
  return nullptr;
}

Element* Element::child(std::string_view name, std::string_view ns) noexcept {
  return const_cast<Element*>(std::as_const(*this).child(name, ns));
}

const Element* Element::first_child() const noexcept {
  for (const Node& node : nodes_) {
    if (const Element* e = node.element()) {
      return e;
    }
  }
  return nullptr;
}

Element* Element::first_child() noexcept {
  return const_cast<Element*>(std::as_const(*this).first_child());
}

std::string Element::text() const {
  std::string out;
  for (const Node& node : nodes_) {
    out += node.text();
  }
  return out;
}

Element& Element::add_child(Element child) {
  return *nodes_.emplace_back(std::move(child)).element();
}

void Element::add_text(std::string_view text) {
  if (text.empty()) {
    return;
  }
  if (!nodes_.empty()) {
    if (auto* last = std::get_if<std::string>(&nodes_.back().value_)) {
      last->append(text);
      return;
    }
  }
  nodes_.emplace_back(std::string(text));
}

std::size_t Element::remove_children(std::string_view name, std::string_view ns) {
  const auto removed = std::erase_if(nodes_, [&](const Node& node) {
    const Element* e = node.element();
    return e != nullptr && e->name_ == name && e->ns_ == ns;
  });
  // Removing an element may leave two text nodes side by side; merge them so that equality
  // stays structural.
  for (std::size_t i = 1; i < nodes_.size();) {
    auto* prev = std::get_if<std::string>(&nodes_[i - 1].value_);
    auto* cur = std::get_if<std::string>(&nodes_[i].value_);
    if (prev != nullptr && cur != nullptr) {
      prev->append(*cur);
      nodes_.erase(nodes_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return removed;
}

void Element::clear_children() noexcept {
  nodes_.clear();
}

bool operator==(const Element& a, const Element& b) noexcept {
  if (a.name_ != b.name_ || a.ns_ != b.ns_ || a.attributes_.size() != b.attributes_.size() ||
      a.nodes_.size() != b.nodes_.size()) {
    return false;
  }
  // Attribute order carries no meaning in XML; names are unique within one element.
  for (const Attribute& attr : a.attributes_) {
    const auto value = b.attribute(attr.name, attr.ns);
    if (!value || *value != attr.value) {
      return false;
    }
  }
  return a.nodes_ == b.nodes_;
}

} // namespace parley::core::xml
