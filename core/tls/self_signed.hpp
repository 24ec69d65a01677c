#pragma once

#include "core/failure.hpp"

#include <boost/system/result.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace parley::core::tls {

struct CertificateFiles {
  std::filesystem::path certificate; ///< PEM certificate chain
  std::filesystem::path key;         ///< PEM private key (mode 0600)
};

/// Returns `<dir>/cert.pem` and `<dir>/key.pem`, generating a self-signed ECDSA P-256 pair
/// for `hosts` (subjectAltName DNS entries, the first one also as CN) when they do not exist
/// yet. An existing pair is reused as it is. Blocking (file I/O); start-up only.
/// On failure the error says what went wrong, for the start-up log.
boost::system::result<CertificateFiles, Failure>
ensure_self_signed(const std::filesystem::path& dir, const std::vector<std::string>& hosts);

} // namespace parley::core::tls
