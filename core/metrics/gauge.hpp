#pragma once

#include <atomic>

namespace parley::core::metrics {

/// One time series that goes up and down (Prometheus type `gauge`). Lock-free and safe from
/// any thread; owned by its Registry like Counter. A value that is cheaper to compute when
/// scraped than to keep up to date belongs in Registry::gauge_callback instead.
class alignas(64) Gauge {
public:
  struct Config {};

  explicit Gauge(const Config& = {}) noexcept {}
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  void sub(double delta) noexcept { value_.fetch_sub(delta, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0.0};
};

} // namespace parley::core::metrics
