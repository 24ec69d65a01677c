#pragma once

#include "storage/sqlite/detail/write_gate.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <optional>

namespace parley::storage::sqlite::detail {

class Connection;

/// An open transaction on one Connection; rolled back on destruction unless committed.
class Transaction {
public:
  /// BEGIN (deferred): a consistent snapshot for several reads. WAL readers never wait.
  static boost::system::result<Transaction> begin_read(Connection& connection);

  /// Takes a turn at `gate` (waiting at most `timeout`), then BEGIN IMMEDIATE. Writers of this
  /// process queue at the gate instead of polling SQLite's lock; SQLite's busy timeout still
  /// covers other processes. IMMEDIATE takes the write lock up front, so a transaction that reads and then
  /// writes cannot fail half way with a lock upgrade conflict.
  static boost::system::result<Transaction> begin_write(Connection& connection, WriteGate& gate,
                                                        std::chrono::milliseconds timeout);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  boost::system::result<void> commit();

private:
  Transaction(Connection& connection, std::optional<WriteGate::Turn> turn) noexcept;
  void rollback() noexcept;

  Connection* connection_;
  std::optional<WriteGate::Turn> turn_; // only for write transactions
  bool open_ = true;
};

} // namespace parley::storage::sqlite::detail
