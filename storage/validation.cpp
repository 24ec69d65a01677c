#include "storage/validation.hpp"

#include "storage/storage_errc.hpp"

#include <set>
#include <string_view>

namespace parley::storage {

boost::system::result<void> validate_credentials(const std::vector<ScramCredentials>& credentials) {
  std::set<std::string_view> mechanisms;
  for (const auto& entry : credentials) {
    if (entry.mechanism.empty() || entry.salt.empty() || entry.stored_key.empty() || entry.server_key.empty() ||
        entry.iterations == 0 || !mechanisms.insert(entry.mechanism).second) {
      return storage_errc::invalid_argument;
    }
  }
  return {};
}

} // namespace parley::storage
