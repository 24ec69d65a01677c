#include "gateways/webhook/outbound_payload.hpp"

#include "gateways/webhook/detail/templates.hpp"
#include "gateways/webhook/detail/text.hpp"
#include "gateways/webhook/inbound_parse.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace parley::gateways::webhook {

std::string rfc3339_utc(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto seconds = floor<std::chrono::seconds>(time);
  const auto day = floor<days>(seconds);
  const year_month_day date{day};
  const hh_mm_ss clock{seconds - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return buf;
}

std::string outbound_payload(const OutboundMessage& message) {
  // ordered_json keeps the documented member order.
  nlohmann::ordered_json j;
  j["id"] = message.id;
  j["from"] = message.from;
  j["to"] = message.to;
  j["body"] = message.body;
  if (!message.subject.empty()) {
    j["subject"] = message.subject;
  }
  if (!message.thread.empty()) {
    j["thread"] = message.thread;
  }
  j["timestamp"] = rfc3339_utc(message.timestamp);
  j["type"] = message.type.empty() ? std::string_view("normal") : message.type;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::optional<std::string> parse_reply(std::string_view body) {
  if (!detail::json_depth_at_most(body, max_json_depth)) {
    return std::nullopt;
  }
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  for (const std::string_view name : {"reply", "text", "body"}) {
    const std::string_view text = detail::string_at(j, {name});
    if (!detail::trim(text).empty()) {
      return detail::truncate_utf8(text, max_body_bytes);
    }
  }
  return std::nullopt;
}

} // namespace parley::gateways::webhook
