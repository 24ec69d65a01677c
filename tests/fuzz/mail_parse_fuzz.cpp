// Fuzzes inbound mail parsing: any bytes must give a ParsedMail or an error text, never a crash,
// a hang or a leak, and what it gives must be valid UTF-8 within the limits. The raw bytes also
// go through the HTML and reply-trimming helpers on their own. What parses goes on along the
// gateway's path: it becomes the chat message, which must serialize to XML that reads back.

#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
#include "gateways/email/email_stanzas.hpp"
#include "gateways/email/mail_parse.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

bool valid_utf8(std::string_view text) {
  return parley::gateways::email::sanitize_utf8(text) == text;
}

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley::gateways::email;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  ParseLimits limits;
  limits.max_text_bytes = 1024; // small, so that truncation is reached often
  limits.max_parts = 50;
  limits.max_depth = 8;
  auto parsed = parse_mail(input, limits);
  if (parsed) {
    const ParsedMail& mail = *parsed;
    check(mail.text.size() <= limits.max_text_bytes);
    check(valid_utf8(mail.text) && valid_utf8(mail.subject) && valid_utf8(mail.from.name) &&
          valid_utf8(mail.from.address));
    check(mail.attachments.size() <= limits.max_parts);
    for (const auto& attachment : mail.attachments) {
      check(valid_utf8(attachment.filename));
    }
    for (const auto& status : mail.dsn) {
      check(valid_utf8(status.recipient) && valid_utf8(status.diagnostic));
      const auto bounce = bounce_message("c\\40x@mail.example", "alice@example.com/r", "id", status);
      check(parley::core::xml::parse_element(parley::core::xml::serialize(bounce, parley::core::xml::ns::client),
                                             parley::core::xml::ns::client)
                .has_value());
    }
    const auto stanza = inbound_message(mail, "bob\\40example.org@mail.example", "alice@example.com",
                                        "mail-1", mail.message_id);
    check(parley::core::xml::parse_element(parley::core::xml::serialize(stanza, parley::core::xml::ns::client),
                                           parley::core::xml::ns::client)
              .has_value());
  } else {
    check(!parsed.error().empty());
  }

  const std::string text = sanitize_utf8(input);
  check(valid_utf8(text));
  const std::string html = html_to_text(text);
  check(valid_utf8(html));
  (void)html_to_text(input); // invalid UTF-8 passes through, must not crash
  const std::string trimmed = trim_quoted_reply(input);
  check(trimmed.size() <= input.size());
  (void)unflow_text(input, size % 2 == 0);
  return 0;
}
