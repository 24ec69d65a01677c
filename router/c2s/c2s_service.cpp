#include "router/c2s/c2s_service.hpp"

#include "core/xml/errc.hpp"
#include "router/c2s/client_session.hpp"
#include "router/router.hpp"
#include "core/async/worker_pool.hpp"

#include <boost/asio/ssl/context.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace parley::router::c2s {

std::shared_ptr<C2sService> C2sService::create(boost::asio::io_context& io, const config::Config& config,
                                               std::shared_ptr<boost::asio::ssl::context> tls, Router& router) {
  return std::shared_ptr<C2sService>(new C2sService(io, config, std::move(tls), router));
}

C2sService::C2sService(boost::asio::io_context& io, const config::Config& config,
                       std::shared_ptr<boost::asio::ssl::context> tls, Router& router)
    : io_(io), config_(config), tls_(std::move(tls)), router_(router), release_timer_(io) {}

void C2sService::memory_released() {
  std::lock_guard lock(mutex_);
  if (release_scheduled_ || stopped_) {
    return;
  }
  release_scheduled_ = true;
  release_timer_.expires_after(std::chrono::seconds(1));
  release_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self) {
      return;
    }
    {
      std::lock_guard guard(self->mutex_);
      self->release_scheduled_ = false;
    }
#if defined(__GLIBC__)
    if (!ec) {
      // Once for the whole burst, off the I/O threads: it walks every heap.
      self->router_.workers().post([] { ::malloc_trim(0); });
    }
#else
    (void)ec;
#endif
  });
}

void C2sService::accept(boost::asio::ip::tcp::socket socket, bool direct_tls) {
  auto session = ClientSession::create(std::move(socket), *this, direct_tls);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      return;
    }
    if (sessions_.size() > 64 && sessions_.size() == sessions_.capacity()) {
      std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    }
    sessions_.push_back(session);
  }
  session->start();
}

bool C2sService::admit(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto& n = connections_per_ip_[ip];
  if (n >= config_.c2s.max_connections_per_ip) {
    return false;
  }
  ++n;
  return true;
}

void C2sService::release(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto it = connections_per_ip_.find(ip);
  if (it != connections_per_ip_.end() && --it->second == 0) {
    connections_per_ip_.erase(it);
  }
}

bool C2sService::auth_allowed(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto it = auth_failures_.find(ip);
  if (it == auth_failures_.end()) {
    return true;
  }
  if (std::chrono::steady_clock::now() - it->second.start > std::chrono::minutes(1)) {
    auth_failures_.erase(it);
    return true;
  }
  return it->second.count < config_.c2s.max_auth_failures_per_ip;
}

void C2sService::auth_failed(const std::string& ip) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (auth_failures_.size() > 100000) {
    // Bound the table under a distributed attack: forget the oldest windows.
    std::erase_if(auth_failures_, [&](const auto& e) { return now - e.second.start > std::chrono::minutes(1); });
  }
  auto& w = auth_failures_[ip];
  if (w.count == 0 || now - w.start > std::chrono::minutes(1)) {
    w.start = now;
    w.count = 0;
  }
  ++w.count;
}

void C2sService::register_resumable(const std::string& id, std::shared_ptr<ClientSession> session) {
  std::lock_guard lock(mutex_);
  resumable_[id] = std::move(session);
}

void C2sService::unregister_resumable(const std::string& id) {
  std::shared_ptr<ClientSession> dropped;
  std::lock_guard lock(mutex_);
  auto it = resumable_.find(id);
  if (it != resumable_.end()) {
    dropped = std::move(it->second); // destroyed after the lock is released
    resumable_.erase(it);
  }
}

std::shared_ptr<ClientSession> C2sService::find_resumable(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = resumable_.find(id);
  return it == resumable_.end() ? nullptr : it->second;
}

void C2sService::stop() {
  std::vector<std::weak_ptr<ClientSession>> open;
  std::unordered_map<std::string, std::shared_ptr<ClientSession>> resumable;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    release_timer_.cancel();
    open.swap(sessions_);
    resumable.swap(resumable_);
  }
  for (auto& weak : open) {
    if (auto s = weak.lock()) {
      s->close(core::xml::stream_errc::system_shutdown);
    }
  }
}

std::size_t C2sService::connection_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& w : sessions_) {
    n += w.expired() ? 0 : 1;
  }
  return n;
}

} // namespace parley::router::c2s
