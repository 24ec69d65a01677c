#include "core/metrics/detail/text_format.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace parley::core::metrics::detail {

void append_help(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_labels(std::string& out, std::span<const std::string> names, std::span<const std::string> values,
                   std::string_view extra_name, std::string_view extra_value) {
  if (names.empty() && extra_name.empty()) {
    return;
  }
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) {
      out += ',';
    }
    first = false;
    out += names[i];
    out += "=\"";
    append_label_value(out, values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) {
      out += ',';
    }
    out += extra_name;
    out += "=\"";
    append_label_value(out, extra_value);
    out += '"';
  }
  out += '}';
}

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  // The shortest text that reads back as the same double; plain decimals (0.0005, 10, 3.4) in
  // the range where people expect them, as other Prometheus clients write bucket bounds.
  const double magnitude = std::fabs(value);
  const bool plain = value == 0 || (magnitude >= 1e-4 && magnitude < 1e15);
  std::array<char, 64> buffer{};
  const auto [end, ec] =
      plain ? std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed)
            : std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), ec == std::errc{} ? end : buffer.data());
}

void append_value(std::string& out, std::uint64_t value) {
  std::array<char, 24> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), ec == std::errc{} ? end : buffer.data());
}

namespace {

bool letter(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

} // namespace

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty() || !(letter(name.front()) || name.front() == ':')) {
    return false;
  }
  for (const char c : name) {
    if (!letter(c) && !digit(c) && c != ':') {
      return false;
    }
  }
  return true;
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty() || !letter(name.front()) || name.starts_with("__")) {
    return false;
  }
  for (const char c : name) {
    if (!letter(c) && !digit(c)) {
      return false;
    }
  }
  return true;
}

} // namespace parley::core::metrics::detail
