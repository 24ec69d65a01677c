#pragma once

#include "config/config.hpp"
#include "core/jid/jid.hpp"
#include "core/xml/element.hpp"
#include "router/session_manager.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace parley::core::async {
class WorkerPool;
}
namespace parley::storage {
class Storage;
}

namespace parley::router {

/// Routes stanzas by the domain of `to` (RFC 6120 §10, RFC 6121 §8.5) and hosts the local
/// services of each served domain: roster, presence and subscriptions, offline storage,
/// service discovery, ping and version.
///
/// Every coroutine here runs on the calling session's strand and never blocks: storage calls
/// go to the worker pool. Delivery to other sessions goes through Session::deliver.
/// What became of a stanza handed to the router.
enum class Disposition {
  /// Delivered to a session, stored, answered, or dropped by the rules: the sender may count it
  /// as handled (XEP-0198 h, HTTP 2xx, SMTP 250).
  handled,
  /// It had to be stored and storage is unavailable. The sender got a `wait` error if it can
  /// receive one; the stanza must not be acknowledged ("acknowledged means durable"): no SM
  /// count, HTTP 503, SMTP 452.
  not_stored,
};

class Router {
public:
  Router(const config::Config& config, storage::Storage& storage, core::async::WorkerPool& workers);
  ~Router();

  SessionManager& sessions() noexcept { return sessions_; }
  bool is_local_host(std::string_view domain) const noexcept;
  const config::Config& config() const noexcept { return config_; }
  storage::Storage& storage() noexcept { return storage_; }
  core::async::WorkerPool& workers() noexcept { return workers_; }

  /// A stanza from a bound client whose `from` the session has stamped with its full JID.
  boost::asio::awaitable<Disposition> from_client(std::shared_ptr<Session> sender, core::xml::Element stanza);

  /// A stanza the server itself (or a gateway) originates; `from` must be set.
  boost::asio::awaitable<Disposition> route(core::xml::Element stanza);

  /// The session has ended: broadcast unavailable presence if it was available.
  boost::asio::awaitable<void> session_ended(std::shared_ptr<Session> session);

private:
  struct Impl;
  const config::Config& config_;
  storage::Storage& storage_;
  core::async::WorkerPool& workers_;
  SessionManager sessions_;
  std::vector<std::string> hosts_;
};

} // namespace parley::router
