#pragma once
// A room's discussion history: the last groupchat messages, kept in memory and replayed to
// new occupants (XEP-0045 §7.2.14) within the limits they ask for (§7.2.15).

#include "core/xml/element.hpp"
#include "storage/offline_message.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

namespace parley::router::muc {

/// The limits of a <history/> element (XEP-0045 §7.2.15). Absent limits do not apply.
struct HistoryRequest {
  std::optional<std::size_t> max_chars;
  std::optional<std::size_t> max_stanzas;
  std::optional<std::chrono::seconds> seconds;
  std::optional<storage::Timestamp> since;

  /// Reads the attributes of `history` (may be null: no limits). A value that is not a
  /// number or date is ignored, as if absent.
  static HistoryRequest parse(const core::xml::Element* history);
};

/// The messages, oldest first. Bounded: adding beyond `limit` drops the oldest.
class History {
public:
  struct Entry {
    /// The message as broadcast, from room@service/nick, without 'to'.
    core::xml::Element message;
    storage::Timestamp at;
    /// Its size as sent with a <delay/>, for maxchars.
    std::size_t chars = 0;
  };

  void add(core::xml::Element message, storage::Timestamp at, std::size_t limit);
  /// Drops the oldest messages beyond `limit`.
  void trim(std::size_t limit);
  /// The newest messages that meet every limit of `request` (and at most `limit`), oldest
  /// first: XEP-0045 §7.2.15 asks for the least traffic that meets any combination.
  std::vector<const Entry*> select(const HistoryRequest& request, storage::Timestamp now, std::size_t limit) const;
  std::size_t size() const noexcept { return entries_.size(); }

private:
  std::deque<Entry> entries_;
};

} // namespace parley::router::muc
