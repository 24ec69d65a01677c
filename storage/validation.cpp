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

boost::system::result<void> validate_room(const StoredRoom& room) {
  if (room.service.empty() || room.room.empty()) {
    return storage_errc::invalid_argument;
  }
  std::set<std::string_view> jids;
  for (const auto& entry : room.affiliations) {
    if (entry.jid.empty() || entry.affiliation == Affiliation::none || !jids.insert(entry.jid).second) {
      return storage_errc::invalid_argument;
    }
  }
  return {};
}

} // namespace parley::storage
