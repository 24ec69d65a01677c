#pragma once
// Pieces of the Prometheus text exposition format 0.0.4.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace parley::core::metrics::detail {

/// HELP text: backslash and line feed escaped.
void append_help(std::string& out, std::string_view text);
/// A label value: backslash, double quote and line feed escaped.
void append_label_value(std::string& out, std::string_view value);
/// `{name="value",...}`, with `extra_name="extra_value"` last when given (the `le` of a
/// histogram bucket); nothing at all when there are no labels.
void append_labels(std::string& out, std::span<const std::string> names, std::span<const std::string> values,
                   std::string_view extra_name = {}, std::string_view extra_value = {});
/// The shortest text that reads back as `value`; +Inf, -Inf and NaN as Prometheus spells them.
void append_value(std::string& out, double value);
void append_value(std::string& out, std::uint64_t value);

/// Whether `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
bool valid_metric_name(std::string_view name) noexcept;
/// Whether `name` is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
bool valid_label_name(std::string_view name) noexcept;

} // namespace parley::core::metrics::detail
