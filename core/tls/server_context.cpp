#include "core/tls/server_context.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

namespace parley::core::tls {

boost::system::result<std::shared_ptr<boost::asio::ssl::context>, Failure>
make_server_context(const std::filesystem::path& certificate, const std::filesystem::path& key) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(certificate.string(), ec);
  if (ec) {
    return Failure{"cannot load certificate " + certificate.string() + ": " + ec.message()};
  }
  ctx->use_private_key_file(key.string(), ssl::context::pem, ec);
  if (ec) {
    return Failure{"cannot load private key " + key.string() + ": " + ec.message()};
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Failure{"private key " + key.string() + " does not match certificate " + certificate.string()};
  }
  return ctx;
}

} // namespace parley::core::tls
