// Fuzzes what POST /hooks/NAME feeds on: the body under each template and content type, and
// the signature checks over hostile headers. Any input must give a message or a problem,
// never a crash, a hang or an unbounded message.

#include "gateways/webhook/inbound_parse.hpp"
#include "gateways/webhook/signing.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::gateways::webhook;
  if (size < 1) {
    return 0;
  }
  // First byte picks the template and content type; the rest is the body.
  const std::uint8_t selector = data[0];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr PayloadTemplate templates[] = {PayloadTemplate::auto_detect, PayloadTemplate::github,
                                                  PayloadTemplate::alertmanager, PayloadTemplate::grafana,
                                                  PayloadTemplate::plain};
  static const char* const content_types[] = {"application/json", "text/plain; charset=utf-8",
                                              "application/x-www-form-urlencoded", ""};
  static const char* const events[] = {"push", "issues", "pull_request", "ping"};
  std::vector<std::pair<std::string, std::string>> headers{
      {"x-github-event", events[(selector >> 5) & 3]},
      {"webhook-id", body.substr(0, 40)},
  };
  InboundSettings settings;
  settings.default_recipient = (selector & 0x80) != 0 ? "alice@example.com" : "";
  settings.payload_template = templates[selector % 5];
  InboundRequest request;
  request.content_type = content_types[(selector >> 3) & 3];
  request.body = body;
  request.headers = headers;
  auto parsed = parse_inbound(request, settings);
  if (parsed && (parsed->body.empty() || parsed->body.size() > max_body_bytes + 8)) {
    __builtin_trap();
  }
  StandardWebhookHeaders standard;
  const std::string id = body.substr(0, 16);
  const std::string timestamp = body.size() > 16 ? body.substr(16, 12) : std::string();
  const std::string signature = body.size() > 28 ? body.substr(28, 120) : std::string();
  standard.id = id;
  standard.timestamp = timestamp;
  standard.signature = signature;
  (void)verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", standard, body,
               std::chrono::sys_seconds(std::chrono::seconds(1614265330)));
  (void)verify_github("secret", signature, body);
  (void)check_bearer(signature, "token");
  return 0;
}
