#include "router/auth/internal_directory.hpp"

#include "core/async/worker_pool.hpp"
#include "core/sasl/scram_server.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

namespace parley::router::auth {

InternalDirectory::InternalDirectory(storage::Storage& storage, core::async::WorkerPool& workers)
    : storage_(storage), workers_(workers) {}

boost::asio::awaitable<Answer> InternalDirectory::check_password(std::string user, std::string /*domain*/,
                                                                 std::string password) {
  auto& db = storage_;
  // Named before the co_await: GCC 12 mangles closure temporaries of a co_await expression.
  auto job = [&db, user = std::move(user), password = std::move(password)]() -> Answer {
    auto creds = db.users().get_credentials(user, "SCRAM-SHA-256");
    if (!creds) {
      return creds.error() == storage::storage_errc::not_found ? Answer::no : Answer::unavailable;
    }
    const core::sasl::ScramSecrets secrets{creds->salt, creds->iterations, creds->stored_key, creds->server_key};
    return core::sasl::verify_password(core::sasl::ScramHash::sha256, secrets, password) ? Answer::yes : Answer::no;
  };
  co_return co_await workers_.run(std::move(job));
}

boost::asio::awaitable<Answer> InternalDirectory::user_exists(std::string user, std::string /*domain*/) {
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

} // namespace parley::router::auth
