#pragma once

#include "config/config.hpp"

#include <memory>

namespace parley::server {

/// The running server: storage, worker pool, I/O threads, listeners. The composition root.
class Daemon {
public:
  explicit Daemon(config::Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Prepares the data directory, certificate, storage and listeners, then serves until
  /// SIGINT or SIGTERM. Returns the process exit code: 0 after a clean stop, 1 when start-up
  /// failed (the reason is logged).
  int run();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace parley::server
