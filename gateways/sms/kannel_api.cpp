#include "gateways/sms/kannel_api.hpp"

#include "core/http/client.hpp"
#include "gateways/sms/encoding.hpp"
#include "gateways/sms/retry_after.hpp"

#include <algorithm>
#include <charconv>

namespace parley::gateways::sms::kannel {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return out;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

/// The charset parameter of a Content-Type ("text/plain; charset=UTF-16BE").
std::string charset_of(std::string_view content_type) {
  const std::string lowered = lower(content_type);
  const auto at = lowered.find("charset=");
  if (at == std::string::npos) {
    return {};
  }
  std::string value = lowered.substr(at + 8);
  value = value.substr(0, value.find(';'));
  std::erase(value, '"');
  return trim(value);
}

/// `text` in `charset` (as Kannel names it in %C or a Content-Type) as UTF-8.
boost::system::result<std::string, std::string> to_utf8(std::string_view text, std::string_view charset) {
  const std::string name = lower(charset);
  if (name == "utf-16be" || name == "utf16-be" || name == "ucs-2" || name == "ucs2" || name == "utf-16") {
    auto decoded = decode_ucs2(text);
    if (!decoded) {
      return {boost::system::in_place_error, "the text is not UTF-16BE: " + decoded.error().message()};
    }
    return {boost::system::in_place_value, std::move(*decoded)};
  }
  if (name == "iso-8859-1" || name == "latin1" || name == "iso8859-1" || name == "windows-1252") {
    return {boost::system::in_place_value, decode_latin1(text)};
  }
  if (name.empty() || name == "utf-8" || name == "utf8" || name == "gsm") {
    if (!choose_alphabet(text)) {
      return {boost::system::in_place_error, "the text is not valid UTF-8 (name its charset: charset=%C)"};
    }
    return {boost::system::in_place_value, std::string(text)};
  }
  return {boost::system::in_place_error, "charset '" + std::string(charset) + "' is not supported"};
}

std::string field(const core::http::FormFields& form, std::string_view name) {
  return std::string(core::http::form_field(form, name).value_or(""));
}

} // namespace

std::string inbound_path(std::string_view domain) {
  return "/sms/kannel/" + std::string(domain) + "/inbound";
}

std::string dlr_path(std::string_view domain) {
  return "/sms/kannel/" + std::string(domain) + "/dlr";
}

std::string dlr_url(std::string_view public_url, std::string_view domain, std::string_view secret,
                    std::string_view key) {
  return std::string(public_url) + dlr_path(domain) + "?secret=" + std::string(secret) + "&key=" + std::string(key) +
         "&type=%d&reply=%A";
}

std::string sendsms_url(const Account& account, const OutboundSms& sms, std::string_view dlr) {
  std::string text = sms.body;
  for (const auto& url : sms.media_urls) {
    text += text.empty() ? url : "\n" + url;
  }
  std::vector<std::pair<std::string, std::string>> query = {{"username", account.username},
                                                            {"password", account.password},
                                                            {"from", sms.from},
                                                            {"to", sms.to},
                                                            {"text", text},
                                                            {"charset", "UTF-8"}};
  if (!fits_gsm7(text)) {
    query.emplace_back("coding", "2");
  }
  query.emplace_back("dlr-mask", std::to_string(dlr_mask));
  if (!dlr.empty()) {
    query.emplace_back("dlr-url", std::string(dlr));
  }
  if (!account.smsc.empty()) {
    query.emplace_back("smsc", account.smsc);
  }
  return account.sendsms_url + (account.sendsms_url.find('?') == std::string::npos ? "?" : "&") +
         core::http::form_urlencoded(query);
}

SendResult classify_sendsms_response(unsigned status, std::string_view body,
                                     std::optional<std::string_view> retry_after,
                                     std::chrono::system_clock::time_point now) {
  SendResult result;
  std::string said = trim(body.substr(0, 200));
  result.reason = "Kannel answered HTTP " + std::to_string(status) + (said.empty() ? "" : ": " + said);
  if (status >= 200 && status < 300) {
    result.outcome = SendResult::Outcome::accepted;
    return result;
  }
  if (status == 429 || status >= 500) {
    result.outcome = SendResult::Outcome::transient;
    result.retry_at = parse_retry_after(retry_after, now);
    return result;
  }
  // 403 "Authorization failed for sendsms", 400 "Missing receiver number", ...
  result.outcome = SendResult::Outcome::permanent;
  return result;
}

boost::system::result<InboundSms, std::string> parse_inbound(const core::http::Request& request) {
  auto query = core::http::parse_form(request.query);
  if (!query) {
    return {boost::system::in_place_error, "the query string is malformed"};
  }
  InboundSms sms;
  sms.provider_id = field(*query, "id");
  sms.from = field(*query, "from");
  sms.to = field(*query, "to");
  if (sms.from.empty()) {
    sms.from = std::string(request.header("x-kannel-from").value_or(""));
  }
  if (sms.to.empty()) {
    sms.to = std::string(request.header("x-kannel-to").value_or(""));
  }
  std::string text;
  std::string charset;
  if (auto in_query = core::http::form_field(*query, "text")) {
    text = std::string(*in_query);
    charset = field(*query, "charset");
  } else if (request.method == "POST") {
    text = request.body; // post-url: the text is the body
    charset = charset_of(request.header("content-type").value_or(""));
  }
  if (sms.provider_id.empty()) {
    return {boost::system::in_place_error, "id is missing: add id=%I to the sms-service's URL"};
  }
  if (sms.from.empty() || sms.to.empty()) {
    return {boost::system::in_place_error, "from and to are required: add from=%p&to=%P to the sms-service's URL"};
  }
  auto utf8 = to_utf8(text, charset);
  if (!utf8) {
    return {boost::system::in_place_error, utf8.error()};
  }
  sms.body = std::move(*utf8);
  return sms;
}

boost::system::result<DeliveryReport, std::string> parse_dlr(const core::http::FormFields& query) {
  DeliveryReport report;
  report.key = field(query, "key");
  const std::string type = field(query, "type");
  const std::string reply = field(query, "reply");
  if (report.key.empty()) {
    return {boost::system::in_place_error, "key is missing"};
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(type.data(), type.data() + type.size(), value);
  if (type.empty() || ec != std::errc() || end != type.data() + type.size()) {
    return {boost::system::in_place_error, "type is not a delivery report value"};
  }
  switch (value) {
  case 1:
    report.status = "delivered";
    report.kind = DeliveryReport::Kind::delivered;
    break;
  case 2:
    report.status = "undeliverable";
    report.kind = DeliveryReport::Kind::failed;
    break;
  case 16:
    report.status = "rejected";
    report.kind = DeliveryReport::Kind::failed;
    break;
  case 4: report.status = "buffered"; break;
  case 8: report.status = "submitted"; break;
  default: report.status = "type " + type; break;
  }
  if (report.kind == DeliveryReport::Kind::failed) {
    report.error_text = reply;
    // SMPP SMSCs answer "NACK/0x0000000b/Invalid Destination Address".
    if (reply.starts_with("NACK/")) {
      const auto code =
          reply.substr(5, reply.find('/', 5) == std::string::npos ? std::string::npos : reply.find('/', 5) - 5);
      report.error_code = code;
    }
  }
  return report;
}

} // namespace parley::gateways::sms::kannel
