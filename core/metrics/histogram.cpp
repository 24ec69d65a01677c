#include "core/metrics/histogram.hpp"

#include <algorithm>

namespace parley::core::metrics {

const std::vector<double>& latency_buckets() {
  static const std::vector<double> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return bounds;
}

Histogram::Histogram(const Config& config)
    : bounds_(config.bounds ? config.bounds : std::make_shared<const std::vector<double>>()),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_->size() + 1)) {}

void Histogram::observe(double value) noexcept {
  const auto& bounds = *bounds_;
  // The bucket lists are short (a dozen or so), so a linear scan beats a binary search; NaN
  // compares false everywhere and ends up in +Inf.
  std::size_t i = 0;
  while (i < bounds.size() && !(value <= bounds[i])) {
    ++i;
  }
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  const std::size_t n = bounds_->size() + 1;
  out.cumulative.resize(n);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < n; ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out.cumulative[i] = running;
  }
  out.count = running;
  out.sum = sum_.load(std::memory_order_relaxed);
  return out;
}

} // namespace parley::core::metrics
