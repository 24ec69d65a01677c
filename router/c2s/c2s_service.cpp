#include "router/c2s/c2s_service.hpp"

#include "core/xml/errc.hpp"
#include "router/c2s/client_session.hpp"

#include <boost/asio/ssl/context.hpp>

namespace parley::router::c2s {

std::shared_ptr<C2sService> C2sService::create(boost::asio::io_context& io, const config::Config& config,
                                               std::shared_ptr<boost::asio::ssl::context> tls, Router& router) {
  return std::shared_ptr<C2sService>(new C2sService(io, config, std::move(tls), router));
}

C2sService::C2sService(boost::asio::io_context& io, const config::Config& config,
                       std::shared_ptr<boost::asio::ssl::context> tls, Router& router)
    : io_(io), config_(config), tls_(std::move(tls)), router_(router) {}

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

void C2sService::forget(const ClientSession* /*session*/) {
  // Expired entries are swept lazily in accept(); nothing to do per session.
}

void C2sService::stop() {
  std::vector<std::weak_ptr<ClientSession>> open;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    open.swap(sessions_);
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
