#pragma once
// Test helper: runs a document through a StreamParser and records what comes out, so that
// feeding the same bytes in different splits can be compared.

#include "core/xml/serializer.hpp"
#include "core/xml/stream_parser.hpp"

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace parley::core::xml {

/// For doctest's messages: an element prints as its XML.
inline std::ostream& operator<<(std::ostream& os, const Element& e) {
  return os << serialize(e);
}

} // namespace parley::core::xml

namespace parley::core::xml::test {

struct Event {
  enum class Kind { open, element, close };
  Kind kind;
  StreamHeader header;
  Element element;
  friend bool operator==(const Event&, const Event&) = default;
};

struct Outcome {
  std::vector<Event> events;
  std::vector<Element> elements; // the elements of `events`, for convenience
  boost::system::error_code error;
  friend bool operator==(const Outcome&, const Outcome&) = default;

  bool opened() const { return !events.empty() && events.front().kind == Event::Kind::open; }
  bool closed() const { return !events.empty() && events.back().kind == Event::Kind::close; }
};

/// Callbacks that append to `outcome`.
inline StreamParser::Callbacks recording(Outcome& outcome) {
  StreamParser::Callbacks cb;
  cb.on_open = [&outcome](StreamHeader h) { outcome.events.push_back({Event::Kind::open, std::move(h), {}}); };
  cb.on_element = [&outcome](Element e) {
    outcome.elements.push_back(e);
    outcome.events.push_back({Event::Kind::element, {}, std::move(e)});
  };
  cb.on_close = [&outcome] { outcome.events.push_back({Event::Kind::close, {}, {}}); };
  return cb;
}

/// Split sizes: 0 means the whole document at once, 1 byte by byte; a negative value is the
/// seed of a random split into pieces of 1 to 17 bytes.
inline Outcome run(std::string_view doc, int split, StreamParser::Limits limits = {}) {
  Outcome outcome;
  StreamParser testling(recording(outcome), limits);
  auto feed = [&](std::string_view piece) {
    if (outcome.error) {
      return;
    }
    outcome.error = testling.feed(piece);
  };
  if (split == 0) {
    feed(doc);
  } else if (split > 0) {
    for (std::size_t i = 0; i < doc.size(); i += static_cast<std::size_t>(split)) {
      feed(doc.substr(i, static_cast<std::size_t>(split)));
    }
  } else {
    std::mt19937 rng(static_cast<unsigned>(-split));
    std::uniform_int_distribution<std::size_t> size(1, 17);
    for (std::size_t i = 0; i < doc.size();) {
      const std::size_t n = size(rng);
      feed(doc.substr(i, n));
      i += n;
    }
  }
  return outcome;
}

/// The splits every document is tried with.
inline const std::vector<int>& all_splits() {
  static const std::vector<int> splits = {0, 1, 2, 3, 7, 64, -1, -2, -3, -4, -5};
  return splits;
}

inline constexpr std::string_view c2s_header =
    "<?xml version='1.0'?><stream:stream to='example.com' version='1.0' xml:lang='en' "
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

} // namespace parley::core::xml::test
