#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace parley::router::modules {

/// XEP-0082 DateTime in UTC with milliseconds, e.g. "2026-11-24T00:18:47.123Z".
std::string format_timestamp(std::chrono::sys_time<std::chrono::microseconds> t);

/// XEP-0082 DateTime ("2002-10-13T23:58:37Z", fractions and ±hh:mm offsets allowed) as a
/// UTC time; nullopt for anything else.
std::optional<std::chrono::sys_time<std::chrono::microseconds>> parse_datetime(std::string_view text);

} // namespace parley::router::modules
