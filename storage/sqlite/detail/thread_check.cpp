#include "storage/sqlite/detail/thread_check.hpp"

#include "core/async/worker_pool.hpp"

namespace parley::storage::sqlite::detail {

bool off_io_thread() noexcept {
  return !core::async::on_io_thread();
}

} // namespace parley::storage::sqlite::detail
