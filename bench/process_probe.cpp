#include "bench/process_probe.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace parley::bench {

namespace {

std::optional<std::uint64_t> vm_rss(const std::string& status_path) {
  std::ifstream in(status_path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) {
      std::istringstream fields(line.substr(6));
      std::uint64_t kib = 0;
      if (fields >> kib) {
        return kib;
      }
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<std::uint64_t> ProcessProbe::rss_kib() const {
  if (!pid_) {
    return std::nullopt;
  }
  return vm_rss("/proc/" + std::to_string(*pid_) + "/status");
}

std::optional<double> ProcessProbe::cpu_seconds() const {
  if (!pid_) {
    return std::nullopt;
  }
  std::ifstream in("/proc/" + std::to_string(*pid_) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) {
    return std::nullopt;
  }
  // The command name in parentheses may hold spaces: fields are counted after the last ')'.
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream fields(stat.substr(paren + 1));
  // proc(5): field 3 is the state; utime and stime are fields 14 and 15.
  std::string skip;
  for (int field = 3; field <= 13; ++field) {
    fields >> skip;
  }
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  if (!(fields >> utime >> stime)) {
    return std::nullopt;
  }
  const long ticks = sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

SystemCpu read_system_cpu() {
  std::ifstream in("/proc/stat");
  std::string label;
  SystemCpu cpu;
  if (!(in >> label) || label != "cpu") {
    return cpu;
  }
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  for (int i = 0; i < 8; ++i) {
    std::uint64_t value = 0;
    if (!(in >> value)) {
      break;
    }
    cpu.total += value;
    if (i == 7) {
      cpu.steal = value;
    }
  }
  return cpu;
}

double self_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::optional<std::uint64_t> self_rss_kib() {
  return vm_rss("/proc/self/status");
}

std::uint64_t raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

Snapshot take_snapshot(const ProcessProbe& probe) {
  Snapshot s;
  s.at = std::chrono::steady_clock::now();
  s.server_cpu_s = probe.cpu_seconds();
  s.self_cpu_s = self_cpu_seconds();
  s.system = read_system_cpu();
  return s;
}

Interval between(const Snapshot& from, const Snapshot& to) {
  Interval i;
  i.seconds = std::chrono::duration<double>(to.at - from.at).count();
  if (from.server_cpu_s && to.server_cpu_s) {
    i.server_cpu_s = *to.server_cpu_s - *from.server_cpu_s;
  }
  i.self_cpu_s = to.self_cpu_s - from.self_cpu_s;
  const auto total = to.system.total - from.system.total;
  if (total > 0) {
    i.steal_pct = 100.0 * static_cast<double>(to.system.steal - from.system.steal) / static_cast<double>(total);
  }
  return i;
}

} // namespace parley::bench
