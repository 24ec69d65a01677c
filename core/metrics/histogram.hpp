#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace parley::core::metrics {

/// Bucket upper bounds for latencies in seconds, 100 µs to 10 s.
const std::vector<double>& latency_buckets();

/// Observations counted in fixed buckets (Prometheus type `histogram`). observe() is lock-free
/// and safe from any thread; owned by its Registry like Counter.
class Histogram {
public:
  struct Config {
    /// Upper bounds, strictly increasing and finite; the +Inf bucket is implicit.
    std::shared_ptr<const std::vector<double>> bounds;
  };

  /// What a scrape reads: cumulative counts per bound and for +Inf (the last entry, which
  /// equals `count`), and the sum of all observations.
  struct Snapshot {
    std::vector<std::uint64_t> cumulative;
    double sum = 0;
    std::uint64_t count = 0;
  };

  explicit Histogram(const Config& config);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  /// Counts `value` in the first bucket whose bound is >= value (Prometheus `le`).
  void observe(double value) noexcept;
  /// Observes a duration in seconds.
  void observe_duration(std::chrono::steady_clock::duration elapsed) noexcept {
    observe(std::chrono::duration<double>(elapsed).count());
  }
  /// Observes the seconds since `start`.
  void observe_since(std::chrono::steady_clock::time_point start) noexcept {
    observe_duration(std::chrono::steady_clock::now() - start);
  }

  /// A consistent-enough view: each bucket is read once, and count is derived from the
  /// buckets, so the +Inf bucket always equals count. The sum may lag by an observation that
  /// is under way.
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const noexcept { return *bounds_; }

private:
  std::shared_ptr<const std::vector<double>> bounds_;
  /// Per bucket, not cumulative: bounds_->size() + 1 entries, the last for +Inf.
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

} // namespace parley::core::metrics
