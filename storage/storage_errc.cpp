#include "storage/storage_errc.hpp"

#include <string>

namespace parley::storage {

namespace {

class StorageCategory final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "parley.storage"; }

  std::string message(int value) const override {
    switch (static_cast<storage_errc>(value)) {
    case storage_errc::not_found: return "not found";
    case storage_errc::conflict: return "already exists";
    case storage_errc::quota_exceeded: return "storage quota exceeded";
    case storage_errc::unavailable: return "storage unavailable (locked, disk full, I/O error or cannot open)";
    case storage_errc::corrupt: return "database file is corrupt or is not a database";
    case storage_errc::invalid_argument: return "invalid argument to a storage call";
    case storage_errc::schema_too_new: return "database schema is newer than this version of Parley supports";
    case storage_errc::internal: return "internal storage error";
    }
    return "unknown storage error";
  }
};

} // namespace

const boost::system::error_category& storage_category() noexcept {
  static const StorageCategory category;
  return category;
}

} // namespace parley::storage
