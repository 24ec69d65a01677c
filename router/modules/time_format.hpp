#pragma once

#include <chrono>
#include <string>

namespace parley::router::modules {

/// XEP-0082 DateTime in UTC with milliseconds, e.g. "2026-11-24T00:18:47.123Z".
std::string format_timestamp(std::chrono::sys_time<std::chrono::microseconds> t);

} // namespace parley::router::modules
