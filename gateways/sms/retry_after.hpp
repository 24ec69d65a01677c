#pragma once
// Retry-After of a provider's answer. Pure function; any thread.

#include <chrono>
#include <optional>
#include <string_view>

namespace parley::gateways::sms {

/// Retry-After (RFC 9110 §10.2.3): delay-seconds (capped at a day) after `now`, or an
/// IMF-fixdate. nullopt when absent or unreadable.
std::optional<std::chrono::system_clock::time_point> parse_retry_after(std::optional<std::string_view> value,
                                                                       std::chrono::system_clock::time_point now);

} // namespace parley::gateways::sms
