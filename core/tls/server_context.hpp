#pragma once

#include "core/failure.hpp"

#include <boost/system/result.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace parley::core::tls {

/// A TLS server context for TLS 1.2 and later, loaded from PEM files. Idle connections
/// release their buffers (SSL_MODE_RELEASE_BUFFERS) to keep idle sessions small.
/// Blocking (file I/O); start-up or reload only. The context is shared by every connection.
boost::system::result<std::shared_ptr<boost::asio::ssl::context>, Failure>
make_server_context(const std::filesystem::path& certificate, const std::filesystem::path& key);

} // namespace parley::core::tls
