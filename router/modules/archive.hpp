#pragma once
// Message archives (XEP-0313) with unique stanza ids (XEP-0359): what is archived, the group
// commit that writes it, and the query, preferences and metadata iqs. Used by the router for
// users' archives and by the chat service for rooms'.

#include "config/config.hpp"
#include "core/jid/jid.hpp"
#include "core/xml/element.hpp"
#include "router/modules/archive_rules.hpp"
#include "storage/archive_store.hpp"

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

namespace parley::router::modules {

/// The archives of one server. Writes are queued and committed in batches by one writer at a
/// time (a group commit): record() never waits, flush() waits until everything recorded before
/// it is committed. A query flushes first, so it sees every message recorded before it.
///
/// Threading: any thread. Storage calls run on the worker pool.
class MessageArchive {
public:
  MessageArchive(const config::ArchiveConfig& config, storage::Storage& storage, core::async::WorkerPool& workers);
  ~MessageArchive();
  MessageArchive(const MessageArchive&) = delete;
  MessageArchive& operator=(const MessageArchive&) = delete;

  bool enabled() const noexcept { return config_.enabled; }
  bool rooms_enabled() const noexcept { return config_.enabled && config_.rooms; }

  /// Whether `owner`'s (a local user's) preferences archive a message with `with` (XEP-0313 §6):
  /// the never list, then the always list, then the default ("roster" asks the roster).
  boost::asio::awaitable<bool> wanted(core::jid::Jid owner, core::jid::Jid with);

  /// Queues `stanza` for `owner`'s archive (a user's bare JID or a room's JID) under `id`, with
  /// `with` as the other party. Never waits.
  void record(std::string owner, std::string id, std::string with, const core::xml::Element& stanza);

  /// Completes once everything recorded before the call is committed; false when a batch could
  /// not be (storage down: the messages went on without their archive copy, logged).
  boost::asio::awaitable<bool> flush();

  /// Answers a user's or room's archive iq (query, prefs, metadata; XEP-0313 §4, §6, §7): the
  /// stanzas to send to the requester, in order (result messages, then the iq's answer).
  /// `owner` is the archive (the user's bare JID or the room's JID); `results_from` is the
  /// 'from' of the result messages ("" for a user's own archive, the room's JID for a room);
  /// `room` selects the room rules (no preferences, `with` matches occupant JIDs).
  boost::asio::awaitable<std::vector<core::xml::Element>> answer(core::xml::Element iq, std::string owner,
                                                                 std::string results_from, bool room);

  /// The user or room is gone: its archive and preferences go too. false when storage failed.
  boost::asio::awaitable<bool> remove_owner(std::string owner);

  /// Drops what is cached about `owner` (its preferences), after its archive was deleted
  /// behind the router's back. Any thread.
  void forget_cached(const std::string& owner);

  /// Retention: deletes what is older than [archive] retention_days (nothing when 0); returns
  /// how many messages went. Blocks on storage: worker pool only.
  std::size_t expire_now();

private:
  struct Writer;
  boost::asio::awaitable<storage::ArchivePrefs> prefs_of(std::string owner);
  boost::asio::awaitable<std::vector<core::xml::Element>> answer_query(const core::xml::Element& iq,
                                                                       const core::xml::Element& query,
                                                                       std::string owner, std::string results_from,
                                                                       bool room);
  boost::asio::awaitable<std::vector<core::xml::Element>> answer_prefs(const core::xml::Element& iq,
                                                                       const core::xml::Element& prefs,
                                                                       std::string owner);
  boost::asio::awaitable<std::vector<core::xml::Element>> answer_metadata(const core::xml::Element& iq,
                                                                          std::string owner);

  const config::ArchiveConfig& config_;
  storage::Storage& storage_;
  core::async::WorkerPool& workers_;
  std::shared_ptr<Writer> writer_;
  struct PrefsCache;
  std::unique_ptr<PrefsCache> prefs_;
};

} // namespace parley::router::modules
