// libFuzzer target for gateways/webhook: parse_inbound, parse_reply, outbound_payload and the
// signature checks on arbitrary bytes. Every property below is an invariant; a violation
// traps so that libFuzzer keeps the input.
//
// Input layout: byte 0 picks the template and whether a default recipient exists, byte 1
// the content type; the rest is "header-value\0body", the header being X-GitHub-Event.

#include "gateways/webhook/detail/text.hpp"
#include "gateways/webhook/inbound_parse.hpp"
#include "gateways/webhook/outbound_payload.hpp"
#include "gateways/webhook/signing.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace webhook = parley::gateways::webhook;
namespace detail = parley::gateways::webhook::detail;

void require(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

void check_inbound(std::uint8_t selector, std::string_view content_type, std::string_view event,
                   std::string_view body) {
  constexpr std::array templates = {webhook::PayloadTemplate::auto_detect, webhook::PayloadTemplate::github,
                                    webhook::PayloadTemplate::alertmanager, webhook::PayloadTemplate::grafana,
                                    webhook::PayloadTemplate::plain};
  webhook::InboundSettings settings;
  settings.payload_template = templates[selector % templates.size()];
  if ((selector & 0x80) == 0) {
    settings.default_recipient = "ops@example.com";
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (!event.empty()) {
    headers.emplace_back("x-github-event", std::string(event));
  }
  const auto r = webhook::parse_inbound({content_type, body, headers}, settings);
  if (!r) {
    const unsigned status = r.error().status;
    require(status == 400 || status == 415 || status == 422);
    require(r.error().type.starts_with("urn:parley:problem:"));
    require(!r.error().detail.empty());
    return;
  }
  require(detail::is_valid_utf8(r->body) && r->body.size() <= webhook::max_body_bytes);
  require(!detail::trim(r->body).empty());
  require(detail::is_valid_utf8(r->subject) && r->subject.size() <= webhook::max_subject_bytes);
  require(!r->to.empty() || !settings.default_recipient.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  constexpr std::array<std::string_view, 5> content_types = {
      "application/json", "application/x-www-form-urlencoded", "text/plain; charset=utf-8", "application/x+json",
      "text/html"};
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::size_t nul = input.find('\0');
  const std::string_view event = nul == std::string_view::npos ? std::string_view() : input.substr(0, nul);
  const std::string_view body = nul == std::string_view::npos ? input : input.substr(nul + 1);

  check_inbound(data[0], content_types[data[1] % content_types.size()], event, body);

  if (const auto reply = webhook::parse_reply(body)) {
    require(detail::is_valid_utf8(*reply) && reply->size() <= webhook::max_body_bytes && !reply->empty());
  }

  // Whatever the bytes, the outbound JSON parses and carries the body back (as UTF-8).
  webhook::OutboundMessage message;
  message.id = event;
  message.from = "alice@example.com";
  message.to = "hook@webhook.example.com";
  message.body = body;
  message.type = "chat";
  const auto parsed = nlohmann::json::parse(webhook::outbound_payload(message), nullptr, false);
  require(!parsed.is_discarded() && parsed.is_object());
  if (detail::is_valid_utf8(body)) {
    require(parsed["body"] == body);
  }

  // Signatures over the input verify; the input as a header never crashes the checks.
  const auto now = std::chrono::sys_seconds{std::chrono::seconds{1'700'000'000}};
  if (const auto signature = webhook::sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", now, body)) {
    require(webhook::verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", {"msg_1", "1700000000", *signature}, body, now)
                .has_value());
  }
  (void)webhook::verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", {event, event, body}, body, now);
  (void)webhook::verify_github("secret", event, body);
  (void)webhook::check_bearer(event, "token");
  return 0;
}
