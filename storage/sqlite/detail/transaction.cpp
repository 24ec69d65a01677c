#include "storage/sqlite/detail/transaction.hpp"

#include "storage/sqlite/detail/connection.hpp"
#include "storage/storage_errc.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <utility>

namespace parley::storage::sqlite::detail {

namespace {

boost::system::result<void> run_cached(Connection& connection, std::string_view sql) {
  auto statement = connection.prepare(sql);
  if (!statement) {
    return statement.error();
  }
  return statement->run();
}

} // namespace

Transaction::Transaction(Connection& connection, std::optional<WriteGate::Turn> turn) noexcept
    : connection_(&connection), turn_(std::move(turn)) {}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(other.connection_), turn_(std::move(other.turn_)), open_(std::exchange(other.open_, false)) {}

Transaction::~Transaction() {
  if (open_) {
    rollback();
  }
}

boost::system::result<Transaction> Transaction::begin_read(Connection& connection) {
  auto begun = run_cached(connection, "BEGIN");
  if (!begun) {
    return begun.error();
  }
  return Transaction(connection, std::nullopt);
}

boost::system::result<Transaction> Transaction::begin_write(Connection& connection, WriteGate& gate,
                                                            std::chrono::milliseconds timeout) {
  auto turn = gate.enter(timeout);
  if (!turn) {
    spdlog::error("storage/sqlite: no turn to write within {} ms", timeout.count());
    return storage_errc::unavailable;
  }
  auto begun = run_cached(connection, "BEGIN IMMEDIATE");
  if (!begun) {
    return begun.error();
  }
  return Transaction(connection, std::move(turn));
}

boost::system::result<void> Transaction::commit() {
  auto committed = run_cached(*connection_, "COMMIT");
  if (!committed) {
    // A failed COMMIT may leave the transaction open (SQLITE_BUSY); the destructor rolls back.
    return committed.error();
  }
  open_ = false;
  turn_.reset();
  return {};
}

void Transaction::rollback() noexcept {
  open_ = false;
  // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) roll back on their own; ROLLBACK would then fail.
  if (sqlite3_get_autocommit(connection_->handle()) == 0) {
    sqlite3_exec(connection_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

} // namespace parley::storage::sqlite::detail
