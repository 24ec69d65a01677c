// libFuzzer target for core/xml: StreamParser on hostile bytes split in various ways, and a
// serialize / re-parse round trip of every element it delivers.
//
// The first input byte is a control byte; the rest is the stream.
//   bits 0-3  how the stream is split (0: in one piece; otherwise pseudo-random piece sizes)
//   bit 4     call reset() from on_element when a <starttls/> arrives
//   bit 5     tiny max_interned_names, so that libxml2 contexts get recycled
//   bit 6     small depth limit
//   bit 7     small stanza and header limits

#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
#include "core/xml/stream_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace parley::core::xml;

namespace {

StreamParser::Limits generous() {
  StreamParser::Limits limits;
  limits.max_stanza_bytes = 64 * 1024 * 1024;
  limits.max_header_bytes = 64 * 1024 * 1024;
  limits.max_attributes = 1 << 20;
  return limits;
}

/// Whatever the parser delivered must survive being written and read back unchanged.
void check_round_trip(const Element& element, const StreamHeader& header) {
  // As written into the stream it came from.
  std::string written = serialize_stream_open(header);
  serialize_into(written, element, scope_of(header));
  std::vector<Element> again;
  StreamParser::Callbacks callbacks;
  callbacks.on_element = [&](Element e) { again.push_back(std::move(e)); };
  StreamParser reparser(std::move(callbacks), generous());
  if (reparser.feed(written) || again.size() != 1 || !(again.front() == element)) {
    std::abort();
  }
  // Standalone.
  const auto standalone = parse_element(serialize(element), {}, generous());
  if (!standalone || !(*standalone == element)) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::uint8_t control = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  StreamParser::Limits limits;
  if ((control & 0x80) != 0) {
    limits.max_stanza_bytes = 512;
    limits.max_header_bytes = 256;
  }
  if ((control & 0x40) != 0) {
    limits.max_depth = 4;
    limits.max_attributes = 8;
  }
  if ((control & 0x20) != 0) {
    limits.max_interned_names = 8;
  }

  StreamParser* self = nullptr;
  std::optional<StreamHeader> header;
  StreamParser::Callbacks callbacks;
  callbacks.on_open = [&](StreamHeader h) { header = std::move(h); };
  callbacks.on_element = [&](Element e) {
    if (header) {
      check_round_trip(e, *header);
    }
    if ((control & 0x10) != 0 && e.name() == "starttls") {
      self->reset();
      header.reset();
    }
  };
  callbacks.on_close = [&] { header.reset(); };
  StreamParser parser(std::move(callbacks), limits);
  self = &parser;

  const unsigned split = control & 0x0F;
  std::uint32_t state = control * 2654435761U + 1;
  while (!input.empty()) {
    std::size_t n = input.size();
    if (split != 0) {
      state = state * 1103515245U + 12345U;
      n = 1 + (state >> 16) % (split * 4U);
    }
    const std::string_view piece = input.substr(0, n);
    input.remove_prefix(piece.size());
    if (parser.feed(piece)) {
      break;
    }
  }
  return 0;
}
