#pragma once

#include "core/xml/attribute.hpp"

#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace parley::core::xml {

class Node;
template <bool Const> class ChildRange;

/// An XML element with every name resolved to its namespace: a local name, a namespace name
/// (empty for no namespace), attributes and an ordered list of child nodes, each an element or
/// a run of text. Prefixes and namespace declarations are not kept; the serializer derives
/// them. Adjacent text is always merged into one text node and empty text is never stored, so
/// two elements that mean the same XML compare equal.
///
/// A plain value: copying copies the whole tree, moving is cheap (no allocation). Not
/// synchronised: one thread at a time, like a std::string.
class Element {
public:
  /// An element with an empty name; only useful as something to assign to.
  Element() noexcept;
  /// Element `name` in namespace `ns` (e.g. Element("message", std::string(ns::client))).
  explicit Element(std::string name, std::string ns = {}) noexcept;
  Element(const Element& other);
  Element(Element&& other) noexcept;
  Element& operator=(const Element& other);
  Element& operator=(Element&& other) noexcept;
  ~Element();

  std::string_view name() const noexcept { return name_; }
  std::string_view ns() const noexcept { return ns_; }
  void set_name(std::string name) noexcept { name_ = std::move(name); }
  void set_ns(std::string ns) noexcept { ns_ = std::move(ns); }

  /// All attributes in document order.
  const std::vector<Attribute>& attributes() const noexcept { return attributes_; }
  /// The value of attribute {ns}name; an empty `ns` means an unqualified attribute such as
  /// `to`. `xml:lang` is attribute("lang", ns::xml). nullopt when absent.
  std::optional<std::string_view> attribute(std::string_view name, std::string_view ns = {}) const noexcept;
  /// Sets attribute {ns}name, replacing an existing value.
  void set_attribute(std::string_view name, std::string value, std::string_view ns = {});
  /// Removes attribute {ns}name; false when it was not there.
  bool remove_attribute(std::string_view name, std::string_view ns = {}) noexcept;

  /// All child nodes (elements and text) in document order.
  const std::vector<Node>& nodes() const noexcept { return nodes_; }
  /// The child elements in order, text skipped: `for (const Element& c : e.children())`.
  ChildRange<true> children() const noexcept;
  ChildRange<false> children() noexcept;
  /// The child elements named {ns}name, in order.
  ChildRange<true> children(std::string_view name, std::string_view ns) const noexcept;
  ChildRange<false> children(std::string_view name, std::string_view ns) noexcept;
  /// The first child element named {ns}name, or nullptr. The pointer stays valid until this
  /// element's children are changed.
  const Element* child(std::string_view name, std::string_view ns) const noexcept;
  Element* child(std::string_view name, std::string_view ns) noexcept;
  /// The first child element whatever its name (an iq's payload), or nullptr.
  const Element* first_child() const noexcept;
  Element* first_child() noexcept;
  /// The concatenated text directly inside this element (not inside its children).
  std::string text() const;

  /// Appends `child` and returns a reference to it, valid until the next change to this
  /// element's children.
  Element& add_child(Element child);
  /// Appends text, merging it with a text node that ends the children; empty text is ignored.
  void add_text(std::string_view text);
  /// Removes every child element named {ns}name; returns how many were removed.
  std::size_t remove_children(std::string_view name, std::string_view ns);
  /// Removes all child nodes.
  void clear_children() noexcept;

  /// Structural equality: same name and namespace, the same attributes (in any order) and
  /// equal child nodes in the same order.
  friend bool operator==(const Element& a, const Element& b) noexcept;

private:
  std::string name_;
  std::string ns_;
  std::vector<Attribute> attributes_;
  std::vector<Node> nodes_;
};

/// One child of an Element: either an element or a run of decoded text.
class Node {
public:
  explicit Node(Element element) noexcept : value_(std::move(element)) {}
  explicit Node(std::string text) noexcept : value_(std::move(text)) {}

  bool is_element() const noexcept { return value_.index() == 0; }
  bool is_text() const noexcept { return value_.index() == 1; }
  /// The element, or nullptr for a text node.
  const Element* element() const noexcept { return std::get_if<Element>(&value_); }
  Element* element() noexcept { return std::get_if<Element>(&value_); }
  /// The text, or an empty view for an element node.
  std::string_view text() const noexcept {
    const std::string* s = std::get_if<std::string>(&value_);
    return s != nullptr ? std::string_view(*s) : std::string_view();
  }

  friend bool operator==(const Node& a, const Node& b) noexcept { return a.value_ == b.value_; }

private:
  friend class Element;
  std::variant<Element, std::string> value_;
};

/// Forward iterator over the child elements of an Element, optionally only those named
/// {ns}name. Invalidated by any change to that element's children.
template <bool Const> class ChildIterator {
  using NodeIterator = std::conditional_t<Const, std::vector<Node>::const_iterator, std::vector<Node>::iterator>;

public:
  using value_type = Element;
  using difference_type = std::ptrdiff_t;
  using reference = std::conditional_t<Const, const Element&, Element&>;
  using pointer = std::conditional_t<Const, const Element*, Element*>;
  using iterator_category = std::forward_iterator_tag;

  ChildIterator() = default;
  ChildIterator(NodeIterator at, NodeIterator end, bool filter, std::string_view name, std::string_view ns) noexcept
      : at_(at), end_(end), filter_(filter), name_(name), ns_(ns) {
    skip();
  }

  reference operator*() const noexcept { return *at_->element(); }
  pointer operator->() const noexcept { return at_->element(); }
  ChildIterator& operator++() noexcept {
    ++at_;
    skip();
    return *this;
  }
  ChildIterator operator++(int) noexcept {
    ChildIterator old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const ChildIterator& a, const ChildIterator& b) noexcept { return a.at_ == b.at_; }

private:
  void skip() noexcept {
    while (at_ != end_) {
      const Element* e = std::as_const(*at_).element();
      if (e != nullptr && (!filter_ || (e->name() == name_ && e->ns() == ns_))) {
        return;
      }
      ++at_;
    }
  }

  NodeIterator at_{};
  NodeIterator end_{};
  bool filter_ = false;
  std::string_view name_;
  std::string_view ns_;
};

/// What Element::children() returns: usable in a range-based for loop.
template <bool Const> class ChildRange {
public:
  using iterator = ChildIterator<Const>;

  ChildRange(iterator begin, iterator end) noexcept : begin_(begin), end_(end) {}
  iterator begin() const noexcept { return begin_; }
  iterator end() const noexcept { return end_; }
  bool empty() const noexcept { return begin_ == end_; }

private:
  iterator begin_;
  iterator end_;
};

inline Element::Element() noexcept = default;
inline Element::Element(std::string name, std::string ns) noexcept : name_(std::move(name)), ns_(std::move(ns)) {}
inline Element::Element(const Element& other) = default;
inline Element::Element(Element&& other) noexcept = default;
inline Element& Element::operator=(const Element& other) = default;
inline Element& Element::operator=(Element&& other) noexcept = default;
inline Element::~Element() = default;

inline ChildRange<true> Element::children() const noexcept {
  return {{nodes_.begin(), nodes_.end(), false, {}, {}}, {nodes_.end(), nodes_.end(), false, {}, {}}};
}
inline ChildRange<false> Element::children() noexcept {
  return {{nodes_.begin(), nodes_.end(), false, {}, {}}, {nodes_.end(), nodes_.end(), false, {}, {}}};
}
inline ChildRange<true> Element::children(std::string_view name, std::string_view ns) const noexcept {
  return {{nodes_.begin(), nodes_.end(), true, name, ns}, {nodes_.end(), nodes_.end(), true, name, ns}};
}
inline ChildRange<false> Element::children(std::string_view name, std::string_view ns) noexcept {
  return {{nodes_.begin(), nodes_.end(), true, name, ns}, {nodes_.end(), nodes_.end(), true, name, ns}};
}

} // namespace parley::core::xml
