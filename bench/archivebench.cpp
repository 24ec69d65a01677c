// parley-archivebench: message archive (XEP-0313) queries on a growing archive, SQLite and
// PostgreSQL, through the public storage interface only. See bench/README.md, "Archive
// benchmark".
//
// One user's archive grows in steps (say 10k, 100k, 1M messages, spread over `contacts`
// contacts, appended in batches as parleyd's group commit writes them). At each size it times
// the queries a client makes:
//   with:   the latest 50 messages with one contact (a conversation opened on a new device);
//   latest: the latest 50 messages of the whole archive (catching up after a reconnect);
//   after:  the 50 messages after a given id (paging forward from a known message);
// and reports p50/p99 per query kind and size. An index that serves the query keeps the time
// flat as the archive grows; a scan grows with it.

#include "bench/pg_schema.hpp"
#include "storage/archive_store.hpp"
#include "storage/postgres/open.hpp"
#include "storage/sqlite/open.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace parley::bench {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view usage = R"(usage: parley-archivebench --backend sqlite|postgres [options]

  --backend B      sqlite or postgres (required)
  --dsn DSN        libpq connection string of a database the role may create schemas in
                   (postgres; the run gets its own schema archbench_<pid>, dropped after)
  --sizes LIST     archive sizes to measure at, ascending, comma-separated
                   (default 10000,100000,1000000)
  --contacts N     contacts the messages are spread over (default 200)
  --queries N      queries of each kind at each size (default 200)
  --batch N        messages per append transaction (default 256)
  --json           print the results as JSON on stdout (progress stays on stderr)
  --help
)";

constexpr std::size_t page = 50;
constexpr std::string_view owner = "alice@example.com";

struct Options {
  bool postgres = false;
  std::string dsn;
  std::vector<std::size_t> sizes{10'000, 100'000, 1'000'000};
  std::size_t contacts = 200;
  std::size_t queries = 200;
  std::size_t batch = 256;
  bool json = false;
};

std::optional<std::size_t> number(std::string_view text) {
  std::size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return text.empty() ? std::nullopt : std::optional<std::size_t>(value);
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  bool backend = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) {
        return std::nullopt;
      }
      return std::string_view(argv[++i]);
    };
    if (arg == "--help") {
      std::cout << usage;
      std::exit(0);
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--backend") {
      auto v = value();
      if (!v || (*v != "sqlite" && *v != "postgres")) {
        return std::nullopt;
      }
      o.postgres = *v == "postgres";
      backend = true;
    } else if (arg == "--dsn") {
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      o.dsn = std::string(*v);
    } else if (arg == "--sizes") {
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      o.sizes.clear();
      std::stringstream list{std::string(*v)};
      for (std::string item; std::getline(list, item, ',');) {
        auto n = number(item);
        if (!n || *n == 0 || (!o.sizes.empty() && *n <= o.sizes.back())) {
          return std::nullopt;
        }
        o.sizes.push_back(*n);
      }
    } else if (arg == "--contacts" || arg == "--queries" || arg == "--batch") {
      auto v = value();
      auto n = v ? number(*v) : std::nullopt;
      if (!n || *n == 0) {
        return std::nullopt;
      }
      (arg == "--contacts" ? o.contacts : arg == "--queries" ? o.queries : o.batch) = *n;
    } else {
      return std::nullopt;
    }
  }
  if (!backend || o.sizes.empty() || (o.postgres && o.dsn.empty())) {
    return std::nullopt;
  }
  return o;
}

std::string contact(std::size_t i) { return "contact" + std::to_string(i) + "@example.net"; }

std::string stanza(std::size_t n, const std::string& with) {
  // A chat message of about 300 bytes, as archived.
  return "<message xmlns='jabber:client' from='" + with + "/phone' to='alice@example.com/desk' type='chat' id='m" +
         std::to_string(n) + "'><body>Message number " + std::to_string(n) +
         " of the archive benchmark, long enough to look like a chat line.</body>"
         "<active xmlns='http://jabber.org/protocol/chatstates'/><stanza-id xmlns='urn:xmpp:sid:0' "
         "by='alice@example.com' id='" +
         std::to_string(n) + "'/></message>";
}

struct Summary {
  double p50_ms = 0;
  double p99_ms = 0;
};

Summary summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))]; };
  return {at(0.50), at(0.99)};
}

struct Step {
  std::size_t size = 0;
  double append_rate = 0; ///< messages/s while growing to this size
  Summary with, latest, after;
};

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

int run(const Options& o) {
  // The stores log (migrations applied ...): to stderr, so that --json keeps stdout clean.
  auto logger = spdlog::stderr_color_mt("storage");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  std::optional<fs::path> dir;
  std::optional<PgSchema> schema;
  boost::system::result<std::unique_ptr<storage::Storage>> opened = storage::storage_errc::internal;
  if (o.postgres) {
    schema.emplace(o.dsn, "archbench_" + std::to_string(::getpid()));
    if (auto error = schema->create(); !error.empty()) {
      std::cerr << "parley-archivebench: cannot create schema: " << error << '\n';
      return 2;
    }
    storage::postgres::Options pg;
    pg.dsn = with_search_path(o.dsn, schema->name());
    opened = storage::postgres::open(pg);
  } else {
    std::string pattern = (fs::temp_directory_path() / "parley-archivebench.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::cerr << "parley-archivebench: cannot create a temporary directory\n";
      return 2;
    }
    dir = pattern;
    opened = storage::sqlite::open(*dir / "archive.db");
  }
  if (!opened) {
    std::cerr << "parley-archivebench: cannot open storage: " << opened.error().message() << '\n';
    return 2;
  }
  storage::Storage& db = **opened;
  std::mt19937_64 rng(42);
  std::vector<Step> steps;
  std::vector<std::string> ids; // every archived id, in order
  int status = 0;
  for (const std::size_t size : o.sizes) {
    Step step;
    step.size = size;
    const auto fill_start = Clock::now();
    const std::size_t from = ids.size();
    while (ids.size() < size) {
      std::vector<storage::ArchiveEntry> batch;
      const auto ts = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
      while (batch.size() < o.batch && ids.size() < size) {
        const std::size_t n = ids.size();
        storage::ArchiveEntry e;
        e.owner = std::string(owner);
        e.message.id = "id" + std::to_string(n);
        e.message.timestamp = ts;
        e.message.with = contact(n % o.contacts);
        e.message.stanza = stanza(n, e.message.with);
        ids.push_back(e.message.id);
        batch.push_back(std::move(e));
      }
      if (auto r = db.archive().append(batch); !r) {
        std::cerr << "parley-archivebench: append failed: " << r.error().message() << '\n';
        return 1;
      }
    }
    const double fill_seconds = std::chrono::duration<double>(Clock::now() - fill_start).count();
    step.append_rate = static_cast<double>(size - from) / fill_seconds;

    auto time_queries = [&](auto make) -> std::optional<Summary> {
      std::vector<double> ms;
      for (std::size_t q = 0; q < o.queries; ++q) {
        storage::ArchiveQuery query = make();
        const auto start = Clock::now();
        auto answer = db.archive().query(query);
        const auto end = Clock::now();
        if (!answer || answer->messages.empty() || answer->messages.size() > page) {
          std::cerr << "parley-archivebench: a query failed or came back empty\n";
          return std::nullopt;
        }
        ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
      }
      return summarize(std::move(ms));
    };
    auto with = time_queries([&] {
      storage::ArchiveQuery q;
      q.owner = std::string(owner);
      q.with = contact(rng() % o.contacts);
      q.max = page;
      q.from_end = true;
      return q;
    });
    auto latest = time_queries([&] {
      storage::ArchiveQuery q;
      q.owner = std::string(owner);
      q.max = page;
      q.from_end = true;
      return q;
    });
    auto after = time_queries([&] {
      storage::ArchiveQuery q;
      q.owner = std::string(owner);
      q.after_ids.push_back(ids[rng() % (ids.size() - page)]);
      q.max = page;
      return q;
    });
    if (!with || !latest || !after) {
      status = 1;
      break;
    }
    step.with = *with;
    step.latest = *latest;
    step.after = *after;
    std::cerr << "size " << size << ": append " << fixed(step.append_rate, 0) << " msg/s; latest 50 with X p50 "
              << fixed(step.with.p50_ms, 3) << " ms p99 " << fixed(step.with.p99_ms, 3) << " ms; latest 50 p50 "
              << fixed(step.latest.p50_ms, 3) << " ms; 50 after an id p50 " << fixed(step.after.p50_ms, 3) << " ms\n";
    steps.push_back(step);
  }
  opened->reset(); // before the schema goes (PgSchema's destructor drops it)
  if (dir) {
    std::error_code ec;
    fs::remove_all(*dir, ec);
  }
  if (o.json) {
    nlohmann::json out;
    out["backend"] = o.postgres ? "postgres" : "sqlite";
    out["contacts"] = o.contacts;
    out["queries"] = o.queries;
    out["batch"] = o.batch;
    for (const auto& s : steps) {
      out["steps"].push_back({{"size", s.size},
                              {"append_rate", s.append_rate},
                              {"with_p50_ms", s.with.p50_ms},
                              {"with_p99_ms", s.with.p99_ms},
                              {"latest_p50_ms", s.latest.p50_ms},
                              {"latest_p99_ms", s.latest.p99_ms},
                              {"after_p50_ms", s.after.p50_ms},
                              {"after_p99_ms", s.after.p99_ms}});
    }
    std::cout << out.dump(2) << '\n';
  }
  return status;
}

} // namespace

} // namespace parley::bench

int main(int argc, char** argv) {
  auto options = parley::bench::parse(argc, argv);
  if (!options) {
    std::cerr << parley::bench::usage;
    return 2;
  }
  return parley::bench::run(*options);
}
