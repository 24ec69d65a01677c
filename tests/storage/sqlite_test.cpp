// What only the SQLite backend has: its file, pragmas, migrations and error mapping.

#include "storage/sqlite/detail/errors.hpp"
#include "storage/sqlite/open.hpp"
#include "storage/storage_errc.hpp"
#include "tests/storage/temp_dir.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

using namespace parley::storage;
using parley::storage::testing::TempDir;

namespace {

/// A plain SQLite connection, to look at the file behind the backend's back.
class RawDatabase {
public:
  explicit RawDatabase(const std::filesystem::path& file) {
    REQUIRE(sqlite3_open_v2(file.string().c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  ~RawDatabase() { sqlite3_close(db_); }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;

  void exec(const std::string& sql) {
    char* message = nullptr;
    const int code = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    const std::string text = message != nullptr ? message : "";
    sqlite3_free(message);
    REQUIRE_MESSAGE(code == SQLITE_OK, sql << ": " << text);
  }

  /// The first column of the first row of `sql`, as text.
  std::string text(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    std::string value;
    if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0) != nullptr) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
    return value;
  }

  long long integer(const std::string& sql) { return std::stoll(text(sql)); }

private:
  sqlite3* db_ = nullptr;
};

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& file, const std::string& content) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
}

std::unique_ptr<Storage> open_or_fail(const std::filesystem::path& file, const sqlite::Options& options = {}) {
  auto opened = sqlite::open(file, options);
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message()));
  return std::move(*opened);
}

} // namespace

TEST_CASE("sqlite: migrations are recorded once and reopening applies none again") {
  TempDir dir;
  const auto file = dir.path() / "parley.sqlite";
  open_or_fail(file);

  std::string applied_at;
  {
    RawDatabase raw(file);
    CHECK(raw.integer("SELECT COUNT(*) FROM schema_migrations") == sqlite::latest_schema_version());
    CHECK(raw.integer("SELECT MAX(version) FROM schema_migrations") == sqlite::latest_schema_version());
    CHECK(raw.integer("SELECT MIN(version) FROM schema_migrations") == 1);
    applied_at = raw.text("SELECT applied_at FROM schema_migrations WHERE version = 1");
    CHECK(applied_at.size() == std::string("2024-01-01T00:00:00.000Z").size());
    CHECK(raw.integer("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                      "('users', 'scram_credentials', 'roster_items', 'roster_groups', 'roster_versions', "
                      "'offline_messages')") == 6);
  }

  for (int i = 0; i < 2; ++i) {
    auto testling = open_or_fail(file);
    REQUIRE(testling->users().create_user("user" + std::to_string(i), {}));
  }
  RawDatabase raw(file);
  CHECK(raw.integer("SELECT COUNT(*) FROM schema_migrations") == sqlite::latest_schema_version());
  CHECK(raw.text("SELECT applied_at FROM schema_migrations WHERE version = 1") == applied_at);
  CHECK(raw.integer("SELECT COUNT(*) FROM users") == 2);
}

TEST_CASE("sqlite: the file is in WAL mode") {
  TempDir dir;
  const auto file = dir.path() / "parley.sqlite";
  auto testling = open_or_fail(file);
  REQUIRE(testling->users().create_user("alice", {}));

  CHECK(std::filesystem::exists(dir.path() / "parley.sqlite-wal"));
  RawDatabase raw(file);
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
  CHECK(testling->backend_name() == "sqlite");
}

TEST_CASE("sqlite: a database written by a newer Parley is refused and left untouched") {
  TempDir dir;
  const auto file = dir.path() / "parley.sqlite";
  {
    auto testling = open_or_fail(file);
    REQUIRE(testling->users().create_user("alice", {}));
  }
  const int newer = sqlite::latest_schema_version() + 1;
  {
    RawDatabase raw(file);
    raw.exec("INSERT INTO schema_migrations(version, applied_at) VALUES(" + std::to_string(newer) +
             ", '2099-01-01T00:00:00.000Z')");
  }

  auto refused = sqlite::open(file);
  REQUIRE(refused.has_error());
  CHECK(refused.error() == storage_errc::schema_too_new);
  CHECK(refused.error().message().find("newer") != std::string::npos);

  RawDatabase raw(file);
  CHECK(raw.integer("SELECT MAX(version) FROM schema_migrations") == newer);
  CHECK(raw.integer("SELECT COUNT(*) FROM users") == 1);
}

TEST_CASE("sqlite: a file that is not a database is reported as corrupt and left alone") {
  TempDir dir;
  const auto file = dir.path() / "parley.sqlite";
  std::string garbage;
  while (garbage.size() < 8192) {
    garbage += "this is not an SQLite database, it is a text file\n";
  }
  write_file(file, garbage);

  auto refused = sqlite::open(file);
  REQUIRE(refused.has_error());
  CHECK(refused.error() == storage_errc::corrupt);
  CHECK(read_file(file) == garbage);
}

TEST_CASE("sqlite: a database with a damaged schema page is reported as corrupt") {
  TempDir dir;
  const auto file = dir.path() / "parley.sqlite";
  {
    auto testling = open_or_fail(file);
    for (int i = 0; i < 50; ++i) {
      REQUIRE(testling->users().create_user("user" + std::to_string(i), {}));
    }
  }
  // Page 1 holds sqlite_master after the 100-byte file header; scribble over it.
  std::string content = read_file(file);
  REQUIRE(content.size() > 4096);
  for (std::size_t i = 100; i < 4096; ++i) {
    content[i] = static_cast<char>(0xA5 ^ (i & 0xff));
  }
  write_file(file, content);

  auto refused = sqlite::open(file);
  REQUIRE(refused.has_error());
  CHECK(refused.error() == storage_errc::corrupt);
}

TEST_CASE("sqlite: a file that cannot be created is unavailable") {
  TempDir dir;
  auto refused = sqlite::open(dir.path() / "no" / "such" / "directory" / "parley.sqlite");
  REQUIRE(refused.has_error());
  CHECK(refused.error() == storage_errc::unavailable);
}

TEST_CASE("sqlite: a write lock held elsewhere beyond the busy timeout gives unavailable") {
  TempDir dir;
  const auto file = dir.path() / "parley.sqlite";
  sqlite::Options options;
  options.busy_timeout = std::chrono::milliseconds(100);
  auto testling = open_or_fail(file, options);
  REQUIRE(testling->users().create_user("alice", {}));
  REQUIRE(testling->offline().push("alice", "<message/>", Timestamp{}, 10));

  RawDatabase other(file); // another process, as far as SQLite's locks are concerned
  other.exec("BEGIN IMMEDIATE");

  const auto started = std::chrono::steady_clock::now();
  auto blocked = testling->offline().push("alice", "<message/>", Timestamp{}, 10);
  const auto waited = std::chrono::steady_clock::now() - started;
  REQUIRE(blocked.has_error());
  CHECK(blocked.error() == storage_errc::unavailable);
  CHECK(waited >= std::chrono::milliseconds(90));

  // WAL: readers are not blocked by the writer.
  CHECK(testling->offline().count("alice").value() == 1);

  other.exec("COMMIT");
  CHECK(testling->offline().push("alice", "<message/>", Timestamp{}, 10));
  CHECK(testling->offline().count("alice").value() == 2);
}

TEST_CASE("sqlite: more callers than connections take turns") {
  TempDir dir;
  sqlite::Options options;
  options.max_connections = 1;
  auto testling = open_or_fail(dir.path() / "parley.sqlite", options);
  REQUIRE(testling->users().create_user("alice", {}));

  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (!testling->offline().push("alice", "<message/>", Timestamp{}, 1000) ||
            !testling->offline().count("alice")) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(failures == 0);
  CHECK(testling->offline().count("alice").value() == 100);
}

TEST_CASE("sqlite: result codes map onto storage_errc") {
  using sqlite::detail::to_storage_errc;
  CHECK(to_storage_errc(SQLITE_BUSY) == storage_errc::unavailable);
  CHECK(to_storage_errc(SQLITE_BUSY_SNAPSHOT) == storage_errc::unavailable);
  CHECK(to_storage_errc(SQLITE_LOCKED) == storage_errc::unavailable);
  CHECK(to_storage_errc(SQLITE_IOERR_WRITE) == storage_errc::unavailable);
  CHECK(to_storage_errc(SQLITE_IOERR_FSYNC) == storage_errc::unavailable);
  CHECK(to_storage_errc(SQLITE_FULL) == storage_errc::unavailable);
  CHECK(to_storage_errc(SQLITE_CANTOPEN) == storage_errc::unavailable);
  CHECK(to_storage_errc(SQLITE_READONLY) == storage_errc::unavailable);
  CHECK(to_storage_errc(SQLITE_CORRUPT) == storage_errc::corrupt);
  CHECK(to_storage_errc(SQLITE_NOTADB) == storage_errc::corrupt);
  CHECK(to_storage_errc(SQLITE_CONSTRAINT_PRIMARYKEY) == storage_errc::conflict);
  CHECK(to_storage_errc(SQLITE_CONSTRAINT_UNIQUE) == storage_errc::conflict);
  CHECK(to_storage_errc(SQLITE_CONSTRAINT_FOREIGNKEY) == storage_errc::not_found);
  CHECK(to_storage_errc(SQLITE_CONSTRAINT_CHECK) == storage_errc::invalid_argument);
  CHECK(to_storage_errc(SQLITE_TOOBIG) == storage_errc::invalid_argument);
  CHECK(to_storage_errc(SQLITE_ERROR) == storage_errc::internal);
  CHECK(to_storage_errc(SQLITE_MISUSE) == storage_errc::internal);
}

TEST_CASE("storage_errc: a category with a message for every condition") {
  CHECK(std::string(storage_category().name()) == "parley.storage");
  for (auto errc :
       {storage_errc::not_found, storage_errc::conflict, storage_errc::quota_exceeded, storage_errc::unavailable,
        storage_errc::corrupt, storage_errc::invalid_argument, storage_errc::schema_too_new, storage_errc::internal}) {
    const boost::system::error_code code = errc;
    CHECK(code.failed());
    CHECK(&code.category() == &storage_category());
    CHECK(code.message() != "unknown storage error");
  }
  const boost::system::error_code unknown(999, storage_category());
  CHECK(unknown.message() == "unknown storage error");
}
