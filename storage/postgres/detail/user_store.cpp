#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"
#include "storage/validation.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <limits>
#include <set>

namespace parley::storage::postgres::detail {

namespace {

boost::system::result<void> insert_credentials(Connection& connection, std::string_view username,
                                               const std::vector<ScramCredentials>& credentials) {
  for (const auto& entry : credentials) {
    Params params;
    params.text(username)
        .text(entry.mechanism)
        .bytes(entry.salt)
        .integer(entry.iterations)
        .bytes(entry.stored_key)
        .bytes(entry.server_key);
    auto inserted = connection.exec("INSERT INTO scram_credentials"
                                    "(username, mechanism, salt, iterations, stored_key, server_key) "
                                    "VALUES($1, $2, $3, $4, $5, $6)",
                                    params);
    if (!inserted) {
      return inserted.error();
    }
  }
  return {};
}

boost::system::result<ScramCredentials> credentials_from(const Rows& rows, int row) {
  const std::int64_t iterations = rows.integer(row, 2);
  if (iterations <= 0 || iterations > std::numeric_limits<std::uint32_t>::max()) {
    return storage_errc::corrupt;
  }
  ScramCredentials credentials;
  credentials.mechanism = rows.text(row, 0);
  credentials.salt = rows.bytes(row, 1);
  credentials.iterations = static_cast<std::uint32_t>(iterations);
  credentials.stored_key = rows.bytes(row, 3);
  credentials.server_key = rows.bytes(row, 4);
  return credentials;
}

std::int64_t now_us() {
  return micros(std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now()));
}

} // namespace

boost::system::result<void> require_user(Connection& connection, std::string_view username, bool lock) {
  if (username.empty()) {
    return storage_errc::invalid_argument;
  }
  Params params;
  params.text(username);
  auto rows = connection.exec(lock ? "SELECT 1 FROM users WHERE username = $1 FOR UPDATE"
                                   : "SELECT 1 FROM users WHERE username = $1",
                              params);
  if (!rows) {
    return rows.error();
  }
  if (rows->size() == 0) {
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
    Params params;
    params.text(username).integer(now_us());
    // An existing user violates the primary key: conflict.
    if (auto inserted = connection.exec("INSERT INTO users(username, created_us) VALUES($1, $2)", params);
        !inserted) {
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
    if (auto exists = require_user(connection, username, /*lock=*/true); !exists) {
      return exists;
    }
    Params params;
    params.text(username);
    if (auto deleted = connection.exec("DELETE FROM scram_credentials WHERE username = $1", params); !deleted) {
      return deleted.error();
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
    Params params;
    params.text(username).text(mechanism);
    auto rows = connection.exec("SELECT mechanism, salt, iterations, stored_key, server_key FROM scram_credentials "
                                "WHERE username = $1 AND mechanism = $2",
                                params);
    if (!rows) {
      return rows.error();
    }
    if (rows->size() == 0) {
      return storage_errc::not_found;
    }
    return credentials_from(*rows, 0);
  });
}

boost::system::result<std::vector<ScramCredentials>> UserStore::list_credentials(std::string_view username) {
  assert(off_io_thread());
  return database_.read([&](Connection& connection) -> boost::system::result<std::vector<ScramCredentials>> {
    if (auto exists = require_user(connection, username); !exists) {
      return exists.error();
    }
    Params params;
    params.text(username);
    auto rows = connection.exec("SELECT mechanism, salt, iterations, stored_key, server_key FROM scram_credentials "
                                "WHERE username = $1 ORDER BY mechanism",
                                params);
    if (!rows) {
      return rows.error();
    }
    std::vector<ScramCredentials> out;
    for (int i = 0; i < rows->size(); ++i) {
      auto credentials = credentials_from(*rows, i);
      if (!credentials) {
        return credentials.error();
      }
      out.push_back(std::move(*credentials));
    }
    return out;
  });
}

boost::system::result<bool> UserStore::user_exists(std::string_view username) {
  assert(off_io_thread());
  if (username.empty()) {
    return false;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    auto exists = require_user(connection, username);
    if (exists) {
      return true;
    }
    if (exists.error() == storage_errc::not_found) {
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
    Params params;
    params.text(username);
    auto deleted = connection.exec("DELETE FROM users WHERE username = $1", params);
    if (!deleted) {
      return deleted.error();
    }
    if (deleted->affected() == 0) {
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
    Params params;
    params.text(after).integer(page_size);
    auto rows = connection.exec("SELECT username FROM users WHERE username > $1 ORDER BY username LIMIT $2", params);
    if (!rows) {
      return rows.error();
    }
    std::vector<std::string> names;
    names.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      names.push_back(rows->text(i, 0));
    }
    return names;
  });
}

boost::system::result<std::uint64_t> UserStore::count_users() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::uint64_t> {
    auto rows = connection.exec("SELECT COUNT(*) FROM users");
    if (!rows) {
      return rows.error();
    }
    return static_cast<std::uint64_t>(rows->integer(0, 0));
  });
}

} // namespace parley::storage::postgres::detail
