#pragma once

#include "core/xml/attribute.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::core::xml {

/// The opening <stream:stream> tag of an XML stream (RFC 6120 §4.7): what StreamParser
/// reports when a peer opens a stream, and what serialize_stream_open() writes when we do.
/// A plain value.
class StreamHeader {
public:
  /// One namespace declaration as written on the tag; `prefix` is empty for the default
  /// namespace (`xmlns='jabber:client'`).
  struct NamespaceDecl {
    std::string prefix;
    std::string uri;
    friend bool operator==(const NamespaceDecl&, const NamespaceDecl&) = default;
  };

  /// A header without attributes or declarations, using the prefix "stream".
  StreamHeader() = default;
  /// A header to send whose content namespace (RFC 6120 §4.8.2) is `content_ns`, e.g.
  /// std::string(ns::client).
  explicit StreamHeader(std::string content_ns);

  // RFC 6120 §4.7.1 to §4.7.5. nullopt when the attribute is absent, which is not the same as
  // present and empty (an absent version means a pre-1.0 peer, §4.7.5).
  std::optional<std::string_view> to() const noexcept { return attribute("to"); }
  std::optional<std::string_view> from() const noexcept { return attribute("from"); }
  std::optional<std::string_view> id() const noexcept { return attribute("id"); }
  std::optional<std::string_view> version() const noexcept { return attribute("version"); }
  /// The xml:lang attribute (RFC 6120 §4.7.4).
  std::optional<std::string_view> lang() const noexcept;

  /// Any attribute, as on Element: {ns}name with an empty ns for unqualified ones.
  std::optional<std::string_view> attribute(std::string_view name, std::string_view ns = {}) const noexcept;
  const std::vector<Attribute>& attributes() const noexcept { return attributes_; }
  void set_attribute(std::string_view name, std::string value, std::string_view ns = {});
  void set_to(std::string value) { set_attribute("to", std::move(value)); }
  void set_from(std::string value) { set_attribute("from", std::move(value)); }
  void set_id(std::string value) { set_attribute("id", std::move(value)); }
  void set_version(std::string value) { set_attribute("version", std::move(value)); }
  void set_lang(std::string value);

  /// The default namespace declared on the tag (e.g. "jabber:client"); empty when none was.
  /// Checking that it is one the service supports (§4.9.3.10) is the session's business.
  std::string_view content_ns() const noexcept;
  void set_content_ns(std::string uri);
  /// The prefix bound to the streams namespace on this tag; always "stream" on a header the
  /// parser accepted (RFC 6120 §4.8.5).
  std::string_view stream_prefix() const noexcept { return stream_prefix_; }
  void set_stream_prefix(std::string prefix) { stream_prefix_ = std::move(prefix); }

  /// Every namespace declaration on the tag in document order, the default one and the
  /// streams one included (e.g. xmlns:db='jabber:server:dialback' on a server stream).
  const std::vector<NamespaceDecl>& namespaces() const noexcept { return namespaces_; }
  /// The namespace bound to `prefix` on this tag ("" for the default one), or nullopt.
  std::optional<std::string_view> namespace_for(std::string_view prefix) const noexcept;
  /// Adds or replaces the declaration of `prefix`.
  void declare_namespace(std::string prefix, std::string uri);

  friend bool operator==(const StreamHeader&, const StreamHeader&) = default;

private:
  std::vector<Attribute> attributes_;
  std::vector<NamespaceDecl> namespaces_;
  std::string stream_prefix_ = "stream";
};

} // namespace parley::core::xml
