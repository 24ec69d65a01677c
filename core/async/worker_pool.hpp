#pragma once
// A bounded pool of threads for blocking work (SQLite, synchronous libpq, GMime).
// Include this only where blocking work is handed off: it brings Asio along.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace parley::core::async {

/// True on a thread that runs an I/O io_context; blocking code asserts it is not on one.
bool on_io_thread() noexcept;
/// Marks the calling thread as an I/O thread (called once by each I/O thread at start).
void mark_io_thread() noexcept;

/// A fixed set of threads for blocking calls. Work queued here runs in FIFO order on one of
/// `threads` threads; `run()` resumes the awaiting coroutine on its own executor afterwards.
/// Destruction waits for queued work to finish.
class WorkerPool {
public:
  explicit WorkerPool(std::size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Runs `fn()` on a worker thread and resumes the caller on the executor it was running on.
  /// An exception thrown by `fn` is rethrown in the caller.
  template <class Fn>
  boost::asio::awaitable<std::invoke_result_t<Fn>> run(Fn fn) {
    using R = std::invoke_result_t<Fn>;
    auto caller = co_await boost::asio::this_coro::executor;
    co_return co_await boost::asio::co_spawn(
        pool_.get_executor(),
        [f = std::move(fn), caller]() mutable -> boost::asio::awaitable<R> {
          if constexpr (std::is_void_v<R>) {
            f();
            co_return;
          } else {
            co_return f();
          }
        },
        boost::asio::bind_executor(caller, boost::asio::use_awaitable));
  }

  /// Queues `fn()` without waiting for it (fire and forget). `fn` must not throw.
  template <class Fn> void post(Fn fn) { boost::asio::post(pool_, std::move(fn)); }

  /// Blocks until every queued piece of work has run, then stops the threads.
  void join();

  std::size_t size() const noexcept { return size_; }

private:
  boost::asio::thread_pool pool_;
  std::size_t size_;
};

} // namespace parley::core::async
