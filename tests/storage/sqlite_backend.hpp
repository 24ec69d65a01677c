#pragma once

#include "storage/storage.hpp"
#include "tests/storage/temp_dir.hpp"

#include <boost/system/result.hpp>

#include <filesystem>
#include <memory>

namespace parley::storage::testing {

/// Conformance-suite fixture for the SQLite backend: a database file in a fresh temp directory.
///
/// Every backend fixture offers the same two members:
///   - `open()`: a Storage over this fixture's database; calling it again after the previous
///     Storage is destroyed reopens the same data (persistence tests).
///   - `static constexpr const char* name`.
class SqliteBackend {
public:
  static constexpr const char* name = "sqlite";

  boost::system::result<std::unique_ptr<Storage>> open();

  const std::filesystem::path& file() const noexcept { return file_; }

private:
  TempDir dir_;
  std::filesystem::path file_ = dir_.path() / "parley.sqlite";
};

} // namespace parley::storage::testing
