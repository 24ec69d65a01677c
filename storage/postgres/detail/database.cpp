#include "storage/postgres/detail/database.hpp"

#include "core/async/worker_pool.hpp"
#include "storage/postgres/detail/migrations.hpp"
#include "storage/storage_errc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace parley::storage::postgres::detail {

bool off_io_thread() noexcept {
  return !core::async::on_io_thread();
}

Database::Lease::~Lease() {
  if (database_ != nullptr && connection_) {
    database_->release(std::move(connection_));
  }
}

Database::Database(Options options) : options_(std::move(options)) {}

Database::~Database() = default;

boost::system::result<void> Database::initialize() {
  auto lease = acquire();
  if (!lease) {
    return lease.error();
  }
  return migrate(**lease);
}

boost::system::result<std::unique_ptr<Connection>> Database::connect() {
  auto connection = Connection::open(options_.dsn, options_.password);
  std::lock_guard lock(mutex_);
  if (connection) {
    if (backoff_.count() != 0) {
      spdlog::info("storage/postgres: connected again");
    }
    backoff_ = std::chrono::milliseconds(0);
    return connection;
  }
  --open_count_;
  // Exponential backoff with jitter (half to full of the step), so that many nodes coming
  // back do not knock all at once.
  backoff_ = backoff_.count() == 0 ? options_.backoff_min : std::min(backoff_ * 2, options_.backoff_max);
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto step = backoff_.count();
  const auto wait = std::chrono::milliseconds(step / 2 + static_cast<long>(random() % static_cast<unsigned long>(step / 2 + 1)));
  retry_at_ = std::chrono::steady_clock::now() + wait;
  spdlog::warn("storage/postgres: database unreachable; next connection attempt in {} ms", wait.count());
  returned_.notify_one();
  return connection.error();
}

boost::system::result<Database::Lease> Database::acquire() {
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    while (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->still_alive()) {
        return Lease(*this, std::move(connection));
      }
      --open_count_; // lost while idle (a server restart): drop it
    }
    if (open_count_ < options_.max_connections) {
      if (std::chrono::steady_clock::now() < retry_at_) {
        return storage_errc::unavailable; // fail fast during an outage
      }
      ++open_count_;
      lock.unlock();
      auto connection = connect();
      if (!connection) {
        return connection.error();
      }
      return Lease(*this, std::move(*connection));
    }
    if (returned_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_count_ >= options_.max_connections) {
      spdlog::warn("storage/postgres: no free connection within {} ms", options_.acquire_timeout.count());
      return storage_errc::unavailable;
    }
  }
}

void Database::release(std::unique_ptr<Connection> connection) noexcept {
  {
    std::lock_guard lock(mutex_);
    if (connection->healthy()) {
      idle_.push_back(std::move(connection));
    } else {
      --open_count_;
    }
  }
  returned_.notify_one();
  // A lost connection is destroyed here, outside the lock.
}

} // namespace parley::storage::postgres::detail
