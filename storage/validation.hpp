#pragma once
// Argument checks every backend applies the same way, before touching its database.

#include "storage/scram_credentials.hpp"

#include <boost/system/result.hpp>

#include <vector>

namespace parley::storage {

/// invalid_argument for a credential with an empty mechanism, salt or key, zero iterations,
/// or a mechanism given twice (the UserStore contract).
boost::system::result<void> validate_credentials(const std::vector<ScramCredentials>& credentials);

} // namespace parley::storage
