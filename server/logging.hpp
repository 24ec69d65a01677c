#pragma once

#include "config/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace parley::server {

/// Parses "trace".."off"; nullopt for anything else.
std::optional<int> parse_log_level(std::string_view name);

/// Sends every log line to stderr, as text or as one JSON object per line.
/// Call once at start-up, before any thread logs.
void setup_logging(const config::LogConfig& log);

} // namespace parley::server
