#include "core/xml/serializer.hpp"

#include "core/xml/namespaces.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace parley::core::xml {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD"; // U+FFFD

/// Length of the well-formed UTF-8 sequence at the start of [p, end) that encodes an XML 1.0
/// Char (§2.2), or 0. `p` points at a byte >= 0x80.
std::size_t valid_sequence_length(const unsigned char* p, const unsigned char* end) noexcept {
  const auto avail = static_cast<std::size_t>(end - p);
  const unsigned char b0 = p[0];
  const auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < avail && p[i] >= lo && p[i] <= hi;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    return cont(1) ? 2 : 0;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    // E0 needs A0..BF (no overlong forms), ED needs 80..9F (no surrogates).
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2)) {
      return 0;
    }
    // U+FFFE and U+FFFF are not XML characters.
    if (b0 == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) {
      return 0;
    }
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/// Appends `s` with markup escaped; `in_attribute` also escapes quotes and the whitespace
/// that attribute-value normalisation (XML 1.0 §3.3.3) would otherwise turn into spaces.
void escape(std::string& out, std::string_view s, bool in_attribute) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  const auto* run = p; // start of the bytes still to copy verbatim
  const auto replace = [&](std::string_view with, std::size_t consumed) {
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    out.append(with);
    p += consumed;
    run = p;
  };
  while (p < end) {
    const unsigned char c = *p;
    if (c >= 0x80) {
      const std::size_t n = valid_sequence_length(p, end);
      if (n == 0) {
        replace(replacement_character, 1);
      } else {
        p += n;
      }
      continue;
    }
    switch (c) {
    case '&': replace("&amp;", 1); break;
    case '<': replace("&lt;", 1); break;
    case '>': replace("&gt;", 1); break;
    // A literal CR would be folded into LF by line-end handling (XML 1.0 §2.11).
    case '\r': replace("&#13;", 1); break;
    case '\'': in_attribute ? replace("&apos;", 1) : void(++p); break;
    case '"': in_attribute ? replace("&quot;", 1) : void(++p); break;
    case '\n': in_attribute ? replace("&#10;", 1) : void(++p); break;
    case '\t': in_attribute ? replace("&#9;", 1) : void(++p); break;
    default:
      if (c < 0x20) {
        replace(replacement_character, 1);
      } else {
        ++p;
      }
    }
  }
  out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
}

/// The prefixes declared on one start tag for namespaced attributes.
class AttributePrefixes {
public:
  AttributePrefixes(std::string_view stream_prefix, const std::vector<StreamHeader::NamespaceDecl>* declared) noexcept
      : stream_prefix_(stream_prefix), declared_(declared) {}

  /// The prefix for `uri`; appends its declaration to `out` the first time.
  std::string_view prefix_for(std::string_view uri, std::string& out) {
    for (const auto& [bound_uri, prefix] : bound_) {
      if (bound_uri == uri) {
        return prefix;
      }
    }
    std::string prefix;
    do {
      prefix = "ns" + std::to_string(++counter_);
    } while (taken(prefix));
    out += " xmlns:";
    out += prefix;
    out += "='";
    escape(out, uri, true);
    out += '\'';
    bound_.emplace_back(uri, std::move(prefix));
    return bound_.back().second;
  }

private:
  bool taken(std::string_view prefix) const noexcept {
    if (prefix == stream_prefix_) {
      return true;
    }
    if (declared_ != nullptr) {
      for (const auto& decl : *declared_) {
        if (decl.prefix == prefix) {
          return true;
        }
      }
    }
    return false;
  }

  std::string_view stream_prefix_;
  const std::vector<StreamHeader::NamespaceDecl>* declared_;
  unsigned counter_ = 0;
  std::vector<std::pair<std::string_view, std::string>> bound_;
};

void write_attribute(std::string& out, std::string_view prefix, std::string_view name, std::string_view value) {
  out += ' ';
  if (!prefix.empty()) {
    out += prefix;
    out += ':';
  }
  out += name;
  out += "='";
  escape(out, value, true);
  out += '\'';
}

/// Writes the attributes of one start tag. `declared` are the prefixed declarations already
/// written on it (the stream header's), so that their prefixes can be reused.
void write_attributes(std::string& out, const std::vector<Attribute>& attributes, std::string_view stream_prefix,
                      const std::vector<StreamHeader::NamespaceDecl>* declared = nullptr) {
  AttributePrefixes generated(stream_prefix, declared);
  for (const Attribute& a : attributes) {
    if (a.ns.empty()) {
      if (a.name != "xmlns") {
        write_attribute(out, {}, a.name, a.value);
      }
      continue;
    }
    if (a.ns == ns::xmlns) {
      continue;
    }
    if (a.ns == ns::xml) {
      write_attribute(out, "xml", a.name, a.value);
      continue;
    }
    if (a.ns == ns::streams && !stream_prefix.empty()) {
      write_attribute(out, stream_prefix, a.name, a.value);
      continue;
    }
    std::string_view prefix;
    if (declared != nullptr) {
      for (const auto& decl : *declared) {
        if (!decl.prefix.empty() && decl.prefix != "xml" && decl.uri == a.ns) {
          prefix = decl.prefix;
          break;
        }
      }
    }
    if (prefix.empty()) {
      prefix = generated.prefix_for(a.ns, out);
    }
    write_attribute(out, prefix, a.name, a.value);
  }
}

void write_element(std::string& out, const Element& e, std::string_view default_ns, std::string_view stream_prefix) {
  // Qualified name: no prefix when the namespace is the one in scope, the predefined xml:
  // prefix, the stream prefix for the streams namespace, otherwise a new default namespace.
  std::string_view prefix;
  bool declare_default = false;
  if (e.ns() != default_ns) {
    if (e.ns() == ns::xml) {
      prefix = "xml";
    } else if (e.ns() == ns::streams && !stream_prefix.empty()) {
      prefix = stream_prefix;
    } else {
      declare_default = true;
    }
  }
  const std::string_view child_default = declare_default ? e.ns() : default_ns;

  out += '<';
  if (!prefix.empty()) {
    out += prefix;
    out += ':';
  }
  out += e.name();
  if (declare_default) {
    out += " xmlns='";
    escape(out, e.ns(), true);
    out += '\'';
  }
  write_attributes(out, e.attributes(), stream_prefix);
  if (e.nodes().empty()) {
    out += "/>";
    return;
  }
  out += '>';
  for (const Node& node : e.nodes()) {
    if (const Element* child = node.element()) {
      write_element(out, *child, child_default, stream_prefix);
    } else {
      escape(out, node.text(), false);
    }
  }
  out += "</";
  if (!prefix.empty()) {
    out += prefix;
    out += ':';
  }
  out += e.name();
  out += '>';
}

std::string_view stream_prefix_of(const StreamHeader& header) noexcept {
  return header.stream_prefix().empty() ? std::string_view("stream") : header.stream_prefix();
}

} // namespace

Scope scope_of(const StreamHeader& header) noexcept {
  return Scope{header.content_ns(), stream_prefix_of(header)};
}

void serialize_into(std::string& out, const Element& element, const Scope& scope) {
  write_element(out, element, scope.default_ns, scope.stream_prefix);
}

std::string serialize(const Element& element, std::string_view parent_ns) {
  std::string out;
  serialize_into(out, element, Scope{parent_ns, {}});
  return out;
}

std::string serialize_stream_open(const StreamHeader& header, bool xml_declaration) {
  const std::string_view prefix = stream_prefix_of(header);
  std::string out;
  if (xml_declaration) {
    out += "<?xml version='1.0'?>";
  }
  out += '<';
  out += prefix;
  out += ":stream";
  if (const auto content = header.namespace_for("")) {
    out += " xmlns='";
    escape(out, *content, true);
    out += '\'';
  }
  out += " xmlns:";
  out += prefix;
  out += "='";
  out += ns::streams;
  out += '\'';
  for (const auto& decl : header.namespaces()) {
    if (decl.prefix.empty() || decl.prefix == prefix || decl.prefix == "xml" || decl.prefix == "xmlns") {
      continue;
    }
    out += " xmlns:";
    out += decl.prefix;
    out += "='";
    escape(out, decl.uri, true);
    out += '\'';
  }
  write_attributes(out, header.attributes(), prefix, &header.namespaces());
  out += '>';
  return out;
}

std::string serialize_stream_close(const StreamHeader& header) {
  std::string out = "</";
  out += stream_prefix_of(header);
  out += ":stream>";
  return out;
}

void escape_text(std::string& out, std::string_view text) {
  escape(out, text, false);
}

void escape_attribute(std::string& out, std::string_view value) {
  escape(out, value, true);
}

} // namespace parley::core::xml
