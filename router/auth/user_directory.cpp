#include "router/auth/user_directory.hpp"

#include "router/auth/http_directory.hpp"
#include "router/auth/internal_directory.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace parley::router::auth {

boost::system::result<std::unique_ptr<UserDirectory>, std::string>
make_user_directory(const config::Config& config, boost::asio::io_context& io, storage::Storage& storage,
                    core::async::WorkerPool& workers) {
  if (config.auth.backend == config::AuthBackend::internal) {
    return std::unique_ptr<UserDirectory>(std::make_unique<InternalDirectory>(storage, workers));
  }
  std::string token;
  if (!config.auth.auth_token_env.empty()) {
    const char* value = std::getenv(config.auth.auth_token_env.c_str());
    if (value == nullptr || *value == '\0') {
      return "[auth] auth_token_env names $" + config.auth.auth_token_env + ", which is not set";
    }
    token = value;
  }
  if (config.c2s.tls == config::C2sTls::disabled) {
    spdlog::warn("auth: [c2s] tls is \"disabled\": clients send their passwords in the clear (SASL PLAIN); "
                 "acceptable on loopback or behind a TLS-terminating proxy only");
  }
  spdlog::info("auth: passwords are checked by {}", config.auth.url);
  return std::unique_ptr<UserDirectory>(
      std::make_unique<HttpDirectory>(io, config.auth, std::move(token), storage, workers));
}

} // namespace parley::router::auth
