#include "core/xml/stream_header.hpp"

#include "core/xml/namespaces.hpp"

namespace parley::core::xml {

StreamHeader::StreamHeader(std::string content_ns) {
  declare_namespace(std::string(), std::move(content_ns));
}

std::optional<std::string_view> StreamHeader::lang() const noexcept {
  return attribute("lang", ns::xml);
}

void StreamHeader::set_lang(std::string value) {
  set_attribute("lang", std::move(value), ns::xml);
}

std::optional<std::string_view> StreamHeader::attribute(std::string_view name, std::string_view ns) const noexcept {
  for (const Attribute& a : attributes_) {
    if (a.name == name && a.ns == ns) {
      return std::string_view(a.value);
    }
  }
  return std::nullopt;
}

void StreamHeader::set_attribute(std::string_view name, std::string value, std::string_view ns) {
  for (Attribute& a : attributes_) {
    if (a.name == name && a.ns == ns) {
      a.value = std::move(value);
      return;
    }
  }
  attributes_.push_back(Attribute{std::string(name), std::string(ns), std::move(value)});
}

std::string_view StreamHeader::content_ns() const noexcept {
  return namespace_for("").value_or(std::string_view());
}

void StreamHeader::set_content_ns(std::string uri) {
  declare_namespace(std::string(), std::move(uri));
}

std::optional<std::string_view> StreamHeader::namespace_for(std::string_view prefix) const noexcept {
  for (const NamespaceDecl& decl : namespaces_) {
    if (decl.prefix == prefix) {
      return std::string_view(decl.uri);
    }
  }
  return std::nullopt;
}

void StreamHeader::declare_namespace(std::string prefix, std::string uri) {
  for (NamespaceDecl& decl : namespaces_) {
    if (decl.prefix == prefix) {
      decl.uri = std::move(uri);
      return;
    }
  }
  namespaces_.push_back(NamespaceDecl{std::move(prefix), std::move(uri)});
}

} // namespace parley::core::xml
