#pragma once
// XEP-0077 in-band registration and password changes, and the credential derivation they
// share with parleyctl.

#include "core/failure.hpp"
#include "core/xml/element.hpp"
#include "storage/scram_credentials.hpp"

#include <boost/system/result.hpp>

#include <string_view>
#include <vector>

namespace parley::router::modules {

/// SASLprep `password` and derive SCRAM-SHA-1 and SCRAM-SHA-256 credentials with fresh salts.
/// CPU-heavy (PBKDF2): run on the worker pool.
boost::system::result<std::vector<storage::ScramCredentials>, core::Failure>
make_credentials(std::string_view password);

/// The <query xmlns='jabber:iq:register'/> a client fills in (XEP-0077 §3.1). With
/// `registered_as` set, the form says the account exists (§3.1, example 4).
core::xml::Element registration_form(std::string_view registered_as = {});

/// Username and password from a submitted <query xmlns='jabber:iq:register'/>.
struct Submission {
  std::string username;
  std::string password;
  bool remove = false; ///< <remove/>: cancel the registration (XEP-0077 §3.2)
};
Submission read_submission(const core::xml::Element& query);

} // namespace parley::router::modules
