#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// Identifies one work item; ids increase in enqueue order and are never reused.
using WorkItemId = std::int64_t;

/// Where a work item is in its life:
///   pending --claim--> claimed --complete--> done
///                         |  \--bury-----> dead --revive--> pending
///                         \--retry--> pending
/// A claimed item whose lease ran out (its worker died) may be claimed again by anyone.
enum class WorkState { pending, claimed, done, dead };

/// "pending", "claimed", "done", "dead".
std::string_view to_string(WorkState state) noexcept;
/// The inverse of to_string; nullopt for anything else.
std::optional<WorkState> parse_work_state(std::string_view text) noexcept;

struct WorkItem {
  WorkItemId id = 0;
  /// The queue it belongs to ("outbox", ...); claims take items of one queue only.
  std::string queue;
  /// The idempotency key: unique within the queue, stable across retries and restarts.
  std::string key;
  /// What the worker needs to do the work, opaque to the store (JSON, XML, ...).
  std::string payload;
  WorkState state = WorkState::pending;
  /// How many times the item was claimed.
  std::uint32_t attempts = 0;
  Timestamp created;
  /// Not claimed before this time (the backoff of a retry).
  Timestamp due;
  /// Who claimed it last ("node/worker"); empty before the first claim.
  std::string owner;
  /// While claimed: until when the claim holds. Meaningless in other states.
  Timestamp lease_until;
  /// Why the last attempt failed (retry, bury); empty if none did.
  std::string last_error;
  /// When the state last changed.
  Timestamp updated;

  friend bool operator==(const WorkItem&, const WorkItem&) = default;
};

/// One entry of an item's timeline (the admin API shows it): the store records its own
/// transitions, and gateways add what only they know (the provider's id, status callbacks).
struct WorkEvent {
  WorkItemId item = 0;
  Timestamp at;
  /// Recorded by the store: "enqueued", "claimed" (detail: owner), "completed", "retry" and
  /// "buried" (detail: the error), "revived". Others are added with add_event.
  std::string event;
  std::string detail;

  friend bool operator==(const WorkEvent&, const WorkEvent&) = default;
};

/// The result of an enqueue: the item's id, and whether this call created it.
struct Enqueued {
  WorkItemId id = 0;
  bool created = false;
};

/// A durable work queue that several workers, processes and nodes can work at once: on
/// PostgreSQL through `SELECT ... FOR UPDATE SKIP LOCKED`, on SQLite through its single-writer
/// transactions. Delivery is at least once: an item is done only when its worker says so, and
/// the claim of a worker that dies runs out so that another worker takes the item again.
///
/// Threading: every call blocks on I/O. Call only from the worker pool, never from an I/O
/// thread. Safe concurrently from any number of threads. No call throws; failures come back as
/// storage_errc. Times are the caller's clock (storage::Timestamp), so tests control them.
class WorkQueue {
public:
  virtual ~WorkQueue() = default;

  /// Stores a new pending item due at `due`, or, if `queue` already holds an item with `key`,
  /// stores nothing and returns that item's id with created = false (whatever its state).
  /// invalid_argument for an empty `queue` or `key`.
  virtual boost::system::result<Enqueued> enqueue(std::string_view queue, std::string_view key,
                                                  std::string_view payload, Timestamp now, Timestamp due) = 0;

  /// Claims up to `limit` items of `queue` for `owner` until `now + lease`: pending items that
  /// are due (due <= now), and claimed items whose lease ran out (lease_until <= now), oldest
  /// due first (then lowest id). Each claimed item gets attempts + 1. While a lease runs, no
  /// other claim returns the item. invalid_argument for an empty `queue` or `owner`, or a zero
  /// `limit`.
  virtual boost::system::result<std::vector<WorkItem>> claim(std::string_view queue, std::string_view owner,
                                                             Timestamp now, std::chrono::microseconds lease,
                                                             std::size_t limit) = 0;

  /// The work succeeded: claimed -> done. not_found for an unknown id; conflict when the item
  /// is not claimed by `owner` (its lease ran out and someone else took it, or it is not
  /// claimed at all).
  virtual boost::system::result<void> complete(WorkItemId id, std::string_view owner, Timestamp now) = 0;

  /// The attempt failed and may be tried again from `due`: claimed -> pending, keeping
  /// `error`. Errors as for complete.
  virtual boost::system::result<void> retry(WorkItemId id, std::string_view owner, Timestamp now, Timestamp due,
                                            std::string_view error) = 0;

  /// The work failed for good: claimed -> dead (the dead-letter state), keeping `error`.
  /// Errors as for complete.
  virtual boost::system::result<void> bury(WorkItemId id, std::string_view owner, Timestamp now,
                                           std::string_view error) = 0;

  /// An administrator retries a dead item: dead -> pending, due now, attempts back to 0.
  /// not_found for an unknown id; conflict when the item is not dead.
  virtual boost::system::result<void> revive(WorkItemId id, Timestamp now) = 0;

  /// One item; not_found for an unknown id.
  virtual boost::system::result<WorkItem> get(WorkItemId id) = 0;

  /// One page of the items of `queue` in `state`, by ascending id, starting strictly after id
  /// `after` (0 starts at the beginning). invalid_argument for a zero `limit`.
  virtual boost::system::result<std::vector<WorkItem>> list(std::string_view queue, WorkState state,
                                                            WorkItemId after, std::size_t limit) = 0;

  virtual boost::system::result<std::uint64_t> count(std::string_view queue, WorkState state) = 0;

  /// Deletes the items of `queue` in `state` (done or dead only) last changed before `before`,
  /// and returns how many went. invalid_argument for pending or claimed.
  virtual boost::system::result<std::size_t> purge(std::string_view queue, WorkState state, Timestamp before) = 0;

  /// The names of the queues that hold items, ascending.
  virtual boost::system::result<std::vector<std::string>> queues() = 0;

  /// Appends an event to the timeline of item `id`; not_found for an unknown id.
  /// invalid_argument for an empty `event`.
  virtual boost::system::result<void> add_event(WorkItemId id, Timestamp at, std::string_view event,
                                                std::string_view detail) = 0;

  /// The timeline of item `id` in the order the events were recorded; not_found for an unknown
  /// id. Events go with their item when it is purged.
  virtual boost::system::result<std::vector<WorkEvent>> events(WorkItemId id) = 0;

  /// Stores `item` exactly as given, id included: for copying a store to another backend.
  /// Later enqueues get ids above every restored one. conflict if the id, or the key within
  /// the queue, is taken; invalid_argument as for enqueue, or for an id below 1.
  virtual boost::system::result<void> restore(const WorkItem& item) = 0;
};

} // namespace parley::storage
