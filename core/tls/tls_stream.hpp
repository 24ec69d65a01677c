#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <tuple>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace parley::core::tls {

/// Server-side TLS on a TCP socket, for long-lived streams that are idle most of the time.
///
/// OpenSSL reads and writes the socket itself, through a small BIO that calls recv/send on the
/// non-blocking descriptor; the coroutine waits for readiness with the socket's async_wait.
/// Unlike boost::asio::ssl::stream, which keeps two 17 KiB staging vectors and a BIO pair of
/// two 17 KiB ring buffers per connection for as long as it lives, an idle TlsStream holds only
/// the SSL object: with SSL_MODE_RELEASE_BUFFERS on the context (see make_server_context),
/// OpenSSL frees its record buffers whenever they are empty.
///
/// Threading: not synchronised; use from one strand. One read and one write may be in flight
/// at the same time (a read loop and a write loop), never two reads or two writes. Closing the
/// socket (next_layer().close()) makes what is in flight complete with operation_aborted.
/// Errors from OpenSSL use boost::asio::error::get_ssl_category(); a peer that ends the TCP
/// connection without close_notify gives boost::asio::ssl::error::stream_truncated, a clean
/// close_notify gives boost::asio::error::eof.
class TlsStream {
public:
  /// Takes the connected socket and puts it in non-blocking mode. `context` must outlive the
  /// stream. When OpenSSL cannot allocate, every operation fails with no_memory.
  TlsStream(boost::asio::ip::tcp::socket socket, SSL_CTX* context);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  /// The TCP socket underneath: for shutdown, close and the remote endpoint.
  boost::asio::ip::tcp::socket& next_layer() noexcept { return socket_; }
  /// The OpenSSL object, for channel bindings and the negotiated version. Null only when
  /// construction ran out of memory.
  SSL* native_handle() noexcept { return ssl_; }

  /// Runs the server side of the handshake.
  boost::asio::awaitable<boost::system::error_code> handshake();
  /// Reads application data that can be had without waiting: what OpenSSL holds already, or
  /// what a non-blocking read of the socket brings. Fails with would_block when there is none
  /// yet; then wait_readable() and try again. Never suspends, so `buffer` may be one the
  /// I/O thread lends for the call (nothing is held while the stream waits).
  std::size_t read_now(boost::asio::mutable_buffer buffer, boost::system::error_code& ec);
  /// Waits until read_now() can make progress: the socket is readable, or writable when
  /// OpenSSL must send something before it can read on (a TLS 1.3 KeyUpdate reply).
  boost::asio::awaitable<boost::system::error_code> wait_readable();
  /// True when another read_now() would almost surely say would_block: OpenSSL holds no
  /// unprocessed bytes and its last read of the socket got less than it asked for. A caller
  /// may then go straight to wait_readable() and save that read.
  bool drained() const noexcept;
  /// Writes all of `buffer`, or fails; returns how much was written.
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>>
  write(boost::asio::const_buffer buffer);

  /// What the socket BIO works on. For the BIO's functions only.
  struct Transport {
    int fd = -1;
    bool short_read = false;
  };

private:
  enum class Step { done, want_read, want_write, failed };
  /// Classifies the result `rc` of an SSL_* call, setting `ec` when it failed.
  Step step(int rc, boost::system::error_code& ec) noexcept;
  boost::asio::awaitable<boost::system::error_code> wait(Step step);

  boost::asio::ip::tcp::socket socket_;
  Transport transport_;
  SSL* ssl_ = nullptr;
  Step read_blocked_on_ = Step::want_read;
};

} // namespace parley::core::tls
