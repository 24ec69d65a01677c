#include "core/xml/parse.hpp"

#include "core/xml/serializer.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace parley::core::xml {

boost::system::result<Element> parse_element(std::string_view xml, std::string_view default_ns) {
  StreamParser::Limits limits;
  limits.max_stanza_bytes = std::max(limits.max_stanza_bytes, xml.size());
  limits.max_header_bytes = std::max(limits.max_header_bytes, default_ns.size() + 1024);
  limits.max_attributes = 1024;
  return parse_element(xml, default_ns, limits);
}

boost::system::result<Element> parse_element(std::string_view xml, std::string_view default_ns,
                                             const StreamParser::Limits& limits) {
  std::optional<Element> found;
  bool more_than_one = false;
  StreamParser::Callbacks callbacks;
  callbacks.on_element = [&](Element element) {
    if (found) {
      more_than_one = true;
    } else {
      found = std::move(element);
    }
  };
  StreamParser parser(std::move(callbacks), limits);

  // Wrap the element in a stream element declaring the namespaces it was written under.
  StreamHeader wrapper;
  if (!default_ns.empty()) {
    wrapper.set_content_ns(std::string(default_ns));
  }
  if (auto ec = parser.feed(serialize_stream_open(wrapper, false))) {
    return ec;
  }
  if (auto ec = parser.feed(xml)) {
    return ec;
  }
  if (parser.closed()) {
    // The input closed our wrapper itself.
    return make_error_code(stream_errc::bad_format);
  }
  if (auto ec = parser.feed(serialize_stream_close(wrapper))) {
    return ec;
  }
  if (!parser.closed()) {
    return make_error_code(stream_errc::not_well_formed);
  }
  if (!found || more_than_one) {
    return make_error_code(stream_errc::bad_format);
  }
  return std::move(*found);
}

} // namespace parley::core::xml
