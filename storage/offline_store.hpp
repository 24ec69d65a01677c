#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace parley::storage {

/// Messages held for users who are offline (RFC 6121 §8.5.2.1.1, XEP-0160).
///
/// Delivery is read, deliver, then delete: `list`, send each message to the session, and only
/// then `remove(username, last_delivered_id)`. A crash in between delivers a message twice but
/// never loses one; `push` returning success is what lets the sender be acknowledged.
///
/// Threading: every call blocks on disk I/O. Call only from the worker pool
/// (`core::async::WorkerPool::run`), never from an I/O thread. Calls are safe concurrently from
/// any number of worker threads. No call throws; failures come back as storage_errc.
/// Every call returns not_found when `username` is not a user of the UserStore, and
/// invalid_argument for an empty `username`.
class OfflineStore {
public:
  virtual ~OfflineStore() = default;

  /// Durably stores `stanza` (serialized XML) for `username` and returns its id.
  /// quota_exceeded, storing nothing, when the user already holds `quota` messages (so a quota
  /// of 0 refuses everything). The count and the insert are one atomic step.
  /// With `once`, the key is recorded in the SeenStore in the same transaction as the message;
  /// conflict, storing nothing, when the key is recorded there already (the delivery was stored
  /// before). A refusal for the quota records nothing.
  virtual boost::system::result<OfflineMessageId> push(std::string_view username, std::string_view stanza,
                                                       Timestamp timestamp, std::size_t quota,
                                                       const DeliveryKey* once = nullptr) = 0;

  /// Every message held for `username`, in arrival order (ascending id).
  virtual boost::system::result<std::vector<OfflineMessage>> list(std::string_view username) = 0;

  /// Deletes the messages of `username` whose id is at most `up_to` (the last one delivered)
  /// and returns how many went. Messages pushed after the `list` that delivered them have
  /// greater ids and stay.
  virtual boost::system::result<std::size_t> remove(std::string_view username, OfflineMessageId up_to) = 0;

  virtual boost::system::result<std::size_t> count(std::string_view username) = 0;

  /// Deletes every message of `username` and returns how many went.
  virtual boost::system::result<std::size_t> purge(std::string_view username) = 0;
};

} // namespace parley::storage
