#pragma once
// A bounded pool of threads for blocking work (SQLite, synchronous libpq, GMime).
// Include this only where blocking work is handed off: it brings Asio along.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <variant>
#include <utility>

namespace parley::core::async {

/// True on a thread that runs an I/O io_context; blocking code asserts it is not on one.
bool on_io_thread() noexcept;
/// Marks the calling thread as an I/O thread (called once by each I/O thread at start).
void mark_io_thread() noexcept;

namespace detail {
/// Counts one job of WorkerPool::run in the storage latency histograms
/// (parley_storage_queue_wait_seconds, parley_storage_duration_seconds).
void record_job(std::chrono::steady_clock::time_point queued, std::chrono::steady_clock::time_point started,
                std::chrono::steady_clock::time_point finished) noexcept;
} // namespace detail

/// A fixed set of threads for blocking calls. Work queued here runs in FIFO order on one of
/// `threads` threads; `run()` resumes the awaiting coroutine on its own executor afterwards.
/// Destruction waits for queued work to finish. Every run() is timed: how long it waited in
/// the queue and how long it ran (the pool runs storage calls, so that is storage latency).
class WorkerPool {
public:
  explicit WorkerPool(std::size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Runs `fn()` on a worker thread and resumes the caller on the executor it was running on.
  /// An exception thrown by `fn` is rethrown in the caller. `fn`'s result type must be void or
  /// default-constructible.
  ///
  /// `fn` travels on the heap: with GCC 12, a closure passed by value through Asio's
  /// use_awaitable initiation (a coroutine) arrived bitwise-relocated, which broke the
  /// short-string buffers of captured std::strings. A unique_ptr survives that.
  template <class Fn> auto run(Fn fn) {
    using R = std::invoke_result_t<Fn>;
    auto job = std::make_unique<Fn>(std::move(fn));
    if constexpr (std::is_void_v<R>) {
      return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(std::exception_ptr)>(
          Initiation<Fn>{pool_}, boost::asio::use_awaitable, std::move(job));
    } else {
      return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(std::exception_ptr, R)>(
          Initiation<Fn>{pool_}, boost::asio::use_awaitable, std::move(job));
    }
  }
  /// Queues `fn()` without waiting for it (fire and forget). `fn` must not throw.
  template <class Fn> void post(Fn fn) { boost::asio::post(pool_, std::move(fn)); }

  /// Blocks until every queued piece of work has run, then stops the threads.
  void join();

  std::size_t size() const noexcept { return size_; }

private:
  template <class Fn> struct Initiation {
    boost::asio::thread_pool& pool;
    template <class Handler> void operator()(Handler handler, std::unique_ptr<Fn> fn) const {
      auto ex = boost::asio::get_associated_executor(handler);
      boost::asio::post(pool, Job<Handler, Fn, decltype(ex)>{std::move(handler), std::move(fn), ex,
                                                             std::chrono::steady_clock::now()});
    }
  };
  template <class Handler, class Fn, class Ex> struct Job {
    Handler handler;
    std::unique_ptr<Fn> fn;
    Ex ex;
    std::chrono::steady_clock::time_point queued;
    void operator()() {
      using R = std::invoke_result_t<Fn>;
      std::exception_ptr error;
      const auto started = std::chrono::steady_clock::now();
      if constexpr (std::is_void_v<R>) {
        try {
          (*fn)();
        } catch (...) {
          error = std::current_exception();
        }
        detail::record_job(queued, started, std::chrono::steady_clock::now());
        boost::asio::post(ex, [h = std::move(handler), error]() mutable { std::move(h)(error); });
      } else {
        R value{};
        try {
          value = (*fn)();
        } catch (...) {
          error = std::current_exception();
        }
        detail::record_job(queued, started, std::chrono::steady_clock::now());
        boost::asio::post(ex, [h = std::move(handler), error, v = std::move(value)]() mutable {
          std::move(h)(error, std::move(v));
        });
      }
    }
  };

  boost::asio::thread_pool pool_;
  std::size_t size_;
};

} // namespace parley::core::async
