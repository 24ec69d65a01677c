#pragma once
// Loading parley.toml into the typed Config. toml++ stays inside loader.cpp.

#include "config/config.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::config {

/// One problem found in a configuration source.
struct ConfigError {
  /// The file path (load_file) or the name given to load_string.
  std::string source;
  /// 1-based position of the offending key or value; 0 when the problem has no position
  /// (for example an unreadable file).
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;

  /// "source:line:col: message", or "source: message" when there is no position.
  std::string to_string() const;
};

/// The outcome of a load: either a complete Config and no errors, or no Config and every
/// problem found, sorted by position.
struct LoadResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;

  bool ok() const { return config.has_value() && errors.empty(); }
};

/// Reads and validates a TOML file. An unreadable file gives one error with line 0.
/// Keys absent from the file keep the defaults of config.hpp. Never throws.
LoadResult load_file(const std::filesystem::path& path);

/// As load_file, for a document already in memory; `source_name` is used in errors.
LoadResult load_string(std::string_view toml, std::string_view source_name);

/// The configuration parleyd runs with when started without --config: the defaults of
/// config.hpp. config/parley.example.toml spells out the same values.
const Config& embedded_default();

} // namespace parley::config
