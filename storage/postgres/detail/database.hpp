#pragma once

#include "storage/postgres/detail/connection.hpp"
#include "storage/postgres/open.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

namespace parley::storage::postgres::detail {

/// The connection pool shared by the stores. Safe from any number of worker threads at once.
class Database {
public:
  /// A connection borrowed for one call; goes back to the pool on destruction (or is dropped
  /// if it was lost meanwhile).
  class Lease {
  public:
    Lease(Database& database, std::unique_ptr<Connection> connection) noexcept
        : database_(&database), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }

  private:
    Database* database_;
    std::unique_ptr<Connection> connection_;
  };

  explicit Database(Options options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Connects and applies pending migrations. Called once, before any other use.
  boost::system::result<void> initialize();

  /// A live connection: an idle one, or a new one while fewer than max_connections exist.
  boost::system::result<Lease> acquire();

  template <class Body> auto with_connection(Body&& body) -> std::invoke_result_t<Body&, Connection&> {
    using Outcome = std::invoke_result_t<Body&, Connection&>;
    auto lease = acquire();
    if (!lease) {
      return Outcome(boost::system::in_place_error, lease.error());
    }
    return body(**lease);
  }

  /// `body` inside one read-only snapshot (REPEATABLE READ).
  template <class Body> auto read(Body&& body) -> std::invoke_result_t<Body&, Connection&> {
    return in_transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body);
  }

  /// `body` inside one READ COMMITTED transaction: committed when `body` succeeds, rolled back
  /// when it fails. Success means PostgreSQL acknowledged the COMMIT.
  template <class Body> auto write(Body&& body) -> std::invoke_result_t<Body&, Connection&> {
    return in_transaction("BEGIN", body);
  }

private:
  template <class Body>
  auto in_transaction(const char* begin, Body& body) -> std::invoke_result_t<Body&, Connection&> {
    using Outcome = std::invoke_result_t<Body&, Connection&>;
    auto lease = acquire();
    if (!lease) {
      return Outcome(boost::system::in_place_error, lease.error());
    }
    Connection& connection = **lease;
    if (auto begun = connection.simple(begin); !begun) {
      return Outcome(boost::system::in_place_error, begun.error());
    }
    auto outcome = body(connection);
    if (!outcome) {
      if (connection.healthy()) {
        (void)connection.simple("ROLLBACK");
      }
      return outcome;
    }
    if (auto committed = connection.simple("COMMIT"); !committed) {
      return Outcome(boost::system::in_place_error, committed.error());
    }
    return outcome;
  }

  void release(std::unique_ptr<Connection> connection) noexcept;
  /// Opens a connection unless a recent failure's backoff is still running.
  boost::system::result<std::unique_ptr<Connection>> connect();

  const Options options_;

  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_; // guarded by mutex_
  std::size_t open_count_ = 0;                    // guarded by mutex_; idle, leased and connecting
  std::chrono::steady_clock::time_point retry_at_; // guarded by mutex_; no connect before this
  std::chrono::milliseconds backoff_{0};          // guarded by mutex_; 0 after a success
};

/// False on an I/O thread (see storage/sqlite/detail/thread_check.hpp).
bool off_io_thread() noexcept;

} // namespace parley::storage::postgres::detail
