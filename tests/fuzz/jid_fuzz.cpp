// libFuzzer target for core/jid: Jid::parse on arbitrary bytes, and XEP-0106 escaping.
// Every property below is an invariant; a violation traps so that libFuzzer keeps the input.

#include "core/jid/detail/prep.hpp"
#include "core/jid/detail/utf8.hpp"
#include "core/jid/escaping.hpp"
#include "core/jid/jid.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using parley::core::jid::Jid;
namespace detail = parley::core::jid::detail;

void require(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

void check_jid(std::string_view input) {
  const auto fast = Jid::parse(input);

  // The fast path must give exactly the answer libidn gives.
  const auto slow = detail::parse_jid(input, detail::PrepMode::libidn_only);
  require(fast.has_value() == slow.has_value());
  if (!fast) {
    require(fast.error() == slow.error());
    return;
  }
  const Jid& jid = *fast;
  require(jid.full() == slow->full());

  // Preparation is idempotent: the prepared form parses to the same JID.
  const auto again = Jid::parse(jid.full());
  require(again.has_value());
  require(*again == jid);
  require(again->full() == jid.full());
  require(again->hash() == jid.hash());

  // The parts put together give full(), and make() from them gives the same JID.
  std::string joined;
  if (!jid.local().empty()) {
    joined.append(jid.local()).push_back('@');
  }
  joined.append(jid.domain());
  require(joined == jid.bare_string());
  if (!jid.resource().empty()) {
    joined.append("/").append(jid.resource());
  }
  require(joined == jid.full());
  // Safe for XML: well-formed UTF-8, no control characters, no U+FFFE or U+FFFF.
  require(detail::is_valid_utf8(jid.full()));
  for (const char c : jid.full()) {
    require(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
  }
  require(jid.full().find("\xEF\xBF\xBE") == std::string::npos);
  require(jid.full().find("\xEF\xBF\xBF") == std::string::npos);
  require(jid.local().size() <= detail::max_part_size);
  require(!jid.domain().empty() && jid.domain().size() <= detail::max_part_size);
  require(jid.resource().size() <= detail::max_part_size);
  const auto made = Jid::make(jid.local(), jid.domain(), jid.resource());
  require(made.has_value() && *made == jid);

  // bare() and with_resource() agree with the parts.
  const Jid bare = jid.bare();
  require(bare.is_bare() && bare.full() == jid.bare_string());
  require(jid.is_bare() == (jid == bare));
  if (!jid.is_bare()) {
    const auto rebuilt = bare.with_resource(jid.resource());
    require(rebuilt.has_value() && *rebuilt == jid);
    require(bare < jid);
  }
}

void check_escaping(std::string_view input) {
  const std::string escaped = parley::core::jid::escape_localpart(input);
  // No disallowed character survives, and \20 neither starts nor ends the result.
  require(escaped.find_first_of(" \"&'/:<>@") == std::string::npos);
  require(!escaped.starts_with("\\20") && !escaped.ends_with("\\20"));

  // Unescaping gives back the input without its leading and trailing spaces.
  const std::size_t first = input.find_first_not_of(' ');
  const std::string_view trimmed = first == std::string_view::npos
                                       ? std::string_view()
                                       : input.substr(first, input.find_last_not_of(' ') - first + 1);
  require(parley::core::jid::unescape_localpart(escaped) == trimmed);

  // Unescaping never grows a string, and unescaping what has no escapes changes nothing.
  const std::string unescaped = parley::core::jid::unescape_localpart(input);
  require(unescaped.size() <= input.size());
  if (input.find('\\') == std::string_view::npos) {
    require(unescaped == input);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_jid(input);
  check_escaping(input);
  return 0;
}
