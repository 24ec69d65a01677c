#include "storage/postgres/open.hpp"

#include "storage/postgres/detail/stores.hpp"

#include <spdlog/spdlog.h>

namespace parley::storage::postgres {

boost::system::result<std::unique_ptr<Storage>> open(const Options& options) {
  auto storage = std::make_unique<detail::PostgresStorage>(options);
  if (auto ready = storage->database().initialize(); !ready) {
    spdlog::error("storage/postgres: cannot open the database: {}", ready.error().message());
    return ready.error();
  }
  return std::unique_ptr<Storage>(std::move(storage));
}

} // namespace parley::storage::postgres
