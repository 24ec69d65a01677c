#include "core/xml/stream_parser.hpp"

#include "core/xml/namespaces.hpp"
#include "core/xml/serializer.hpp"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace parley::core::xml {
namespace {

// Input is handed to libxml2 in slices of at most this size, so that the limits are checked
// often and libxml2's buffer never holds much more than one stanza.
constexpr std::size_t slice_size = 64 * 1024;

void init_libxml() noexcept {
  // xmlInitParser() sets up libxml2's global tables; a magic static runs it exactly once even
  // when several threads create their first parser at the same time. Nothing else global is
  // touched: options, error handlers and entity policy all live in each parser context.
  static const bool initialised = [] {
    xmlInitParser();
    return true;
  }();
  (void)initialised;
}

std::string_view view(const xmlChar* s) noexcept {
  return s != nullptr ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

std::string_view view(const xmlChar* s, int len) noexcept {
  return len > 0 ? std::string_view(reinterpret_cast<const char*>(s), static_cast<std::size_t>(len))
                 : std::string_view();
}

std::string_view view(const xmlChar* begin, const xmlChar* end) noexcept {
  return end > begin ? std::string_view(reinterpret_cast<const char*>(begin), static_cast<std::size_t>(end - begin))
                     : std::string_view();
}

// Without XML_PARSE_NOENT (which we never set: it substitutes entities), libxml2 hands every
// '&' of an attribute value (written &amp;, &#38; or &#x26;) to SAX2 spelt "&#38;", meant for
// its own tree builder to decode again. Namespace names declared with xmlns attributes get the
// same treatment. Every other entity reference is refused, so turning each "&#38;" back into
// '&' restores the value exactly.
std::string decoded(std::string_view raw) {
  std::string out;
  std::size_t amp = raw.find('&');
  if (amp == std::string_view::npos) {
    out.assign(raw);
    return out;
  }
  out.reserve(raw.size());
  std::size_t from = 0;
  while (amp != std::string_view::npos) {
    out.append(raw.substr(from, amp - from));
    out += '&';
    from = amp + (raw.substr(amp, 5) == "&#38;" ? 5 : 1);
    amp = raw.find('&', from);
  }
  out.append(raw.substr(from));
  return out;
}

bool all_whitespace(std::string_view s) noexcept {
  for (const char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      return false;
    }
  }
  return true;
}

/// Counts the attributes of each start tag, namespace declarations included, in the raw bytes
/// before libxml2 sees them. libxml2 2.9 looks for duplicate attributes in time quadratic in
/// their number, once the whole tag has arrived: a 256 KiB tag with 30000 attributes costs
/// half a second of CPU. Comments, CDATA sections and processing instructions are skipped so
/// that quotes or '=' inside them are not taken for attributes.
class AttributeCounter {
public:
  static constexpr std::size_t npos = std::string_view::npos;

  /// Scans the next bytes of the stream; returns the offset in `bytes` of the '=' that gives
  /// some start tag more than `max` attributes, or npos.
  std::size_t scan(std::string_view bytes, std::size_t max) noexcept {
    const char* const begin = bytes.data();
    const char* const end = begin + bytes.size();
    const char* p = begin;
    while (p < end) {
      switch (state_) {
      case State::text: {
        const void* lt = std::memchr(p, '<', static_cast<std::size_t>(end - p));
        if (lt == nullptr) {
          return npos;
        }
        p = static_cast<const char*>(lt) + 1;
        state_ = State::open;
        break;
      }
      case State::open:
        if (*p == '!') {
          ++p;
          state_ = State::bang;
        } else if (*p == '?') {
          ++p;
          enter(State::instruction);
        } else {
          state_ = State::tag;
          counting_ = true;
          count_ = 0;
        }
        break;
      case State::bang:
        if (*p == '-') {
          ++p;
          enter(State::comment);
        } else if (*p == '[') {
          ++p;
          enter(State::cdata);
        } else {
          state_ = State::tag; // <!DOCTYPE …>: refused by the parser, nothing to count
          counting_ = false;
        }
        break;
      case State::tag:
        for (; p < end; ++p) {
          const char c = *p;
          if (c == '>' || c == '\'' || c == '"') {
            state_ = c == '>' ? State::text : (c == '"' ? State::double_quoted : State::single_quoted);
            ++p;
            break;
          }
          if (c == '=' && counting_ && ++count_ > max) {
            return static_cast<std::size_t>(p - begin);
          }
        }
        break;
      case State::single_quoted:
      case State::double_quoted: {
        const char quote = state_ == State::single_quoted ? '\'' : '"';
        const void* q = std::memchr(p, quote, static_cast<std::size_t>(end - p));
        if (q == nullptr) {
          return npos;
        }
        p = static_cast<const char*>(q) + 1;
        state_ = State::tag;
        break;
      }
      case State::comment:
      case State::cdata:
      case State::instruction: {
        const char c = *p++;
        if (c == '>' && ((state_ == State::comment && prev1_ == '-' && prev2_ == '-') ||
                         (state_ == State::cdata && prev1_ == ']' && prev2_ == ']') ||
                         (state_ == State::instruction && prev1_ == '?'))) {
          state_ = State::text;
        }
        prev2_ = prev1_;
        prev1_ = c;
        break;
      }
      }
    }
    return npos;
  }

private:
  enum class State : unsigned char { text, open, bang, tag, single_quoted, double_quoted, comment, cdata, instruction };

  void enter(State s) noexcept {
    state_ = s;
    prev1_ = 0;
    prev2_ = 0;
  }

  State state_ = State::text;
  bool counting_ = false;
  std::size_t count_ = 0;
  char prev1_ = 0; // the last two bytes, to see "-->", "]]>" and "?>" end
  char prev2_ = 0;
};

constexpr std::size_t prolog_size = 256;

enum class Encoding { undecided, utf8, other };

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

/// Judges the encoding of a stream from its first bytes (RFC 6120 §11.6: UTF-8 only). `all`
/// says that no more bytes will be offered for the decision. Looks for what would make
/// libxml2 switch encodings (XML 1.0 Appendix F): a UTF-16 or UTF-32 byte order mark or byte
/// pattern, EBCDIC, or an encoding declaration other than UTF-8.
Encoding check_encoding(std::string_view s, bool all) noexcept {
  const auto starts = [&](std::string_view prefix) {
    // 1: s starts with prefix; 0: s is a proper prefix of it (undecided); -1: neither.
    if (s.size() >= prefix.size()) {
      return s.substr(0, prefix.size()) == prefix ? 1 : -1;
    }
    return prefix.substr(0, s.size()) == s ? 0 : -1;
  };
  for (std::size_t i = 0; i < s.size() && i < 4; ++i) {
    if (s[i] == '\0') {
      return Encoding::other; // UTF-16 or UTF-32 (XML has no NUL character)
    }
  }
  for (std::string_view mark :
       {std::string_view("\xFE\xFF"), std::string_view("\xFF\xFE"), std::string_view("\x4C\x6F\xA7\x94")}) {
    const int m = starts(mark);
    if (m == 1) {
      return Encoding::other;
    }
    if (m == 0 && !all) {
      return Encoding::undecided;
    }
  }
  const int bom = starts("\xEF\xBB\xBF");
  if (bom == 0) {
    return all ? Encoding::utf8 : Encoding::undecided;
  }
  if (bom == 1) {
    s.remove_prefix(3);
  }
  const int decl = starts("<?xml");
  if (decl == -1) {
    return Encoding::utf8;
  }
  if (decl == 0) {
    return all ? Encoding::utf8 : Encoding::undecided;
  }
  const std::size_t end = s.find("?>");
  if (end == std::string_view::npos) {
    // Let libxml2 judge an odd or huge declaration; a converter it might still choose is
    // caught in on_start_document.
    return all ? Encoding::utf8 : Encoding::undecided;
  }
  std::string_view rest = s.substr(0, end);
  const std::size_t at = rest.find("encoding");
  if (at == std::string_view::npos) {
    return Encoding::utf8;
  }
  rest.remove_prefix(at + 8);
  const auto skip_space = [&] {
    while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n')) {
      rest.remove_prefix(1);
    }
  };
  skip_space();
  if (rest.empty() || rest[0] != '=') {
    return Encoding::utf8; // malformed: libxml2 reports it
  }
  rest.remove_prefix(1);
  skip_space();
  if (rest.empty() || (rest[0] != '\'' && rest[0] != '"')) {
    return Encoding::utf8;
  }
  const char quote = rest[0];
  rest.remove_prefix(1);
  const std::string_view name = rest.substr(0, rest.find(quote));
  return equals_ignoring_case(name, "UTF-8") || equals_ignoring_case(name, "UTF8") ? Encoding::utf8 : Encoding::other;
}

stream_errc condition_for(const xmlError& err) noexcept {
  switch (err.code) {
  // RFC 6120 §11.1: entity references other than the predefined ones are restricted XML.
  case XML_ERR_UNDECLARED_ENTITY:
  case XML_WAR_UNDECLARED_ENTITY:
  case XML_ERR_ENTITY_LOOP:
  case XML_ERR_ENTITY_PE_INTERNAL:
  case XML_ERR_UNPARSED_ENTITY:
  case XML_ERR_ENTITY_IS_EXTERNAL:
  case XML_ERR_ENTITY_IS_PARAMETER: return stream_errc::restricted_xml;
  // RFC 6120 §11.6: UTF-8 only.
  case XML_ERR_UNSUPPORTED_ENCODING:
  case XML_ERR_INVALID_ENCODING: return stream_errc::unsupported_encoding;
  case XML_ERR_NO_MEMORY: return stream_errc::resource_constraint;
  case XML_ERR_NAME_TOO_LONG: return stream_errc::policy_violation;
  default:
    // XML 1.0 and Namespaces in XML violations alike (RFC 6120 §4.9.3.13).
    return stream_errc::not_well_formed;
  }
}

} // namespace

struct StreamParser::Impl {
  enum class State { header, open, closed, failed };

  Impl(Callbacks cb, Limits l) : callbacks(std::move(cb)), limits(l) {
    init_libxml();
    if (!create_context()) {
      throw std::bad_alloc();
    }
  }

  ~Impl() { destroy_context(); }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Callbacks callbacks;
  Limits limits;
  xmlParserCtxtPtr ctxt = nullptr;

  State state = State::header;
  boost::system::error_code error;
  bool in_feed = false;
  // The current libxml2 context must deliver nothing more (error, close, reset or recycle).
  bool halted = false;
  // xmlStopParser() has been called on the current context.
  bool stopped = false;
  // The peer's stream header has been reported (since the last reset).
  bool header_seen = false;
  bool reset_requested = false;
  bool recycle_requested = false;
  // Feeding the synthetic header of a recycled context: do not report it.
  bool replaying = false;
  bool last_push_ended_in_cr = false;
  std::exception_ptr callback_exception;

  // libxml2 element depth: 1 is the stream element, 2 a top-level child.
  std::size_t depth = 0;
  Element current;
  std::vector<Element*> open_elements; // path from `current` to the innermost open element
  std::size_t pushed = 0;              // bytes given to this context
  std::size_t mark = 0;                // offset in this context where pending bytes start
  StreamHeader scope_header;           // namespace declarations of the stream element
  AttributeCounter attribute_counter;
  bool encoding_checked = false; // the stream's first bytes have been checked for UTF-8
  // RFC 3629 validation across chunk boundaries: continuation bytes still expected, and the
  // range the next one must fall in (narrower after E0, ED, F0 and F4).
  unsigned utf8_need = 0;
  unsigned char utf8_lo = 0x80;
  unsigned char utf8_hi = 0xBF;

  /// RFC 6120 §4.9.3.22: bytes that break the rules of UTF-8 are <unsupported-encoding/>.
  /// libxml2 2.9 reports them as a plain invalid character, hence this check of our own.
  /// The offset of the first byte that breaks UTF-8, or npos.
  std::size_t first_invalid_utf8(std::string_view bytes) noexcept {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const auto c = static_cast<unsigned char>(bytes[i]);
      if (utf8_need > 0) {
        if (c < utf8_lo || c > utf8_hi) {
          return i;
        }
        --utf8_need;
        utf8_lo = 0x80;
        utf8_hi = 0xBF;
        continue;
      }
      if (c < 0x80) {
        continue;
      }
      if (c >= 0xC2 && c <= 0xDF) {
        utf8_need = 1;
      } else if (c >= 0xE0 && c <= 0xEF) {
        utf8_need = 2;
        if (c == 0xE0) utf8_lo = 0xA0;
        if (c == 0xED) utf8_hi = 0x9F; // no surrogates
      } else if (c >= 0xF0 && c <= 0xF4) {
        utf8_need = 3;
        if (c == 0xF0) utf8_lo = 0x90;
        if (c == 0xF4) utf8_hi = 0x8F; // nothing past U+10FFFF
      } else {
        return i; // C0, C1, F5..FF, or a stray continuation byte
      }
    }
    return std::string_view::npos;
  }

  /// Parses the valid part of `bytes` and fails at the first byte that breaks UTF-8, so that
  /// the outcome does not depend on how the input was split.
  bool process_checked(std::string_view bytes) {
    const std::size_t bad = first_invalid_utf8(bytes);
    if (bad == std::string_view::npos) {
      return process(bytes);
    }
    if (bad > 0 && !process(bytes.substr(0, bad))) {
      return false;
    }
    if (state != State::failed && state != State::closed) {
      fail(stream_errc::unsupported_encoding, false);
    }
    return false;
  }
  std::string prolog;            // first bytes held back until then
  std::string recycle_tail;      // unparsed bytes carried over to a fresh context

  // ---- context lifetime -------------------------------------------------------------------

  static const xmlSAXHandler& sax_handler() noexcept {
    static const xmlSAXHandler handler = [] {
      xmlSAXHandler h{};
      h.initialized = XML_SAX2_MAGIC;
      h.startDocument = &on_start_document;
      h.startElementNs = &on_start_element;
      h.endElementNs = &on_end_element;
      h.characters = &on_characters;
      // With keepBlanks on libxml2 reports all whitespace as characters anyway; pointing both
      // at the same function also disables its "ignorable whitespace" guessing.
      h.ignorableWhitespace = &on_characters;
      h.cdataBlock = &on_characters;
      h.comment = &on_comment;
      h.processingInstruction = &on_processing_instruction;
      h.internalSubset = &on_subset;
      h.externalSubset = &on_subset;
      h.getEntity = &on_get_entity;
      h.getParameterEntity = &on_get_entity;
      h.resolveEntity = &on_resolve_entity;
      h.entityDecl = &on_entity_decl;
      h.unparsedEntityDecl = &on_unparsed_entity_decl;
      h.notationDecl = &on_notation_decl;
      h.attributeDecl = &on_attribute_decl;
      h.elementDecl = &on_element_decl;
      h.reference = &on_reference;
      h.serror = &on_error;
      return h;
    }();
    return handler;
  }

  bool create_context() noexcept {
    ctxt = xmlCreatePushParserCtxt(const_cast<xmlSAXHandler*>(&sax_handler()), this, nullptr, 0, nullptr);
    if (ctxt == nullptr) {
      return false;
    }
    // No XML_PARSE_NOENT (entity substitution), no DTDLOAD/DTDATTR/DTDVALID (DTD loading),
    // no HUGE (keeps libxml2's own size caps), no NOBLANKS (whitespace is content), no
    // RECOVER (an error is final). NONET: never fetch anything.
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOWARNING);
    // Spelled out again because xmlNewParserCtxt copies process-wide defaults that another
    // part of the program might have changed.
    ctxt->replaceEntities = 0;
    ctxt->loadsubset = 0;
    ctxt->validate = 0;
    ctxt->keepBlanks = 1;
    ctxt->recovery = 0;
    ctxt->pedantic = 0;
    pushed = 0;
    mark = 0;
    depth = 0;
    halted = false;
    stopped = false;
    open_elements.clear();
    return true;
  }

  void destroy_context() noexcept {
    if (ctxt != nullptr) {
      xmlFreeParserCtxt(ctxt);
      ctxt = nullptr;
    }
  }

  void start_over() noexcept {
    destroy_context();
    state = State::header;
    error = {};
    header_seen = false;
    reset_requested = false;
    recycle_requested = false;
    recycle_tail.clear();
    current = Element();
    scope_header = StreamHeader();
    attribute_counter = AttributeCounter();
    encoding_checked = false;
    utf8_need = 0;
    utf8_lo = 0x80;
    utf8_hi = 0xBF;
    prolog.clear();
    if (!create_context()) {
      fail_without_context(stream_errc::resource_constraint);
    }
  }

  void fail_without_context(stream_errc e) noexcept {
    state = State::failed;
    error = e;
    halted = true;
  }

  // ---- error handling ---------------------------------------------------------------------

  /// Ends the stream with `e` unless it has already ended. `stop` asks libxml2 to stop at
  /// once; only callbacks after which libxml2 checks for that (element, text, comment, PI,
  /// DOCTYPE) may pass true. Elsewhere libxml2 goes on to the end of the slice while we ignore
  /// everything it reports.
  void fail(stream_errc e, bool stop) noexcept {
    if (halted) {
      return;
    }
    state = State::failed;
    error = e;
    halt(stop);
  }

  void halt(bool stop) noexcept {
    halted = true;
    if (stop) {
      stop_libxml();
    }
  }

  void stop_libxml() noexcept {
    if (!stopped && ctxt != nullptr) {
      stopped = true;
      xmlStopParser(ctxt);
    }
  }

  template <class Fn, class... Args> void call(Fn& fn, Args&&... args) noexcept {
    if (!fn) {
      return;
    }
    try {
      fn(std::forward<Args>(args)...);
    } catch (...) {
      callback_exception = std::current_exception();
      fail(stream_errc::internal_server_error, true);
    }
  }

  // ---- byte accounting --------------------------------------------------------------------

  /// Bytes of this context's input that libxml2 has parsed so far. There is never an encoding
  /// converter once the stream element has been seen (see on_start_document), so these are
  /// bytes as received.
  std::size_t consumed() const noexcept {
    const xmlParserInputPtr in = ctxt->input;
    if (in == nullptr || in->cur == nullptr || in->base == nullptr) {
      return pushed;
    }
    return static_cast<std::size_t>(in->consumed) + static_cast<std::size_t>(in->cur - in->base);
  }

  /// Where the text [ch, ch + len) that libxml2 reports ends in this context's input. Text
  /// that points into the input buffer tells exactly; text libxml2 copied elsewhere (decoded
  /// references, non-ASCII runs) is reported once the input position has moved past it.
  std::size_t end_of(const xmlChar* ch, int len) const noexcept {
    const xmlParserInputPtr in = ctxt->input;
    const auto at = reinterpret_cast<std::uintptr_t>(ch);
    if (in != nullptr && in->base != nullptr && len >= 0 && at >= reinterpret_cast<std::uintptr_t>(in->base) &&
        at + static_cast<std::uintptr_t>(len) <= reinterpret_cast<std::uintptr_t>(in->end)) {
      return static_cast<std::size_t>(in->consumed) +
             static_cast<std::size_t>(at - reinterpret_cast<std::uintptr_t>(in->base)) + static_cast<std::size_t>(len);
    }
    return consumed();
  }

  bool too_large(std::size_t position) const noexcept {
    return position > mark && position - mark > limits.max_stanza_bytes;
  }

  // ---- feeding ----------------------------------------------------------------------------

  void push(std::string_view bytes) noexcept {
    if (bytes.empty() || halted) {
      return;
    }
    pushed += bytes.size();
    last_push_ended_in_cr = bytes.back() == '\r';
    const int rc = xmlParseChunk(ctxt, bytes.data(), static_cast<int>(bytes.size()), 0);
    if (rc != 0 && !halted) {
      // An error libxml2 did not report through on_error.
      fail(stream_errc::not_well_formed, false);
    }
  }

  /// Replaces the libxml2 context with a fresh one between two stanzas, re-declaring the
  /// stream element's namespaces, then parses the bytes the old context had not reached.
  void recycle() noexcept {
    std::string tail = std::move(recycle_tail);
    recycle_tail.clear();
    recycle_requested = false;
    destroy_context();
    if (!create_context()) {
      fail_without_context(stream_errc::resource_constraint);
      return;
    }
    std::string opening;
    try {
      opening = serialize_stream_open(scope_header, false);
    } catch (...) {
      fail(stream_errc::resource_constraint, false);
      return;
    }
    replaying = true;
    push(opening);
    replaying = false;
    if (state != State::open || depth != 1) {
      fail(stream_errc::internal_server_error, false);
      return;
    }
    push(tail);
  }

  void parse_slice(std::string_view slice) noexcept {
    if (ctxt == nullptr && state == State::open) {
      // trim() freed the context between two stanzas: build it again.
      recycle();
      if (halted) {
        return;
      }
    }
    push(slice);
    while (recycle_requested && !reset_requested && callback_exception == nullptr && state == State::open) {
      recycle();
    }
    if (reset_requested || callback_exception != nullptr || halted) {
      return;
    }
    // What libxml2 holds without having reported it yet (an unfinished tag, text waiting for
    // its end) counts against the limit of whatever it belongs to.
    const std::size_t pending = pushed > mark ? pushed - mark : 0;
    if (state == State::header && pending > limits.max_header_bytes) {
      fail(stream_errc::policy_violation, false);
    } else if (state == State::open && pending > limits.max_stanza_bytes) {
      fail(stream_errc::policy_violation, false);
    }
  }

  /// Parses `bytes` slice by slice. Returns false when the rest of the input must be dropped
  /// (reset, error, close, exception).
  bool process(std::string_view bytes) noexcept {
    while (!bytes.empty()) {
      if (state != State::header && state != State::open) {
        return false;
      }
      const std::string_view slice = bytes.substr(0, slice_size);
      bytes.remove_prefix(slice.size());
      // Parse up to a start tag with too many attributes, never into it.
      const std::size_t cut = attribute_counter.scan(slice, limits.max_attributes);
      parse_slice(cut == AttributeCounter::npos ? slice : slice.substr(0, cut));
      if (reset_requested) {
        // RFC 6120 §5.4.3.3 / §6.4.6: the stream restarts; what followed in this read is
        // discarded.
        start_over();
        return false;
      }
      if (callback_exception != nullptr) {
        return false;
      }
      if (cut != AttributeCounter::npos) {
        fail(stream_errc::policy_violation, false);
        return false;
      }
    }
    return true;
  }

  boost::system::error_code feed(std::string_view bytes) {
    if (in_feed) {
      // A callback called feed(): a bug in the caller.
      assert(false && "StreamParser::feed called from a callback");
      return stream_errc::internal_server_error;
    }
    if (state == State::failed) {
      return error;
    }
    if (state == State::closed) {
      return {};
    }
    in_feed = true;
    bool go_on = true;
    if (!encoding_checked) {
      // Hold the first bytes back until they show the stream is UTF-8: libxml2 must never
      // start converting from another encoding (it would also print conversion errors to
      // stderr).
      const std::size_t take = std::min(bytes.size(), prolog_size - prolog.size());
      prolog.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      switch (check_encoding(prolog, prolog.size() >= prolog_size)) {
      case Encoding::undecided: go_on = false; break;
      case Encoding::other:
        fail(stream_errc::unsupported_encoding, false);
        go_on = false;
        break;
      case Encoding::utf8: {
        encoding_checked = true;
        const std::string first = std::move(prolog);
        prolog.clear();
        go_on = process_checked(first);
        break;
      }
      }
    }
    if (go_on) {
      process_checked(bytes);
    }
    in_feed = false;
    if (callback_exception != nullptr) {
      std::rethrow_exception(std::exchange(callback_exception, nullptr));
    }
    return state == State::failed ? error : boost::system::error_code();
  }

  bool trim() noexcept {
    if (in_feed || ctxt == nullptr || state != State::open || halted || depth != 1 || recycle_requested ||
        ctxt->instate != XML_PARSER_CONTENT) {
      return false;
    }
    // Whitespace between stanzas (keep-alives) may wait unparsed for the next '<'; it means
    // nothing, so it does not keep the context alive. Anything else does.
    const xmlParserInputPtr in = ctxt->input;
    if (in == nullptr || in->cur == nullptr || !all_whitespace(view(in->cur, in->end))) {
      return false;
    }
    destroy_context();
    current = Element();
    std::vector<Element*>().swap(open_elements);
    std::string().swap(recycle_tail);
    std::string().swap(prolog);
    return true;
  }

  void reset() noexcept {
    if (in_feed) {
      // The context cannot be freed while libxml2 is inside it: stop it now, replace it once
      // xmlParseChunk has returned. What callers can observe changes at once.
      reset_requested = true;
      state = State::header;
      error = {};
      header_seen = false;
      if (!halted) {
        halt(true);
      }
      return;
    }
    start_over();
  }

  // ---- SAX2 events ------------------------------------------------------------------------

  void open_stream(std::string_view name, std::string_view prefix, std::string_view uri, int nb_namespaces,
                   const xmlChar** namespaces, int nb_attributes, const xmlChar** attributes) {
    depth = 1;
    if (!replaying && consumed() > limits.max_header_bytes) {
      return fail(stream_errc::policy_violation, true);
    }
    if (name != "stream" || uri != ns::streams) {
      // RFC 6120 §4.8.1, §4.9.3.10: the root must be {http://etherx.jabber.org/streams}stream.
      return fail(stream_errc::invalid_namespace, true);
    }
    if (prefix != "stream") {
      // RFC 6120 §4.8.5, §4.9.3.2: the streams namespace is used with the prefix "stream"
      // (e.g. <foobar:stream xmlns:foobar='http://etherx.jabber.org/streams'> or a stream
      // element in the default namespace are refused).
      return fail(stream_errc::bad_namespace_prefix, true);
    }
    StreamHeader header;
    header.set_stream_prefix(std::string(prefix));
    for (int i = 0; i < nb_namespaces; ++i) {
      header.declare_namespace(std::string(view(namespaces[2 * i])), decoded(view(namespaces[2 * i + 1])));
    }
    scope_header = header;
    for (int i = 0; i < nb_attributes; ++i) {
      const xmlChar** a = attributes + 5 * i;
      header.set_attribute(view(a[0]), decoded(view(a[3], a[4])), decoded(view(a[2])));
    }
    state = State::open;
    // libxml2 reports the start tag before consuming its closing '>'.
    mark = consumed() + (ctxt->input->cur != nullptr && *ctxt->input->cur == '>' ? 1 : 0);
    if (!replaying) {
      header_seen = true;
      call(callbacks.on_open, std::move(header));
    }
  }

  void start_element(const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri, int nb_namespaces,
                     const xmlChar** namespaces, int nb_attributes, const xmlChar** attributes) {
    if (static_cast<std::size_t>(nb_attributes) + static_cast<std::size_t>(nb_namespaces) > limits.max_attributes) {
      return fail(stream_errc::policy_violation, true);
    }
    if (depth == 0) {
      return open_stream(view(localname), view(prefix), view(uri), nb_namespaces, namespaces, nb_attributes,
                         attributes);
    }
    ++depth;
    if (depth - 1 > limits.max_depth || too_large(consumed())) {
      return fail(stream_errc::policy_violation, true);
    }
    Element* element = nullptr;
    if (depth == 2) {
      current = Element(std::string(view(localname)), decoded(view(uri)));
      open_elements.clear();
      element = &current;
    } else {
      element = &open_elements.back()->add_child(Element(std::string(view(localname)), decoded(view(uri))));
    }
    for (int i = 0; i < nb_attributes; ++i) {
      const xmlChar** a = attributes + 5 * i;
      element->set_attribute(view(a[0]), decoded(view(a[3], a[4])), decoded(view(a[2])));
    }
    open_elements.push_back(element);
  }

  void end_element() {
    if (depth == 1) {
      // </stream:stream>: nothing after it is parsed (RFC 6120 §4.4).
      depth = 0;
      state = State::closed;
      halt(true);
      call(callbacks.on_close);
      return;
    }
    if (depth < 2 || open_elements.empty()) {
      return fail(stream_errc::internal_server_error, true);
    }
    if (too_large(consumed())) {
      return fail(stream_errc::policy_violation, true);
    }
    --depth;
    open_elements.pop_back();
    if (depth > 1) {
      return;
    }
    mark = consumed();
    Element complete = std::move(current);
    current = Element();
    call(callbacks.on_element, std::move(complete));
    if (!halted && xmlDictSize(ctxt->dict) > 0 &&
        static_cast<std::size_t>(xmlDictSize(ctxt->dict)) > limits.max_interned_names) {
      // Carry what libxml2 has not parsed yet over to a fresh context. A CR ending the last
      // chunk is not in libxml2's buffer yet: xmlParseChunk holds it back until after parsing.
      const xmlParserInputPtr in = ctxt->input;
      recycle_tail.assign(view(in->cur, in->end));
      if (last_push_ended_in_cr) {
        recycle_tail += '\r';
      }
      recycle_requested = true;
      halt(true);
    }
  }

  void characters(const xmlChar* ch, int len) {
    const std::string_view text = view(ch, len);
    if (depth >= 2) {
      if (too_large(end_of(ch, len))) {
        return fail(stream_errc::policy_violation, true);
      }
      open_elements.back()->add_text(text);
      return;
    }
    if (depth == 1) {
      // Between stanzas only whitespace may appear (RFC 6120 §4.6.1 keepalives).
      if (!all_whitespace(text)) {
        return fail(stream_errc::bad_format, true);
      }
      mark = std::max(mark, end_of(ch, len));
    }
  }

  // ---- libxml2 entry points: no exception may leave them ----------------------------------

  static Impl& self(void* ctx) noexcept { return *static_cast<Impl*>(ctx); }

  template <class Fn> static void guarded(Impl& p, Fn&& fn) noexcept {
    if (p.halted) {
      // An error reported through on_error, where stopping is unsafe: stop here instead.
      p.stop_libxml();
      return;
    }
    try {
      fn();
    } catch (const std::bad_alloc&) {
      p.fail(stream_errc::resource_constraint, true);
    } catch (...) {
      p.fail(stream_errc::internal_server_error, true);
    }
  }

  static void on_start_document(void* ctx) noexcept {
    Impl& p = self(ctx);
    if (p.halted) {
      return;
    }
    // The XML declaration has been read and libxml2 has chosen the input encoding. A
    // converter means something other than UTF-8 (a UTF-16 byte order mark, or an
    // encoding='…' declaration). RFC 6120 §11.6.
    const xmlParserInputPtr in = p.ctxt->input;
    if (in != nullptr && in->buf != nullptr && in->buf->encoder != nullptr) {
      p.fail(stream_errc::unsupported_encoding, false);
    }
  }

  static void on_start_element(void* ctx, const xmlChar* localname, const xmlChar* prefix, const xmlChar* uri,
                               int nb_namespaces, const xmlChar** namespaces, int nb_attributes, int /*nb_defaulted*/,
                               const xmlChar** attributes) noexcept {
    Impl& p = self(ctx);
    guarded(p, [&] { p.start_element(localname, prefix, uri, nb_namespaces, namespaces, nb_attributes, attributes); });
  }

  static void on_end_element(void* ctx, const xmlChar* /*localname*/, const xmlChar* /*prefix*/,
                             const xmlChar* /*uri*/) noexcept {
    Impl& p = self(ctx);
    guarded(p, [&] { p.end_element(); });
  }

  static void on_characters(void* ctx, const xmlChar* ch, int len) noexcept {
    Impl& p = self(ctx);
    guarded(p, [&] { p.characters(ch, len); });
  }

  // RFC 6120 §11.1: comments, processing instructions, DTDs and entity declarations or
  // references are restricted XML.
  static void on_comment(void* ctx, const xmlChar* /*value*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, true);
  }

  static void on_processing_instruction(void* ctx, const xmlChar* /*target*/, const xmlChar* /*data*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, true);
  }

  static void on_subset(void* ctx, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                        const xmlChar* /*system_id*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, true);
  }

  // The callbacks below run in the middle of libxml2's own parsing routines, where stopping
  // the parser is not safe; libxml2 raises a fatal error right after them anyway.
  static xmlEntityPtr on_get_entity(void* ctx, const xmlChar* /*name*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, false);
    return nullptr;
  }

  static xmlParserInputPtr on_resolve_entity(void* ctx, const xmlChar* /*public_id*/,
                                             const xmlChar* /*system_id*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, false);
    return nullptr;
  }

  static void on_entity_decl(void* ctx, const xmlChar* /*name*/, int /*type*/, const xmlChar* /*public_id*/,
                             const xmlChar* /*system_id*/, xmlChar* /*content*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, false);
  }

  static void on_unparsed_entity_decl(void* ctx, const xmlChar* /*name*/, const xmlChar* /*public_id*/,
                                      const xmlChar* /*system_id*/, const xmlChar* /*notation*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, false);
  }

  static void on_notation_decl(void* ctx, const xmlChar* /*name*/, const xmlChar* /*public_id*/,
                               const xmlChar* /*system_id*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, false);
  }

  static void on_attribute_decl(void* ctx, const xmlChar* /*elem*/, const xmlChar* /*name*/, int /*type*/, int /*def*/,
                                const xmlChar* /*default_value*/, xmlEnumerationPtr tree) noexcept {
    // libxml2 hands ownership of the enumeration to this callback.
    if (tree != nullptr) {
      xmlFreeEnumeration(tree);
    }
    self(ctx).fail(stream_errc::restricted_xml, false);
  }

  static void on_element_decl(void* ctx, const xmlChar* /*name*/, int /*type*/,
                              xmlElementContentPtr /*content*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, false);
  }

  static void on_reference(void* ctx, const xmlChar* /*name*/) noexcept {
    self(ctx).fail(stream_errc::restricted_xml, false);
  }

  static void on_error(void* ctx, xmlErrorPtr err) noexcept {
    if (err == nullptr || err->level < XML_ERR_ERROR) {
      return; // warnings change nothing
    }
    self(ctx).fail(condition_for(*err), false);
  }
};

StreamParser::StreamParser(Callbacks callbacks) : StreamParser(std::move(callbacks), Limits()) {}

StreamParser::StreamParser(Callbacks callbacks, Limits limits)
    : impl_(std::make_unique<Impl>(std::move(callbacks), limits)) {}

StreamParser::~StreamParser() = default;

boost::system::error_code StreamParser::feed(std::string_view bytes) {
  return impl_->feed(bytes);
}

void StreamParser::reset() {
  impl_->reset();
}

bool StreamParser::trim() noexcept {
  return impl_->trim();
}

void StreamParser::set_limits(const Limits& limits) noexcept {
  impl_->limits = limits;
}

const StreamParser::Limits& StreamParser::limits() const noexcept {
  return impl_->limits;
}

bool StreamParser::opened() const noexcept {
  return impl_->header_seen;
}

bool StreamParser::closed() const noexcept {
  return impl_->state == Impl::State::closed;
}

boost::system::error_code StreamParser::error() const noexcept {
  return impl_->error;
}

} // namespace parley::core::xml
