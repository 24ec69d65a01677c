#include "tests/storage/sqlite_backend.hpp"

#include "storage/sqlite/open.hpp"

namespace parley::storage::testing {

boost::system::result<std::unique_ptr<Storage>> SqliteBackend::open() {
  return sqlite::open(file_, sqlite::Options{});
}

} // namespace parley::storage::testing
