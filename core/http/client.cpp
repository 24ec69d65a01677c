#include "core/http/client.hpp"

#include "core/http/detail/address_policy.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace parley::core::http {

namespace asio = boost::asio;

std::string_view to_string(client_errc kind) noexcept {
  switch (kind) {
  case client_errc::dns: return "dns";
  case client_errc::connect: return "connect";
  case client_errc::refused_address: return "refused_address";
  case client_errc::timeout: return "timeout";
  case client_errc::tls: return "tls";
  case client_errc::too_large: return "too_large";
  case client_errc::invalid_request: return "invalid_request";
  case client_errc::cancelled: return "cancelled";
  case client_errc::other: return "other";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, const ClientFailure& failure) {
  return os << to_string(failure.kind) << ": " << failure.message;
}

namespace {

bool is_ascii_alnum(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

/// RFC 9110 §5.6.2 token characters (method and header names).
bool is_token(std::string_view text) noexcept {
  if (text.empty()) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) {
    return is_ascii_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

/// RFC 9110 §5.5: no CR, LF or NUL (other control characters are obsolete but harmless).
bool is_field_value(std::string_view text) noexcept {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

ClientFailure failure(client_errc kind, std::string message) {
  return ClientFailure{kind, std::move(message)};
}

/// libcurl wants curl_global_init before any other call, once per process.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT); code != CURLE_OK) {
      spdlog::error("http client: curl_global_init failed: {}", curl_easy_strerror(code));
    }
  });
}

/// Completes one request on the requester's executor, keeping that executor's io_context
/// from running out of work until then.
class Completion {
public:
  virtual ~Completion() = default;
  /// Called at most once.
  virtual void complete(ClientResult result) = 0;
};

template <class Handler> class HandlerCompletion final : public Completion {
public:
  explicit HandlerCompletion(Handler handler)
      : handler_(std::move(handler)),
        work_(asio::prefer(asio::get_associated_executor(handler_), asio::execution::outstanding_work.tracked)) {}

  void complete(ClientResult result) override {
    auto work = std::move(work_);
    asio::post(work, [handler = std::move(handler_), result = std::move(result)]() mutable {
      std::move(handler)(std::move(result));
    });
  }

private:
  Handler handler_;
  asio::any_io_executor work_;
};

struct EasyDeleter {
  void operator()(CURL* easy) const noexcept { curl_easy_cleanup(easy); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
struct UrlDeleter {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};

/// One request in flight. Owned by Client::Impl; libcurl's callbacks reach it through the
/// pointer registered with each easy handle, on the strand.
struct Transfer {
  std::unique_ptr<CURLU, UrlDeleter> url;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  std::string body; // libcurl reads it in place (CURLOPT_POSTFIELDS)
  std::unique_ptr<Completion> done;
  bool allow_private = false;
  std::size_t max_body = 0;
  std::size_t max_header_bytes = 0;
  std::size_t header_bytes = 0;
  ClientResponse response;
  std::optional<ClientFailure> callback_failure; // set by a callback that stopped the transfer
  std::string refused;                           // addresses the SSRF guard refused
  bool opened_any = false;                       // a socket was opened to a permitted address
  std::chrono::milliseconds timeout{};
  std::uint64_t serial = 0;                   // tells this transfer from a later one at the same address
  std::optional<asio::steady_timer> deadline; // strand
  char error[CURL_ERROR_SIZE] = {};
  // Last, so that it goes first: it points into the members above.
  std::unique_ptr<CURL, EasyDeleter> easy;
};

} // namespace

struct Client::Impl : std::enable_shared_from_this<Impl> {
  /// One socket libcurl asked us to watch. Waits hold a shared_ptr, and `closed` tells a wait
  /// that completes after libcurl has let go of the socket not to touch it.
  struct Watch {
    explicit Watch(const asio::strand<asio::io_context::executor_type>& strand) : descriptor(strand) {}
    asio::posix::stream_descriptor descriptor;
    curl_socket_t fd = CURL_SOCKET_BAD;
    int wanted = 0; // CURL_POLL_IN / CURL_POLL_OUT bits
    bool reading = false;
    bool writing = false;
    bool closed = false;
  };

  Impl(asio::io_context& io, ClientOptions options_)
      : options(std::move(options_)), strand(asio::make_strand(io)), timer(strand) {
    global_init();
    multi = curl_multi_init();
    if (multi == nullptr) {
      return; // every request will fail with `other`
    }
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options.max_connections_per_host));
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options.max_connections));
  }

  // After shut_down() there is nothing left to do. Without it, the io_context was stopped for
  // good and is being destroyed (its handlers held the last references): pending requests
  // are dropped without being completed, which destroys their coroutines.
  ~Impl() {
    stopped = true;
    if (multi != nullptr) {
      for (auto& [easy, transfer] : transfers) {
        curl_multi_remove_handle(multi, easy);
      }
      transfers.clear();
      curl_multi_cleanup(multi);
    }
    release_all_watches();
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // --- requests ---------------------------------------------------------------------------

  /// Any thread: prepares the easy handle, then adds it on the strand.
  void start(std::unique_ptr<ClientRequest> request, std::unique_ptr<Completion> done) {
    if (stopping.load()) {
      done->complete(failure(client_errc::cancelled, "the HTTP client is stopped"));
      return;
    }
    auto transfer = std::make_unique<Transfer>();
    transfer->done = std::move(done);
    if (auto problem = prepare(*transfer, std::move(*request))) {
      transfer->done->complete(std::move(*problem));
      return;
    }
    asio::post(strand, [self = shared_from_this(), transfer = std::move(transfer)]() mutable {
      self->add(std::move(transfer));
    });
  }

  /// Sets up the easy handle; a failure when the request cannot be sent at all.
  std::optional<ClientFailure> prepare(Transfer& t, ClientRequest&& request) {
    if (!is_token(request.method)) {
      return failure(client_errc::invalid_request, "invalid HTTP method");
    }
    t.url.reset(curl_url());
    t.easy.reset(curl_easy_init());
    if (!t.url || !t.easy) {
      return failure(client_errc::other, "libcurl could not be initialised");
    }
    if (const CURLUcode code = curl_url_set(t.url.get(), CURLUPART_URL, request.url.c_str(), 0); code != CURLUE_OK) {
      return failure(client_errc::invalid_request, std::string("invalid URL: ") + curl_url_strerror(code));
    }
    {
      char* scheme = nullptr;
      if (curl_url_get(t.url.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || scheme == nullptr) {
        return failure(client_errc::invalid_request, "URL without a scheme");
      }
      const std::string lowered = [&] {
        std::string s(scheme);
        std::transform(s.begin(), s.end(), s.begin(), ascii_lower);
        return s;
      }();
      curl_free(scheme);
      if (lowered != "http" && lowered != "https") {
        return failure(client_errc::invalid_request, "scheme " + lowered + " is not allowed (only http and https)");
      }
    }

    curl_slist* list = nullptr;
    bool has_expect = false;
    for (const auto& [name, value] : request.headers) {
      if (!is_token(name)) {
        return failure(client_errc::invalid_request, "malformed header name");
      }
      if (!is_field_value(value)) {
        return failure(client_errc::invalid_request, "header " + name + " has a line break or NUL in its value");
      }
      if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) {
        return failure(client_errc::invalid_request, "header " + name + " is set by the client");
      }
      has_expect = has_expect || iequals(name, "expect");
      // libcurl reads "Name:" as "remove Name" and "Name;" as an empty header.
      std::string line = name;
      line.append(value.empty() ? ";" : ": ").append(value);
      curl_slist* next = curl_slist_append(list, line.c_str());
      if (next == nullptr) {
        curl_slist_free_all(list);
        return failure(client_errc::other, "out of memory");
      }
      list = next;
    }
    if (!has_expect) {
      // No "Expect: 100-continue" for larger bodies: servers that ignore it cost a second each.
      if (curl_slist* next = curl_slist_append(list, "Expect:")) {
        list = next;
      }
    }
    t.headers.reset(list);
    t.body = std::move(request.body);
    t.allow_private = options.allow_private_addresses;
    t.max_body = request.max_response_bytes;
    t.timeout = std::max(request.timeout, std::chrono::milliseconds(1));
    t.max_header_bytes = options.max_header_bytes;

    CURL* e = t.easy.get();
    CURLcode rc = CURLE_OK;
    const auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) {
        rc = curl_easy_setopt(e, option, value);
      }
    };
    set(CURLOPT_CURLU, t.url.get());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set(CURLOPT_FOLLOWLOCATION, options.max_redirects > 0 ? 1L : 0L);
    set(CURLOPT_MAXREDIRS, options.max_redirects);
    set(CURLOPT_PROXY, ""); // never the environment's proxy: the address policy is about the peer
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_ERRORBUFFER, t.error);
    set(CURLOPT_USERAGENT, options.user_agent.c_str());
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(t.timeout.count()));
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options.ca_file.empty()) {
      set(CURLOPT_CAINFO, options.ca_file.c_str());
    }
    set(CURLOPT_HTTPHEADER, t.headers.get());
    set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t.max_body));
    set(CURLOPT_WRITEFUNCTION, &Impl::on_body);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
    set(CURLOPT_HEADERFUNCTION, &Impl::on_header);
    set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
    set(CURLOPT_OPENSOCKETFUNCTION, &Impl::on_open_socket);
    set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(&t));
    // A connection outlives its transfer in libcurl's cache: its close goes to the client.
    set(CURLOPT_CLOSESOCKETFUNCTION, &Impl::on_close_socket);
    set(CURLOPT_CLOSESOCKETDATA, static_cast<void*>(this));

    const bool bodyless = request.method == "GET" || request.method == "HEAD";
    if (request.method == "HEAD") {
      set(CURLOPT_NOBODY, 1L);
    } else if (bodyless && t.body.empty()) {
      set(CURLOPT_HTTPGET, 1L);
    } else {
      set(CURLOPT_POST, 1L);
      set(CURLOPT_POSTFIELDS, t.body.data());
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.body.size()));
    }
    if (request.method != "GET" && request.method != "HEAD" && request.method != "POST") {
      set(CURLOPT_CUSTOMREQUEST, request.method.c_str());
    } else if (request.method == "GET" && !t.body.empty()) {
      set(CURLOPT_CUSTOMREQUEST, "GET");
    }
    if (rc != CURLE_OK) {
      return failure(client_errc::other, std::string("libcurl refused an option: ") + curl_easy_strerror(rc));
    }
    return std::nullopt;
  }

  /// Strand.
  void add(std::unique_ptr<Transfer> transfer) {
    if (stopped) {
      transfer->done->complete(failure(client_errc::cancelled, "the HTTP client is stopped"));
      return;
    }
    if (multi == nullptr) {
      transfer->done->complete(failure(client_errc::other, "libcurl could not be initialised"));
      return;
    }
    CURL* easy = transfer->easy.get();
    if (const CURLMcode code = curl_multi_add_handle(multi, easy); code != CURLM_OK) {
      transfer->done->complete(failure(client_errc::other, curl_multi_strerror(code)));
      return;
    }
    // libcurl (7.88) does not time out a transfer that waits for a connection slot
    // (max_connections_per_host): a deadline of our own does. Its grace lets libcurl's timeout,
    // whose message says more, win in the common case.
    const std::uint64_t serial = ++last_serial;
    transfer->serial = serial;
    transfer->deadline.emplace(strand, transfer->timeout + std::chrono::milliseconds(50));
    transfer->deadline->async_wait([self = shared_from_this(), easy, serial](boost::system::error_code ec) {
      if (!ec) {
        self->expire(easy, serial);
      }
    });
    transfers.emplace(easy, std::move(transfer));
  }

  /// Strand: the deadline of the transfer `serial` passed before libcurl finished it.
  void expire(CURL* easy, std::uint64_t serial) {
    if (stopped) {
      return;
    }
    auto it = transfers.find(easy);
    if (it == transfers.end() || it->second->serial != serial) {
      return;
    }
    auto transfer = std::move(it->second);
    transfers.erase(it);
    curl_multi_remove_handle(multi, easy);
    transfer->done->complete(
        failure(client_errc::timeout, "no response within " + std::to_string(transfer->timeout.count()) + " ms"));
  }

  /// Strand: hands every finished transfer back to its requester.
  void collect_finished() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) {
        continue;
      }
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(multi, easy);
      auto it = transfers.find(easy);
      if (it == transfers.end()) {
        continue;
      }
      auto transfer = std::move(it->second);
      transfers.erase(it);
      transfer->done->complete(outcome(*transfer, code));
    }
  }

  static ClientResult outcome(Transfer& t, CURLcode code) {
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &status);
      t.response.status = static_cast<unsigned>(status);
      return std::move(t.response);
    }
    if (t.callback_failure) {
      return std::move(*t.callback_failure);
    }
    std::string message = t.error[0] != '\0' ? std::string(t.error) : std::string(curl_easy_strerror(code));
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST: return failure(client_errc::dns, std::move(message));
    case CURLE_COULDNT_CONNECT:
      if (!t.refused.empty() && !t.opened_any) {
        return failure(client_errc::refused_address, "refused to connect to " + t.refused);
      }
      if (!t.refused.empty()) {
        message += "; refused to connect to " + t.refused;
      }
      return failure(client_errc::connect, std::move(message));
    case CURLE_OPERATION_TIMEDOUT: return failure(client_errc::timeout, std::move(message));
    case CURLE_FILESIZE_EXCEEDED:
      return failure(client_errc::too_large,
                     "the response body exceeds " + std::to_string(t.max_body) + " bytes (Content-Length)");
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return failure(client_errc::invalid_request, std::move(message));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED: return failure(client_errc::tls, std::move(message));
    default: return failure(client_errc::other, std::move(message));
    }
  }

  // --- stop -------------------------------------------------------------------------------

  /// Strand.
  void shut_down() {
    if (stopped) {
      return;
    }
    stopped = true;
    auto pending = std::move(transfers);
    transfers.clear();
    for (auto& [easy, transfer] : pending) {
      curl_multi_remove_handle(multi, easy);
      transfer->done->complete(failure(client_errc::cancelled, "the HTTP client was stopped"));
    }
    pending.clear();
    if (multi != nullptr) {
      curl_multi_cleanup(multi); // closes cached connections through on_close_socket
      multi = nullptr;
    }
    release_all_watches();
    timer.cancel();
  }

  void release_all_watches() {
    for (auto& [fd, watch] : watches) {
      release(*watch);
    }
    watches.clear();
  }

  /// Stops watching without closing: the socket belongs to libcurl (or to on_close_socket).
  static void release(Watch& watch) {
    watch.closed = true;
    if (watch.descriptor.is_open()) {
      (void)watch.descriptor.release(); // cancels pending waits, deregisters from the reactor
    }
  }

  // --- libcurl callbacks (all on the strand, inside a curl_multi_* call) --------------------

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) noexcept {
    auto* self = static_cast<Impl*>(userp);
    try {
      if (what == CURL_POLL_REMOVE) {
        self->forget(fd);
        return 0;
      }
      if (self->stopped) {
        return 0;
      }
      auto& watch = self->watches[fd];
      if (!watch) {
        watch = std::make_shared<Watch>(self->strand);
        watch->fd = fd;
        boost::system::error_code ec;
        watch->descriptor.assign(fd, ec);
        if (ec) {
          spdlog::error("http client: cannot watch socket {}: {}", fd, ec.message());
          self->watches.erase(fd);
          return 0; // the transfer will time out
        }
      }
      watch->wanted = what;
      self->arm(watch);
    } catch (const std::exception& e) {
      spdlog::error("http client: socket callback failed: {}", e.what());
    }
    return 0;
  }

  void forget(curl_socket_t fd) noexcept {
    if (auto it = watches.find(fd); it != watches.end()) {
      release(*it->second);
      watches.erase(it);
    }
  }

  void arm(const std::shared_ptr<Watch>& watch) {
    if ((watch->wanted & CURL_POLL_IN) != 0 && !watch->reading) {
      watch->reading = true;
      watch->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                   [self = shared_from_this(), watch](boost::system::error_code ec) {
                                     watch->reading = false;
                                     self->on_ready(watch, CURL_CSELECT_IN, ec);
                                   });
    }
    if ((watch->wanted & CURL_POLL_OUT) != 0 && !watch->writing) {
      watch->writing = true;
      watch->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                   [self = shared_from_this(), watch](boost::system::error_code ec) {
                                     watch->writing = false;
                                     self->on_ready(watch, CURL_CSELECT_OUT, ec);
                                   });
    }
  }

  /// Strand (the descriptor's executor): the socket is ready, or the wait was cancelled.
  void on_ready(const std::shared_ptr<Watch>& watch, int direction, boost::system::error_code ec) {
    if (watch->closed || stopped || ec == asio::error::operation_aborted) {
      return;
    }
    int running = 0;
    curl_multi_socket_action(multi, watch->fd, ec ? CURL_CSELECT_ERR : direction, &running);
    collect_finished();
    // A wait that fired for a direction libcurl no longer wants is not renewed.
    if (!watch->closed && !stopped) {
      arm(watch);
    }
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) noexcept {
    auto* self = static_cast<Impl*>(userp);
    if (self->stopped) {
      return 0;
    }
    try {
      if (timeout_ms < 0) {
        self->timer.cancel();
        return 0;
      }
      // libcurl must not be re-entered from here: act when the timer fires, even after 0 ms.
      self->timer.expires_after(std::chrono::milliseconds(timeout_ms));
      self->timer.async_wait([self = self->shared_from_this()](boost::system::error_code ec) {
        if (ec || self->stopped) {
          return;
        }
        int running = 0;
        curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        self->collect_finished();
      });
    } catch (const std::exception& e) {
      spdlog::error("http client: timer callback failed: {}", e.what());
      return -1;
    }
    return 0;
  }

  static curl_socket_t on_open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* address) noexcept {
    auto* t = static_cast<Transfer*>(clientp);
    if (purpose != CURLSOCKTYPE_IPCXN || address == nullptr) {
      return CURL_SOCKET_BAD;
    }
    const auto kind = detail::classify(&address->addr);
    if (!kind) {
      return CURL_SOCKET_BAD; // neither IPv4 nor IPv6
    }
    if (*kind != detail::AddressClass::global && !t->allow_private) {
      try {
        if (!t->refused.empty()) {
          t->refused += ", ";
        }
        t->refused += detail::to_string(&address->addr) + " (" + std::string(detail::describe(*kind)) + ")";
      } catch (...) {
        t->refused = "a non-public address";
      }
      return CURL_SOCKET_BAD;
    }
    const curl_socket_t fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    t->opened_any = t->opened_any || fd != CURL_SOCKET_BAD;
    return fd;
  }

  static int on_close_socket(void* clientp, curl_socket_t fd) noexcept {
    auto* self = static_cast<Impl*>(clientp);
    self->forget(fd); // normally gone already: libcurl says CURL_POLL_REMOVE first
    return ::close(fd);
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* userp) noexcept {
    auto* t = static_cast<Transfer*>(userp);
    const std::size_t n = size * count;
    if (n > t->max_body - std::min(t->max_body, t->response.body.size())) {
      t->callback_failure =
          failure(client_errc::too_large, "the response body exceeds " + std::to_string(t->max_body) + " bytes");
      return 0;
    }
    try {
      t->response.body.append(data, n);
    } catch (...) {
      t->callback_failure = failure(client_errc::other, "out of memory");
      return 0;
    }
    return n;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* userp) noexcept {
    auto* t = static_cast<Transfer*>(userp);
    const std::size_t n = size * count;
    t->header_bytes += n;
    if (t->header_bytes > t->max_header_bytes) {
      t->callback_failure = failure(client_errc::too_large,
                                    "the response headers exceed " + std::to_string(t->max_header_bytes) + " bytes");
      return 0;
    }
    try {
      const std::string_view raw(data, n);
      if (raw.empty()) {
        return n;
      }
      if (raw.starts_with("HTTP/")) {
        // A new response begins (after 100 Continue or a redirect): only the last one counts.
        t->response.headers.clear();
        t->header_bytes = n;
        return n;
      }
      auto& headers = t->response.headers;
      if ((raw.front() == ' ' || raw.front() == '\t') && !headers.empty()) {
        // Obsolete line folding (RFC 9112 §5.2): a continuation of the previous value.
        if (const auto more = trim(raw); !more.empty()) {
          headers.back().second.append(" ").append(more);
        }
        return n;
      }
      const auto colon = raw.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        return n; // the empty line that ends the headers, or garbage libcurl let through
      }
      std::string name(raw.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(), ascii_lower);
      headers.emplace_back(std::move(name), std::string(trim(raw.substr(colon + 1))));
    } catch (...) {
      t->callback_failure = failure(client_errc::other, "out of memory");
      return 0;
    }
    return n;
  }

  const ClientOptions options;
  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;
  CURLM* multi = nullptr;
  std::atomic<bool> stopping{false}; // any thread: set by stop()
  bool stopped = false;              // strand: the multi handle is gone
  std::uint64_t last_serial = 0;     // strand
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::unordered_map<curl_socket_t, std::shared_ptr<Watch>> watches;
};

Client::Client(asio::io_context& io, ClientOptions options) : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Client::~Client() {
  stop();
}

void Client::stop() {
  if (impl_->stopping.exchange(true)) {
    return;
  }
  asio::post(impl_->strand, [impl = impl_] { impl->shut_down(); });
}

asio::awaitable<ClientResult> Client::send(ClientRequest request) {
  // The request travels on the heap: GCC 12 relocates closures and arguments passed by value
  // through the use_awaitable initiation bitwise, which breaks short std::strings (see
  // core/async/worker_pool.hpp). Impl goes as a plain pointer: the initiation's frame keeps its
  // arguments until the handler runs, and the handler lives in Impl, so a shared_ptr there
  // would be a cycle that an io_context destroyed with requests in flight never frees.
  auto owned = std::make_unique<ClientRequest>(std::move(request));
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(ClientResult)>(
      [](auto handler, Impl* impl, std::unique_ptr<ClientRequest> req) {
        using Handler = decltype(handler);
        impl->start(std::move(req), std::make_unique<HandlerCompletion<Handler>>(std::move(handler)));
      },
      asio::use_awaitable, impl_.get(), std::move(owned));
}

std::optional<std::string_view> ClientResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

std::string basic_authorization(std::string_view user, std::string_view password) {
  std::string plain;
  plain.reserve(user.size() + 1 + password.size());
  plain.append(user).append(":").append(password);
  std::string encoded(4 * ((plain.size() + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                      reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(std::max(written, 0)));
  return "Basic " + encoded;
}

std::string form_urlencoded(const std::vector<std::pair<std::string, std::string>>& fields) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  const auto encode = [&out](std::string_view text) {
    for (const char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (is_ascii_alnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
        out += c;
      } else if (c == ' ') {
        out += '+';
      } else {
        out += '%';
        out += hex[u >> 4];
        out += hex[u & 0x0F];
      }
    }
  };
  for (const auto& [name, value] : fields) {
    if (!out.empty()) {
      out += '&';
    }
    encode(name);
    out += '=';
    encode(value);
  }
  return out;
}

} // namespace parley::core::http
