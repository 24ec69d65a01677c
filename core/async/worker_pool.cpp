#include "core/async/worker_pool.hpp"

namespace parley::core::async {

namespace {
thread_local bool io_thread_flag = false;
}

bool on_io_thread() noexcept { return io_thread_flag; }
void mark_io_thread() noexcept { io_thread_flag = true; }

WorkerPool::WorkerPool(std::size_t threads) : pool_(threads == 0 ? 1 : threads), size_(threads == 0 ? 1 : threads) {}

WorkerPool::~WorkerPool() { join(); }

void WorkerPool::join() { pool_.join(); }

} // namespace parley::core::async
