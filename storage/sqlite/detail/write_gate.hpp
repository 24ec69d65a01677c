#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

namespace parley::storage::sqlite::detail {

/// Lets one write transaction of this process run at a time: writers queue here, where they
/// wake as soon as the previous one commits, instead of sleeping in SQLite's busy handler.
/// (A mutex and condition variable rather than std::timed_mutex, whose timed lock
/// ThreadSanitizer cannot see.) Safe from any thread.
class WriteGate {
public:
  /// The right to write, held until destruction.
  class Turn {
  public:
    explicit Turn(WriteGate& gate) noexcept : gate_(&gate) {}
    Turn(Turn&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Turn& operator=(Turn&&) = delete;
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    ~Turn() {
      if (gate_ != nullptr) {
        gate_->leave();
      }
    }

  private:
    WriteGate* gate_;
  };

  /// Waits up to `timeout` for the turn; nullopt if it did not come.
  std::optional<Turn> enter(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!free_.wait_for(lock, timeout, [this] { return !taken_; })) {
      return std::nullopt;
    }
    taken_ = true;
    return std::optional<Turn>(std::in_place, *this);
  }

private:
  void leave() noexcept {
    {
      std::lock_guard lock(mutex_);
      taken_ = false;
    }
    free_.notify_one();
  }

  std::mutex mutex_;
  std::condition_variable free_;
  bool taken_ = false; // guarded by mutex_
};

} // namespace parley::storage::sqlite::detail
