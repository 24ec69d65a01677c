#include "gateways/email/mail_parse.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace parley::gateways::email;
using namespace std::string_view_literals;

namespace {

/// SMTP DATA uses CRLF; the tests are written with LF and converted where it matters.
std::string crlf(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') {
      out += '\r';
    }
    out += c;
  }
  return out;
}

ParsedMail parse_ok(std::string_view raw, const ParseLimits& limits = {}) {
  auto result = parse_mail(raw, limits);
  REQUIRE_MESSAGE(result.has_value(), (result.has_value() ? std::string() : result.error()));
  return *result;
}

bool valid_utf8(std::string_view text) {
  // The sanitiser leaves valid UTF-8 alone, so equality means valid.
  return sanitize_utf8(text) == text;
}

const std::string pdf_base64 = "JVBERi0xLjQKAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\n"
                               "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdo\n"
                               "aWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch\n"
                               "oqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna\n"
                               "29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/wolJUVPRgo=\n";
constexpr std::size_t pdf_size = 272;

const std::string postfix_dsn = crlf(R"(Return-Path: <>
Received: by mail.localhost (Postfix) id 4F1; Mon,  1 Jan 2024 10:00:01 +0000 (UTC)
Date: Mon,  1 Jan 2024 10:00:01 +0000 (UTC)
From: MAILER-DAEMON@mail.localhost (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: alice@email.localhost
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4F1.1704103201/mail.localhost"
Message-Id: <20240101100001.4F1@mail.localhost>

This is a MIME-encapsulated message.

--4F1.1704103201/mail.localhost
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.localhost.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<x@y>: host y[192.0.2.1] said: 550 5.1.1 <x@y>: Recipient address rejected

--4F1.1704103201/mail.localhost
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.localhost
X-Postfix-Queue-ID: 4F1
X-Postfix-Sender: rfc822; alice@email.localhost
Arrival-Date: Mon,  1 Jan 2024 10:00:00 +0000 (UTC)

Final-Recipient: rfc822; x@y
Original-Recipient: rfc822;x@y
Action: failed
Status: 5.1.1
Remote-MTA: dns; y
Diagnostic-Code: smtp; 550 5.1.1 <x@y>: Recipient address rejected

--4F1.1704103201/mail.localhost
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Received: from email.localhost (localhost [127.0.0.1])
	by mail.localhost (Postfix) with ESMTP id 4F1
Message-ID: <abc@mail.localhost>
From: Alice <alice@email.localhost>
To: x@y
Subject: hello

--4F1.1704103201/mail.localhost--
)");

} // namespace

TEST_CASE("parse_mail reads a plain ASCII mail with CRLF line ends") {
  const auto testling = parse_ok(crlf(R"(Received: from a by b; Mon, 1 Jan 2024 10:00:00 +0000
From: Bob Example <Bob@Example.ORG>
To: alice@email.localhost
Subject: Hello there
Message-ID: <m1@example.org>
Date: Mon, 1 Jan 2024 10:00:00 +0000

Hi Alice,

how are you?   
)"));
  CHECK(testling.from.address == "Bob@example.org");
  CHECK(testling.from.name == "Bob Example");
  CHECK(testling.reply_to.address.empty());
  CHECK(testling.subject == "Hello there");
  CHECK(testling.message_id == "m1@example.org");
  CHECK(testling.text == "Hi Alice,\n\nhow are you?");
  CHECK_FALSE(testling.from_html);
  CHECK_FALSE(testling.truncated);
  CHECK_FALSE(testling.is_dsn);
  CHECK_FALSE(testling.list);
  CHECK(testling.attachments.empty());
  CHECK(testling.received_count == 1);
}

TEST_CASE("parse_mail reads LF-only input and Reply-To") {
  const auto testling =
      parse_ok("From: bob@example.org\nReply-To: \"Team\" <team@LISTS.example.org>, other@example.org\n"
               "Subject: x\n\nbody\n");
  CHECK(testling.from.address == "bob@example.org");
  CHECK(testling.from.name.empty());
  CHECK(testling.reply_to.address == "team@lists.example.org");
  CHECK(testling.reply_to.name == "Team");
  CHECK(testling.text == "body");
}

TEST_CASE("parse_mail takes the first mailbox of a group") {
  const auto testling = parse_ok("From: Friends: carol@example.org, dave@example.org;\nSubject: x\n\nbody\n");
  CHECK(testling.from.address == "carol@example.org");
}

TEST_CASE("parse_mail decodes a quoted-printable UTF-8 body") {
  const auto testling = parse_ok(crlf(R"(From: a@example.org
Subject: qp
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe aus K=C3=B6ln, this line is soft=
ly broken.
)"));
  CHECK(testling.text == "Grüße aus Köln, this line is softly broken.");
}

TEST_CASE("parse_mail decodes a base64 Latin-1 body to UTF-8") {
  const auto testling = parse_ok(crlf(R"(From: a@example.org
Subject: latin1
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: base64

Q2Fm6SBjcuhtZSBicvts6WUK
)"));
  CHECK(testling.text == "Café crème brûlée");
}

TEST_CASE("parse_mail decodes RFC 2047 Q and B encoded words in Subject and From") {
  SUBCASE("Q") {
    const auto testling = parse_ok("From: =?iso-8859-1?Q?J=FCrgen_M=FCller?= <juergen@example.de>\n"
                                   "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= und =?UTF-8?Q?K=C3=B6ln?=\n\nx\n");
    CHECK(testling.from.name == "Jürgen Müller");
    CHECK(testling.from.address == "juergen@example.de");
    CHECK(testling.subject == "Grüße und Köln");
  }
  SUBCASE("B") {
    const auto testling = parse_ok("From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>\n"
                                   "Subject: =?utf-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n\nx\n");
    CHECK(testling.from.name == "Jürgen Müller");
    CHECK(testling.subject == "Grüße aus Köln");
  }
  SUBCASE("folded subject") {
    const auto testling = parse_ok("From: a@example.org\nSubject:   a long\n subject that\n\tfolds  \n\nx\n");
    CHECK(testling.subject == "a long subject that folds"); // TAB, a control character, becomes a space
  }
}

TEST_CASE("parse_mail reads raw 8-bit UTF-8 headers") {
  const auto testling = parse_ok("From: Jürgen Müller <juergen@example.de>\nSubject: Grüße aus Köln\n\nx\n");
  CHECK(testling.subject == "Grüße aus Köln");
  CHECK(testling.from.name == "Jürgen Müller");
}

TEST_CASE("parse_mail reads raw Latin-1 headers") {
  const auto testling = parse_ok("From: J\xfcrgen <juergen@example.de>\nSubject: Gr\xfc\xdf"
                                 "e aus K\xf6ln\n\nx\n");
  CHECK(testling.subject == "Grüße aus Köln");
  CHECK(testling.from.name == "Jürgen");
  CHECK(valid_utf8(testling.subject));
}

TEST_CASE("parse_mail converts an HTML-only mail") {
  const auto testling = parse_ok(crlf(R"(From: a@example.org
Subject: html
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><title>T</title><style>p {color: red}</style></head>
<body><p>Hello&nbsp;<b>world</b> &amp; friends</p><p>See <a href="https://example.org/x">the page</a>.</p></body></html>
)"));
  CHECK(testling.from_html);
  CHECK(testling.text == "Hello world & friends\n\nSee the page (https://example.org/x).");
}

TEST_CASE("parse_mail prefers text/plain in multipart/alternative") {
  const auto testling = parse_ok(crlf(R"(From: a@example.org
Subject: alt
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/html; charset=utf-8

<p>the HTML version</p>
--b1
Content-Type: text/plain; charset=utf-8

the plain version
--b1--
)"));
  CHECK_FALSE(testling.from_html);
  CHECK(testling.text == "the plain version");
  CHECK(testling.attachments.empty());
}

TEST_CASE("parse_mail lists a PDF attachment of multipart/mixed") {
  const auto testling = parse_ok(crlf(R"(From: a@example.org
Subject: report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

see attached
--inner
Content-Type: text/html; charset=utf-8

<p>see attached</p>
--inner--
--outer
Content-Type: application/pdf; name="ignored.pdf"
Content-Disposition: attachment; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf
Content-Transfer-Encoding: base64

)") + crlf(pdf_base64) + crlf(R"(--outer
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment; filename="=?UTF-8?Q?n=C3=B6tes.txt?="

some notes
--outer--
)"));
  CHECK(testling.text == "see attached");
  REQUIRE(testling.attachments.size() == 2);
  CHECK(testling.attachments[0].filename == "Résumé.pdf");
  CHECK(testling.attachments[0].content_type == "application/pdf");
  CHECK(testling.attachments[0].size == pdf_size);
  CHECK(testling.attachments[1].filename == "nötes.txt");
  CHECK(testling.attachments[1].content_type == "text/plain");
  CHECK(testling.attachments[1].size == 10); // the CRLF before the boundary belongs to it
}

TEST_CASE("parse_mail keeps an attached message whole") {
  const auto testling = parse_ok(R"(From: a@example.org
Subject: fwd
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: text/plain

see below
--m
Content-Type: message/rfc822

From: other@example.org
Subject: inner

inner text
--m--
)");
  CHECK(testling.text == "see below");
  REQUIRE(testling.attachments.size() == 1);
  CHECK(testling.attachments[0].content_type == "message/rfc822");
  CHECK(testling.attachments[0].size > 0);
}

TEST_CASE("parse_mail trims the quoted part of a reply") {
  const auto testling = parse_ok(crlf(R"(From: a@example.org
Subject: Re: plans
In-Reply-To: <orig@email.localhost>

Sounds good, see you then.

On Mon, 1 Jan 2024 at 10:00, Alice <alice@email.localhost> wrote:
> Shall we meet at noon?
>
> Alice
)"));
  CHECK(testling.text == "Sounds good, see you then.");
  CHECK(testling.in_reply_to == "orig@email.localhost");
}

TEST_CASE("parse_mail keeps inline replies") {
  const auto testling = parse_ok(R"(From: a@example.org
Subject: Re: two questions

> First question?
Yes.
> Second question?
No.
)");
  CHECK(testling.text == "> First question?\nYes.\n> Second question?\nNo.");
}

TEST_CASE("parse_mail trims a signature") {
  const auto testling =
      parse_ok("From: a@example.org\nSubject: s\n\nShort answer: yes.\n\n-- \nBob Example\nACME Corp\n");
  CHECK(testling.text == "Short answer: yes.");
}

TEST_CASE("parse_mail joins format=flowed lines") {
  const auto testling = parse_ok(R"(From: a@example.org
Subject: flowed
Content-Type: text/plain; charset=utf-8; format=flowed

This is a long paragraph that was 
wrapped by the sender's client.
 >not a quote, space-stuffed
)");
  CHECK(testling.text ==
        "This is a long paragraph that was wrapped by the sender's client.\n>not a quote, space-stuffed");
}

TEST_CASE("parse_mail trims the quote of a format=flowed reply") {
  const auto testling = parse_ok(R"(From: a@example.org
Subject: Re: flowed
Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes

Fine by 
me.

On Mon, 1 Jan 2024, Alice <alice@example.org> 
wrote:
> Is this long line ok 
> for you?
)");
  CHECK(testling.text == "Fine byme.");
}

TEST_CASE("parse_mail extracts Message-ID, In-Reply-To and References") {
  const auto testling = parse_ok(crlf(R"(From: a@example.org
Subject: ids
Message-ID:
 <new@example.org>
In-Reply-To: <parent@example.org> (comment) <other@example.org>
References: <root@example.org>
	<mid@example.org> (a comment)
 <parent@example.org>

x
)"));
  CHECK(testling.message_id == "new@example.org");
  CHECK(testling.in_reply_to == "parent@example.org");
  CHECK(testling.references == std::vector<std::string>{"root@example.org", "mid@example.org", "parent@example.org"});
}

TEST_CASE("parse_mail leaves missing ids empty") {
  const auto testling = parse_ok("From: a@example.org\nSubject: none\n\nx\n");
  CHECK(testling.message_id.empty());
  CHECK(testling.in_reply_to.empty());
  CHECK(testling.references.empty());
  CHECK(testling.auto_submitted.empty());
  CHECK(testling.precedence.empty());
}

TEST_CASE("parse_mail reads Auto-Submitted, Precedence and list headers") {
  SUBCASE("auto reply") {
    const auto testling =
        parse_ok("From: a@example.org\nSubject: away\nAuto-Submitted: Auto-Replied; owner-email=\"a@example.org\"\n"
                 "Precedence: BULK\n\nI am away.\n");
    CHECK(testling.auto_submitted == "auto-replied");
    CHECK(testling.precedence == "bulk");
    CHECK_FALSE(testling.list);
  }
  SUBCASE("List-Id") {
    const auto testling =
        parse_ok("From: a@example.org\nSubject: [list] x\nList-Id: The List <list.example.org>\n\nx\n");
    CHECK(testling.list);
  }
  SUBCASE("List-Unsubscribe") {
    const auto testling =
        parse_ok("From: a@example.org\nSubject: news\nList-Unsubscribe: <mailto:u@example.org>\n\nx\n");
    CHECK(testling.list);
  }
}

TEST_CASE("parse_mail counts Received fields") {
  const auto testling = parse_ok("Received: from a by b\nReceived: from c\n by d\nreceived: from e by f\n"
                                 "X-Received: not counted\nFrom: a@example.org\nSubject: hops\n\nx\n");
  CHECK(testling.received_count == 3);
}

TEST_CASE("parse_mail reads a Postfix delivery status notification") {
  const auto testling = parse_ok(postfix_dsn);
  CHECK(testling.is_dsn);
  CHECK(testling.auto_submitted == "auto-replied");
  REQUIRE(testling.dsn.size() == 1);
  CHECK(testling.dsn[0].recipient == "x@y");
  CHECK(testling.dsn[0].action == "failed");
  CHECK(testling.dsn[0].status == "5.1.1");
  CHECK(testling.dsn[0].diagnostic == "550 5.1.1 <x@y>: Recipient address rejected");
  CHECK(testling.dsn_original_message_id == "abc@mail.localhost");
  CHECK(testling.text.find("could not\nbe delivered") != std::string::npos);
  CHECK(testling.text.find("Message-ID") == std::string::npos);
  CHECK(testling.attachments.empty());
}

TEST_CASE("parse_mail reads a DSN that returns the whole message") {
  const auto testling = parse_ok(R"(From: MAILER-DAEMON@example.org
Subject: failure
Content-Type: multipart/report; report-type="Delivery-Status"; boundary=r

--r
Content-Type: text/plain

Delivery failed.
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; example.org

Original-Recipient: rfc822; <first@example.net>
Action: Delayed (will retry)
Status: 4.4.1 (temporary)

Final-Recipient: rfc822; second@example.net
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 mailbox
  full

--r
Content-Type: message/rfc822

Message-ID: <orig@email.localhost>
From: alice@email.localhost
Subject: inner
Content-Type: multipart/mixed; boundary=i

--i
Content-Type: text/plain

secret inner text
--i
Content-Type: application/pdf

xx
--i--

--r--
)");
  CHECK(testling.is_dsn);
  REQUIRE(testling.dsn.size() == 2);
  CHECK(testling.dsn[0].recipient == "first@example.net");
  CHECK(testling.dsn[0].action == "delayed");
  CHECK(testling.dsn[0].status == "4.4.1");
  CHECK(testling.dsn[0].diagnostic.empty());
  CHECK(testling.dsn[1].recipient == "second@example.net");
  CHECK(testling.dsn[1].diagnostic == "552 mailbox full");
  CHECK(testling.dsn_original_message_id == "orig@email.localhost");
  CHECK(testling.text == "Delivery failed.");
  CHECK(testling.attachments.empty());
}

TEST_CASE("parse_mail survives malformed MIME") {
  SUBCASE("missing closing boundary") {
    const auto testling =
        parse_ok("From: a@example.org\nSubject: cut\nContent-Type: multipart/mixed; boundary=zz\n\n"
                 "--zz\nContent-Type: text/plain\n\nfirst part\n--zz\nContent-Type: application/pdf\n\nabc");
    CHECK(testling.text == "first part");
    CHECK(testling.attachments.size() == 1);
  }
  SUBCASE("multipart without boundary") {
    const auto result = parse_mail("From: a@example.org\nSubject: nb\nContent-Type: multipart/mixed\n\n--x\n\ntext\n");
    REQUIRE(result.has_value());
    CHECK(valid_utf8(result->text));
  }
  SUBCASE("garbage header lines") {
    const auto result =
        parse_mail("From: a@example.org\nthis is not a header\n\x01\x02: \xff\xfe\nSubject: still\n\nbody\n");
    REQUIRE(result.has_value());
    CHECK(result->from.address == "a@example.org");
    CHECK(valid_utf8(result->subject));
    CHECK(valid_utf8(result->text));
  }
  SUBCASE("unparsable From") {
    const auto testling = parse_ok("From: <<<@@@>>>\nSubject: x\n\nbody\n");
    CHECK(valid_utf8(testling.from.address));
    CHECK(testling.text == "body");
  }
  SUBCASE("unknown charset and invalid UTF-8") {
    const auto a =
        parse_ok("From: a@example.org\nSubject: x\nContent-Type: text/plain; charset=x-no-such\n\nabc\xe9\n");
    CHECK(a.text == "abcé");
    const auto b = parse_ok("From: a@example.org\nSubject: x\nContent-Type: text/plain; charset=utf-8\n\nab\xff"
                            "c\xe2\x82\n");
    CHECK(b.text == "ab\xEF\xBF\xBD"
                    "c\xEF\xBF\xBD");
  }
  SUBCASE("control characters and NUL are dropped") {
    const auto testling = parse_ok("From: a@example.org\nSubject: x\n\na\0b\x07"
                                   "c\td\n"sv);
    CHECK(testling.text == "abc\td");
  }
  SUBCASE("empty input") {
    CHECK_FALSE(parse_mail("").has_value());
    CHECK_FALSE(parse_mail("\r\n\r\n").has_value());
  }
  SUBCASE("binary junk") {
    std::string junk;
    for (int i = 0; i < 4096; ++i) {
      junk += static_cast<char>((i * 131 + 7) % 256);
    }
    const auto result = parse_mail(junk);
    if (result) {
      CHECK(valid_utf8(result->text));
      CHECK(valid_utf8(result->subject));
    }
  }
  SUBCASE("headers only") {
    const auto testling = parse_ok("From: a@example.org\nSubject: no body");
    CHECK(testling.subject == "no body");
    CHECK(testling.text.empty());
  }
}

TEST_CASE("parse_mail respects the part and depth limits") {
  std::string deep = "From: a@example.org\nSubject: deep\n";
  for (int i = 0; i < 30; ++i) {
    deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
  }
  deep += "Content-Type: text/plain\n\ndeep text\n";
  ParseLimits limits;
  limits.max_depth = 5;
  CHECK(parse_ok(deep, limits).text.empty());
  limits.max_depth = 40;
  CHECK(parse_ok(deep, limits).text == "deep text");

  std::string many = "From: a@example.org\nSubject: many\nContent-Type: multipart/mixed; boundary=m\n\n";
  for (int i = 0; i < 50; ++i) {
    many += "--m\nContent-Type: application/octet-stream\n\nx\n";
  }
  many += "--m--\n";
  limits.max_parts = 10;
  CHECK(parse_ok(many, limits).attachments.size() == 9); // the multipart itself is a part
}

TEST_CASE("parse_mail truncates text at a UTF-8 boundary") {
  std::string body;
  for (int i = 0; i < 100; ++i) {
    body += "ü"; // two bytes each
  }
  ParseLimits limits;
  limits.max_text_bytes = 51;
  const auto testling =
      parse_ok("From: a@example.org\nSubject: long\nContent-Type: text/plain; charset=utf-8\n\n" + body + "\n", limits);
  CHECK(testling.truncated);
  CHECK(testling.text.size() == 50);
  CHECK(valid_utf8(testling.text));

  limits.max_text_bytes = 200;
  const auto whole =
      parse_ok("From: a@example.org\nSubject: long\nContent-Type: text/plain; charset=utf-8\n\n" + body + "\n", limits);
  CHECK_FALSE(whole.truncated);
  CHECK(whole.text == body);
}

TEST_CASE("parse_mail can run on many threads at once") {
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto result = parse_mail(postfix_dsn);
        if (result && result->dsn.size() == 1) {
          ++good;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(good == 80);
}

TEST_CASE("html_to_text decodes entities") {
  CHECK(html_to_text("a &amp; b &lt;c&gt; &quot;d&quot; &#65;&#x42;&#X43; caf&eacute; &euro;5 &unknown; & x") ==
        "a & b <c> \"d\" ABC café €5 &unknown; & x");
  CHECK(html_to_text("&#0;&#xD800;&#99999999;") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("html_to_text writes links with their target") {
  CHECK(html_to_text(R"(<a href="https://example.org/page?a=1&amp;b=2">click</a>)") ==
        "click (https://example.org/page?a=1&b=2)");
  CHECK(html_to_text(R"(<a href="https://example.org/">https://example.org</a>)") == "https://example.org");
  CHECK(html_to_text(R"(<a href='mailto:bob@example.org'>bob@example.org</a>)") == "bob@example.org");
  CHECK(html_to_text(R"(<a href="#top">top</a> <a name=x>anchor</a>)") == "top anchor");
  CHECK(html_to_text(R"(<a href="https://example.org/i"><img src="i.png"></a>)") == "https://example.org/i");
}

TEST_CASE("html_to_text writes lists and blocks as lines") {
  CHECK(html_to_text("<ul><li>one</li><li>two <b>bold</b></li></ul><p>after</p>") == "- one\n- two bold\n\nafter");
  CHECK(html_to_text("<h1>Title</h1><div>line 1</div><div>line 2<br>line 3</div>") ==
        "Title\n\nline 1\nline 2\nline 3");
  CHECK(html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>") == "a b\nc");
  CHECK(html_to_text("<p>one</p>\n\n\n<p></p><p></p><p>two</p>") == "one\n\ntwo");
  CHECK(html_to_text("<blockquote>quoted</blockquote>reply") == "quoted\n\nreply");
  CHECK(html_to_text("<pre>a\n  b</pre>") == "a\n  b");
}

TEST_CASE("html_to_text drops script, style, head and comments") {
  CHECK(html_to_text("<html><head><title>t</title><meta charset=utf-8></head><body>"
                     "<script>if (a < b) { alert('</p>'); }</script><style>p{}</style>"
                     "<!-- <p>comment</p> -->visible</body></html>") == "visible");
  CHECK(html_to_text("<SCRIPT type=text/javascript>x()</SCRIPT>after") == "after");
  CHECK(html_to_text("<script>never closed") == "");
}

TEST_CASE("html_to_text collapses whitespace and survives broken markup") {
  CHECK(html_to_text("  lots   of\n\t whitespace  ") == "lots of whitespace");
  CHECK(html_to_text("1 < 2 and <3") == "1 < 2 and <3");
  CHECK(html_to_text("<p attr=\"never closed>text") == "");
  CHECK(html_to_text("<a href=x>unclosed link") == "unclosed link (x)");
  CHECK(html_to_text("") == "");
}

TEST_CASE("trim_quoted_reply trims an attributed trailing quote") {
  CHECK(trim_quoted_reply("Yes.\n\nOn Mon, 1 Jan 2024, Alice <alice@example.org> wrote:\n> Coming?\n> \n>> older\n") ==
        "Yes.");
  CHECK(trim_quoted_reply("Ja.\r\n\r\nAm 01.01.2024 um 10:00 schrieb Alice:\r\n> Kommst du?\r\n") == "Ja.");
  CHECK(trim_quoted_reply(
            "Yes.\nOn Mon, 1 Jan 2024 at 10:00, Alice Example\n<alice@example.org> wrote:\n> Coming?\n") == "Yes.");
  CHECK(trim_quoted_reply("Yes.\n> Coming?\n") == "Yes.");
  CHECK(trim_quoted_reply(
            "Ja.\n\nAm Mo., 1. Jan. 2024 um 10:00 Uhr schrieb Alice <alice@example.org>:\n> Kommst du?\n") == "Ja.");
  CHECK(trim_quoted_reply("Yes.\nOn Mon, 1 Jan 2024 at 10:00,\nAlice wrote:\n> Coming?\n") == "Yes.");
}

TEST_CASE("trim_quoted_reply keeps what is not an attribution") {
  CHECK(trim_quoted_reply("Here is what he wrote:\n> the quote\n") == "Here is what he wrote:");
  CHECK(trim_quoted_reply("I will be there on Monday.\nBob wrote:\n> x\n") == "I will be there on Monday.\nBob wrote:");
}

TEST_CASE("trim_quoted_reply keeps inline replies") {
  CHECK(trim_quoted_reply("> a?\nyes\n> b?\nno\n") == "> a?\nyes\n> b?\nno");
  CHECK(trim_quoted_reply("> a?\nyes\n\n> b?\nno\n\n> c\n") == "> a?\nyes\n\n> b?\nno");
}

TEST_CASE("trim_quoted_reply trims signatures and client separators") {
  CHECK(trim_quoted_reply("text\n-- \nsig\n") == "text");
  CHECK(trim_quoted_reply("text\r\n-- \r\nsig\r\n\r\nOn x, y <y@z> wrote:\r\n> q\r\n") == "text");
  CHECK(trim_quoted_reply("text\n\n-----Original Message-----\nFrom: a\nSent: b\n\nold") == "text");
  CHECK(trim_quoted_reply("text\n\n________________________________\nFrom: a\nold") == "text");
  CHECK(trim_quoted_reply("a -- b\n") == "a -- b");
}

TEST_CASE("trim_quoted_reply returns text unchanged when nothing would remain") {
  CHECK(trim_quoted_reply("> only a quote\n") == "> only a quote\n");
  CHECK(trim_quoted_reply("-- \nonly a signature") == "-- \nonly a signature");
  CHECK(trim_quoted_reply("") == "");
  CHECK(trim_quoted_reply("\n\n") == "\n\n");
  CHECK(trim_quoted_reply("plain") == "plain");
}

TEST_CASE("sanitize_utf8 replaces invalid sequences") {
  CHECK(sanitize_utf8("plain ü €") == "plain ü €");
  CHECK(sanitize_utf8("a\xff"
                      "b") == "a\xEF\xBF\xBD"
                              "b");
  CHECK(sanitize_utf8("\xc0\xaf") == "\xEF\xBF\xBD\xEF\xBF\xBD");                                 // overlong
  CHECK(sanitize_utf8("\xed\xa0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");                 // surrogate
  CHECK(sanitize_utf8("\xe2\x82") == "\xEF\xBF\xBD");                                             // truncated
  CHECK(sanitize_utf8("\xf4\x90\x80\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // > U+10FFFF
  CHECK(sanitize_utf8("\xf0\x9f\x98"
                      "a") == "\xEF\xBF\xBD"
                              "a"); // one maximal subpart
}

TEST_CASE("unflow_text joins soft line breaks") {
  CHECK(unflow_text("one \ntwo\nthree\n", false) == "one two\nthree\n");
  CHECK(unflow_text("one \ntwo", true) == "onetwo");
  CHECK(unflow_text("> quoted \n> more\nnew\n", false) == "> quoted more\nnew\n");
  CHECK(unflow_text("soft \n> other depth\n", false) == "soft \n> other depth\n");
  CHECK(unflow_text("text\n-- \nsig\n", false) == "text\n-- \nsig\n");
}
