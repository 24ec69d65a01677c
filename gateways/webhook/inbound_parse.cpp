#include "gateways/webhook/inbound_parse.hpp"

#include "core/http/message.hpp"
#include "core/jid/jid.hpp"
#include "gateways/webhook/detail/templates.hpp"
#include "gateways/webhook/detail/text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <stdexcept>

namespace parley::gateways::webhook {

using nlohmann::json;

namespace {

using Result = boost::system::result<InboundMessage, InboundProblem>;

InboundProblem problem(unsigned status, std::string_view name, std::string detail) {
  std::string_view title = "Bad Request";
  if (status == 415) {
    title = "Unsupported Media Type";
  } else if (status == 422) {
    title = "Unprocessable Content"; // RFC 9110 §15.5.21
  }
  return {status, "urn:parley:problem:" + std::string(name), std::string(title), std::move(detail)};
}

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = ascii_lower(c);
  }
  return out;
}

std::optional<std::string_view> header(const InboundRequest& request, std::string_view lower_name) {
  for (const auto& [name, value] : request.headers) {
    if (name == lower_name) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

enum class Media { json, form, text };

// RFC 9110 §8.3.1: type/subtype followed by `;name=value` parameters, all but the values
// case-insensitive. Only a UTF-8 (or its subset US-ASCII) charset is understood.
boost::system::result<Media, InboundProblem> classify(std::string_view content_type) {
  const std::size_t semicolon = content_type.find(';');
  const std::string media = lower(detail::trim(content_type.substr(0, semicolon)));
  std::string_view params = semicolon == std::string_view::npos ? std::string_view() : content_type.substr(semicolon);
  while (!params.empty()) {
    params.remove_prefix(1); // the ';'
    const std::size_t next = params.find(';');
    const std::string_view param = params.substr(0, next);
    params = next == std::string_view::npos ? std::string_view() : params.substr(next);
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos || lower(detail::trim(param.substr(0, eq))) != "charset") {
      continue;
    }
    std::string_view value = detail::trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    const std::string charset = lower(value);
    if (charset != "utf-8" && charset != "utf8" && charset != "us-ascii") {
      return problem(415, "unsupported-media-type",
                     "charset " + detail::truncate_utf8(charset, 64) + " is not supported; send UTF-8");
    }
  }
  if (media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))) {
    return Media::json;
  }
  if (media == "application/x-www-form-urlencoded") {
    return Media::form;
  }
  if (media == "text/plain") {
    return Media::text;
  }
  if (media.empty()) {
    return problem(415, "unsupported-media-type",
                   "Content-Type is missing; send application/json, application/x-www-form-urlencoded or text/plain");
  }
  return problem(415, "unsupported-media-type",
                 "Content-Type " + detail::truncate_utf8(media, 100) +
                     " is not supported; send application/json, application/x-www-form-urlencoded or text/plain");
}

boost::system::result<std::string, InboundProblem> dedupe_key(const InboundRequest& request) {
  for (const std::string_view name : {"webhook-id", "x-github-delivery", "idempotency-key"}) {
    const auto value = header(request, name);
    if (!value) {
      continue;
    }
    std::string_view key = detail::trim(*value);
    // draft-ietf-httpapi-idempotency-key-header: an sf-string, so in double quotes.
    if (name == "idempotency-key" && key.size() >= 2 && key.front() == '"' && key.back() == '"') {
      key = key.substr(1, key.size() - 2);
    }
    const bool visible = std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < '\x7f'; });
    if (key.empty() || key.size() > max_dedupe_key_bytes || !visible) {
      return problem(400, "invalid-header",
                     std::string(name) + " must be 1 to " + std::to_string(max_dedupe_key_bytes) +
                         " visible ASCII characters");
    }
    return std::string(key);
  }
  return std::string();
}

// json converts from almost anything, so results holding one are built explicitly.
using JsonResult = boost::system::result<json, InboundProblem>;

JsonResult parse_json(std::string_view text) {
  if (!detail::json_depth_at_most(text, max_json_depth)) {
    return problem(400, "invalid-json", "the JSON is nested deeper than " + std::to_string(max_json_depth) + " levels");
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return problem(400, "invalid-json", "the body is not valid JSON");
  }
  return {boost::system::in_place_value, std::move(j)};
}

// A form body as the JSON to read: the `payload` field's JSON when there is one, else an
// object of the fields as strings (the first of repeated names wins).
JsonResult parse_form(std::string_view body) {
  auto pairs = core::http::parse_form(body);
  if (!pairs) {
    return problem(400, "invalid-form", "the form body has a malformed percent-encoding");
  }
  json fields = json::object();
  for (auto& [name, value] : *pairs) {
    if (!detail::is_valid_utf8(name) || !detail::is_valid_utf8(value)) {
      return problem(400, "invalid-utf8", "a form field is not valid UTF-8");
    }
    if (!fields.contains(name)) {
      fields[name] = std::move(value);
    }
  }
  if (fields.contains("payload")) {
    return parse_json(detail::string_at(fields, {"payload"}));
  }
  return {boost::system::in_place_value, std::move(fields)};
}

// A member that must be a string when present; `null` counts as absent.
boost::system::result<std::optional<std::string_view>, InboundProblem> optional_string(const json& object,
                                                                                       std::string_view name) {
  const json* value = detail::value_at(object, {name});
  if (value == nullptr || value->is_null()) {
    return std::optional<std::string_view>();
  }
  if (!value->is_string()) {
    return problem(422, "invalid-field",
                   "\"" + std::string(name) + "\" must be a string, not " + std::string(value->type_name()));
  }
  return std::optional<std::string_view>(value->get_ref<const std::string&>());
}

// {"to", "body" | "text", "subject", "type"}
Result read_generic(const json& payload) {
  if (!payload.is_object()) {
    return problem(422, "invalid-payload", "expected a JSON object, not " + std::string(payload.type_name()));
  }
  InboundMessage message;

  auto to = optional_string(payload, "to");
  if (!to) {
    return to.error();
  }
  if (*to) {
    auto jid = core::jid::Jid::parse(detail::trim(**to));
    if (!jid) {
      return problem(422, "invalid-field", "\"to\" is not a valid JID: " + jid.error().message());
    }
    message.to = jid->full();
  }

  std::optional<std::string_view> body;
  for (const std::string_view name : {"body", "text"}) {
    auto field = optional_string(payload, name);
    if (!field) {
      return field.error();
    }
    if (*field) {
      body = *field;
      break;
    }
  }
  if (!body) {
    return problem(422, "missing-body", R"(the JSON object needs a "body" (or "text") string)");
  }
  if (detail::trim(*body).empty()) {
    return problem(422, "missing-body", "the message body is blank");
  }
  message.body = std::string(*body);

  auto subject = optional_string(payload, "subject");
  if (!subject) {
    return subject.error();
  }
  if (*subject) {
    message.subject = std::string(detail::trim(**subject));
  }

  auto type = optional_string(payload, "type");
  if (!type) {
    return type.error();
  }
  if (*type) {
    const auto parsed = parse_message_type(**type);
    if (!parsed) {
      return problem(422, "invalid-field", R"("type" must be "chat", "normal" or "headline")");
    }
    message.type = *parsed;
  }
  return message;
}

std::string_view template_name(PayloadTemplate t) noexcept {
  switch (t) {
  case PayloadTemplate::auto_detect: return "auto";
  case PayloadTemplate::github: return "github";
  case PayloadTemplate::alertmanager: return "alertmanager";
  case PayloadTemplate::grafana: return "grafana";
  case PayloadTemplate::plain: return "plain";
  }
  return "auto";
}

Result read_json(const json& payload, const InboundRequest& request, PayloadTemplate chosen) {
  const auto event = header(request, "x-github-event");
  if (chosen == PayloadTemplate::auto_detect) {
    if (event) {
      chosen = PayloadTemplate::github;
    } else if (detail::looks_like_grafana(payload)) {
      chosen = PayloadTemplate::grafana;
    } else if (detail::looks_like_alertmanager(payload)) {
      chosen = PayloadTemplate::alertmanager;
    } else {
      chosen = PayloadTemplate::plain;
    }
  }
  if (chosen == PayloadTemplate::plain) {
    return read_generic(payload);
  }
  if (!payload.is_object()) {
    return problem(422, "invalid-payload",
                   "the " + std::string(template_name(chosen)) + " template expects a JSON object, not " +
                       std::string(payload.type_name()));
  }
  InboundMessage message;
  switch (chosen) {
  case PayloadTemplate::github:
    if (!event) {
      return problem(400, "invalid-header", "X-GitHub-Event is missing");
    }
    message.body = detail::render_github(detail::trim(*event), payload);
    break;
  case PayloadTemplate::alertmanager: message.body = detail::render_alertmanager(payload); break;
  case PayloadTemplate::grafana: message.body = detail::render_grafana(payload); break;
  case PayloadTemplate::auto_detect:
  case PayloadTemplate::plain: break; // decided above
  }
  return message;
}

} // namespace

std::string_view to_string(MessageType type) noexcept {
  switch (type) {
  case MessageType::chat: return "chat";
  case MessageType::normal: return "normal";
  case MessageType::headline: return "headline";
  }
  return "chat";
}

std::optional<MessageType> parse_message_type(std::string_view text) noexcept {
  for (const MessageType t : {MessageType::chat, MessageType::normal, MessageType::headline}) {
    if (text == to_string(t)) {
      return t;
    }
  }
  return std::nullopt;
}

std::optional<PayloadTemplate> parse_payload_template(std::string_view name) noexcept {
  for (const PayloadTemplate t : {PayloadTemplate::auto_detect, PayloadTemplate::github, PayloadTemplate::alertmanager,
                                  PayloadTemplate::grafana, PayloadTemplate::plain}) {
    if (name == template_name(t)) {
      return t;
    }
  }
  return std::nullopt;
}

void throw_exception_from_error(const InboundProblem& problem, const boost::source_location& /*loc*/) {
  throw std::runtime_error(problem.type + ": " + problem.detail);
}

Result parse_inbound(const InboundRequest& request, const InboundSettings& settings) {
  const auto media = classify(request.content_type);
  if (!media) {
    return media.error();
  }
  if (!detail::is_valid_utf8(request.body)) {
    return problem(400, "invalid-utf8", "the body is not valid UTF-8");
  }
  auto key = dedupe_key(request);
  if (!key) {
    return key.error();
  }

  Result parsed = InboundMessage{};
  if (*media == Media::text) {
    if (settings.payload_template != PayloadTemplate::auto_detect &&
        settings.payload_template != PayloadTemplate::plain) {
      return problem(415, "unsupported-media-type",
                     "the " + std::string(template_name(settings.payload_template)) +
                         " template expects a JSON body, not text/plain");
    }
    const std::string_view text = request.body.substr(0, request.body.find_last_not_of(" \t\r\n") + 1);
    if (detail::trim(text).empty()) {
      return problem(422, "missing-body", "the text/plain body is empty");
    }
    parsed->body = std::string(text);
  } else {
    auto payload = *media == Media::json ? parse_json(request.body) : parse_form(request.body);
    if (!payload) {
      return payload.error();
    }
    parsed = read_json(*payload, request, settings.payload_template);
    if (!parsed) {
      return parsed;
    }
  }

  InboundMessage& message = *parsed;
  if (detail::trim(message.body).empty()) {
    return problem(422, "missing-body", "the message body is blank");
  }
  if (message.to.empty() && settings.default_recipient.empty()) {
    return problem(422, "no-recipient",
                   "the payload names no recipient (\"to\") and the hook has no default recipient");
  }
  message.body = detail::truncate_utf8(message.body, max_body_bytes);
  message.subject = detail::truncate_utf8(message.subject, max_subject_bytes);
  message.dedupe_key = std::move(*key);
  return parsed;
}

} // namespace parley::gateways::webhook
