// parley-storebench: offline-message storage throughput of the SQLite and PostgreSQL backends,
// through the public storage interfaces only (storage/storage.hpp and the two open.hpp).
// See bench/README.md, "Storage benchmark".
//
// Each run starts from an empty database (a new SQLite file, or a new PostgreSQL schema),
// creates the users, then:
//   store: `threads` threads push `messages` stanzas round-robin over the users, one durable
//          commit per push, as parleyd does before acknowledging a message to its sender;
//   drain: `threads` threads take the users in turn and do what a login does, list(user) then
//          remove(user, last id): one commit per user.
// and checks that the store held exactly `messages` messages and that the drain left none.

#include "bench/pg_schema.hpp"
#include "storage/offline_store.hpp"
#include "storage/postgres/open.hpp"
#include "storage/sqlite/open.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"
#include "storage/user_store.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace parley::bench {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view usage = R"(usage: parley-storebench --backend sqlite|postgres [options]

  --backend B      sqlite or postgres (required)
  --sqlite PATH    SQLite database file to create for each run; must not exist, removed after
                   each run (default: a file in a new temporary directory)
  --dsn DSN        libpq connection string of a database the role may create schemas in
                   (postgres; each run gets its own schema bench_<pid>_<run>, dropped after)
  --users N        users holding offline messages (default 100)
  --messages N     messages pushed per run, in total (default 20000)
  --threads N      threads calling the store, parleyd's default worker-pool size (default 4)
  --runs N         runs, each on an empty database (default 3)
  --json           print the results as JSON on stdout (progress stays on stderr)
  --help
)";

/// Offline messages a user may hold in parleyd's default configuration ([storage] offline_quota).
constexpr std::size_t server_quota = 1000;
/// Size of the stanzas pushed: a short chat message with the usual extensions.
constexpr std::size_t stanza_bytes = 300;

enum class Backend { sqlite, postgres };

struct Options {
  Backend backend = Backend::sqlite;
  std::string sqlite_path;
  std::string dsn;
  std::size_t users = 100;
  std::size_t messages = 20000;
  std::size_t threads = 4;
  std::size_t runs = 3;
  bool json = false;
};

template <class T> bool parse_number(std::string_view text, T& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

/// The options, or nullopt after printing what is wrong (or the usage, for --help).
std::optional<Options> parse_options(int argc, char** argv, bool& help) {
  Options options;
  bool have_backend = false;
  std::vector<std::string> problems;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      help = true;
      return std::nullopt;
    }
    if (flag == "--json") {
      options.json = true;
      continue;
    }
    if (i + 1 >= argc) {
      problems.push_back(std::string(flag) + " needs a value, or is unknown");
      continue;
    }
    const std::string_view value = argv[++i];
    auto count = [&](std::size_t& out) {
      if (!parse_number(value, out) || out == 0) {
        problems.push_back(std::string(flag) + ": expected a positive integer, got '" + std::string(value) + "'");
      }
    };
    if (flag == "--backend") {
      have_backend = true;
      if (value == "sqlite") {
        options.backend = Backend::sqlite;
      } else if (value == "postgres") {
        options.backend = Backend::postgres;
      } else {
        problems.push_back("--backend: expected sqlite or postgres, got '" + std::string(value) + "'");
      }
    } else if (flag == "--sqlite") {
      options.sqlite_path = value;
    } else if (flag == "--dsn") {
      options.dsn = value;
    } else if (flag == "--users") {
      count(options.users);
    } else if (flag == "--messages") {
      count(options.messages);
    } else if (flag == "--threads") {
      count(options.threads);
    } else if (flag == "--runs") {
      count(options.runs);
    } else {
      --i;
      problems.push_back("unknown flag " + std::string(flag));
    }
  }
  if (!have_backend) {
    problems.emplace_back("--backend is required");
  } else if (options.backend == Backend::postgres && options.dsn.empty()) {
    problems.emplace_back("--backend postgres needs --dsn");
  }
  if (!options.sqlite_path.empty() && fs::exists(fs::path(options.sqlite_path))) {
    // Each run deletes its file afterwards; never one we did not create.
    problems.push_back("--sqlite: " + options.sqlite_path + " exists; give a path that does not");
  }
  if (!problems.empty()) {
    for (const auto& problem : problems) {
      std::cerr << "parley-storebench: " << problem << '\n';
    }
    return std::nullopt;
  }
  return options;
}

std::string user_name(std::size_t index) {
  return "bench" + std::to_string(index);
}

/// A chat message as a client sends it (body, XEP-0085 chat state, XEP-0184 receipt request),
/// padded in its body to `stanza_bytes`.
std::string make_stanza(std::size_t sequence, std::size_t recipient) {
  static constexpr std::string_view text =
      "Are we still on for the review this afternoon? I moved the slides to the shared folder "
      "and added the latency numbers from last week. ";
  const std::string id = "sb" + std::to_string(sequence);
  std::string head = "<message xmlns='jabber:client' from='sender" + std::to_string(sequence % 997) +
                     "@localhost/phone' to='" + user_name(recipient) + "@localhost' type='chat' id='" + id + "'><body>";
  const std::string tail = "</body><active xmlns='http://jabber.org/protocol/chatstates'/>"
                           "<request xmlns='urn:xmpp:receipts'/></message>";
  std::string stanza = std::move(head);
  const std::size_t fixed = stanza.size() + tail.size();
  const std::size_t body = stanza_bytes > fixed ? stanza_bytes - fixed : 16;
  for (std::size_t i = 0; i < body; ++i) {
    stanza.push_back(text[i % text.size()]);
  }
  stanza += tail;
  return stanza;
}

// ---- one run ---------------------------------------------------------------------------------

struct RunResult {
  double users_seconds = 0;
  double store_seconds = 0;
  double store_rate = 0;
  double push_p50_ms = 0;
  double push_p99_ms = 0;
  double push_max_ms = 0;
  double drain_seconds = 0;
  double drain_rate = 0;
  /// Per user of the drain: list, and remove.
  double list_p50_ms = 0;
  double list_p99_ms = 0;
  double remove_p50_ms = 0;
  double remove_p99_ms = 0;
  /// Empty when every call succeeded and both checks held; otherwise what went wrong first.
  std::string failure;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Nearest-rank percentile of sorted `values`.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

/// Keeps the first failure reported by any thread.
class FirstFailure {
public:
  void set(std::string what) {
    std::lock_guard lock(mutex_);
    if (text_.empty()) {
      text_ = std::move(what);
    }
  }
  std::string get() {
    std::lock_guard lock(mutex_);
    return text_;
  }

private:
  std::mutex mutex_;
  std::string text_;
};

/// Runs `body(t)` on `threads` threads started together; returns the wall time from the start
/// signal until the last one finished.
double timed_threads(std::size_t threads, const std::function<void(std::size_t)>& body) {
  std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
  std::latch go(1);
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.count_down();
      go.wait();
      body(t);
    });
  }
  ready.arrive_and_wait();
  const auto start = Clock::now();
  go.count_down();
  for (auto& thread : pool) {
    thread.join();
  }
  return seconds_since(start);
}

RunResult run_once(storage::Storage& db, const Options& options, std::size_t quota) {
  RunResult result;
  FirstFailure failure;
  auto& users = db.users();
  auto& offline = db.offline();

  auto start = Clock::now();
  for (std::size_t u = 0; u < options.users; ++u) {
    if (auto created = users.create_user(user_name(u), {}); !created) {
      result.failure = "create_user(" + user_name(u) + "): " + created.error().message();
      return result;
    }
  }
  result.users_seconds = seconds_since(start);

  // Store: message i goes to user i % users; thread t pushes messages t, t+threads, ...
  std::vector<std::vector<double>> latencies(options.threads);
  result.store_seconds = timed_threads(options.threads, [&](std::size_t t) {
    auto& mine = latencies[t];
    mine.reserve(options.messages / options.threads + 1);
    for (std::size_t i = t; i < options.messages; i += options.threads) {
      const std::size_t recipient = i % options.users;
      const std::string name = user_name(recipient);
      const std::string stanza = make_stanza(i, recipient);
      const auto stamp = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
      const auto before = Clock::now();
      auto pushed = offline.push(name, stanza, stamp, quota);
      mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
      if (!pushed) {
        failure.set("push(" + name + "): " + pushed.error().message());
        return;
      }
    }
  });
  result.store_rate = static_cast<double>(options.messages) / result.store_seconds;
  std::vector<double> all;
  all.reserve(options.messages);
  for (const auto& mine : latencies) {
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  result.push_p50_ms = percentile(all, 50);
  result.push_p99_ms = percentile(all, 99);
  result.push_max_ms = all.empty() ? 0 : all.back();
  if (auto what = failure.get(); !what.empty()) {
    result.failure = what;
    return result;
  }

  // Not timed: every pushed message is there, no more, no less.
  std::size_t held = 0;
  for (std::size_t u = 0; u < options.users; ++u) {
    auto counted = offline.count(user_name(u));
    if (!counted) {
      result.failure = "count(" + user_name(u) + "): " + counted.error().message();
      return result;
    }
    held += *counted;
  }
  if (held != options.messages) {
    result.failure = "after store the users hold " + std::to_string(held) + " messages, expected " +
                     std::to_string(options.messages);
    return result;
  }

  // Drain: the users log in one after the other, `threads` at a time.
  std::atomic<std::size_t> next_user{0};
  std::atomic<std::size_t> drained{0};
  std::vector<double> list_ms(options.users);
  std::vector<double> remove_ms(options.users);
  result.drain_seconds = timed_threads(options.threads, [&](std::size_t) {
    for (std::size_t u = next_user++; u < options.users; u = next_user++) {
      const std::string name = user_name(u);
      auto before = Clock::now();
      auto listed = offline.list(name);
      list_ms[u] = std::chrono::duration<double, std::milli>(Clock::now() - before).count();
      if (!listed) {
        failure.set("list(" + name + "): " + listed.error().message());
        return;
      }
      if (listed->empty()) {
        continue;
      }
      before = Clock::now();
      auto removed = offline.remove(name, listed->back().id);
      remove_ms[u] = std::chrono::duration<double, std::milli>(Clock::now() - before).count();
      if (!removed) {
        failure.set("remove(" + name + "): " + removed.error().message());
        return;
      }
      if (*removed != listed->size()) {
        failure.set("remove(" + name + ") deleted " + std::to_string(*removed) + " messages, list returned " +
                    std::to_string(listed->size()));
        return;
      }
      drained += listed->size();
    }
  });
  result.drain_rate = static_cast<double>(drained.load()) / result.drain_seconds;
  std::sort(list_ms.begin(), list_ms.end());
  std::sort(remove_ms.begin(), remove_ms.end());
  result.list_p50_ms = percentile(list_ms, 50);
  result.list_p99_ms = percentile(list_ms, 99);
  result.remove_p50_ms = percentile(remove_ms, 50);
  result.remove_p99_ms = percentile(remove_ms, 99);
  if (auto what = failure.get(); !what.empty()) {
    result.failure = what;
    return result;
  }
  if (drained != options.messages) {
    result.failure = "the drain delivered " + std::to_string(drained.load()) + " messages, expected " +
                     std::to_string(options.messages);
    return result;
  }
  for (std::size_t u = 0; u < options.users; ++u) {
    auto counted = offline.count(user_name(u));
    if (!counted || *counted != 0) {
      result.failure = "after drain count(" + user_name(u) +
                       ") = " + (counted ? std::to_string(*counted) : counted.error().message()) + ", expected 0";
      return result;
    }
  }
  return result;
}

void remove_sqlite_files(const fs::path& file) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(fs::path(file.string() + suffix), ignored);
  }
}

// ---- summary ---------------------------------------------------------------------------------

struct Spread {
  double median = 0;
  double min = 0;
  double max = 0;
};

Spread spread_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  return {median, values.front(), values.back()};
}

Spread spread_of(const std::vector<RunResult>& runs, double RunResult::*field) {
  std::vector<double> values;
  for (const auto& run : runs) {
    values.push_back(run.*field);
  }
  return spread_of(std::move(values));
}

nlohmann::json to_json(const Spread& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

int run_main(int argc, char** argv) {
  bool help = false;
  auto parsed = parse_options(argc, argv, help);
  if (!parsed) {
    (help ? std::cout : std::cerr) << usage;
    return help ? 0 : 2;
  }
  const Options options = *parsed;
  // Store errors go to the log: stderr, so that --json output stays clean.
  auto logger = spdlog::stderr_color_mt("storage");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);

  const std::string backend_name = options.backend == Backend::sqlite ? "sqlite" : "postgres";
  // Quota as parleyd applies it by default, raised if the run needs more per user.
  const std::size_t per_user = (options.messages + options.users - 1) / options.users;
  const std::size_t quota = std::max(server_quota, per_user);
  const std::size_t connections = std::max<std::size_t>(8, options.threads);

  std::string server_version;
  fs::path temp_dir;
  fs::path sqlite_file;
  if (options.backend == Backend::postgres) {
    server_version = pg_server_version(options.dsn);
    if (server_version.empty()) {
      std::cerr << "parley-storebench: cannot connect to " << options.dsn << '\n';
      return 2;
    }
  } else if (options.sqlite_path.empty()) {
    std::string pattern = (fs::temp_directory_path() / "parley-storebench.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::cerr << "parley-storebench: cannot create a temporary directory\n";
      return 2;
    }
    temp_dir = pattern;
    sqlite_file = temp_dir / "offline.db";
  } else {
    sqlite_file = options.sqlite_path;
  }

  std::cerr << "parley-storebench: " << backend_name << (server_version.empty() ? "" : " " + server_version) << ", "
            << options.users << " users, " << options.messages << " messages of " << stanza_bytes << " bytes, "
            << options.threads << " threads, " << options.runs << " runs, quota " << quota << '\n';

  std::vector<RunResult> runs;
  std::string failure;
  for (std::size_t run = 0; run < options.runs && failure.empty(); ++run) {
    std::optional<PgSchema> schema;
    boost::system::result<std::unique_ptr<storage::Storage>> opened = storage::storage_errc::internal;
    if (options.backend == Backend::postgres) {
      const std::string name = "bench_" + std::to_string(::getpid()) + "_" + std::to_string(run);
      schema.emplace(options.dsn, name);
      if (auto error = schema->create(); !error.empty()) {
        std::cerr << "parley-storebench: cannot create schema " << name << ": " << error << '\n';
        return 2;
      }
      storage::postgres::Options pg;
      pg.dsn = with_search_path(options.dsn, name);
      pg.max_connections = connections;
      opened = storage::postgres::open(pg);
    } else {
      remove_sqlite_files(sqlite_file);
      storage::sqlite::Options lite;
      lite.max_connections = connections;
      opened = storage::sqlite::open(sqlite_file, lite);
    }
    if (!opened) {
      std::cerr << "parley-storebench: cannot open " << backend_name << ": " << opened.error().message() << '\n';
      return 2;
    }
    RunResult result = run_once(**opened, options, quota);
    opened->reset();
    if (options.backend == Backend::sqlite) {
      remove_sqlite_files(sqlite_file);
    }
    std::cerr << "run " << run + 1 << ": store " << fixed(result.store_rate, 0) << " msg/s ("
              << fixed(result.store_seconds, 2) << " s), push p50 " << fixed(result.push_p50_ms, 3) << " ms p99 "
              << fixed(result.push_p99_ms, 3) << " ms max " << fixed(result.push_max_ms, 1) << " ms; drain "
              << fixed(result.drain_rate, 0) << " msg/s (" << fixed(result.drain_seconds, 3)
              << " s), per user list p50 " << fixed(result.list_p50_ms, 3) << " ms remove p50 "
              << fixed(result.remove_p50_ms, 3) << " ms; " << options.users << " users created in "
              << fixed(result.users_seconds, 2) << " s\n";
    if (!result.failure.empty()) {
      failure = result.failure;
      std::cerr << "run " << run + 1 << " FAILED: " << failure << '\n';
    }
    runs.push_back(std::move(result));
  }
  if (!temp_dir.empty()) {
    std::error_code ignored;
    fs::remove_all(temp_dir, ignored);
  }

  const Spread store = spread_of(runs, &RunResult::store_rate);
  const Spread p50 = spread_of(runs, &RunResult::push_p50_ms);
  const Spread p99 = spread_of(runs, &RunResult::push_p99_ms);
  const Spread drain = spread_of(runs, &RunResult::drain_rate);
  if (options.json) {
    nlohmann::json out{{"backend", backend_name},
                       {"server_version", server_version},
                       {"users", options.users},
                       {"messages", options.messages},
                       {"threads", options.threads},
                       {"runs", options.runs},
                       {"quota", quota},
                       {"stanza_bytes", make_stanza(0, 0).size()},
                       {"connections", connections},
                       {"ok", failure.empty()},
                       {"failure", failure},
                       {"store_msgs_per_s", to_json(store)},
                       {"push_p50_ms", to_json(p50)},
                       {"push_p99_ms", to_json(p99)},
                       {"drain_msgs_per_s", to_json(drain)}};
    auto& each = out["each_run"] = nlohmann::json::array();
    for (const auto& run : runs) {
      each.push_back({{"users_seconds", run.users_seconds},
                      {"store_seconds", run.store_seconds},
                      {"store_msgs_per_s", run.store_rate},
                      {"push_p50_ms", run.push_p50_ms},
                      {"push_p99_ms", run.push_p99_ms},
                      {"push_max_ms", run.push_max_ms},
                      {"drain_seconds", run.drain_seconds},
                      {"drain_msgs_per_s", run.drain_rate},
                      {"list_p50_ms", run.list_p50_ms},
                      {"list_p99_ms", run.list_p99_ms},
                      {"remove_p50_ms", run.remove_p50_ms},
                      {"remove_p99_ms", run.remove_p99_ms},
                      {"failure", run.failure}});
    }
    std::cout << out.dump(2) << '\n';
  } else {
    std::cout << backend_name << ": store " << fixed(store.median, 0) << " msg/s (" << fixed(store.min, 0) << "–"
              << fixed(store.max, 0) << "), push p50 " << fixed(p50.median, 3) << " ms, p99 " << fixed(p99.median, 3)
              << " ms; drain " << fixed(drain.median, 0) << " msg/s (" << fixed(drain.min, 0) << "–"
              << fixed(drain.max, 0) << "); median of " << runs.size() << " runs"
              << (failure.empty() ? "" : "; FAILED: " + failure) << '\n';
  }
  return failure.empty() ? 0 : 1;
}

} // namespace

} // namespace parley::bench

int main(int argc, char** argv) {
  return parley::bench::run_main(argc, argv);
}
