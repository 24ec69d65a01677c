#include "core/async/worker_pool.hpp"

#include "core/metrics/registry.hpp"

namespace parley::core::async {

namespace {
thread_local bool io_thread_flag = false;

struct PoolMetrics {
  metrics::Histogram& wait = metrics::registry().histogram(
      "parley_storage_queue_wait_seconds",
      "Time a blocking job (a storage call) waited for a worker thread.", metrics::latency_buckets());
  metrics::Histogram& duration = metrics::registry().histogram(
      "parley_storage_duration_seconds", "Time a blocking job (a storage call) ran on a worker thread.",
      metrics::latency_buckets());
};

PoolMetrics& pool_metrics() {
  static PoolMetrics instance;
  return instance;
}

} // namespace

namespace detail {

void record_job(std::chrono::steady_clock::time_point queued, std::chrono::steady_clock::time_point started,
                std::chrono::steady_clock::time_point finished) noexcept {
  auto& m = pool_metrics();
  m.wait.observe_duration(started - queued);
  m.duration.observe_duration(finished - started);
}

} // namespace detail

bool on_io_thread() noexcept { return io_thread_flag; }
void mark_io_thread() noexcept { io_thread_flag = true; }

WorkerPool::WorkerPool(std::size_t threads) : pool_(threads == 0 ? 1 : threads), size_(threads == 0 ? 1 : threads) {
  (void)pool_metrics(); // registered now, so that they show (as 0) before the first job
}

WorkerPool::~WorkerPool() { join(); }

void WorkerPool::join() { pool_.join(); }

} // namespace parley::core::async
