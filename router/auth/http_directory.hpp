#pragma once

#include "config/config.hpp"
#include "core/http/client.hpp"
#include "router/auth/answer_cache.hpp"
#include "router/auth/http_auth_protocol.hpp"
#include "router/auth/user_directory.hpp"

#include <memory>
#include <string>

namespace parley::router::auth {

/// Accounts kept by an external HTTP service (see http_auth_protocol.hpp for the calls).
///
/// The service decides; Parley only keeps a row without credentials for each user the service
/// has confirmed (as ejabberd does for external authentication), because roster and offline
/// storage hang off that row. The row is created the first time the service says "yes" to a
/// login or to user_exists, and is not removed when the service forgets the user (`parleyctl
/// user delete` does that).
///
/// Answers are cached (AnswerCache). When the service cannot be asked, a login fails
/// temporarily unless this very password was confirmed within the cache time; whether a user
/// exists then falls back to that local row, so that messages to users who have logged in
/// before are still stored offline during an outage.
///
/// Must be destroyed before the io_context its client runs on.
class HttpDirectory final : public UserDirectory {
public:
  /// `token`: sent as a bearer token; empty for none.
  HttpDirectory(boost::asio::io_context& io, config::AuthConfig config, std::string token, storage::Storage& storage,
                core::async::WorkerPool& workers);
  ~HttpDirectory() override;

  boost::asio::awaitable<Answer> check_password(std::string user, std::string domain, std::string password) override;
  boost::asio::awaitable<Answer> user_exists(std::string user, std::string domain) override;
  bool external() const noexcept override { return true; }
  void stop() override;

private:
  boost::asio::awaitable<HttpAuthReading> ask(HttpAuthCall call, std::string user, std::string domain,
                                              std::string password);
  /// Creates the user's local row if there is none. Answers whether the row exists now.
  boost::asio::awaitable<bool> provision(std::string user);
  /// Whether the user has a local row: yes, no or unavailable (storage down).
  boost::asio::awaitable<Answer> local_row(std::string user);

  const config::AuthConfig config_;
  const std::string token_;
  storage::Storage& storage_;
  core::async::WorkerPool& workers_;
  AnswerCache cache_;
  std::unique_ptr<core::http::Client> client_;
};

} // namespace parley::router::auth
