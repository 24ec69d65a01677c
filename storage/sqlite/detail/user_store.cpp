#include "storage/sqlite/detail/user_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"
#include "storage/validation.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <limits>
#include <set>

namespace parley::storage::sqlite::detail {

namespace {

boost::system::result<void> insert_credentials(Connection& connection, std::string_view username,
                                               const std::vector<ScramCredentials>& credentials) {
  for (const auto& entry : credentials) {
    auto statement = connection.prepare("INSERT INTO scram_credentials"
                                        "(username, mechanism, salt, iterations, stored_key, server_key) "
                                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (!statement) {
      return statement.error();
    }
    auto inserted = statement->bind_text(1, username)
                        .bind_text(2, entry.mechanism)
                        .bind_blob(3, entry.salt)
                        .bind_int(4, entry.iterations)
                        .bind_blob(5, entry.stored_key)
                        .bind_blob(6, entry.server_key)
                        .run();
    if (!inserted) {
      return inserted.error();
    }
  }
  return {};
}

// Reads the columns mechanism, salt, iterations, stored_key, server_key, in that order.
boost::system::result<ScramCredentials> credentials_from_row(const Statement& row) {
  const std::int64_t iterations = row.column_int(2);
  if (iterations <= 0 || iterations > std::numeric_limits<std::uint32_t>::max()) {
    return storage_errc::corrupt;
  }
  ScramCredentials credentials;
  credentials.mechanism = row.column_text(0);
  credentials.salt = row.column_blob(1);
  credentials.iterations = static_cast<std::uint32_t>(iterations);
  credentials.stored_key = row.column_blob(3);
  credentials.server_key = row.column_blob(4);
  return credentials;
}

std::int64_t now_us() {
  const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
  return static_cast<std::int64_t>(now.time_since_epoch().count());
}

} // namespace

boost::system::result<void> require_user(Connection& connection, std::string_view username) {
  if (username.empty()) {
    return storage_errc::invalid_argument;
  }
  auto statement = connection.prepare("SELECT 1 FROM users WHERE username = ?1");
  if (!statement) {
    return statement.error();
  }
  auto row = statement->bind_text(1, username).step();
  if (!row) {
    return row.error();
  }
  if (!*row) {
    return storage_errc::not_found;
  }
  return {};
}

boost::system::result<void> UserStore::create_user(std::string_view username,
                                                   const std::vector<ScramCredentials>& credentials) {
  assert(off_io_thread());
  if (username.empty()) {
    return storage_errc::invalid_argument;
  }
  if (auto valid = validate_credentials(credentials); !valid) {
    return valid;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto statement = connection.prepare("INSERT INTO users(username, created_us) VALUES(?1, ?2)");
    if (!statement) {
      return statement.error();
    }
    // An existing user violates the primary key: conflict.
    auto inserted = statement->bind_text(1, username).bind_int(2, now_us()).run();
    if (!inserted) {
      return inserted.error();
    }
    return insert_credentials(connection, username, credentials);
  });
}

boost::system::result<void> UserStore::set_credentials(std::string_view username,
                                                       const std::vector<ScramCredentials>& credentials) {
  assert(off_io_thread());
  if (auto valid = validate_credentials(credentials); !valid) {
    return valid;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists;
    }
    auto statement = connection.prepare("DELETE FROM scram_credentials WHERE username = ?1");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, username).run(); !deleted) {
      return deleted;
    }
    return insert_credentials(connection, username, credentials);
  });
}

boost::system::result<ScramCredentials> UserStore::get_credentials(std::string_view username,
                                                                   std::string_view mechanism) {
  assert(off_io_thread());
  if (username.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<ScramCredentials> {
    auto statement = connection.prepare("SELECT mechanism, salt, iterations, stored_key, server_key "
                                        "FROM scram_credentials WHERE username = ?1 AND mechanism = ?2");
    if (!statement) {
      return statement.error();
    }
    auto row = statement->bind_text(1, username).bind_text(2, mechanism).step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return storage_errc::not_found;
    }
    return credentials_from_row(*statement);
  });
}

boost::system::result<std::vector<ScramCredentials>> UserStore::list_credentials(std::string_view username) {
  assert(off_io_thread());
  return database_.read([&](Connection& connection) -> boost::system::result<std::vector<ScramCredentials>> {
    // A user without credentials has an empty list; only an unknown user is not_found.
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    auto statement = connection.prepare("SELECT mechanism, salt, iterations, stored_key, server_key "
                                        "FROM scram_credentials WHERE username = ?1 ORDER BY mechanism");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, username);
    std::vector<ScramCredentials> credentials;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return credentials;
      }
      auto entry = credentials_from_row(*statement);
      if (!entry) {
        return entry.error();
      }
      credentials.push_back(std::move(*entry));
    }
  });
}

boost::system::result<bool> UserStore::user_exists(std::string_view username) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    auto exists = require_user(connection, username);
    if (exists) {
      return true;
    }
    if (exists.error() == storage_errc::not_found || exists.error() == storage_errc::invalid_argument) {
      return false;
    }
    return {boost::system::in_place_error, exists.error()};
  });
}

boost::system::result<void> UserStore::delete_user(std::string_view username) {
  assert(off_io_thread());
  if (username.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    // Everything else of the user goes with the row: ON DELETE CASCADE on every per-user table.
    auto statement = connection.prepare("DELETE FROM users WHERE username = ?1");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, username).run(); !deleted) {
      return deleted;
    }
    if (connection.changes() == 0) {
      return storage_errc::not_found;
    }
    return {};
  });
}

boost::system::result<std::vector<std::string>> UserStore::list_users(std::string_view after, std::size_t limit) {
  assert(off_io_thread());
  if (limit == 0) {
    return storage_errc::invalid_argument;
  }
  const auto page_size = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto statement = connection.prepare("SELECT username FROM users WHERE username > ?1 ORDER BY username LIMIT ?2");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, after).bind_int(2, page_size);
    std::vector<std::string> names;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return names;
      }
      names.push_back(statement->column_text(0));
    }
  });
}

boost::system::result<std::uint64_t> UserStore::count_users() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::uint64_t> {
    auto statement = connection.prepare("SELECT COUNT(*) FROM users");
    if (!statement) {
      return statement.error();
    }
    auto row = statement->step();
    if (!row) {
      return row.error();
    }
    return static_cast<std::uint64_t>(statement->column_int(0));
  });
}

} // namespace parley::storage::sqlite::detail
