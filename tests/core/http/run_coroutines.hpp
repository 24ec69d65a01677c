#pragma once
// Runs test coroutines on an io_context and waits for them from the test's thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace parley::core::http::testing {

/// Spawns the coroutines `make(0)` ... `make(count - 1)` on `io`, runs `io` on `threads`
/// threads until all of them have finished (then stops `io`, abandoning whatever else is
/// pending) or 30 s have passed, and rethrows the first exception one of them threw.
template <class Make>
void run_coroutines(boost::asio::io_context& io, std::size_t count, Make make, std::size_t threads = 1) {
  std::atomic<std::size_t> remaining{count};
  std::mutex mutex;
  std::exception_ptr first_error;
  for (std::size_t i = 0; i < count; ++i) {
    boost::asio::co_spawn(io, make(i), [&](std::exception_ptr error) {
      if (error) {
        std::lock_guard lock(mutex);
        if (!first_error) {
          first_error = error;
        }
      }
      if (--remaining == 0) {
        io.stop();
      }
    });
  }
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < threads; ++t) {
    helpers.emplace_back([&io] { io.run_for(std::chrono::seconds(30)); });
  }
  io.run_for(std::chrono::seconds(30));
  for (auto& helper : helpers) {
    helper.join();
  }
  if (first_error) {
    std::rethrow_exception(first_error);
  }
  REQUIRE_MESSAGE(remaining == 0, "coroutines still running after 30 s");
}

/// Runs one coroutine, see above.
template <class Make> void run_coroutine(boost::asio::io_context& io, Make make) {
  run_coroutines(io, 1, [&make](std::size_t) { return make(); });
}

} // namespace parley::core::http::testing
