#include "router/auth/http_directory.hpp"

#include "core/async/worker_pool.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace parley::router::auth {

namespace {

std::string_view call_name(HttpAuthCall call) {
  return call == HttpAuthCall::check_password ? "check_password" : "user_exists";
}

} // namespace

HttpDirectory::HttpDirectory(boost::asio::io_context& io, config::AuthConfig config, std::string token,
                             storage::Storage& storage, core::async::WorkerPool& workers)
    : config_(std::move(config)), token_(std::move(token)), storage_(storage), workers_(workers),
      cache_(std::chrono::seconds(config_.cache_seconds)) {
  core::http::ClientOptions options;
  options.allow_private_addresses = config_.allow_private_addresses;
  options.user_agent = "Parley auth";
  options.connect_timeout =
      std::min<std::chrono::milliseconds>(options.connect_timeout, std::chrono::seconds(config_.timeout_seconds));
  // Logins come in bursts (a restart reconnects everyone): let more calls run at once than
  // the webhook default, the rest wait in the client's queue within their timeout.
  options.max_connections_per_host = 16;
  client_ = std::make_unique<core::http::Client>(io, std::move(options));
}

HttpDirectory::~HttpDirectory() = default;

void HttpDirectory::stop() {
  client_->stop();
}

boost::asio::awaitable<HttpAuthReading> HttpDirectory::ask(HttpAuthCall call, std::string user, std::string domain,
                                                           std::string password) {
  auto request = make_http_auth_request(call, config_, token_, user, domain, password);
  const auto result = co_await client_->send(std::move(request));
  auto reading = read_http_auth_response(call, result);
  if (reading.answer == Answer::unavailable) {
    std::string hint;
    if (!result && result.error().kind == core::http::client_errc::refused_address) {
      hint = " (set [auth] allow_private_addresses = true for a service on a private network)";
    }
    spdlog::warn("auth: {} for {}@{}: the service at {} cannot say: {}{}", call_name(call), user, domain, config_.url,
                 reading.problem, hint);
  }
  co_return reading;
}

boost::asio::awaitable<Answer> HttpDirectory::check_password(std::string user, std::string domain,
                                                             std::string password) {
  if (cache_.password_confirmed(user, domain, password)) {
    spdlog::debug("auth: {}@{}: password confirmed from the cache", user, domain);
    co_return Answer::yes;
  }
  const auto reading = co_await ask(HttpAuthCall::check_password, user, domain, password);
  if (reading.answer != Answer::yes) {
    co_return reading.answer;
  }
  if (!co_await provision(user)) {
    co_return Answer::unavailable; // storage is down: the session could not work anyway
  }
  cache_.confirm_password(user, domain, password);
  cache_.remember_exists(user, domain, true);
  co_return Answer::yes;
}

boost::asio::awaitable<Answer> HttpDirectory::user_exists(std::string user, std::string domain) {
  if (const auto known = cache_.exists(user, domain)) {
    co_return *known ? Answer::yes : Answer::no;
  }
  const auto reading = co_await ask(HttpAuthCall::user_exists, user, domain, {});
  switch (reading.answer) {
  case Answer::yes:
    if (!co_await provision(user)) {
      co_return Answer::unavailable;
    }
    cache_.remember_exists(user, domain, true);
    co_return Answer::yes;
  case Answer::no: cache_.remember_exists(user, domain, false); co_return Answer::no;
  case Answer::unavailable: break;
  }
  // The service cannot say. A user with a local row was confirmed by it before: keep their
  // messages rather than bounce them for the length of an outage. Not cached: the next call
  // asks the service again.
  const auto local = co_await local_row(user);
  co_return local == Answer::yes ? Answer::yes : Answer::unavailable;
}

boost::asio::awaitable<Answer> HttpDirectory::local_row(std::string user) {
  auto& db = storage_;
  auto job = [&db, user = std::move(user)]() -> Answer {
    auto exists = db.users().user_exists(user);
    if (!exists) {
      return Answer::unavailable;
    }
    return *exists ? Answer::yes : Answer::no;
  };
  co_return co_await workers_.run(std::move(job));
}

boost::asio::awaitable<bool> HttpDirectory::provision(std::string user) {
  auto& db = storage_;
  auto job = [&db, user]() -> int {
    auto exists = db.users().user_exists(user);
    if (!exists) {
      return -1;
    }
    if (*exists) {
      return 0;
    }
    // No credentials: nobody can log in with SCRAM against this row, and were the backend
    // switched back to "internal", the user would need `parleyctl user passwd` first.
    auto created = db.users().create_user(user, {});
    if (!created && created.error() != storage::storage_errc::conflict) {
      return -1;
    }
    return 1;
  };
  const int outcome = co_await workers_.run(std::move(job));
  if (outcome < 0) {
    spdlog::warn("auth: cannot create the local account of {}: storage is unavailable", user);
    co_return false;
  }
  if (outcome > 0) {
    spdlog::info("auth: {} confirmed by the authentication service; local account created", user);
  }
  co_return true;
}

} // namespace parley::router::auth
