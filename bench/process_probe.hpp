#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace parley::bench {

/// Reads another process's resident memory and CPU time from /proc (Linux only).
class ProcessProbe {
public:
  /// `pid` empty: every reading is empty. Reads the CPUs the process may run on once, here.
  explicit ProcessProbe(std::optional<int> pid);

  /// VmRSS from /proc/PID/status, in KiB.
  std::optional<std::uint64_t> rss_kib() const;
  /// utime + stime from /proc/PID/stat, in seconds (all threads; clock-tick resolution).
  std::optional<double> cpu_seconds() const;
  bool enabled() const noexcept { return pid_.has_value(); }
  /// The CPUs the process may run on (Cpus_allowed_list in /proc/PID/status, e.g. set by
  /// taskset); empty when unknown.
  const std::vector<int>& cpus() const noexcept { return cpus_; }

private:
  std::optional<int> pid_;
  std::vector<int> cpus_;
};

/// Aggregate CPU counters of the whole machine from the "cpu" line of /proc/stat, in ticks.
struct SystemCpu {
  std::uint64_t total = 0;
  std::uint64_t steal = 0;
};
SystemCpu read_system_cpu();

/// Ticks of some CPUs from their "cpuN" lines of /proc/stat: all, and those not idle (idle
/// and iowait excluded), whoever used them.
struct CoreTicks {
  std::uint64_t total = 0;
  std::uint64_t busy = 0;
};

/// This process's user + system CPU time in seconds.
double self_cpu_seconds();

/// VmRSS of this process, KiB.
std::optional<std::uint64_t> self_rss_kib();

/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the resulting soft limit.
std::uint64_t raise_file_limit();

/// CPU and wall time at one instant, for differences over a measured interval.
struct Snapshot {
  std::chrono::steady_clock::time_point at;
  std::optional<double> server_cpu_s;
  double self_cpu_s = 0;
  SystemCpu system;
  CoreTicks server_cores; ///< the CPUs the server may run on; zero when unknown
};
Snapshot take_snapshot(const ProcessProbe& probe);

struct Interval {
  double seconds = 0;
  std::optional<double> server_cpu_s; ///< server CPU consumed in the interval
  double self_cpu_s = 0;
  double steal_pct = 0; ///< share of all CPU time the hypervisor stole, machine-wide
  /// How busy the server's CPUs were, by anyone: near 100 while the server's own CPU % is
  /// lower means other work took the rest.
  std::optional<double> server_cores_busy_pct;
};
Interval between(const Snapshot& from, const Snapshot& to);

} // namespace parley::bench
