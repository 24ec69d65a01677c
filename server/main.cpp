// parleyd: the Parley XMPP server.

#include "config/loader.hpp"
#include "server/daemon.hpp"
#include "server/logging.hpp"

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view usage = R"(usage: parleyd [options]

  --config FILE         run with this configuration (default: the embedded default,
                        domain localhost, SQLite under ./parley-data, c2s 127.0.0.1:5222,
                        HTTP 127.0.0.1:5280)
  --check-config FILE   validate FILE, print every problem with file:line:col, and exit
                        (0 when valid, 2 when not)
  --log-level LEVEL     trace|debug|info|warn|error|critical|off (overrides [log] level)
  --log-format FORMAT   text|json (overrides [log] format)
  --version             print the version and exit
  --help                print this help and exit
)";

int print_errors(const parley::config::LoadResult& result) {
  for (const auto& error : result.errors) {
    std::cerr << error.to_string() << '\n';
  }
  std::cerr << result.errors.size() << (result.errors.size() == 1 ? " error" : " errors") << '\n';
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::optional<std::string> config_file;
  std::optional<std::string> check_file;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::optional<std::string>& out) {
      if (i + 1 >= argc) {
        std::cerr << "parleyd: " << arg << " needs a value\n" << usage;
        std::exit(2);
      }
      out = argv[++i];
    };
    if (arg == "--config") {
      value(config_file);
    } else if (arg == "--check-config") {
      value(check_file);
    } else if (arg == "--log-level") {
      value(log_level);
    } else if (arg == "--log-format") {
      value(log_format);
    } else if (arg == "--version") {
      std::cout << "parleyd " PARLEY_VERSION "\n";
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    } else {
      std::cerr << "parleyd: unknown option " << arg << '\n' << usage;
      return 2;
    }
  }

  if (check_file) {
    const auto result = parley::config::load_file(*check_file);
    if (!result.ok()) {
      return print_errors(result);
    }
    std::cout << *check_file << ": ok\n";
    return 0;
  }

  parley::config::Config config = parley::config::embedded_default();
  if (config_file) {
    auto result = parley::config::load_file(*config_file);
    if (!result.ok()) {
      return print_errors(result);
    }
    config = std::move(*result.config);
  }
  if (log_level) {
    if (!parley::server::parse_log_level(*log_level)) {
      std::cerr << "parleyd: --log-level must be one of trace, debug, info, warn, error, critical, off\n";
      return 2;
    }
    config.log.level = *log_level;
  }
  if (log_format) {
    if (*log_format == "text") {
      config.log.format = parley::config::LogFormat::text;
    } else if (*log_format == "json") {
      config.log.format = parley::config::LogFormat::json;
    } else {
      std::cerr << "parleyd: --log-format must be text or json\n";
      return 2;
    }
  }
  parley::server::setup_logging(config.log);
  parley::server::Daemon daemon(std::move(config));
  return daemon.run();
}
