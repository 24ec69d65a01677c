#include "core/jid/jid.hpp"

#include "core/jid/detail/prep.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

using parley::core::jid::Jid;
using parley::core::jid::jid_errc;
namespace detail = parley::core::jid::detail;

namespace {

struct Parts {
  std::string_view local;
  std::string_view domain;
  std::string_view resource;
};

/// Parses `text`, which must be valid, and checks its prepared parts.
void check_parts(std::string_view text, Parts expected) {
  CAPTURE(text);
  const auto testling = Jid::parse(text);
  REQUIRE(testling.has_value());
  CHECK(testling->local() == expected.local);
  CHECK(testling->domain() == expected.domain);
  CHECK(testling->resource() == expected.resource);
}

/// Parses `text`, which must be rejected with `expected`.
void check_error(std::string_view text, jid_errc expected) {
  CAPTURE(text);
  const auto testling = Jid::parse(text);
  REQUIRE_FALSE(testling.has_value());
  CHECK(testling.error() == expected);
}

std::string repeat(std::string_view unit, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out += unit;
  }
  return out;
}

/// `count` labels of `size` letters joined with dots.
std::string labels(std::size_t count, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) {
      out.push_back('.');
    }
    out += std::string(size, 'a');
  }
  return out;
}

/// The same input through the fast path and through libidn alone must give the same answer.
void check_paths_agree(std::string_view text) {
  CAPTURE(text);
  const auto fast = detail::parse_jid(text, detail::PrepMode::fast);
  const auto slow = detail::parse_jid(text, detail::PrepMode::libidn_only);
  REQUIRE(fast.has_value() == slow.has_value());
  if (fast.has_value()) {
    CHECK(fast->full() == slow->full());
    CHECK(fast->local() == slow->local());
    CHECK(fast->domain() == slow->domain());
    CHECK(fast->resource() == slow->resource());
  } else {
    CHECK(fast.error() == slow.error());
  }
}

} // namespace

TEST_CASE("RFC 7622 §3.5.1: valid JIDs") {
  check_parts("juliet@example.com", {"juliet", "example.com", ""});
  check_parts("juliet@example.com/foo", {"juliet", "example.com", "foo"});
  check_parts("juliet@example.com/foo bar", {"juliet", "example.com", "foo bar"});
  check_parts("juliet@example.com/foo@bar", {"juliet", "example.com", "foo@bar"});
  check_parts("foo\\20bar@example.com", {"foo\\20bar", "example.com", ""});
  check_parts("fussball@example.com", {"fussball", "example.com", ""});
  // Nodeprep maps ß to "ss" (RFC 3454 B.2); the PRECIS profiles of RFC 7622 would keep it.
  check_parts("fu\u00DFball@example.com", {"fussball", "example.com", ""});
  check_parts("\u03C0@example.com", {"\u03C0", "example.com", ""});
  check_parts("\u03A3@example.com/foo", {"\u03C3", "example.com", "foo"});
  check_parts("\u03C3@example.com/foo", {"\u03C3", "example.com", "foo"});
  // Nodeprep folds final sigma to σ as well; PRECIS would keep ς.
  check_parts("\u03C2@example.com/foo", {"\u03C3", "example.com", "foo"});
  check_parts("king@example.com/\u265A", {"king", "example.com", "\u265A"});
  check_parts("example.com", {"", "example.com", ""});
  check_parts("example.com/foobar", {"", "example.com", "foobar"});
  check_parts("a.example.com/b@example.net", {"", "a.example.com", "b@example.net"});
}

TEST_CASE("RFC 7622 §3.5.2: invalid JIDs") {
  check_error("\"juliet\"@example.com", jid_errc::invalid_localpart);
  check_error("foo bar@example.com", jid_errc::invalid_localpart);
  check_error("@example.com/", jid_errc::empty_localpart);
  check_error("juliet@", jid_errc::empty_domainpart);
  check_error("/foobar", jid_errc::empty_domainpart);
}

TEST_CASE("RFC 7622 §3.5.2 examples that the stringprep profiles accept") {
  // These three are invalid under RFC 7622's PRECIS profiles but valid under the RFC 6122
  // stringprep profiles that Parley uses (as Prosody and ejabberd do): Resourceprep allows
  // ASCII space anywhere, Nodeprep maps compatibility characters through NFKC instead of
  // rejecting them, and allows symbols.
  check_parts("juliet@example.com/ foo", {"juliet", "example.com", " foo"});
  check_parts("henry\u2163@example.com", {"henryiv", "example.com", ""});
  check_parts("\u265A@example.com", {"\u265A", "example.com", ""});
}

TEST_CASE("structure: splitting at the first '/' and the first '@' before it") {
  check_parts("server/resource@foo", {"", "server", "resource@foo"});
  check_parts("server/resource@foo/bar", {"", "server", "resource@foo/bar"});
  check_parts("a@b/c/d@e", {"a", "b", "c/d@e"});
  check_error("", jid_errc::empty);
  check_error("@", jid_errc::empty_localpart);
  check_error("/", jid_errc::empty_domainpart);
  check_error("@/", jid_errc::empty_localpart);
  check_error("a@/r", jid_errc::empty_domainpart);
  check_error("example.com/", jid_errc::empty_resourcepart);
  // The domainpart may not contain '@': "user@host@example.com" is not an escaped JID.
  check_error("user@host@example.com", jid_errc::invalid_domainpart);
}

TEST_CASE("case folding: localpart and domainpart fold but resourcepart keeps case") {
  const auto testling = Jid::parse("Juliet@Example.COM/Balcony");
  REQUIRE(testling.has_value());
  CHECK(testling->full() == "juliet@example.com/Balcony");
  CHECK(*testling == *Jid::parse("juliet@example.com/Balcony"));
  CHECK(*testling != *Jid::parse("juliet@example.com/balcony"));
  check_parts("ROMEO@MONTAGUE.LIT/Orchard", {"romeo", "montague.lit", "Orchard"});
  // Fullwidth letters are mapped by NFKC, then folded.
  check_parts("\uFF2A\uFF35\uFF2C\uFF29\uFF25\uFF34@example.com", {"juliet", "example.com", ""});
  check_parts("x@\uFF25\uFF38\uFF21\uFF2D\uFF30\uFF2C\uFF25.com", {"x", "example.com", ""});
}

TEST_CASE("non-ASCII parts go through Nodeprep and Nameprep and Resourceprep") {
  check_parts("\u03C0\u00DF@Example.com", {"\u03C0ss", "example.com", ""});
  check_parts("\u00C9lodie@example.com", {"\u00E9lodie", "example.com", ""});
  // U+00AD SOFT HYPHEN is mapped to nothing (RFC 3454 B.1).
  check_parts("ju\u00ADliet@example.com/ba\u00ADlcony", {"juliet", "example.com", "balcony"});
  check_error("\u00AD@example.com", jid_errc::invalid_localpart);
  check_error("juliet@example.com/\u00AD", jid_errc::invalid_resourcepart);
  // A composed and a decomposed é are the same after NFKC.
  CHECK(*Jid::parse("e\u0301@example.com") == *Jid::parse("\u00E9@example.com"));
  // Resourceprep maps NO-BREAK SPACE to SPACE (NFKC), which it allows.
  check_parts("a@example.com/x\u00A0y", {"a", "example.com", "x y"});
  check_parts("a@example.com/\U0001F37A", {"a", "example.com", "\U0001F37A"});
}

TEST_CASE("prohibited characters in the localpart") {
  for (const char c : std::string_view("\"&':<> ")) {
    const std::string local = std::string("ju") + c + "liet";
    CAPTURE(local);
    check_error(local + "@example.com", jid_errc::invalid_localpart);
    const auto made = Jid::make(local, "example.com");
    REQUIRE_FALSE(made.has_value());
    CHECK(made.error() == jid_errc::invalid_localpart);
  }
  // '/' and '@' cannot reach the localpart through parse(), only through make().
  for (const std::string_view local : {"ju/liet", "ju@liet"}) {
    CAPTURE(local);
    const auto made = Jid::make(local, "example.com");
    REQUIRE_FALSE(made.has_value());
    CHECK(made.error() == jid_errc::invalid_localpart);
  }
  check_error("ju\x01liet@example.com", jid_errc::invalid_localpart);
  check_error("ju\x7Fliet@example.com", jid_errc::invalid_localpart);
  check_error(std::string_view("ju\0liet@example.com", 19), jid_errc::invalid_localpart);
  check_error("ju\u00A0liet@example.com", jid_errc::invalid_localpart); // non-ASCII space
  check_error("ju\u3000liet@example.com", jid_errc::invalid_localpart);
  check_error("ju\uFF20liet@example.com", jid_errc::invalid_localpart); // fullwidth '@'
  check_error("ju\u200Eliet@example.com", jid_errc::invalid_localpart); // LRM, C.8
  check_error("ju\uE000liet@example.com", jid_errc::invalid_localpart); // private use, C.3
  // Characters that other profiles prohibit are fine here.
  check_parts("!#$%*+,-.;=?[]^_`{|}~\\@example.com", {"!#$%*+,-.;=?[]^_`{|}~\\", "example.com", ""});
}

TEST_CASE("prohibited characters in the resourcepart") {
  check_error("a@example.com/x\x01", jid_errc::invalid_resourcepart);
  check_error("a@example.com/x\x7F", jid_errc::invalid_resourcepart);
  check_error(std::string_view("a@example.com/x\0y", 17), jid_errc::invalid_resourcepart);
  check_error("a@example.com/x\u2028y", jid_errc::invalid_resourcepart); // C.2.2
  // IDEOGRAPHIC SPACE becomes SPACE under NFKC, which Resourceprep allows.
  check_parts("a@example.com/x\u3000y", {"a", "example.com", "x y"});
  check_error("a@example.com/x\uE000", jid_errc::invalid_resourcepart);
  check_parts("a@example.com/ \"&'/:<>@ ", {"a", "example.com", " \"&'/:<>@ "});
}

TEST_CASE("bidi rule (RFC 3454 §6) per part and per domain label") {
  check_parts("\u05E2\u05D1@example.com", {"\u05E2\u05D1", "example.com", ""});
  check_error("a\u05E2\u05D1@example.com", jid_errc::invalid_localpart);
  check_error("\u05E2\u05D1a@example.com", jid_errc::invalid_localpart);
  check_error("x@example.com/a\u05E2", jid_errc::invalid_resourcepart);
  // Nameprep runs label by label, so a right-to-left label beside left-to-right ones is fine.
  check_parts("x@\u05E2\u05D1\u05E8\u05D9\u05EA.example", {"x", "\u05E2\u05D1\u05E8\u05D9\u05EA.example", ""});
  check_error("x@a\u05E2\u05D1.example", jid_errc::invalid_domainpart);
}

TEST_CASE("length limits: 1023 bytes per part after preparation") {
  const std::string l1023(1023, 'a');
  const std::string l1024(1024, 'a');
  check_parts(l1023 + "@example.com", {l1023, "example.com", ""});
  check_error(l1024 + "@example.com", jid_errc::too_long);
  check_parts("a@example.com/" + l1023, {"a", "example.com", l1023});
  check_error("a@example.com/" + l1024, jid_errc::too_long);

  // 16 labels of 63 bytes and 15 dots: 1023 bytes.
  const std::string d1023 = labels(16, 63);
  REQUIRE(d1023.size() == 1023);
  check_parts("a@" + d1023, {"a", d1023, ""});
  const std::string d1024 = labels(15, 63) + "." + std::string(62, 'a') + ".a";
  REQUIRE(d1024.size() == 1024);
  check_error("a@" + d1024, jid_errc::too_long);
  // The trailing dot is stripped before the limit applies.
  check_parts("a@" + d1023 + ".", {"a", d1023, ""});

  // Multi-byte characters count in bytes: 511 π and one 'a' are 1023 bytes, 512 π are 1024.
  const std::string pi511 = repeat("\u03C0", 511) + "a";
  check_parts(pi511 + "@example.com", {pi511, "example.com", ""});
  check_error(repeat("\u03C0", 512) + "@example.com", jid_errc::too_long);
  check_error("a@example.com/" + repeat("\u03C0", 512), jid_errc::too_long);

  // The limit applies after preparation: mapping can shrink or grow a part.
  check_parts(l1023 + "\u00AD@example.com", {l1023, "example.com", ""}); // 1025 bytes in
  check_parts("a@example.com/" + l1023 + "\u00AD", {"a", "example.com", l1023});
  check_error(repeat("\u00DF", 512) + "@example.com", jid_errc::too_long); // 1024 bytes out
  const std::string ss = repeat("ss", 511) + "a";
  check_parts(repeat("\u00DF", 511) + "a@example.com", {ss, "example.com", ""});

  // Absurdly long raw parts are refused before preparation.
  check_error(std::string(detail::max_raw_part_size + 1, 'a') + "@example.com", jid_errc::too_long);
  check_error(repeat("\u00AD", 3000) + "a@example.com", jid_errc::too_long);
}

TEST_CASE("domainpart label rules") {
  check_parts("localhost", {"", "localhost", ""});
  check_parts("a@example.com.", {"a", "example.com", ""});
  check_parts("a@xn--p-wga.EXAMPLE", {"a", "\u00F4p.example", ""});
  check_parts("a@my-host.example", {"a", "my-host.example", ""});
  check_parts("a@123.example", {"a", "123.example", ""});
  check_parts("a@" + std::string(63, 'x') + ".com", {"a", std::string(63, 'x') + ".com", ""});
  check_error("a@" + std::string(64, 'x') + ".com", jid_errc::invalid_domainpart);
  for (const std::string_view domain :
       {".", "..", ".example.com", "example..com", "example.com..", "-example.com", "example-.com", "exa_mple.com",
        "exa mple.com", "exa!mple.com", "example.com/", "exa\\mple.com", "exa\u2024mple.com", "[::1", "::1",
        "example.com\u3002\u3002"}) {
    CAPTURE(domain);
    const auto testling = Jid::make("a", domain);
    REQUIRE_FALSE(testling.has_value());
    CHECK(testling.error() == jid_errc::invalid_domainpart);
  }
  check_error("a@exa\x01mple.com", jid_errc::invalid_domainpart);
  check_error(std::string_view("a@exa\0mple.com", 14), jid_errc::invalid_domainpart);
  // Ideographic full stops separate labels (IDNA2003), so these are the same domain.
  check_parts("a@\u4F8B\u3048\uFF0E\u30C6\u30B9\u30C8\u3002", {"a", "\u4F8B\u3048.\u30C6\u30B9\u30C8", ""});
  check_parts("a@example\uFF61com", {"a", "example.com", ""});
}

TEST_CASE("A-labels become U-labels and must be canonical") {
  const auto a_label = Jid::parse("juliet@xn--bcher-kva.example");
  const auto u_label = Jid::parse("juliet@b\u00FCcher.example");
  const auto upper = Jid::parse("juliet@B\u00DCCHER.Example");
  REQUIRE(a_label.has_value());
  REQUIRE(u_label.has_value());
  REQUIRE(upper.has_value());
  CHECK(a_label->domain() == "b\u00FCcher.example");
  CHECK(*a_label == *u_label);
  CHECK(*a_label == *upper);
  check_parts("a@XN--BCHER-KVA.example", {"a", "b\u00FCcher.example", ""});
  // Not Punycode, or only ASCII inside, or not the encoding of a prepared label.
  for (const std::string_view domain :
       {"xn--", "xn--zz", "xn--abc-", "xn--bcher-2pa.example", "xn--ss-kva.example", "xn--\u00FC.example"}) {
    CAPTURE(domain);
    const auto testling = Jid::make("a", domain);
    REQUIRE_FALSE(testling.has_value());
    CHECK(testling.error() == jid_errc::invalid_domainpart);
  }
  // A U-label is limited by the length of its A-label, not its UTF-8 length.
  check_parts("a@" + repeat("\u4F8B", 30) + ".example", {"a", repeat("\u4F8B", 30) + ".example", ""});
  check_error("a@" + repeat("\u4F8B\u3048\u30C6", 20) + ".example", jid_errc::invalid_domainpart);
}

TEST_CASE("IP literals are accepted as domainparts unchanged") {
  check_parts("a@127.0.0.1", {"a", "127.0.0.1", ""});
  check_parts("a@127.0.0.1/r", {"a", "127.0.0.1", "r"});
  check_parts("a@[::1]", {"a", "[::1]", ""});
  check_parts("a@[::1]/r", {"a", "[::1]", "r"});
  check_parts("[2001:db8::1]", {"", "[2001:db8::1]", ""});
  check_parts("a@[1:2:3:4:5:6:7:8]", {"a", "[1:2:3:4:5:6:7:8]", ""});
  check_parts("a@[::ffff:192.0.2.1]", {"a", "[::ffff:192.0.2.1]", ""});
  check_parts("a@[1::]", {"a", "[1::]", ""});
  check_parts("a@[::]", {"a", "[::]", ""});
  // Hex digits fold like every other domainpart letter.
  check_parts("a@[2001:DB8::A]", {"a", "[2001:db8::a]", ""});
  for (const std::string_view domain : {"1.2.3",
                                        "1.2.3.4.5",
                                        "256.1.1.1",
                                        "01.2.3.4",
                                        "1.2.3.04",
                                        "123",
                                        "[]",
                                        "[:]",
                                        "[:::]",
                                        "[1:2:3:4:5:6:7:8:9]",
                                        "[1:2:3:4:5:6:7]",
                                        "[1::2::3]",
                                        "[12345::1]",
                                        "[::1%eth0]",
                                        "[v1.abc]",
                                        "[::g]",
                                        "[1:]",
                                        "[:1]",
                                        "[::1.2.3]",
                                        "[::1.2.3.4:1]",
                                        "[1:2:3:4:5:6:7::8]x",
                                        "[[::1]]"}) {
    CAPTURE(domain);
    const auto testling = Jid::make("a", domain);
    REQUIRE_FALSE(testling.has_value());
    CHECK(testling.error() == jid_errc::invalid_domainpart);
  }
}

TEST_CASE("invalid UTF-8 is rejected in every part") {
  for (const std::string_view bad :
       {"\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xED\xBF\xBF", "\xE2\x82", "\xF0\x8F\xBF\xBF",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFE", "\xFF", "\xC3"}) {
    const std::string bytes(bad);
    CAPTURE(bytes);
    check_error("a" + bytes + "@example.com", jid_errc::invalid_utf8);
    check_error("a@exa" + bytes + "mple.com", jid_errc::invalid_utf8);
    check_error("a@example.com/r" + bytes, jid_errc::invalid_utf8);
  }
  // The code points just below the surrogates and just above the BMP are well-formed.
  check_parts("a@example.com/\xED\x9F\xBF\xF0\x90\x80\x80", {"a", "example.com", "\uD7FF\U00010000"});
}

TEST_CASE("make() prepares parts the same way as parse()") {
  const auto testling = Jid::make("Juliet", "Example.COM", "Balcony");
  REQUIRE(testling.has_value());
  CHECK(testling->full() == "juliet@example.com/Balcony");
  CHECK(*testling == *Jid::parse("Juliet@Example.COM/Balcony"));
  CHECK(Jid::make("", "example.com")->full() == "example.com");
  CHECK(Jid::make("", "example.com", "r@s/t")->full() == "example.com/r@s/t");
  const auto no_domain = Jid::make("juliet", "");
  REQUIRE_FALSE(no_domain.has_value());
  CHECK(no_domain.error() == jid_errc::empty_domainpart);
  const auto bad_domain = Jid::make("juliet", "example.com/balcony");
  REQUIRE_FALSE(bad_domain.has_value());
  CHECK(bad_domain.error() == jid_errc::invalid_domainpart);
}

TEST_CASE("bare and full forms") {
  const auto testling = Jid::parse("juliet@example.com/balcony");
  REQUIRE(testling.has_value());
  CHECK_FALSE(testling->is_bare());
  CHECK(testling->full() == "juliet@example.com/balcony");
  CHECK(testling->bare_string() == "juliet@example.com");
  const Jid bare = testling->bare();
  CHECK(bare.is_bare());
  CHECK(bare.full() == "juliet@example.com");
  CHECK(bare.resource().empty());
  CHECK(bare == *Jid::parse("juliet@example.com"));
  CHECK(bare.bare() == bare);
  CHECK(&bare.bare().full() == &bare.full()); // no copy for a JID that is already bare

  const auto orchard = testling->with_resource("Orchard");
  REQUIRE(orchard.has_value());
  CHECK(orchard->full() == "juliet@example.com/Orchard");
  CHECK(orchard->bare() == bare);
  CHECK(bare.with_resource("balcony").value() == *testling);
  CHECK(bare.with_resource("x@y/z")->resource() == "x@y/z");
  CHECK(bare.with_resource("").error() == jid_errc::empty_resourcepart);
  CHECK(bare.with_resource("a\x01").error() == jid_errc::invalid_resourcepart);
  CHECK(bare.with_resource(std::string(1024, 'r')).error() == jid_errc::too_long);

  const auto domain = Jid::parse("example.com/x");
  REQUIRE(domain.has_value());
  CHECK(domain->local().empty());
  CHECK(domain->bare().full() == "example.com");
  CHECK(domain->bare_string() == "example.com");
  CHECK(Jid::parse("example.com")->is_bare());
}

TEST_CASE("copies share storage") {
  const Jid testling = *Jid::parse("juliet@example.com/balcony");
  const Jid copy = testling; // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(&copy.full() == &testling.full());
  Jid moved = Jid(copy);
  CHECK(&moved.full() == &testling.full());
  CHECK(sizeof(Jid) <= 2 * sizeof(void*));
}

TEST_CASE("hashing: equal JIDs land in one unordered_set slot") {
  std::unordered_set<Jid> testling;
  for (const std::string_view text :
       {"juliet@example.com/balcony", "Juliet@Example.com/balcony", "JULIET@EXAMPLE.COM./balcony",
        "\uFF2Auliet@example.com/balcony", "ju\u00ADliet@example.com/balcony"}) {
    testling.insert(*Jid::parse(text));
  }
  CHECK(testling.size() == 1);
  testling.insert(*Jid::parse("juliet@example.com/Balcony"));
  testling.insert(*Jid::parse("juliet@example.com"));
  testling.insert(*Jid::parse("example.com"));
  testling.insert(*Jid::parse("example.com/juliet"));
  CHECK(testling.size() == 5);
  CHECK(testling.contains(*Jid::parse("JULIET@example.com")));
  CHECK(std::hash<Jid>{}(*Jid::parse("a@b")) == Jid::parse("A@B")->hash());
}

TEST_CASE("ordering: by domainpart then localpart then resourcepart") {
  const std::set<Jid> testling = {*Jid::parse("b@a.example/r"), *Jid::parse("a@b.example"),
                                  *Jid::parse("a.example"),     *Jid::parse("b@a.example"),
                                  *Jid::parse("a@a.example"),   *Jid::parse("b@a.example/q")};
  std::vector<std::string> order;
  for (const Jid& jid : testling) {
    order.push_back(jid.full());
  }
  CHECK(order == std::vector<std::string>{"a.example", "a@a.example", "b@a.example", "b@a.example/q", "b@a.example/r",
                                          "a@b.example"});
  CHECK((*Jid::parse("a@x") <=> *Jid::parse("A@X")) == std::strong_ordering::equal);
}

TEST_CASE("preparation is idempotent: full() parses to the same JID") {
  for (const std::string_view text :
       {"Juliet@Example.COM/Balcony", "fu\u00DFball@example.com", "henry\u2163@example.com", "a@xn--bcher-kva.example",
        "a@\u4F8B\u3048\uFF0E\u30C6\u30B9\u30C8\u3002", "a@[2001:DB8::A]", "e\u0301@example.com/\uFB01",
        "\u1E9B\u0323@example.com"}) {
    CAPTURE(text);
    const auto once = Jid::parse(text);
    REQUIRE(once.has_value());
    const auto twice = Jid::parse(once->full());
    REQUIRE(twice.has_value());
    CHECK(twice->full() == once->full());
    CHECK(*twice == *once);
  }
}

TEST_CASE("fast path and libidn agree on chosen inputs") {
  for (const std::string_view text : {"juliet@example.com/balcony",
                                      "Juliet@Example.COM/Balcony",
                                      "a@b",
                                      "example.com",
                                      "a@example.com.",
                                      "a@EXAMPLE.com..",
                                      "a@-x.com",
                                      "a@x-.com",
                                      "a@x_y.com",
                                      "a@1.2.3.4",
                                      "a@1.2.3.256",
                                      "a@1.2.3",
                                      "a@[::1]",
                                      "a@[::G]",
                                      "a@xn--bcher-kva.example",
                                      "a@XN--bcher-KVA.example",
                                      "a@xn--zz.example",
                                      "a b@c",
                                      "a\"b@c",
                                      "a&b@c",
                                      "a'b@c",
                                      "a:b@c",
                                      "a<b@c",
                                      "a>b@c",
                                      "a\\b@c",
                                      "a@b/ ",
                                      "a@b/  x  ",
                                      "a@b/\x7F",
                                      "a\x7F@b",
                                      "a\x1F@b",
                                      "a@b\x1F",
                                      "!@b",
                                      "~@b",
                                      "a@b/~!@#$%^&*()_+",
                                      "\u00DF@b",
                                      "a@\u00DF.com",
                                      "a@b/\u00DF",
                                      "a@b/\u00AD",
                                      "\u00AD@b",
                                      "a@\u00AD.com"}) {
    check_paths_agree(text);
  }
  check_paths_agree(std::string(1023, 'a') + "@b");
  check_paths_agree(std::string(1024, 'a') + "@b");
  check_paths_agree("a@" + labels(16, 63));
  check_paths_agree("a@" + labels(16, 63) + ".");
  check_paths_agree("a@" + std::string(64, 'b'));
  check_paths_agree("a@b/" + std::string(1024, 'r'));
}

TEST_CASE("fast path and libidn agree on many generated inputs") {
  // Pieces that exercise every branch: the fast path's byte classes, separators, case,
  // characters that libidn maps, folds, prohibits or rejects for bidi, and broken UTF-8.
  const std::vector<std::string_view> any = {
      "a",      "z",          "A",      "Z",      "0",      "9",           "-",      ".",      "@",      "/",
      " ",      "\"",         "&",      "'",      ":",      "<",           ">",      "\\",     "_",      "!",
      "~",      "[",          "]",      "%",      "\x01",   "\x7F",        "\u00DF", "\u03A3", "\u00AD", "\u00A0",
      "\u3002", "\uFF0E",     "\uFF21", "\u2163", "\u05D0", "\u0627",      "\u0301", "\uFB01", "\u200B", "\uFF20",
      "\uFF0F", "\U0001F37A", "\u2024", "\xC3",   "\xFF",   "\xED\xA0\x80"};
  const std::vector<std::string_view> local = {"juliet", "Romeo",  "a.b",  "x_y",  "\u00DF",
                                               "\u03A3", "\u00C9", "\\20", "+1555"};
  const std::vector<std::string_view> domain = {
      "example.com",  "Example.COM", "a",           ".",         "-",     "xn--bcher-kva",    "xn--1xa", "b\u00FCcher",
      "\u00DF",       "\u03A3",      "\u3002",      "127.0.0.1", "[::1]", "[::FFFF:1.2.3.4]", "0",       "1.2.3",
      "\u05E2\u05D1", "x-y",         "\uFF25\uFF38"};
  const std::vector<std::string_view> resource = {"balcony", "Orchard", " ",      "a b",   "x/y",
                                                  "@",       "\u265A",  "\u00DF", "\u2163"};
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  const auto next = [&state] {
    // xorshift64*: deterministic, so a failure reproduces.
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
  };
  // Mostly pieces that fit the part, sometimes anything at all.
  const auto append_part = [&](std::string& text, const std::vector<std::string_view>& fitting) {
    const std::size_t length = 1 + next() % 4;
    for (std::size_t i = 0; i < length; ++i) {
      const auto& pieces = next() % 5 == 0 ? any : fitting;
      text += pieces[next() % pieces.size()];
    }
  };
  std::size_t parsed = 0;
  constexpr int rounds = 20000;
  for (int round = 0; round < rounds; ++round) {
    std::string text;
    if (next() % 4 != 0) {
      append_part(text, local);
      text += '@';
    }
    append_part(text, domain);
    if (next() % 2 == 0) {
      text += '/';
      append_part(text, resource);
    }
    const auto fast = detail::parse_jid(text, detail::PrepMode::fast);
    const auto slow = detail::parse_jid(text, detail::PrepMode::libidn_only);
    parsed += fast.has_value() ? 1 : 0;
    const bool agree = fast.has_value() == slow.has_value() &&
                       (fast.has_value() ? fast->full() == slow->full() : fast.error() == slow.error());
    if (!agree) {
      check_paths_agree(text);
    }
    REQUIRE(agree);
  }
  // The generator must produce a fair share of valid JIDs, or the comparison proves little.
  CHECK(parsed > rounds / 10);
}

TEST_CASE("parse is safe from many threads at once") {
  const std::vector<std::string> inputs = {"Juliet@Example.COM/Balcony",
                                           "fu\u00DFball@example.com",
                                           "a@xn--bcher-kva.example",
                                           "\u05E2\u05D1@\u05E2\u05D1\u05E8\u05D9\u05EA.example/x",
                                           "a@[::1]",
                                           "bad\x01@x",
                                           "a@\u4F8B\u3048\uFF0E\u30C6\u30B9\u30C8",
                                           "henry\u2163@example.com/\u265A"};
  std::vector<std::string> expected;
  for (const std::string& input : inputs) {
    const auto jid = Jid::parse(input);
    expected.push_back(jid ? jid->full() : jid.error().message());
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 500; ++round) {
        for (std::size_t i = 0; i < inputs.size(); ++i) {
          const auto jid = Jid::parse(inputs[i]);
          if ((jid ? jid->full() : jid.error().message()) != expected[i]) {
            ++mismatches[t];
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("errors are boost::system error codes in the parley.jid category") {
  const auto testling = Jid::parse("juliet@");
  REQUIRE_FALSE(testling.has_value());
  const boost::system::error_code ec = testling.error();
  CHECK(ec == jid_errc::empty_domainpart);
  CHECK(ec.category() == parley::core::jid::jid_category());
  CHECK(std::string_view(ec.category().name()) == "parley.jid");
  CHECK(ec.message() == "the JID has no domainpart");
  CHECK(ec != jid_errc::invalid_domainpart);
}
