#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley::bench {

/// Cuts an incoming XMPP stream into its header and its top-level elements, without
/// building a tree. The load generator only needs to recognise a handful of stanzas and read
/// a few attributes and child texts, and it must stay cheap at tens of thousands of stanzas
/// per second on one core, so a real XML parser is not used here.
///
/// Assumes a well-behaved server: no DTD, no CDATA containing '<' outside a CDATA section.
/// Comments, processing instructions and CDATA sections are skipped correctly. Not thread-safe.
class StanzaScanner {
public:
  enum class Kind {
    none,    ///< no complete item buffered yet: read more
    header,  ///< the stream header <stream:stream ...> (text is the start tag)
    element, ///< one complete top-level element
    close,   ///< </stream:stream>
    error,   ///< malformed input or an element larger than the limit
  };
  struct Event {
    Kind kind = Kind::none;
    std::string_view text; ///< valid until the next prepare() or reset()
  };

  explicit StanzaScanner(std::size_t max_element_bytes = 1024 * 1024) : max_element_(max_element_bytes) {}

  /// Space for at least `n` more bytes at the end of the buffer; call commit() with what
  /// was actually written there. Invalidates the text of earlier events.
  char* prepare(std::size_t n);
  void commit(std::size_t n);

  /// The next complete item, or Kind::none when more input is needed.
  Event next();

  /// Forgets everything (RFC 6120 §5.4.3.3, §6.4.6: the stream restarts after TLS and SASL).
  void reset();

private:
  std::string buffer_; ///< storage; only the first size_ bytes hold input
  std::size_t size_ = 0;
  std::size_t consumed_ = 0;
  bool in_stream_ = false;
  bool failed_ = false;
  std::size_t max_element_;
};

/// The qualified name of an element's start tag: "message", "stream:features".
std::string_view element_name(std::string_view element);

/// An attribute of the element's start tag, entities left undecoded.
std::optional<std::string_view> attribute(std::string_view element, std::string_view name);

/// Whether the element contains a descendant start tag with this qualified name.
bool has_child(std::string_view element, std::string_view name);

/// The raw text of the first descendant with this qualified name ("" when it is empty or
/// absent; check has_child() to tell the two apart). Entities left undecoded.
std::string_view child_text(std::string_view element, std::string_view name);

/// Calls `fn(text)` for each descendant with this name, in document order.
template <class Fn> void for_each_child_text(std::string_view element, std::string_view name, Fn&& fn);

/// Escapes text for an XML attribute value or character data.
std::string xml_escape(std::string_view text);

namespace detail {
/// The start of the next descendant start tag named `name` at or after `from`, or npos.
std::size_t find_start_tag(std::string_view element, std::string_view name, std::size_t from);
/// Given the index of a start tag, the text up to its end tag and the index past it.
std::string_view text_after(std::string_view element, std::size_t tag, std::string_view name, std::size_t& next);
} // namespace detail

template <class Fn> void for_each_child_text(std::string_view element, std::string_view name, Fn&& fn) {
  std::size_t pos = 0;
  for (;;) {
    const std::size_t tag = detail::find_start_tag(element, name, pos);
    if (tag == std::string_view::npos) {
      return;
    }
    std::size_t next = 0;
    fn(detail::text_after(element, tag, name, next));
    pos = next;
  }
}

} // namespace parley::bench
