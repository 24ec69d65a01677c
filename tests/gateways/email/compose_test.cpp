#include "gateways/email/compose.hpp"

#include "core/sasl/crypto.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace email = parley::gateways::email;
using namespace std::chrono;

namespace {

struct Parsed {
  std::vector<std::pair<std::string, std::string>> fields; ///< unfolded, value without the leading space
  std::string header;                                      ///< the raw header section, CRLF ends
  std::string body;
};

Parsed parse(const std::string& message) {
  Parsed out;
  const std::size_t end = message.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  out.header = message.substr(0, end + 2);
  out.body = message.substr(end + 4);
  std::size_t pos = 0;
  while (pos < out.header.size()) {
    const std::size_t eol = out.header.find("\r\n", pos);
    const std::string line = out.header.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.starts_with(" ") || line.starts_with("\t")) {
      REQUIRE_FALSE(out.fields.empty());
      out.fields.back().second += line; // RFC 5322 §2.2.3: unfolding removes the CRLF only
    } else {
      const std::size_t colon = line.find(':');
      REQUIRE(colon != std::string::npos);
      std::string value = line.substr(colon + 1);
      out.fields.emplace_back(line.substr(0, colon), value);
    }
  }
  for (auto& field : out.fields) {
    if (field.second.starts_with(' ')) {
      field.second.erase(0, 1);
    }
  }
  return out;
}

std::vector<std::string> field_names(const Parsed& parsed) {
  std::vector<std::string> names;
  for (const auto& field : parsed.fields) {
    names.push_back(field.first);
  }
  return names;
}

std::string field(const Parsed& parsed, std::string_view name) {
  for (const auto& [key, value] : parsed.fields) {
    if (key == name) {
      return value;
    }
  }
  return "(absent)";
}

/// CRLF only, lines of at most 998 octets, header lines of at most 76 (RFC 2047 §2), no field
/// body pushed off its first line.
void check_wire_format(const std::string& message) {
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r') {
      REQUIRE(i + 1 < message.size());
      CHECK(message[i + 1] == '\n');
    }
    if (message[i] == '\n') {
      REQUIRE(i > 0);
      CHECK(message[i - 1] == '\r');
    }
  }
  REQUIRE(message.ends_with("\r\n"));
  const std::size_t header_end = message.find("\r\n\r\n");
  std::size_t pos = 0;
  while (pos < message.size()) {
    const std::size_t eol = message.find("\r\n", pos);
    CHECK(eol - pos <= 998);
    if (pos < header_end) {
      CHECK(eol - pos <= 76);
      CHECK_FALSE(message[eol - 1] == ':');
    }
    pos = eol + 2;
  }
}

bool all_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

int hex_value(char c) {
  return c <= '9' ? c - '0' : c - 'A' + 10;
}

/// Quoted-printable (RFC 2045 §6.7) back to text with LF line ends.
std::string qp_decode(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 3) == "=\r\n") {
      i += 3;
    } else if (text[i] == '=') {
      REQUIRE(i + 2 < text.size());
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 3;
    } else if (text.substr(i, 2) == "\r\n") {
      out += '\n';
      i += 2;
    } else {
      out += text[i++];
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t length = c < 0x80             ? 1
                               : (c & 0xE0) == 0xC0 ? 2
                               : (c & 0xF0) == 0xE0 ? 3
                               : (c & 0xF8) == 0xF0 ? 4
                                                    : 0;
    if (length == 0 || i + length > text.size()) {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += length;
  }
  return true;
}

std::vector<std::string> split_spaces(std::string_view text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    if (end > start) {
      words.emplace_back(text.substr(start, end - start));
    }
    start = end + 1;
  }
  return words;
}

/// One RFC 2047 encoded-word's text; each must be valid UTF-8 on its own (no split sequence).
std::string decode_encoded_word(std::string_view word) {
  REQUIRE(word.starts_with("=?UTF-8?"));
  REQUIRE(word.ends_with("?="));
  const char encoding = word[8];
  REQUIRE(word[9] == '?');
  const std::string_view text = word.substr(10, word.size() - 12);
  std::string out;
  if (encoding == 'B') {
    auto decoded = parley::core::sasl::crypto::base64_decode(text);
    REQUIRE(decoded);
    out = *decoded;
  } else {
    REQUIRE(encoding == 'Q');
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '_') {
        out += ' ';
      } else if (text[i] == '=') {
        REQUIRE(i + 2 < text.size());
        out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
        i += 2;
      } else {
        out += text[i];
      }
    }
  }
  CHECK(is_valid_utf8(out));
  return out;
}

bool is_encoded_word(std::string_view word) {
  return word.starts_with("=?") && word.ends_with("?=") && word.size() > 4;
}

/// An unfolded header value with its encoded-words decoded (RFC 2047 §6.2: space between two
/// encoded-words is dropped).
std::string decode_header(std::string_view value) {
  std::string out;
  bool previous_encoded = false;
  for (const std::string& word : split_spaces(value)) {
    const bool encoded = is_encoded_word(word);
    if (!out.empty() && !(encoded && previous_encoded)) {
      out += ' ';
    }
    if (encoded) {
      CHECK(word.size() <= 75);
      out += decode_encoded_word(word);
    } else {
      out += word;
    }
    previous_encoded = encoded;
  }
  return out;
}

email::OutboundMail sample_mail() {
  email::OutboundMail mail;
  mail.from_address = "alice@example.org";
  mail.from_name = "Alice";
  mail.to_address = "bob@example.org";
  mail.subject = "Lunch tomorrow?";
  mail.message_id = "abc.123@mail.example.com";
  mail.body = "Shall we meet at noon?\nAt the usual place.\n";
  mail.date = sys_days{2024y / January / 9d} + 13h + 5min + 9s;
  mail.extra_headers.emplace_back("X-Mailer", "Parley");
  return mail;
}

} // namespace

TEST_CASE("an ASCII mail is composed exactly, in 7bit") {
  const std::string testling = email::compose_mail(sample_mail());
  CHECK(testling == "Date: Tue, 09 Jan 2024 13:05:09 +0000\r\n"
                    "From: Alice <alice@example.org>\r\n"
                    "To: bob@example.org\r\n"
                    "Subject: Lunch tomorrow?\r\n"
                    "Message-ID: <abc.123@mail.example.com>\r\n"
                    "X-Mailer: Parley\r\n"
                    "MIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 7bit\r\n"
                    "\r\n"
                    "Shall we meet at noon?\r\n"
                    "At the usual place.\r\n");
  check_wire_format(testling);
}

TEST_CASE("CRLF body line ends and a missing final line end give the same 7bit body") {
  auto mail = sample_mail();
  mail.body = "Shall we meet at noon?\r\nAt the usual place.";
  CHECK(email::compose_mail(mail) == email::compose_mail(sample_mail()));
}

TEST_CASE("display names are quoted when they hold specials and encoded when not ASCII") {
  auto mail = sample_mail();
  mail.from_name = "Smith, John (work)";
  mail.to_name = R"(Say "hi" \o/)";
  auto parsed = parse(email::compose_mail(mail));
  CHECK(field(parsed, "From") == R"x("Smith, John (work)" <alice@example.org>)x");
  CHECK(field(parsed, "To") == R"("Say \"hi\" \\o/" <bob@example.org>)");

  mail.from_name = "J. Random";
  mail.to_name = "=?UTF-8?Q?fake?=";
  parsed = parse(email::compose_mail(mail));
  CHECK(field(parsed, "From") == R"("J. Random" <alice@example.org>)");
  CHECK(field(parsed, "To") == R"("=?UTF-8?Q?fake?=" <bob@example.org>)");

  mail.from_name = "Jürgen Müller-Lüdenscheidt, Köln";
  const std::string testling = email::compose_mail(mail);
  check_wire_format(testling);
  CHECK(all_ascii(testling));
  const std::string from = field(parse(testling), "From");
  REQUIRE(from.ends_with(" <alice@example.org>"));
  const std::string phrase = from.substr(0, from.size() - std::string(" <alice@example.org>").size());
  // RFC 2047 §5 (3): in a phrase, the encoded-words carry no specials such as ',' themselves
  for (const std::string& word : split_spaces(phrase)) {
    CHECK(is_encoded_word(word));
    CHECK(word.find(',') == std::string::npos);
  }
  CHECK(decode_header(phrase) == "Jürgen Müller-Lüdenscheidt, Köln");
}

TEST_CASE("a UTF-8 body goes out quoted-printable and decodes back") {
  auto mail = sample_mail();
  mail.body = "Grüße aus Köln ☕\r\nZweite Zeile mit Leerzeichen am Ende  \n= ist kein Problem\n\nEnde";
  const std::string testling = email::compose_mail(mail);
  check_wire_format(testling);
  CHECK(all_ascii(testling));
  const Parsed parsed = parse(testling);
  CHECK(field(parsed, "Content-Transfer-Encoding") == "quoted-printable");
  CHECK(field(parsed, "Content-Type") == "text/plain; charset=utf-8");
  CHECK(parsed.body.find("Gr=C3=BC=C3=9Fe aus K=C3=B6ln =E2=98=95\r\n") == 0);
  CHECK(parsed.body.find("Ende =20\r\n") != std::string::npos);
  CHECK(qp_decode(parsed.body) ==
        "Grüße aus Köln ☕\nZweite Zeile mit Leerzeichen am Ende  \n= ist kein Problem\n\nEnde\n");
}

TEST_CASE("quoted-printable follows RFC 2045 section 6.7") {
  CHECK(email::quoted_printable_encode("") == "");
  CHECK(email::quoted_printable_encode("a=b") == "a=3Db\r\n");
  CHECK(email::quoted_printable_encode("a \nb\t\r\n") == "a=20\r\nb=09\r\n");
  CHECK(email::quoted_printable_encode("tab\tinside") == "tab\tinside\r\n");
  CHECK(email::quoted_printable_encode("lone\rcr") == "lone=0Dcr\r\n");
  CHECK(email::quoted_printable_encode(".\n.hidden\nnot.first") == "=2E\r\n=2Ehidden\r\nnot.first\r\n");
  CHECK(email::quoted_printable_encode("From me\nFromage") == "=46rom me\r\nFromage\r\n");
  CHECK(email::quoted_printable_encode("\n\n") == "\r\n\r\n");

  // 76 octets fit on one line; a 77th forces a soft break.
  const std::string exact(76, 'x');
  CHECK(email::quoted_printable_encode(exact) == exact + "\r\n");
  CHECK(email::quoted_printable_encode(exact + "y") == std::string(75, 'x') + "=\r\nxy\r\n");
  // A '.' that a soft break moves to the start of a line is encoded too.
  CHECK(email::quoted_printable_encode(std::string(75, 'a') + ".b") == std::string(75, 'a') + "=\r\n=2Eb\r\n");
  // An escape is never split by a soft break.
  const std::string encoded = email::quoted_printable_encode(std::string(74, 'a') + "é");
  CHECK(encoded == std::string(74, 'a') + "=\r\n=C3=A9\r\n");
}

TEST_CASE("long lines are broken softly and come back whole") {
  auto mail = sample_mail();
  std::string words;
  while (words.size() < 300) {
    words += "lorem ipsum ";
  }
  const std::string unbroken(5000, 'z');
  mail.body = words + "\n" + unbroken + "\nshort\n";
  const std::string testling = email::compose_mail(mail);
  check_wire_format(testling);
  const Parsed parsed = parse(testling);
  CHECK(field(parsed, "Content-Transfer-Encoding") == "quoted-printable");
  std::size_t pos = 0;
  while (pos < parsed.body.size()) {
    const std::size_t eol = parsed.body.find("\r\n", pos);
    CHECK(eol - pos <= 76);
    pos = eol + 2;
  }
  CHECK(qp_decode(parsed.body) == mail.body);

  // 78 octets are still 7bit; 79 are not.
  mail.body = std::string(78, 'k') + "\n";
  CHECK(field(parse(email::compose_mail(mail)), "Content-Transfer-Encoding") == "7bit");
  mail.body = std::string(79, 'k') + "\n";
  CHECK(field(parse(email::compose_mail(mail)), "Content-Transfer-Encoding") == "quoted-printable");
}

TEST_CASE("a line starting with a dot or From is kept safe") {
  auto mail = sample_mail();
  // In 7bit the dot stays: SMTP dot-stuffing (the client's job) protects it.
  mail.body = ".\n.hidden\nend\n";
  Parsed parsed = parse(email::compose_mail(mail));
  CHECK(field(parsed, "Content-Transfer-Encoding") == "7bit");
  CHECK(parsed.body == ".\r\n.hidden\r\nend\r\n");

  // "From " at a line start would be mangled by mbox, so the body goes out quoted-printable.
  mail.body = "Hello\nFrom now on, lunch is at one.\n";
  parsed = parse(email::compose_mail(mail));
  CHECK(field(parsed, "Content-Transfer-Encoding") == "quoted-printable");
  CHECK(parsed.body == "Hello\r\n=46rom now on, lunch is at one.\r\n");

  // In quoted-printable the dot is encoded as well.
  mail.body = "Tschüss\n.\n";
  parsed = parse(email::compose_mail(mail));
  CHECK(parsed.body == "Tsch=C3=BCss\r\n=2E\r\n");
}

TEST_CASE("a subject with emoji becomes encoded-words that split no code point") {
  auto mail = sample_mail();
  SUBCASE("mostly ASCII") {
    mail.subject = "Party at Zoë's on Saturday 🎉 bring snacks 🍕🍕 and good mood, everyone is welcome 🥳";
  }
  SUBCASE("mostly emoji") {
    mail.subject = "🎉🎉🎉🍕🍕🍕🥳🥳🥳☕☕☕🎉🎉🎉🍕🍕🍕🥳🥳🥳☕☕☕🎉🎉🎉🍕🍕🍕🥳🥳"
                   "🥳";
  }
  SUBCASE("plain words around encoded ones") {
    mail.subject = "Re: Grüße from Köln and a very long tail of plain English words that must be folded somewhere";
  }
  const std::string testling = email::compose_mail(mail);
  check_wire_format(testling);
  CHECK(all_ascii(testling));
  const Parsed parsed = parse(testling);
  const std::string subject = field(parsed, "Subject");
  CHECK(decode_header(subject) == mail.subject);
  std::size_t encoded = 0;
  for (const std::string& word : split_spaces(subject)) {
    if (is_encoded_word(word)) {
      ++encoded;
      CHECK(word.size() <= 75);
      CHECK(is_valid_utf8(decode_encoded_word(word)));
    }
  }
  CHECK(encoded >= 1);
}

TEST_CASE("encode_header_text leaves plain ASCII alone and encodes what needs it") {
  CHECK(email::encode_header_text("Lunch tomorrow?") == "Lunch tomorrow?");
  CHECK(email::encode_header_text("  spaced \t out\r\n ") == "spaced out");
  // Q or B, whichever is shorter.
  CHECK(email::encode_header_text("Café") == "=?UTF-8?B?Q2Fmw6k=?=");
  CHECK(email::encode_header_text("Übersetzungsprogramm") == "=?UTF-8?Q?=C3=9Cbersetzungsprogramm?=");
  // Space between the encoded words of one run is encoded, plain words stay as they are.
  const std::string accented = email::encode_header_text("Re: Café crème");
  CHECK(accented.starts_with("Re: =?UTF-8?"));
  CHECK(split_spaces(accented).size() == 2);
  CHECK(decode_header(accented) == "Re: Café crème");
  const std::string lookalike = email::encode_header_text("looks =?like?= a word");
  CHECK(lookalike.starts_with("looks =?UTF-8?"));
  CHECK(lookalike.ends_with("?= a word"));
  CHECK(decode_header(lookalike) == "looks =?like?= a word");
  CHECK(decode_header(email::encode_header_text("bad \xFF utf8")) == "bad \xEF\xBF\xBD utf8");
  const std::string huge(2000, 'w');
  const std::string encoded = email::encode_header_text(huge);
  CHECK(decode_header(encoded) == huge);
}

TEST_CASE("CR and LF in any field cannot inject a header") {
  auto mail = sample_mail();
  const std::string evil = "\r\nBcc: evil@example.net\r\n\r\nbody";
  mail.subject = "Hello" + evil;
  mail.from_name = "Eve" + evil;
  mail.to_name = "Bob\n" + evil;
  mail.from_address = "alice@example.org" + evil;
  mail.to_address = "bob@example.org\rBcc: evil@example.net";
  mail.message_id = "id@example.org>" + evil;
  mail.in_reply_to = "parent@example.org" + evil;
  mail.references = {"root@example.org" + evil, "\r\n"};
  mail.auto_submitted = "auto-generated" + evil;
  mail.extra_headers = {{"X-Evil\r\nBcc", "x"},
                        {"X-Fine", "value" + evil},
                        {"Content-Type", "text/html"},
                        {"", "empty name"},
                        {"X Space", "x"}};
  const std::string testling = email::compose_mail(mail);
  check_wire_format(testling);
  const Parsed parsed = parse(testling);
  CHECK(field_names(parsed) == std::vector<std::string>{"Date", "From", "To", "Subject", "Message-ID", "In-Reply-To",
                                                        "References", "Auto-Submitted", "X-Fine", "MIME-Version",
                                                        "Content-Type", "Content-Transfer-Encoding"});
  CHECK(parsed.header.find("\r\nBcc") == std::string::npos);
  CHECK(field(parsed, "Subject") == "Hello Bcc: evil@example.net body");
  CHECK(field(parsed, "Content-Type") == "text/plain; charset=utf-8");
  CHECK(field(parsed, "Message-ID") == "<id@example.orgBcc:evil@example.netbody>");
  CHECK(field(parsed, "References") == "<root@example.orgBcc:evil@example.netbody>");
  CHECK(parsed.body == "Shall we meet at noon?\r\nAt the usual place.\r\n");
}

TEST_CASE("In-Reply-To, References and Auto-Submitted appear only when given") {
  auto mail = sample_mail();
  Parsed parsed = parse(email::compose_mail(mail));
  CHECK(field(parsed, "In-Reply-To") == "(absent)");
  CHECK(field(parsed, "References") == "(absent)");
  CHECK(field(parsed, "Auto-Submitted") == "(absent)");

  mail.in_reply_to = "root.1@example.org";
  mail.references = {"root.1@example.org", "second.2@example.org", "third.3@example.org", "fourth.4@example.org"};
  mail.auto_submitted = "auto-generated";
  const std::string testling = email::compose_mail(mail);
  check_wire_format(testling);
  parsed = parse(testling);
  CHECK(field(parsed, "In-Reply-To") == "<root.1@example.org>");
  CHECK(field(parsed, "References") ==
        "<root.1@example.org> <second.2@example.org> <third.3@example.org> <fourth.4@example.org>");
  // Folded before a space where the line would pass 76 columns.
  CHECK(testling.find("References: <root.1@example.org> <second.2@example.org>\r\n"
                      " <third.3@example.org> <fourth.4@example.org>\r\n") != std::string::npos);
  CHECK(field(parsed, "Auto-Submitted") == "auto-generated");
}

TEST_CASE("dates are RFC 5322 in UTC") {
  CHECK(email::format_rfc5322_date(system_clock::time_point{}) == "Thu, 01 Jan 1970 00:00:00 +0000");
  CHECK(email::format_rfc5322_date(system_clock::time_point{} - 1s) == "Wed, 31 Dec 1969 23:59:59 +0000");
  CHECK(email::format_rfc5322_date(sys_days{2024y / February / 29d} + 23h + 59min + 59s + 999ms) ==
        "Thu, 29 Feb 2024 23:59:59 +0000");
}

TEST_CASE("message_id_for is deterministic and safe for any stanza id") {
  const std::string testling = email::message_id_for("msg-42", "outbox-7", "mail.example.com");
  CHECK(testling == email::message_id_for("msg-42", "outbox-7", "mail.example.com"));
  CHECK(testling.starts_with("msg-42."));
  CHECK(testling.ends_with("@mail.example.com"));
  CHECK(testling.size() == std::string("msg-42.").size() + 32 + std::string("@mail.example.com").size());
  CHECK(testling != email::message_id_for("msg-42", "outbox-8", "mail.example.com"));
  CHECK(email::message_id_for("a", "bc", "d") != email::message_id_for("ab", "c", "d"));

  // RFC 5322 §3.6.4: id-left is a dot-atom-text.
  auto dot_atom = [](std::string_view local) {
    if (local.empty() || local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
      return false;
    }
    return std::all_of(local.begin(), local.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             std::string_view(".-_!#$%&'*+/=?^`{|}~").find(c) != std::string_view::npos;
    });
  };
  for (const std::string_view hostile :
       {std::string_view("<evil>\r\nBcc: x@y"), std::string_view("...a..b..."), std::string_view(""),
        std::string_view("ünïcödé"), std::string_view("very-long-stanza-identifier-that-goes-on-and-on-and-on")}) {
    const std::string id = email::message_id_for(hostile, "k", "Mail.Example.COM.");
    const std::size_t at = id.find('@');
    REQUIRE(at != std::string::npos);
    CHECK(dot_atom(id.substr(0, at)));
    CHECK(id.substr(at) == "@mail.example.com");
    CHECK(at <= 24 + 1 + 32);
  }
  CHECK(email::message_id_for("x", "k", "\r\n").ends_with("@localhost"));
}
