#include "storage/sqlite/open.hpp"

#include "storage/sqlite/detail/sqlite_storage.hpp"

#include <spdlog/spdlog.h>

namespace parley::storage::sqlite {

boost::system::result<std::unique_ptr<Storage>> open(const std::filesystem::path& file, const Options& options) {
  auto storage = std::make_unique<detail::SqliteStorage>(file, options);
  if (auto ready = storage->database().initialize(); !ready) {
    spdlog::error("storage/sqlite: cannot open {}: {}", file.string(), ready.error().message());
    return ready.error();
  }
  return std::unique_ptr<Storage>(std::move(storage));
}

} // namespace parley::storage::sqlite
