#pragma once

#include "storage/sqlite/detail/connection.hpp"
#include "storage/sqlite/detail/transaction.hpp"
#include "storage/sqlite/detail/write_gate.hpp"
#include "storage/sqlite/open.hpp"

#include <boost/system/result.hpp>

#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

namespace parley::storage::sqlite::detail {

/// One database file and the connections to it, shared by the stores.
///
/// Connections are opened lazily up to Options::max_connections and lent to one calling thread
/// at a time, so each keeps its own prepared statements without locking. Safe from any number of
/// worker threads at once. Destroy only when no lease is out.
class Database {
public:
  /// A connection borrowed for one call; goes back to the pool on destruction.
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

  Database(std::filesystem::path file, Options options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Opens the first connection, switches the file to WAL and applies pending migrations.
  /// Called once, before any other use.
  boost::system::result<void> initialize();

  /// A free connection, opening one if fewer than max_connections exist; waits up to the busy
  /// timeout for one to come back, then fails with unavailable.
  boost::system::result<Lease> acquire();

  /// Runs `body(Connection&)`, which returns a boost::system::result, on a leased connection.
  template <class Body> auto with_connection(Body&& body) -> std::invoke_result_t<Body&, Connection&> {
    using Outcome = std::invoke_result_t<Body&, Connection&>;
    auto lease = acquire();
    if (!lease) {
      return Outcome(boost::system::in_place_error, lease.error());
    }
    return body(**lease);
  }

  /// Like with_connection, inside one read snapshot.
  template <class Body> auto read(Body&& body) -> std::invoke_result_t<Body&, Connection&> {
    return in_transaction(/*writing=*/false, body);
  }

  /// Like with_connection, inside one write transaction: committed when `body` succeeds,
  /// rolled back when it fails.
  template <class Body> auto write(Body&& body) -> std::invoke_result_t<Body&, Connection&> {
    return in_transaction(/*writing=*/true, body);
  }

private:
  template <class Body> auto in_transaction(bool writing, Body& body) -> std::invoke_result_t<Body&, Connection&> {
    // in_place_error: for result<bool>, a bare error_code would not convert.
    using Outcome = std::invoke_result_t<Body&, Connection&>;
    auto lease = acquire();
    if (!lease) {
      return Outcome(boost::system::in_place_error, lease.error());
    }
    auto transaction =
        writing ? Transaction::begin_write(**lease, writers_, options_.busy_timeout) : Transaction::begin_read(**lease);
    if (!transaction) {
      return Outcome(boost::system::in_place_error, transaction.error());
    }
    auto outcome = body(**lease);
    if (!outcome) {
      return outcome;
    }
    if (auto committed = transaction->commit(); !committed) {
      return Outcome(boost::system::in_place_error, committed.error());
    }
    return outcome;
  }

  void release(std::unique_ptr<Connection> connection) noexcept;

  const std::filesystem::path file_;
  const Options options_;

  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> idle_; // guarded by mutex_
  std::size_t open_count_ = 0;                    // guarded by mutex_; idle and leased

  WriteGate writers_; // one write transaction at a time within this process
};

} // namespace parley::storage::sqlite::detail
