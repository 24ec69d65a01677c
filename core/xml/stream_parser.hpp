#pragma once

#include "core/xml/element.hpp"
#include "core/xml/errc.hpp"
#include "core/xml/stream_header.hpp"

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

namespace parley::core::xml {

/// Incremental parser for one direction of an XMPP stream (RFC 6120 §4), on libxml2's SAX2
/// push interface. Bytes go in as they arrive from the socket, split anywhere; out come the
/// stream header, one complete Element per top-level child (a stanza or a negotiation
/// element such as <starttls/>), and the closing tag.
///
/// Hostile input is expected (RFC 6120 §13). The parser
/// - never expands or loads an entity, never reads a DTD and never touches the network;
/// - ends the stream with `restricted_xml` on a DOCTYPE, entity declaration, comment,
///   processing instruction or any entity reference other than the five predefined ones
///   (RFC 6120 §11.1). We report `&foo;` as restricted_xml rather than not_well_formed:
///   §11.1 names such references explicitly as restricted;
/// - ends it with `not_well_formed` on anything that breaks XML 1.0 or Namespaces in XML
///   (§4.9.3.13), undefined prefixes included; with `unsupported_encoding` for anything but
///   UTF-8 (§11.6); with `bad_format` for non-whitespace text between stanzas (§4.9.3.1);
/// - ends it with `policy_violation` (§4.9.3.14) when a Limits value is exceeded.
///
/// Threading: not synchronised; use from one strand. Callbacks run synchronously inside
/// feed(). A callback may call reset(), set_limits() or the accessors, but must not call
/// feed() and must not destroy the parser. An exception thrown by a callback is caught at the
/// libxml2 boundary, the parser fails with `internal_server_error`, and feed() rethrows it
/// once libxml2 has returned.
class StreamParser {
public:
  /// Bounds on what one peer can make us hold in memory. The session lowers them before
  /// authentication and raises them afterwards through set_limits().
  struct Limits {
    /// Largest top-level element, counted in bytes from its '<' to the end of its end tag.
    /// Bytes buffered while waiting for the end of a tag or text count too, so an endless
    /// start tag cannot grow memory without bound.
    std::size_t max_stanza_bytes = 256 * 1024;
    /// Largest stream header: the bytes from the start of the stream (or reset()) to the end
    /// of the <stream:stream> start tag, XML declaration included.
    std::size_t max_header_bytes = 8 * 1024;
    /// Deepest nesting inside a top-level element; the top-level element itself is depth 1.
    std::size_t max_depth = 64;
    /// Most attributes on one element, namespace declarations included.
    std::size_t max_attributes = 64;
    /// libxml2 interns every distinct name it sees for as long as its context lives. After
    /// this many, the parser moves to a fresh libxml2 context at the next point between two
    /// stanzas; nothing of this is visible to callers.
    std::size_t max_interned_names = 4096;
  };

  /// What the parser reports. Any of them may be empty.
  struct Callbacks {
    /// The peer's stream header was received (once per stream, and again after reset()).
    std::function<void(StreamHeader header)> on_open;
    /// A complete top-level child of the stream, with all its descendants.
    std::function<void(Element element)> on_element;
    /// The peer closed the stream with </stream:stream>. Input after it is ignored.
    std::function<void()> on_close;
  };

  explicit StreamParser(Callbacks callbacks);
  StreamParser(Callbacks callbacks, Limits limits);
  ~StreamParser();
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  /// Parses the next bytes of the stream, calling the callbacks for whatever they complete.
  /// Returns the stream error (a stream_errc) that ends the stream, or success. After an
  /// error, every later call returns the same error without parsing. After the closing tag
  /// the input is ignored and success is returned. When a callback calls reset(), the rest of
  /// `bytes` is discarded (RFC 6120 §5.4.3.3: nothing sent before the TLS handshake counts)
  /// and success is returned.
  boost::system::error_code feed(std::string_view bytes);

  /// Starts over with a fresh stream, as after STARTTLS or SASL success (RFC 6120 §4.3.3):
  /// the next bytes must begin with a new stream header. Keeps callbacks and limits. When
  /// called from a callback, parsing stops once the callback returns.
  void reset();

  /// Frees libxml2's parser state (about 15 KiB) while the stream sits between two top-level
  /// elements with no unparsed input held back; the next feed() builds it again, as after
  /// max_interned_names. For streams that are idle most of the time. Returns true when memory
  /// was freed; false, and nothing changes, when the parser is not at such a point. Must not be
  /// called from a callback.
  bool trim() noexcept;

  /// Takes effect immediately, also for the element being parsed.
  void set_limits(const Limits& limits) noexcept;
  const Limits& limits() const noexcept;

  /// True once the peer's stream header has been reported (until reset()).
  bool opened() const noexcept;
  /// True once the peer's closing tag has been reported (until reset()).
  bool closed() const noexcept;
  /// The error that ended the stream, or success.
  boost::system::error_code error() const noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace parley::core::xml
