#pragma once
// Argument checks every backend applies the same way, before touching its database.

#include "storage/room_store.hpp"
#include "storage/scram_credentials.hpp"

#include <boost/system/result.hpp>

#include <vector>

namespace parley::storage {

/// invalid_argument for a credential with an empty mechanism, salt or key, zero iterations,
/// or a mechanism given twice (the UserStore contract).
boost::system::result<void> validate_credentials(const std::vector<ScramCredentials>& credentials);

/// invalid_argument for a room with an empty service or room, or an affiliation with an empty
/// jid, of Affiliation::none, or with a jid listed twice (the RoomStore::put contract).
boost::system::result<void> validate_room(const StoredRoom& room);

} // namespace parley::storage
