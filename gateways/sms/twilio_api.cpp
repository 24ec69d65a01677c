#include "gateways/sms/twilio_api.hpp"

#include "core/http/client.hpp"
#include "gateways/sms/retry_after.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>

namespace parley::gateways::sms::twilio {

namespace {

using json = nlohmann::json;

// RFC 3986 unreserved characters stay, everything else is %XX.
std::string percent_encode_segment(std::string_view text) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  return out;
}

/// A JSON member as text: strings as they are, numbers written out, anything else empty.
std::string member_text(const json& object, std::string_view name) {
  if (!object.is_object()) {
    return {};
  }
  const auto found = object.find(std::string(name));
  if (found == object.end()) {
    return {};
  }
  if (found->is_string()) {
    return found->get<std::string>();
  }
  if (found->is_number_integer()) {
    return std::to_string(found->get<std::int64_t>());
  }
  return {};
}

std::string field(const core::http::FormFields& form, std::string_view name, std::string_view fallback = {}) {
  if (auto value = core::http::form_field(form, name)) {
    return std::string(*value);
  }
  if (!fallback.empty()) {
    if (auto value = core::http::form_field(form, fallback)) {
      return std::string(*value);
    }
  }
  return {};
}

} // namespace

std::string inbound_path(std::string_view domain) {
  return "/sms/twilio/" + std::string(domain) + "/inbound";
}

std::string status_path(std::string_view domain) {
  return "/sms/twilio/" + std::string(domain) + "/status";
}

std::string messages_url(std::string_view base_url, std::string_view account_sid) {
  return std::string(base_url) + "/2010-04-01/Accounts/" + percent_encode_segment(account_sid) + "/Messages.json";
}

std::string status_callback_url(std::string_view public_url, std::string_view domain, std::string_view key) {
  return std::string(public_url) + status_path(domain) + "?" + core::http::form_urlencoded({{"key", std::string(key)}});
}

core::http::FormFields message_form(const OutboundSms& sms, std::string_view status_callback) {
  core::http::FormFields form = {{"From", sms.from}, {"To", sms.to}};
  if (!sms.body.empty()) {
    form.emplace_back("Body", sms.body);
  }
  for (const auto& url : sms.media_urls) {
    form.emplace_back("MediaUrl", url);
  }
  if (!status_callback.empty()) {
    form.emplace_back("StatusCallback", std::string(status_callback));
  }
  return form;
}

SendResult classify_create_response(unsigned status, std::string_view body, std::optional<std::string_view> retry_after,
                                    std::chrono::system_clock::time_point now) {
  SendResult result;
  const json parsed = json::parse(body.begin(), body.end(), nullptr, false);
  const std::string code = member_text(parsed, "code");
  const std::string message = member_text(parsed, "message");
  if (status >= 200 && status < 300) {
    result.provider_id = member_text(parsed, "sid");
    const std::string state = member_text(parsed, "status");
    if (state == "failed" || state == "undelivered") {
      // Twilio took the request but the message failed at once.
      const std::string error_code = member_text(parsed, "error_code");
      const std::string error_message = member_text(parsed, "error_message");
      result.outcome = SendResult::Outcome::permanent;
      result.reason = "Twilio reports the message " + state;
      if (!error_code.empty()) {
        result.reason += " (error " + error_code + (error_message.empty() ? "" : ": " + error_message) + ")";
      }
      return result;
    }
    result.outcome = SendResult::Outcome::accepted;
    result.reason =
        result.provider_id.empty()
            ? "Twilio accepted the message (HTTP " + std::to_string(status) + ", but its answer names no sid)"
            : "Twilio accepted the message as " + result.provider_id + (state.empty() ? "" : " (" + state + ")");
    return result;
  }
  result.reason = "Twilio answered HTTP " + std::to_string(status);
  if (!code.empty() || !message.empty()) {
    result.reason += ":";
    if (!code.empty()) {
      result.reason += " error " + code;
    }
    if (!message.empty()) {
      result.reason += (code.empty() ? " " : ", ") + message;
    }
  }
  if (status == 429 || status == 408 || status >= 500) {
    result.outcome = SendResult::Outcome::transient;
    result.retry_at = parse_retry_after(retry_after, now);
    return result;
  }
  // Other 4xx (a refused number, bad credentials, ...) and 3xx: retrying will not help.
  result.outcome = SendResult::Outcome::permanent;
  return result;
}

boost::system::result<InboundSms, std::string> parse_inbound(const core::http::FormFields& form) {
  InboundSms sms;
  sms.provider_id = field(form, "MessageSid", "SmsSid");
  sms.from = field(form, "From");
  sms.to = field(form, "To");
  sms.body = field(form, "Body");
  if (sms.provider_id.empty()) {
    return {boost::system::in_place_error, "MessageSid is missing"};
  }
  if (sms.from.empty() || sms.to.empty()) {
    return {boost::system::in_place_error, "From and To are required"};
  }
  // MediaUrl0, MediaUrl1, ... in the order of their index, whatever order the form has.
  std::map<unsigned, std::string> media;
  std::map<unsigned, std::string> types;
  for (const auto& [name, value] : form) {
    static constexpr std::string_view type_prefix = "MediaContentType";
    if (name.starts_with(type_prefix) && name.size() > type_prefix.size() && name.size() <= type_prefix.size() + 3) {
      unsigned index = 0;
      const char* first = name.data() + type_prefix.size();
      const char* last = name.data() + name.size();
      const auto [end, ec] = std::from_chars(first, last, index);
      if (ec == std::errc() && end == last) {
        types.emplace(index, value);
      }
      continue;
    }
    static constexpr std::string_view prefix = "MediaUrl";
    if (!name.starts_with(prefix) || name.size() == prefix.size() || name.size() > prefix.size() + 3) {
      continue;
    }
    unsigned index = 0;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    const auto [end, ec] = std::from_chars(first, last, index);
    if (ec != std::errc() || end != last) {
      continue;
    }
    if (!value.starts_with("https://") && !value.starts_with("http://")) {
      return {boost::system::in_place_error, name + " is not an http(s) URL"};
    }
    media.emplace(index, value);
  }
  for (auto& entry : media) {
    const auto type = types.find(entry.first);
    sms.media_types.push_back(type == types.end() ? std::string() : type->second);
    sms.media_urls.push_back(std::move(entry.second));
  }
  return sms;
}

boost::system::result<DeliveryReport, std::string> parse_status(const core::http::FormFields& form,
                                                                std::string_view key) {
  DeliveryReport report;
  report.provider_id = field(form, "MessageSid", "SmsSid");
  report.status = field(form, "MessageStatus", "SmsStatus");
  report.key = std::string(key);
  report.error_code = field(form, "ErrorCode");
  report.error_text = field(form, "ErrorMessage");
  if (report.provider_id.empty() && report.key.empty()) {
    return {boost::system::in_place_error, "MessageSid is missing"};
  }
  if (report.status.empty()) {
    return {boost::system::in_place_error, "MessageStatus is missing"};
  }
  if (report.status == "delivered") {
    report.kind = DeliveryReport::Kind::delivered;
  } else if (report.status == "undelivered" || report.status == "failed" || report.status == "canceled") {
    report.kind = DeliveryReport::Kind::failed;
  } else {
    report.kind = DeliveryReport::Kind::progress;
  }
  return report;
}

} // namespace parley::gateways::sms::twilio
