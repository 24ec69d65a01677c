#include "server/storage_setup.hpp"

#include "storage/postgres/open.hpp"
#include "storage/sqlite/open.hpp"

#include <cstdlib>
#include <filesystem>
#include <regex>

namespace parley::server {

namespace fs = std::filesystem;

boost::system::result<StorageTarget, std::string> target_of(const config::Config& config) {
  StorageTarget target;
  target.backend = config.storage.backend;
  fs::path db = config.storage.sqlite_path;
  if (db.is_relative()) {
    db = fs::absolute(config.data_dir) / db;
  }
  target.sqlite_path = db.string();
  target.postgres_dsn = config.storage.postgres_dsn;
  target.postgres_connections = config.storage.postgres_connections;
  if (!config.storage.postgres_password_env.empty()) {
    const char* password = std::getenv(config.storage.postgres_password_env.c_str());
    if (password == nullptr) {
      return {boost::system::in_place_error, "[storage] postgres_password_env names " +
                                                 config.storage.postgres_password_env +
                                                 ", which is not set in the environment"};
    }
    target.postgres_password = password;
  }
  return target;
}

StorageTarget target_from_spec(std::string_view spec) {
  StorageTarget target;
  if (spec.starts_with("postgres:") && !spec.starts_with("postgres://")) {
    target.backend = config::StorageBackend::postgres;
    target.postgres_dsn = std::string(spec.substr(9));
  } else if (spec.starts_with("postgres://") || spec.starts_with("postgresql://")) {
    target.backend = config::StorageBackend::postgres;
    target.postgres_dsn = std::string(spec);
  } else {
    target.sqlite_path = std::string(spec.starts_with("sqlite:") ? spec.substr(7) : spec);
  }
  if (const char* password = std::getenv("PARLEY_POSTGRES_PASSWORD"); password != nullptr) {
    target.postgres_password = password;
  }
  return target;
}

boost::system::result<std::unique_ptr<storage::Storage>, std::string> open_storage(const StorageTarget& target) {
  if (target.backend == config::StorageBackend::postgres) {
    storage::postgres::Options options;
    options.dsn = target.postgres_dsn;
    options.password = target.postgres_password;
    options.max_connections = target.postgres_connections;
    auto opened = storage::postgres::open(options);
    if (!opened) {
      return {boost::system::in_place_error, "cannot open " + describe(target) + ": " + opened.error().message()};
    }
    return std::move(*opened);
  }
  std::error_code ignored;
  fs::create_directories(fs::path(target.sqlite_path).parent_path(), ignored);
  auto opened = storage::sqlite::open(target.sqlite_path, {});
  if (!opened) {
    return {boost::system::in_place_error, "cannot open " + describe(target) + ": " + opened.error().message()};
  }
  return std::move(*opened);
}

std::string describe(const StorageTarget& target) {
  if (target.backend == config::StorageBackend::sqlite) {
    return "SQLite at " + target.sqlite_path;
  }
  // password=... in keyword form, :secret@ in a URI.
  static const std::regex keyword(R"((password\s*=\s*)('[^']*'|\S+))");
  static const std::regex uri(R"((://[^:/@]*:)[^@]*@)");
  std::string masked = std::regex_replace(target.postgres_dsn, keyword, "$1***");
  masked = std::regex_replace(masked, uri, "$1***@");
  return "PostgreSQL (" + masked + ")";
}

} // namespace parley::server
