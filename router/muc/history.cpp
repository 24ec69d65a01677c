#include "router/muc/history.hpp"

#include "core/xml/namespaces.hpp"
#include "core/xml/serializer.hpp"

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

// Reads `count` digits at `at`; false when they are not there.
bool digits(std::string_view text, std::size_t at, std::size_t count, int& out) {
  if (at + count > text.size()) {
    return false;
  }
  out = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

} // namespace

std::optional<storage::Timestamp> parse_datetime(std::string_view text) {
  // CCYY-MM-DDThh:mm:ss[.sss]TZD (XEP-0082 §3.2)
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' || !digits(text, 5, 2, month) || text[7] != '-' ||
      !digits(text, 8, 2, day) || text[10] != 'T' || !digits(text, 11, 2, hour) || text[13] != ':' ||
      !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  std::size_t at = 19;
  std::chrono::microseconds fraction{0};
  if (at < text.size() && text[at] == '.') {
    ++at;
    std::int64_t scale = 100'000;
    const std::size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fraction += std::chrono::microseconds((text[at] - '0') * scale);
      scale /= 10;
      ++at;
    }
    if (at == start) {
      return std::nullopt;
    }
  }
  std::chrono::minutes offset{0};
  if (at < text.size() && text[at] == 'Z' && at + 1 == text.size()) {
    // UTC
  } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':') {
    int oh = 0, om = 0;
    if (!digits(text, at + 1, 2, oh) || !digits(text, at + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    if (text[at] == '-') {
      offset = -offset;
    }
  } else {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const auto local = std::chrono::sys_days(date) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
                     std::chrono::seconds(second);
  return storage::Timestamp(std::chrono::duration_cast<std::chrono::microseconds>(local.time_since_epoch()) + fraction -
                            offset);
}

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
    request.since = parse_datetime(*since);
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
