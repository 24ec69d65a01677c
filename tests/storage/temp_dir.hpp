#pragma once

#include <filesystem>

namespace parley::storage::testing {

/// A fresh, empty directory under the system temp directory, removed with its contents on
/// destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

private:
  std::filesystem::path path_;
};

} // namespace parley::storage::testing
