#include "bench/process_probe.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

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

/// "0-2,5" into {0, 1, 2, 5}; empty when malformed.
std::vector<int> parse_cpu_list(std::string_view text) {
  std::vector<int> out;
  std::istringstream in{std::string(text)};
  std::string range;
  while (std::getline(in, range, ',')) {
    int first = 0;
    int last = 0;
    char dash = 0;
    std::istringstream r(range);
    if (!(r >> first)) {
      return {};
    }
    last = first;
    if (r >> dash) {
      if (dash != '-' || !(r >> last) || last < first) {
        return {};
      }
    }
    for (int cpu = first; cpu <= last; ++cpu) {
      out.push_back(cpu);
    }
  }
  return out;
}

/// The aggregate "cpu" line (steal) and the CPUs in `cores`, from one read of /proc/stat.
void read_stat(SystemCpu& system, CoreTicks& cores, const std::vector<int>& wanted) {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line) && line.starts_with("cpu")) {
    std::istringstream fields(line);
    std::string label;
    fields >> label;
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    std::uint64_t values[8] = {};
    for (auto& v : values) {
      if (!(fields >> v)) {
        break;
      }
    }
    std::uint64_t total = 0;
    for (const auto v : values) {
      total += v;
    }
    if (label == "cpu") {
      system.total = total;
      system.steal = values[7];
      if (wanted.empty()) {
        return;
      }
      continue;
    }
    const int cpu = std::atoi(label.c_str() + 3);
    if (std::find(wanted.begin(), wanted.end(), cpu) != wanted.end()) {
      cores.total += total;
      cores.busy += total - values[3] - values[4];
    }
  }
}

} // namespace

ProcessProbe::ProcessProbe(std::optional<int> pid) : pid_(pid) {
  if (!pid_) {
    return;
  }
  std::ifstream in("/proc/" + std::to_string(*pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("Cpus_allowed_list:")) {
      std::string_view list = std::string_view(line).substr(18);
      while (!list.empty() && (list.front() == ' ' || list.front() == '\t')) {
        list.remove_prefix(1);
      }
      cpus_ = parse_cpu_list(list);
    }
  }
}

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
  SystemCpu cpu;
  CoreTicks none;
  read_stat(cpu, none, {});
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
  read_stat(s.system, s.server_cores, probe.cpus());
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
  if (const auto cores = to.server_cores.total - from.server_cores.total; cores > 0) {
    i.server_cores_busy_pct =
        100.0 * static_cast<double>(to.server_cores.busy - from.server_cores.busy) / static_cast<double>(cores);
  }
  return i;
}

} // namespace parley::bench
