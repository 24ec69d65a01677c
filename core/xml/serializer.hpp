#pragma once

#include "core/xml/element.hpp"
#include "core/xml/stream_header.hpp"

#include <string>
#include <string_view>

namespace parley::core::xml {

/// The namespace bindings in force where an element is written. Inside a c2s stream opened
/// with xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' that is
/// {"jabber:client", "stream"}: stanzas then need no xmlns of their own and
/// <stream:features/> or <stream:error/> keep their customary prefix.
struct Scope {
  /// The default namespace in scope; empty when there is none.
  std::string_view default_ns;
  /// The prefix bound to ns::streams; empty when none is.
  std::string_view stream_prefix;
};

/// The scope of the children of a stream opened with `header`. `header` must outlive it.
Scope scope_of(const StreamHeader& header) noexcept;

/// Appends the XML for `element` to `out` (no XML declaration). Namespaces are declared only
/// where needed: `xmlns='…'` when an element's namespace differs from the one in scope,
/// `xml:lang` and other attributes in the XML namespace with the predefined `xml:` prefix,
/// other namespaced attributes with a generated prefix declared on the same element.
/// Attribute values are written in single quotes with & < > ' " and tab, newline and
/// carriage return escaped; text with & < > and carriage return escaped. Whatever XML 1.0
/// cannot carry (control characters, invalid UTF-8, U+FFFE, U+FFFF) is written as U+FFFD,
/// so the output is always well-formed even for text that came from outside XMPP (an SMS,
/// an email). Namespace declarations stored as attributes (`xmlns`, ns::xmlns) are skipped.
void serialize_into(std::string& out, const Element& element, const Scope& scope = {});

/// The XML for `element` as a new string; `parent_ns` is the default namespace in scope
/// (e.g. ns::client for a stanza written into a c2s stream or kept for later delivery).
std::string serialize(const Element& element, std::string_view parent_ns = {});

/// The opening of a stream we send: `<?xml version='1.0'?>` (unless `xml_declaration` is
/// false) and `<stream:stream xmlns='jabber:client'
/// xmlns:stream='http://etherx.jabber.org/streams' …>` with the header's other namespace
/// declarations and attributes. RFC 6120 §4.7.
std::string serialize_stream_open(const StreamHeader& header, bool xml_declaration = true);

/// `</stream:stream>` for a stream opened with `header` (RFC 6120 §4.4).
std::string serialize_stream_close(const StreamHeader& header);

/// Appends `text` escaped as character data (see serialize_into).
void escape_text(std::string& out, std::string_view text);
/// Appends `value` escaped for an attribute value in single or double quotes.
void escape_attribute(std::string& out, std::string_view value);

} // namespace parley::core::xml
