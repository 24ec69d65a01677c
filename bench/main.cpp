// parley-loadgen: opens many authenticated XMPP client connections from one process and
// measures logins per second, message throughput and latency, and the memory and CPU time
// a server spends on them. See bench/README.md.

#include "bench/load_generator.hpp"
#include "bench/options.hpp"

#include <csignal>

int main(int argc, char** argv) {
  auto parsed = parley::bench::parse_options(argc, argv);
  if (!parsed.options) {
    return parsed.exit_code;
  }
  // A server that resets connections must not kill the generator with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  parley::bench::LoadGenerator generator(std::move(*parsed.options));
  return generator.run();
}
