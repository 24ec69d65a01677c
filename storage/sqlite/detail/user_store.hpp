#pragma once

#include "storage/user_store.hpp"

#include <boost/system/result.hpp>

#include <string_view>

namespace parley::storage::sqlite::detail {

class Connection;
class Database;

/// invalid_argument for an empty username; not_found unless `username` is a user. Used by every
/// per-user call, inside the caller's transaction.
boost::system::result<void> require_user(Connection& connection, std::string_view username);

/// storage::UserStore over SQLite; see the interface for the contract.
class UserStore final : public storage::UserStore {
public:
  explicit UserStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> create_user(std::string_view username,
                                          const std::vector<ScramCredentials>& credentials) override;
  boost::system::result<void> set_credentials(std::string_view username,
                                              const std::vector<ScramCredentials>& credentials) override;
  boost::system::result<ScramCredentials> get_credentials(std::string_view username,
                                                          std::string_view mechanism) override;
  boost::system::result<std::vector<ScramCredentials>> list_credentials(std::string_view username) override;
  boost::system::result<bool> user_exists(std::string_view username) override;
  boost::system::result<void> delete_user(std::string_view username) override;
  boost::system::result<std::vector<std::string>> list_users(std::string_view after, std::size_t limit) override;
  boost::system::result<std::uint64_t> count_users() override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
