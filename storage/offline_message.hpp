#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace parley::storage {

/// A point in time as the stores keep it: UTC, in microseconds since the Unix epoch.
/// Callers floor a clock reading: `std::chrono::floor<std::chrono::microseconds>(now)`.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

/// Identifies one offline message. Ids increase strictly in arrival order across the whole
/// store and are never reused, even after the messages holding them are deleted.
using OfflineMessageId = std::int64_t;

/// A message held for a user who was offline (RFC 6121 §8.5.2.1.1).
struct OfflineMessage {
  OfflineMessageId id = 0;
  /// When the server received it; the offline module turns it into a XEP-0203 <delay/>.
  Timestamp timestamp;
  /// The serialized stanza exactly as it was pushed.
  std::string stanza;

  friend bool operator==(const OfflineMessage&, const OfflineMessage&) = default;
};

/// A key of the SeenStore (`scope`, `key`, with `value`) that an inbound delivery records in
/// the same transaction that stores its message: a repeat of the delivery (an SMTP retry after
/// a crash) then finds the key and stores nothing, however late it comes.
struct DeliveryKey {
  std::string scope;
  std::string key;
  std::string value;
};

} // namespace parley::storage
