#pragma once

#include <atomic>
#include <cstdint>

namespace parley::core::metrics {

/// One time series that only goes up (Prometheus type `counter`). Lock-free and safe from any
/// thread. Obtained from a Family and owned by its Registry: keep the reference, it stays valid
/// as long as the registry (the process-wide one lives until exit).
///
/// Aligned to a cache line so that two hot counters incremented from different threads do not
/// share one.
class alignas(64) Counter {
public:
  /// What a Family needs to make one (nothing, for a counter).
  struct Config {};

  explicit Counter(const Config& = {}) noexcept {}
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> value_{0};
};

} // namespace parley::core::metrics
