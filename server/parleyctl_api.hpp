#pragma once
// parleyctl's commands that talk to the running server through the admin REST API.

#include "config/config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::server::ctl {

/// Where the API is and the token to use: $PARLEY_API_URL / $PARLEY_API_TOKEN, else [admin] url
/// and token_file, else the configured listener.
struct ApiTarget {
  std::string url;
  std::string token;
};
ApiTarget api_target(const config::Config& config);

/// Whether `command` (the first argument) is one of the API commands.
bool is_api_command(std::string_view command);

/// Runs an API command; prints a table (or the JSON with `json_output`). Exit status: 0, 1 for
/// an error answer or no answer, 2 for bad usage.
int run_api_command(const config::Config& config, const std::vector<std::string>& args, bool json_output);

/// The usage text of the API commands.
std::string_view api_usage();

} // namespace parley::server::ctl
