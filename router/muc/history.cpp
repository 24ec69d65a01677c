#include "router/muc/history.hpp"

#include "core/xml/namespaces.hpp"
#include "core/xml/serializer.hpp"
#include "router/modules/time_format.hpp"

#include <charconv>

namespace parley::router::muc {

namespace {

std::optional<std::size_t> number(std::optional<std::string_view> text) {
  if (!text || text->empty()) {
    return std::nullopt;
  }
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    return std::nullopt;
  }
  return value;
}

} // namespace

HistoryRequest HistoryRequest::parse(const core::xml::Element* history) {
  HistoryRequest request;
  if (history == nullptr) {
    return request;
  }
  request.max_chars = number(history->attribute("maxchars"));
  request.max_stanzas = number(history->attribute("maxstanzas"));
  if (auto seconds = number(history->attribute("seconds"))) {
    request.seconds = std::chrono::seconds(static_cast<std::chrono::seconds::rep>(*seconds));
  }
  if (auto since = history->attribute("since")) {
    request.since = modules::parse_datetime(*since);
  }
  return request;
}

void History::add(core::xml::Element message, storage::Timestamp at, std::size_t limit) {
  if (limit == 0) {
    entries_.clear();
    return;
  }
  // The size as a new occupant gets it, <delay/> included, give or take the 'to'.
  Entry entry{std::move(message), at, 0};
  entry.chars = core::xml::serialize(entry.message, core::xml::ns::client).size() + 100;
  entries_.push_back(std::move(entry));
  trim(limit);
}

void History::trim(std::size_t limit) {
  while (entries_.size() > limit) {
    entries_.pop_front();
  }
}

std::vector<const History::Entry*> History::select(const HistoryRequest& request, storage::Timestamp now,
                                                   std::size_t limit) const {
  std::size_t stanzas = std::min(limit, request.max_stanzas.value_or(limit));
  std::optional<storage::Timestamp> oldest = request.since;
  if (request.seconds) {
    const storage::Timestamp cut = now - std::chrono::duration_cast<std::chrono::microseconds>(*request.seconds);
    oldest = oldest ? std::max(*oldest, cut) : cut;
  }
  std::size_t chars = 0;
  std::vector<const Entry*> out;
  for (auto it = entries_.rbegin(); it != entries_.rend() && out.size() < stanzas; ++it) {
    if (oldest && it->at < *oldest) {
      break;
    }
    if (request.max_chars && chars + it->chars > *request.max_chars) {
      break;
    }
    chars += it->chars;
    out.push_back(&*it);
  }
  return {out.rbegin(), out.rend()};
}

} // namespace parley::router::muc
