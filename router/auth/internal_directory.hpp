#pragma once

#include "router/auth/user_directory.hpp"

namespace parley::router::auth {

/// The storage's own accounts: passwords are checked against the stored SCRAM-SHA-256 keys
/// (the SCRAM mechanisms themselves go to storage directly, in the c2s stream).
class InternalDirectory final : public UserDirectory {
public:
  InternalDirectory(storage::Storage& storage, core::async::WorkerPool& workers);

  boost::asio::awaitable<Answer> check_password(std::string user, std::string domain, std::string password) override;
  boost::asio::awaitable<Answer> user_exists(std::string user, std::string domain) override;
  bool external() const noexcept override { return false; }

private:
  storage::Storage& storage_;
  core::async::WorkerPool& workers_;
};

} // namespace parley::router::auth
