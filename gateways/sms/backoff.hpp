#pragma once
// Exponential backoff: the delays between reconnects to an SMSC, or between submits while it
// throttles. Pure, no clock; not thread-safe (one owner).

#include <algorithm>
#include <chrono>

namespace parley::gateways::sms {

/// Delays that start at `first`, double with each `next()` up to `last`, and start over after
/// `reset()` (the operation worked).
class Backoff {
public:
  using Duration = std::chrono::milliseconds;

  Backoff(Duration first, Duration last) : first_(std::max(first, Duration(1))), last_(std::max(last, first_)) {}

  /// The delay before the next try. `jitter` in [0, 1] takes up to half of it away, so that
  /// many clients that lost the same SMSC do not come back at the same moment; 0 keeps it whole.
  Duration next(double jitter = 0.0) {
    const Duration base = current_ == Duration::zero() ? first_ : std::min(current_ * 2, last_);
    current_ = base;
    const double cut = std::clamp(jitter, 0.0, 1.0) * 0.5 * static_cast<double>(base.count());
    return Duration(base.count() - static_cast<Duration::rep>(cut));
  }

  /// The delay `next()` last gave before jitter; zero after construction and `reset()`.
  Duration current() const noexcept { return current_; }

  void reset() noexcept { current_ = Duration::zero(); }

private:
  Duration first_;
  Duration last_;
  Duration current_{0};
};

} // namespace parley::gateways::sms
