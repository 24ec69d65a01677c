#pragma once
// An asynchronous HTTP/1.1 and HTTP/2 client for calls to the outside world (webhooks, SMS
// providers): libcurl's multi interface driven by the io_context, no thread per request.

#include <boost/asio/awaitable.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace parley::core::http {

/// Why a request produced no response. A response with any status, 4xx and 5xx included, is
/// not a failure.
enum class client_errc {
  dns = 1,         ///< the host name did not resolve
  connect,         ///< no connection to any of its addresses (refused, unreachable)
  refused_address, ///< every address was loopback, private, link-local, ... (SSRF guard)
  timeout,         ///< the request's timeout (or the connect timeout) expired
  tls,             ///< handshake failed or the certificate did not verify
  too_large,       ///< the response body (or its headers) exceeded the limit
  invalid_request, ///< malformed URL, a scheme other than http/https, or a malformed header
  cancelled,       ///< the client was stopped or destroyed first
  other,           ///< anything else (the peer broke the protocol, out of memory, ...)
};

/// The enumerator's name, e.g. "refused_address".
std::string_view to_string(client_errc kind) noexcept;

/// The error half of ClientResult: a kind to act on and a message for the log.
struct ClientFailure {
  client_errc kind = client_errc::other;
  std::string message;
};

std::ostream& operator<<(std::ostream& os, const ClientFailure& failure);

/// Lets `ClientResult::value()` throw (found by argument-dependent lookup).
[[noreturn]] inline void throw_exception_from_error(const ClientFailure& failure, const boost::source_location&) {
  throw std::runtime_error(failure.message);
}

struct ClientRequest {
  std::string method = "GET";
  std::string url; ///< absolute http:// or https:// URL
  /// Sent as given, in order. Content-Length, Transfer-Encoding, names that are not tokens and
  /// values with CR, LF or NUL are refused (invalid_request). An empty value is sent as empty.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Sent whenever non-empty or when the method is not GET or HEAD. Without a Content-Type
  /// header, a POST is labelled application/x-www-form-urlencoded.
  std::string body;
  /// For the whole exchange: waiting for a connection, connecting, sending and receiving.
  std::chrono::milliseconds timeout{30'000};
  /// A larger response body fails with too_large (checked against Content-Length up front,
  /// and while receiving).
  std::size_t max_response_bytes = 1024 * 1024;
};

struct ClientResponse {
  unsigned status = 0;
  /// Of the final response only (not of a 100 Continue or of a redirect followed). Names are
  /// lower-cased; values as received without surrounding whitespace.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first header named `name`, compared case-insensitively ("Retry-After").
  std::optional<std::string_view> header(std::string_view name) const;
};

using ClientResult = boost::system::result<ClientResponse, ClientFailure>;

struct ClientOptions {
  /// Permits loopback, private, link-local and other non-public peers. Off in production: a
  /// user-configured URL must not reach the server's own network (SSRF). Checked on the
  /// address actually connected to, so DNS rebinding does not get around it.
  bool allow_private_addresses = false;
  std::chrono::milliseconds connect_timeout{10'000};
  std::string user_agent = "Parley";
  /// Redirects followed; 0 returns a 3xx as the response. Every hop is checked again
  /// (http/https only, address policy).
  long max_redirects = 0;
  /// Trusted CA certificates (PEM) replacing the system store, e.g. for tests. Certificates
  /// and host names are verified either way.
  std::string ca_file;
  /// Requests past these wait in a queue (their timeout runs meanwhile). 0: no limit.
  std::size_t max_connections_per_host = 8;
  std::size_t max_connections = 64;
  /// Total size of the response headers; more fails with too_large.
  std::size_t max_header_bytes = 64 * 1024;
};

/// An HTTP client over libcurl's multi interface. Sockets are watched and timers run on the
/// io_context, and all libcurl state is touched only on one strand of it, so the io_context
/// may be run by any number of threads. Name resolution uses libcurl's resolver (on Debian a
/// short-lived thread per lookup of a name that is not an address literal).
///
/// Must be destroyed before the io_context. Requests still pending when the client is stopped
/// or destroyed complete with `cancelled` (their coroutines resume on their own executors, and
/// must not use the client any more); if the io_context is stopped for good instead, their
/// coroutines are destroyed with it without being resumed.
class Client {
public:
  Client(boost::asio::io_context& io, ClientOptions options);
  /// Calls stop().
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Sends `request` and completes with the response or the reason there is none, resuming
  /// the caller on the executor it was running on. Safe from any thread; does not block.
  /// Never throws for what the network or the URL does.
  boost::asio::awaitable<ClientResult> send(ClientRequest request);

  /// Cancels every pending request (they complete with `cancelled`), closes idle connections
  /// and refuses later requests. Idempotent, safe from any thread; takes effect on the strand.
  void stop();

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// The value of an `Authorization` header for HTTP Basic authentication (RFC 7617), as
/// providers such as Twilio want it: "Basic " + base64(user ":" password).
std::string basic_authorization(std::string_view user, std::string_view password);

/// An application/x-www-form-urlencoded body (WHATWG URL §5.2) from name/value pairs, in order.
std::string form_urlencoded(const std::vector<std::pair<std::string, std::string>>& fields);

} // namespace parley::core::http
