#pragma once

#include "core/xml/element.hpp"
#include "core/xml/stream_parser.hpp"

#include <boost/system/result.hpp>

#include <string_view>

namespace parley::core::xml {

/// Parses exactly one element from `xml`, e.g. a stanza kept in storage as serialize() wrote
/// it. `default_ns` is the default namespace in scope around it: pass the same value that was
/// given to serialize() (ns::client for stanzas stored from a c2s stream). The rules of
/// StreamParser apply (no DTD, no entities, …). Meant for our own output, so the size and
/// attribute limits are generous: serialize() may write more bytes and namespace declarations
/// than the peer sent (escaping, prefixes declared on each element). Fails with a stream_errc:
/// `bad_format` unless the input holds one element, possibly with whitespace around it.
boost::system::result<Element> parse_element(std::string_view xml, std::string_view default_ns = {});

/// The same with explicit limits, for input that did not come from serialize().
boost::system::result<Element> parse_element(std::string_view xml, std::string_view default_ns,
                                             const StreamParser::Limits& limits);

} // namespace parley::core::xml
