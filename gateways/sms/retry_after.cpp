#include "gateways/sms/retry_after.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace parley::gateways::sms {

std::optional<std::chrono::system_clock::time_point> parse_retry_after(std::optional<std::string_view> value,
                                                                       std::chrono::system_clock::time_point now) {
  if (!value || value->empty()) {
    return std::nullopt;
  }
  long seconds = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), seconds);
  if (ec == std::errc() && end == value->data() + value->size() && seconds >= 0) {
    return now + std::chrono::seconds(std::min(seconds, 86400L));
  }
  std::tm tm{};
  const std::string text(*value);
  const char* parsed = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (parsed == nullptr || *parsed != '\0') {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

} // namespace parley::gateways::sms
