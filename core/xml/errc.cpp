#include "core/xml/errc.hpp"

#include <array>
#include <string>

namespace parley::core::xml {
namespace {

// Indexed by the enumerator's value; slot 0 is success.
constexpr std::array<std::string_view, 26> wire_names = {
    "",
    "bad-format",
    "bad-namespace-prefix",
    "conflict",
    "connection-timeout",
    "host-gone",
    "host-unknown",
    "improper-addressing",
    "internal-server-error",
    "invalid-from",
    "invalid-namespace",
    "invalid-xml",
    "not-authorized",
    "not-well-formed",
    "policy-violation",
    "remote-connection-failed",
    "reset",
    "resource-constraint",
    "restricted-xml",
    "see-other-host",
    "system-shutdown",
    "undefined-condition",
    "unsupported-encoding",
    "unsupported-feature",
    "unsupported-stanza-type",
    "unsupported-version",
};
static_assert(static_cast<std::size_t>(stream_errc::unsupported_version) + 1 == wire_names.size());

class StreamCategory final : public boost::system::error_category {
public:
  // A fixed identifier makes categories compare equal even across shared objects.
  constexpr StreamCategory() noexcept : error_category(0x7061726c65790001ULL) {}

  const char* name() const noexcept override { return "xmpp-stream"; }

  std::string message(int ev) const override {
    if (ev <= 0 || static_cast<std::size_t>(ev) >= wire_names.size()) {
      return "unknown stream error";
    }
    return std::string(wire_names[static_cast<std::size_t>(ev)]);
  }

  char const* message(int ev, char* buffer, std::size_t len) const noexcept override {
    if (len == 0) {
      return buffer;
    }
    std::string_view text = "unknown stream error";
    if (ev > 0 && static_cast<std::size_t>(ev) < wire_names.size()) {
      text = wire_names[static_cast<std::size_t>(ev)];
    }
    const std::size_t n = text.size() < len - 1 ? text.size() : len - 1;
    text.copy(buffer, n);
    buffer[n] = '\0';
    return buffer;
  }
};

} // namespace

std::string_view wire_name(stream_errc condition) noexcept {
  const auto index = static_cast<std::size_t>(condition);
  if (index == 0 || index >= wire_names.size()) {
    return "undefined-condition";
  }
  return wire_names[index];
}

std::optional<stream_errc> stream_errc_from_wire(std::string_view name) noexcept {
  for (std::size_t i = 1; i < wire_names.size(); ++i) {
    if (wire_names[i] == name) {
      return static_cast<stream_errc>(i);
    }
  }
  return std::nullopt;
}

const boost::system::error_category& stream_category() noexcept {
  static const StreamCategory instance;
  return instance;
}

boost::system::error_code make_error_code(stream_errc e) noexcept {
  return {static_cast<int>(e), stream_category()};
}

} // namespace parley::core::xml
