#pragma once

#include "storage/work_queue.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::WorkQueue over SQLite; see the interface for the contract. Claims are single write
/// transactions, and SQLite has one writer at a time: two claims never see the same free item,
/// which is what SKIP LOCKED gives the PostgreSQL backend.
class WorkQueue final : public storage::WorkQueue {
public:
  explicit WorkQueue(Database& database) noexcept : database_(database) {}

  boost::system::result<Enqueued> enqueue(std::string_view queue, std::string_view key, std::string_view payload,
                                          Timestamp now, Timestamp due) override;
  boost::system::result<std::vector<WorkItem>> claim(std::string_view queue, std::string_view owner, Timestamp now,
                                                     std::chrono::microseconds lease, std::size_t limit) override;
  boost::system::result<void> complete(WorkItemId id, std::string_view owner, Timestamp now) override;
  boost::system::result<void> retry(WorkItemId id, std::string_view owner, Timestamp now, Timestamp due,
                                    std::string_view error) override;
  boost::system::result<void> bury(WorkItemId id, std::string_view owner, Timestamp now,
                                   std::string_view error) override;
  boost::system::result<void> revive(WorkItemId id, Timestamp now) override;
  boost::system::result<WorkItem> get(WorkItemId id) override;
  boost::system::result<std::vector<WorkItem>> list(std::string_view queue, WorkState state, WorkItemId after,
                                                    std::size_t limit) override;
  boost::system::result<std::uint64_t> count(std::string_view queue, WorkState state) override;
  boost::system::result<std::size_t> purge(std::string_view queue, WorkState state, Timestamp before) override;
  boost::system::result<std::vector<std::string>> queues() override;
  boost::system::result<void> add_event(WorkItemId id, Timestamp at, std::string_view event,
                                        std::string_view detail) override;
  boost::system::result<std::vector<WorkEvent>> events(WorkItemId id) override;
  boost::system::result<void> restore(const WorkItem& item) override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
