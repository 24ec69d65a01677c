#pragma once
// Reassembly of inbound concatenated SMS (3GPP TS 23.040 §9.2.3.24.1): parts arrive in any
// order, possibly twice, possibly never.

#include "gateways/sms/sms_errc.hpp"
#include "gateways/sms/udh.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::gateways::sms {

/// Collects the parts of concatenated messages until each is whole.
///
/// A set of parts is keyed by (source, reference, total); `source` is whatever the caller
/// uses to tell senders apart (the originating address, or origin and destination joined
/// when one SMSC account serves several numbers). Payloads are joined as bytes in sequence
/// order, before any decoding, so a sender that splits an escape or surrogate pair across
/// parts still yields the right text: decode the joined payload with the data_coding of the
/// parts.
///
/// Memory is bounded: at most `max_pending_sets` sets and `max_pending_bytes` payload and key
/// bytes wait at a time; making room drops the oldest set first (counted by `evicted()`).
/// A set also ends `timeout` after its first part arrived, when the caller's next `expire`
/// hands it back incomplete.
///
/// SMSCs redeliver parts whose acknowledgement they missed, also after the set completed.
/// So the keys of completed sets are remembered for `duplicate_window` (at most
/// `max_pending_sets` of them), and a part for such a key is a duplicate. The price: a new
/// message from the same source that reuses reference and total within the window is
/// taken for a redelivery. Senders count references up per message, so that takes 256
/// concatenated messages from one sender within the window.
///
/// Not thread-safe: one owner, e.g. the strand of the SMPP session or of the provider.
/// No clock of its own: every call takes `now`, which must not go backwards.
class Reassembler {
public:
  using Clock = std::chrono::steady_clock;

  struct Limits {
    std::size_t max_pending_sets = 1024;
    std::size_t max_pending_bytes = std::size_t{4} << 20;
    Clock::duration timeout = std::chrono::minutes(5);
    Clock::duration duplicate_window = std::chrono::minutes(5);
  };

  enum class Status {
    pending,   ///< stored; the set still misses parts
    duplicate, ///< this part was already stored, or its set completed recently; ignored
    complete,  ///< the last missing part: `payload` holds the whole message
  };

  struct Outcome {
    Status status = Status::pending;
    std::string payload; ///< the joined payloads when `complete`, else empty
  };

  /// A set that timed out before it was whole.
  struct Incomplete {
    std::string source;
    std::uint16_t reference = 0;
    std::uint8_t total = 0;
    std::vector<std::pair<std::uint8_t, std::string>> parts; ///< (sequence, payload), ascending
  };

  Reassembler() : Reassembler(Limits{}) {}
  explicit Reassembler(Limits limits);

  /// Adds one part. A set of one part (total 1) completes at once. `invalid_concat` unless
  /// 1 <= sequence <= total; `part_too_large` when this part alone exceeds
  /// `max_pending_bytes`. A part whose set completed longer than `duplicate_window` ago
  /// starts a new set.
  boost::system::result<Outcome> add(std::string_view source, const ConcatInfo& concat, std::string_view payload,
                                     Clock::time_point now);

  /// Removes and returns the sets whose first part arrived `timeout` or longer before `now`,
  /// oldest first, and forgets completed sets older than `duplicate_window`. Call it
  /// regularly (a timer, or before each `add`).
  std::vector<Incomplete> expire(Clock::time_point now);

  /// Forgets that the set (source, reference, total) completed, so that its parts, sent
  /// again, make a new set instead of counting as duplicates: for a message the caller could
  /// not deliver and refused, which the sender will send again. False when it is not remembered.
  bool release(std::string_view source, std::uint16_t reference, std::uint8_t total);

  std::size_t pending_sets() const noexcept { return sets_.size(); }
  std::size_t pending_bytes() const noexcept { return bytes_; }
  /// Completed sets remembered to recognise redeliveries.
  std::size_t remembered_sets() const noexcept { return completed_.size(); }
  /// Sets dropped, since construction, to stay within the limits.
  std::uint64_t evicted() const noexcept { return evicted_; }

private:
  struct Key {
    std::string source;
    std::uint16_t reference = 0;
    std::uint8_t total = 0;
    auto operator<=>(const Key&) const = default;
  };
  struct Set {
    Clock::time_point first_seen;
    std::uint64_t serial = 0; ///< arrival order of the first part, the eviction order
    std::vector<std::optional<std::string>> parts;
    std::size_t received = 0;
    std::size_t bytes = 0;
  };
  using Sets = std::map<Key, Set, std::less<>>;

  void erase(Sets::iterator it);
  void remember_completed(const Key& key, Clock::time_point now);
  void forget_completed(Clock::time_point now);

  Limits limits_;
  Sets sets_;
  std::map<std::uint64_t, Sets::iterator> by_age_;
  std::map<Key, Clock::time_point, std::less<>> completed_;
  std::deque<std::pair<Clock::time_point, Key>> completed_order_;
  std::uint64_t next_serial_ = 0;
  std::size_t bytes_ = 0;
  std::uint64_t evicted_ = 0;
};

} // namespace parley::gateways::sms
