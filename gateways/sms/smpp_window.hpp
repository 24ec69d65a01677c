#pragma once
// The window of an SMPP session (SMPP v3.4 §2.7.3, §2.8): the requests sent and not yet
// answered, keyed by sequence number, and the numbers handed to new requests.
// Pure bookkeeping, no I/O, no clock; not thread-safe: one owner (the session's strand).

#include "gateways/sms/smpp_pdu.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace parley::gateways::sms {

/// At most `capacity` outstanding requests, each with the value `T` its sender waits on.
///
/// Sequence numbers run 1..0x7FFFFFFF (§3.2: 0 is not used by this side, and the top bit is
/// left clear as many SMSCs expect) and wrap, skipping any still outstanding, so a late
/// response can never complete a newer request with a reused number.
template <typename T> class SmppWindow {
public:
  static constexpr std::uint32_t max_sequence = 0x7FFFFFFF;

  /// `first`: the number of the first request (1 unless a test wants to see the wrap).
  explicit SmppWindow(std::size_t capacity, std::uint32_t first = 1)
      : capacity_(capacity == 0 ? 1 : capacity), next_(first == 0 || first > max_sequence ? 1 : first) {}

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t size() const noexcept { return outstanding_.size(); }
  bool full() const noexcept { return outstanding_.size() >= capacity_; }

  /// Takes a slot for a request of `command`; its sequence number, or nullopt when full.
  std::optional<std::uint32_t> open(CommandId command, T value) {
    if (full()) {
      return std::nullopt;
    }
    std::uint32_t sequence = next_;
    while (outstanding_.contains(sequence)) {
      sequence = after(sequence);
    }
    next_ = after(sequence);
    outstanding_.emplace(sequence, Entry{command, std::move(value)});
    return sequence;
  }

  /// What a response completed.
  struct Closed {
    CommandId command = CommandId::generic_nack; ///< the request's command
    T value;
  };

  /// Closes the request that a response (`response_command` with `sequence`) answers: one of
  /// ours with that number whose response it is, or any of ours for a generic_nack (§4.3).
  /// nullopt, leaving the window as it was, for a number we have not sent or a response to
  /// another command (the caller logs it; the request keeps waiting for its own answer).
  std::optional<Closed> close(std::uint32_t sequence, std::uint32_t response_command) {
    const auto it = outstanding_.find(sequence);
    if (it == outstanding_.end()) {
      return std::nullopt;
    }
    const auto expected = static_cast<std::uint32_t>(response_to(it->second.command));
    if (response_command != expected && response_command != static_cast<std::uint32_t>(CommandId::generic_nack)) {
      return std::nullopt;
    }
    Closed closed{it->second.command, std::move(it->second.value)};
    outstanding_.erase(it);
    return closed;
  }

  /// Gives up on one request (its sender timed out); a response coming later finds nothing.
  std::optional<T> abandon(std::uint32_t sequence) {
    const auto it = outstanding_.find(sequence);
    if (it == outstanding_.end()) {
      return std::nullopt;
    }
    T value = std::move(it->second.value);
    outstanding_.erase(it);
    return value;
  }

  /// Empties the window (the connection is gone): every value, in sequence order. The numbering
  /// goes on where it was.
  std::vector<T> clear() {
    std::vector<T> values;
    values.reserve(outstanding_.size());
    for (auto& [sequence, entry] : outstanding_) {
      values.push_back(std::move(entry.value));
    }
    outstanding_.clear();
    return values;
  }

private:
  struct Entry {
    CommandId command;
    T value;
  };

  static constexpr std::uint32_t after(std::uint32_t sequence) noexcept {
    return sequence >= max_sequence ? 1 : sequence + 1;
  }

  std::size_t capacity_;
  std::uint32_t next_ = 1;
  std::map<std::uint32_t, Entry> outstanding_;
};

} // namespace parley::gateways::sms
