// Storage calls made the way the server makes them: coroutines on an I/O thread hand each call
// to the worker pool and await it. Proves the calls run off the I/O thread and that a backend
// takes concurrent calls from every worker thread.

#include "core/async/worker_pool.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"
#include "tests/storage/backends.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace parley::storage;
namespace async = parley::core::async;

namespace {

template <class Backend> std::unique_ptr<Storage> open_storage(Backend& backend) {
  auto opened = backend.open();
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message()));
  return std::move(*opened);
}

} // namespace

TEST_CASE_TEMPLATE("concurrency: 200 coroutines store through a 4-thread worker pool", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);

  constexpr int user_count = 4;
  constexpr int coroutine_count = 200;
  constexpr std::size_t per_user = coroutine_count / user_count;
  std::vector<std::string> users;
  for (int u = 0; u < user_count; ++u) {
    users.push_back("user" + std::to_string(u));
    REQUIRE(testling->users().create_user(users.back(), {}));
  }

  boost::asio::io_context io;
  async::WorkerPool pool(4);

  std::atomic<int> ran_on_io_thread{0};
  std::atomic<int> resumed_elsewhere{0};
  std::atomic<int> exceptions{0};
  std::mutex threads_mutex;
  std::set<std::thread::id> worker_threads;

  // Written only by the coroutines, which all run on the one I/O thread.
  std::vector<std::optional<boost::system::result<OfflineMessageId>>> pushed(coroutine_count);
  std::map<std::string, std::vector<RosterVersion>> versions;
  int reads_failed = 0;

  for (int i = 0; i < coroutine_count; ++i) {
    boost::asio::co_spawn(
        io,
        [&, i]() -> boost::asio::awaitable<void> {
          const std::string& user = users[static_cast<std::size_t>(i % user_count)];
          auto job14 = [&, i] {
            if (async::on_io_thread()) {
              ++ran_on_io_thread;
            }
            {
              std::lock_guard lock(threads_mutex);
              worker_threads.insert(std::this_thread::get_id());
            }
            const auto stamp = Timestamp(std::chrono::microseconds(1700000000000000 + i));
            return testling->offline().push(user, "<message n='" + std::to_string(i) + "'/>", stamp, 1000);
          };
          pushed[static_cast<std::size_t>(i)] = co_await pool.run(std::move(job14));
          if (!async::on_io_thread()) {
            ++resumed_elsewhere;
          }

          // Mix in roster writes and reads, so that the pool also serves different tables at once.
          if (i % 5 == 0) {
            RosterItem item;
            item.jid = "contact" + std::to_string(i) + "@example.com";
            item.subscription = Subscription::both;
            item.groups = {"G" + std::to_string(i % 3)};
            auto job15 = [&] { return testling->roster().upsert_item(user, item); };
            auto version = co_await pool.run(std::move(job15));
            if (version) {
              versions[user].push_back(*version);
            }
          }
          if (i % 7 == 0) {
            auto job16 = [&] { return testling->offline().list(user); };
            auto listed = co_await pool.run(std::move(job16));
            auto job17 = [&] { return testling->roster().get_roster(user); };
            auto roster = co_await pool.run(std::move(job17));
            if (!listed || !roster) {
              ++reads_failed;
            }
          }
        },
        [&](const std::exception_ptr& error) {
          if (error) {
            ++exceptions;
          }
        });
  }

  std::thread io_thread([&] {
    async::mark_io_thread();
    io.run();
  });
  io_thread.join();

  CHECK(exceptions == 0);
  CHECK(ran_on_io_thread == 0);
  CHECK(resumed_elsewhere == 0);
  CHECK(reads_failed == 0);
  CHECK(worker_threads.size() >= 1);
  CHECK(worker_threads.size() <= 4);

  std::set<OfflineMessageId> ids;
  for (const auto& result : pushed) {
    REQUIRE(result.has_value());
    REQUIRE_MESSAGE(result->has_value(), result->error().message());
    ids.insert(**result);
  }
  CHECK(ids.size() == static_cast<std::size_t>(coroutine_count));

  for (const auto& user : users) {
    CHECK(testling->offline().count(user).value() == per_user);
    auto messages = testling->offline().list(user).value();
    REQUIRE(messages.size() == per_user);
    CHECK(std::is_sorted(messages.begin(), messages.end(),
                         [](const OfflineMessage& a, const OfflineMessage& b) { return a.id < b.id; }));

    // Every roster write got its own version, and the last one is the roster's.
    auto seen = versions[user];
    std::sort(seen.begin(), seen.end());
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    auto roster = testling->roster().get_roster(user).value();
    CHECK(roster.items.size() == seen.size());
    if (!seen.empty()) {
      CHECK(roster.version == seen.back());
    }
  }
  CHECK(versions.size() == static_cast<std::size_t>(user_count));
}

TEST_CASE_TEMPLATE("concurrency: the quota holds under concurrent pushes", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  REQUIRE(testling->users().create_user("alice", {}));

  constexpr std::size_t quota = 25;
  std::atomic<int> stored{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  {
    async::WorkerPool pool(4);
    for (int i = 0; i < 100; ++i) {
      pool.post([&, i] {
        auto id = testling->offline().push("alice", "<message n='" + std::to_string(i) + "'/>",
                                           Timestamp(std::chrono::microseconds(i)), quota);
        if (id) {
          ++stored;
        } else if (id.error() == storage_errc::quota_exceeded) {
          ++refused;
        } else {
          ++other;
        }
      });
    }
  } // the pool's destructor waits for every push

  CHECK(stored == static_cast<int>(quota));
  CHECK(refused == 100 - static_cast<int>(quota));
  CHECK(other == 0);
  CHECK(testling->offline().count("alice").value() == quota);
}

TEST_CASE_TEMPLATE("concurrency: concurrent pushes of one delivery key store one message", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->users().create_user("bob", {}));

  // 8 keys, each pushed 10 times in a row by 10 threads (so that a backend's group commit holds
  // the same key more than once), alternately to alice and bob (a key is global, whoever it
  // names), while SeenStore::remember records some of the same keys on the side.
  std::atomic<int> stored{0};
  std::atomic<int> repeats{0};
  std::atomic<int> remembered{0};
  std::atomic<int> other{0};
  {
    async::WorkerPool pool(10);
    for (int i = 0; i < 80; ++i) {
      pool.post([&, i] {
        const std::string key = "key-" + std::to_string(i / 10);
        if (i % 10 == 5 && (i / 10) % 2 == 1) {
          auto r = testling->seen().remember("test", key, "by remember", Timestamp(std::chrono::microseconds(i)));
          if (r && *r) {
            ++remembered;
          } else if (!r) {
            ++other;
          }
          return;
        }
        const DeliveryKey once{"test", key, "v"};
        auto id = testling->offline().push(i % 2 == 0 ? "alice" : "bob", "<message k='" + key + "'/>",
                                           Timestamp(std::chrono::microseconds(i)), 1000000, &once);
        if (id) {
          ++stored;
        } else if (id.error() == storage_errc::conflict) {
          ++repeats;
        } else {
          ++other;
        }
      });
    }
  }
  // Each key ends up recorded exactly once: by a push that stored its message, or by remember.
  CHECK(stored + remembered == 8);
  CHECK(stored + repeats == 76);
  CHECK(other == 0);
  CHECK(testling->offline().count("alice").value() + testling->offline().count("bob").value() ==
        static_cast<std::size_t>(stored.load()));
}

TEST_CASE_TEMPLATE("concurrency: concurrent publishes to a new PEP node create it once and keep max_items", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);

  constexpr std::size_t max_items = 3;
  std::atomic<int> created{0};
  std::atomic<int> found{0};
  std::atomic<int> failed{0};
  {
    async::WorkerPool pool(4);
    for (int i = 0; i < 100; ++i) {
      pool.post([&, i] {
        const PepItem item{"item" + std::to_string(i), "<x n='" + std::to_string(i) + "'/>", "alice@example.com/a",
                           Timestamp(std::chrono::microseconds(i))};
        auto published = testling->pep().publish("alice@example.com", "urn:example:node", "config", item, max_items);
        if (!published) {
          ++failed;
        } else if (*published) {
          ++created;
        } else {
          ++found;
        }
      });
    }
  } // the pool's destructor waits for every publish

  CHECK(failed == 0);
  CHECK(created == 1);
  CHECK(found == 99);
  // Each publish trimmed with every earlier one in sight: no more than max_items survive.
  const auto items = testling->pep().items("alice@example.com", "urn:example:node", 0).value();
  CHECK(items.size() == max_items);
  const auto last = testling->pep().last_items(std::vector<std::string>{"alice@example.com"}).value();
  REQUIRE(last.size() == 1);
  CHECK(last[0].item.id == items.at(0).id);
}

TEST_CASE_TEMPLATE("concurrency: concurrent pushes for several users, one unknown, each get their own outcome",
                   Backend, PARLEY_STORAGE_BACKENDS) {
  // Backends may commit concurrent pushes together (PostgreSQL does); one push that fails
  // must not fail the others, and every stored message must be there, in order, exactly once.
  Backend backend;
  auto testling = open_storage(backend);
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->users().create_user("bob", {}));
  const std::vector<std::string> targets{"alice", "bob", "ghost"};
  std::mutex mutex;
  std::map<std::string, std::vector<OfflineMessageId>> ids;
  std::atomic<int> not_found{0};
  std::atomic<int> other{0};
  {
    async::WorkerPool pool(8);
    for (int i = 0; i < 300; ++i) {
      pool.post([&, i] {
        const std::string& user = targets[static_cast<std::size_t>(i) % targets.size()];
        auto id = testling->offline().push(user, "<message n='" + std::to_string(i) + "'/>",
                                           Timestamp(std::chrono::microseconds(i)), 1000);
        if (id) {
          std::lock_guard lock(mutex);
          ids[user].push_back(*id);
        } else if (id.error() == storage_errc::not_found) {
          ++not_found;
        } else {
          ++other;
        }
      });
    }
  }
  CHECK(not_found == 100);
  CHECK(other == 0);
  CHECK(ids.count("ghost") == 0);
  for (const std::string user : {"alice", "bob"}) {
    auto listed = testling->offline().list(user);
    REQUIRE(listed.has_value());
    REQUIRE(listed->size() == 100);
    std::vector<OfflineMessageId> returned = ids[user];
    std::sort(returned.begin(), returned.end());
    std::vector<OfflineMessageId> stored;
    for (const auto& message : *listed) {
      stored.push_back(message.id);
    }
    CHECK(stored == returned); // every id handed out is stored, listed in id order
  }
}

TEST_CASE_TEMPLATE("concurrency: 4 workers claiming at once take every work item exactly once", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& work = testling->work();

  constexpr int item_count = 400;
  constexpr std::size_t batch_limit = 5;
  const auto now = Timestamp(std::chrono::microseconds(1700000000000000));
  std::set<WorkItemId> enqueued;
  for (int i = 0; i < item_count; ++i) {
    enqueued.insert(work.enqueue("outbox", "item" + std::to_string(i), "<message/>", now, now).value().id);
  }
  REQUIRE(enqueued.size() == static_cast<std::size_t>(item_count));

  std::mutex claims_mutex;
  std::map<WorkItemId, int> claims;           // guarded by claims_mutex
  std::map<WorkItemId, std::string> claimers; // guarded by claims_mutex
  std::atomic<int> batches{0};
  std::atomic<int> failures{0};
  {
    async::WorkerPool pool(4);
    for (int w = 0; w < 4; ++w) {
      pool.post([&, w] {
        const std::string owner = "node/" + std::to_string(w);
        for (;;) {
          // An hour's lease never runs out here, so a second claim of any item would be a bug.
          auto batch = work.claim("outbox", owner, now, std::chrono::hours(1), batch_limit);
          if (!batch) {
            ++failures;
            return;
          }
          if (batch->empty()) {
            return;
          }
          ++batches;
          if (batch->size() > batch_limit) {
            ++failures;
          }
          for (const auto& item : *batch) {
            {
              std::lock_guard lock(claims_mutex);
              ++claims[item.id];
              claimers[item.id] = owner;
            }
            // A gateway's own event, recorded while other workers claim around it.
            if (item.owner != owner || item.attempts != 1 || !work.add_event(item.id, now, "sent", owner) ||
                !work.complete(item.id, owner, now)) {
              ++failures;
            }
          }
        }
      });
    }
  } // the pool's destructor waits for every worker to find the queue empty

  CHECK(failures == 0);
  CHECK(batches >= item_count / static_cast<int>(batch_limit));
  CHECK(claims.size() == enqueued.size());
  const auto claimed_twice =
      std::count_if(claims.begin(), claims.end(), [](const auto& entry) { return entry.second != 1; });
  CHECK(claimed_twice == 0);
  const auto unexpected =
      std::count_if(claims.begin(), claims.end(), [&](const auto& entry) { return enqueued.count(entry.first) == 0; });
  CHECK(unexpected == 0);
  CHECK(work.count("outbox", WorkState::done).value() == static_cast<std::uint64_t>(item_count));
  CHECK(work.count("outbox", WorkState::claimed).value() == 0);
  CHECK(work.count("outbox", WorkState::pending).value() == 0);

  // Each timeline holds exactly the one claim that took the item.
  int wrong_timelines = 0;
  for (const auto& [id, owner] : claimers) {
    const std::vector<WorkEvent> expected{
        {id, now, "enqueued", ""}, {id, now, "claimed", owner}, {id, now, "sent", owner}, {id, now, "completed", ""}};
    if (work.events(id).value() != expected) {
      ++wrong_timelines;
    }
  }
  CHECK(wrong_timelines == 0);
}
