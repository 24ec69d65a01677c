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
  // No TLS 1.3 session tickets (RFC 8446 §4.6.1): XMPP clients come back with a full handshake
  // and resume their session with XEP-0198, so the two tickets OpenSSL sends by default after
  // every handshake were rarely used. Issuing them was a sixth of the server's CPU per
  // STARTTLS login (600 -> 505 us), and a ticket key that lives as long as the process weakens
  // forward secrecy, the reason Prosody disables them too (its "no_ticket" default).
  SSL_CTX_set_num_tickets(native, 0);
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
