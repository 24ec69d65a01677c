#include "core/tls/tls_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace parley::core::tls {
namespace {

namespace asio = boost::asio;

TlsStream::Transport& transport(BIO* bio) noexcept {
  return *static_cast<TlsStream::Transport*>(BIO_get_data(bio));
}

// A socket BIO of our own rather than SSL_set_fd: OpenSSL's uses write(2), which raises
// SIGPIPE when the peer has gone; send(MSG_NOSIGNAL) does not.
int bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  BIO_clear_retry_flags(bio);
  ssize_t n = 0;
  do {
    n = ::send(transport(bio).fd, data, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    BIO_set_retry_write(bio);
  }
  return 0;
}

int bio_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  BIO_clear_retry_flags(bio);
  auto& t = transport(bio);
  ssize_t n = 0;
  do {
    n = ::recv(t.fd, data, size, 0);
  } while (n < 0 && errno == EINTR);
  t.short_read = n < 0 || static_cast<std::size_t>(n) < size;
  if (n > 0) {
    *read = static_cast<std::size_t>(n);
    return 1;
  }
  if (n == 0) {
    // OpenSSL asks BIO_eof() to tell a closed connection from an error.
    BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
  } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
    BIO_set_retry_read(bio);
  }
  return 0;
}

long bio_ctrl(BIO* bio, int command, long, void*) {
  switch (command) {
  case BIO_CTRL_FLUSH: return 1; // nothing is buffered here
  case BIO_CTRL_EOF: return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
  default: return 0;
  }
}

BIO_METHOD* socket_method() noexcept {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "parley socket");
    if (m != nullptr) {
      BIO_meth_set_write_ex(m, &bio_write);
      BIO_meth_set_read_ex(m, &bio_read);
      BIO_meth_set_ctrl(m, &bio_ctrl);
    }
    return m;
  }();
  return method;
}

} // namespace

TlsStream::TlsStream(asio::ip::tcp::socket socket, SSL_CTX* context) : socket_(std::move(socket)) {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  BIO_METHOD* method = socket_method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  ssl_ = bio != nullptr ? SSL_new(context) : nullptr;
  if (ssl_ == nullptr) {
    BIO_free(bio);
    return;
  }
  transport_.fd = socket_.native_handle();
  BIO_set_data(bio, &transport_);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);
  // Partial writes let write() resume after EAGAIN without OpenSSL holding the whole buffer.
  // Read-ahead fills the record buffer with one recv() instead of a header and a body read.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
}

TlsStream::Step TlsStream::step(int rc, boost::system::error_code& ec) noexcept {
  if (rc == 1) {
    return Step::done;
  }
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, rc)) {
  case SSL_ERROR_WANT_READ: return Step::want_read;
  case SSL_ERROR_WANT_WRITE: return Step::want_write;
  case SSL_ERROR_ZERO_RETURN: ec = asio::error::eof; break;
  case SSL_ERROR_SYSCALL:
    if (saved_errno != 0 && ERR_peek_error() == 0) {
      ec.assign(saved_errno, asio::error::get_system_category());
    } else {
      ec = asio::ssl::error::stream_truncated;
    }
    break;
  case SSL_ERROR_SSL: {
    const unsigned long e = ERR_get_error();
    if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ec = asio::ssl::error::stream_truncated;
    } else {
      ec.assign(static_cast<int>(e), asio::error::get_ssl_category());
    }
    break;
  }
  default: ec = asio::ssl::error::stream_truncated; break;
  }
  ERR_clear_error();
  return Step::failed;
}

asio::awaitable<boost::system::error_code> TlsStream::wait(Step what) {
  const auto kind = what == Step::want_read ? asio::socket_base::wait_read : asio::socket_base::wait_write;
  auto [ec] = co_await socket_.async_wait(kind, asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

asio::awaitable<boost::system::error_code> TlsStream::handshake() {
  if (ssl_ == nullptr) {
    co_return asio::error::no_memory;
  }
  for (;;) {
    ERR_clear_error();
    errno = 0;
    boost::system::error_code ec;
    const Step s = step(SSL_do_handshake(ssl_), ec);
    if (s == Step::done || s == Step::failed) {
      co_return ec;
    }
    if (auto e = co_await wait(s)) {
      co_return e;
    }
  }
}

std::size_t TlsStream::read_now(asio::mutable_buffer buffer, boost::system::error_code& ec) {
  ec = {};
  if (ssl_ == nullptr) {
    ec = asio::error::no_memory;
    return 0;
  }
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  const Step s = step(SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n), ec);
  if (s == Step::want_read || s == Step::want_write) {
    read_blocked_on_ = s;
    ec = asio::error::would_block;
    return 0;
  }
  return n;
}

bool TlsStream::drained() const noexcept {
  return ssl_ != nullptr && transport_.short_read && SSL_has_pending(ssl_) == 0;
}

asio::awaitable<boost::system::error_code> TlsStream::wait_readable() {
  co_return co_await wait(read_blocked_on_);
}

asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> TlsStream::write(asio::const_buffer buffer) {
  if (ssl_ == nullptr) {
    co_return std::tuple{boost::system::error_code(asio::error::no_memory), std::size_t{0}};
  }
  const auto* data = static_cast<const char*>(buffer.data());
  std::size_t written = 0;
  while (written < buffer.size()) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    boost::system::error_code ec;
    const Step s = step(SSL_write_ex(ssl_, data + written, buffer.size() - written, &n), ec);
    if (s == Step::done) {
      written += n;
      continue;
    }
    if (s == Step::failed) {
      co_return std::tuple{ec, written};
    }
    if (auto e = co_await wait(s)) {
      co_return std::tuple{e, written};
    }
  }
  co_return std::tuple{boost::system::error_code(), written};
}

} // namespace parley::core::tls
