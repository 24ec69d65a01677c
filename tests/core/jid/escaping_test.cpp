#include "core/jid/escaping.hpp"

#include "core/jid/jid.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

using parley::core::jid::escape_localpart;
using parley::core::jid::Jid;
using parley::core::jid::unescape_localpart;

namespace {

struct Example {
  std::string_view user_input; // what a human types, or a foreign address
  std::string_view escaped;    // the JID on the wire
};

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

/// Splits an address at its last '@', which separates the domain in every XEP-0106 example.
std::pair<std::string_view, std::string_view> split_address(std::string_view address) {
  const std::size_t at = address.rfind('@');
  REQUIRE(at != std::string_view::npos);
  return {address.substr(0, at), address.substr(at + 1)};
}

/// Escapes the localpart of `example.user_input`, checks it against `example.escaped`, and
/// checks that the escaped JID is a valid JID that unescapes back to the input.
void check_example(const Example& example) {
  CAPTURE(example.user_input);
  const auto [input_local, input_domain] = split_address(example.user_input);
  const auto [escaped_local, escaped_domain] = split_address(example.escaped);
  CHECK(input_domain == escaped_domain);
  const std::string testling = escape_localpart(input_local);
  CHECK(testling == escaped_local);
  CHECK(unescape_localpart(testling) == input_local);
  const auto jid = Jid::parse(example.escaped);
  REQUIRE(jid.has_value());
  // Nodeprep folds case and leaves everything else in these examples alone.
  CHECK(jid->local() == ascii_lower(escaped_local));
  CHECK(unescape_localpart(jid->local()) == ascii_lower(input_local));
}

} // namespace

TEST_CASE("XEP-0106 §5.1: the JID examples table") {
  const Example examples[] = {
      {"space cadet@example.com", R"(space\20cadet@example.com)"},
      {"call me \"ishmael\"@example.com", R"(call\20me\20\22ishmael\22@example.com)"},
      {"at&t guy@example.com", R"(at\26t\20guy@example.com)"},
      {"d'artagnan@example.com", R"(d\27artagnan@example.com)"},
      {"/.fanboy@example.com", R"(\2f.fanboy@example.com)"},
      {"::foo::@example.com", R"(\3a\3afoo\3a\3a@example.com)"},
      {"<foo>@example.com", R"(\3cfoo\3e@example.com)"},
      {"user@host@example.com", R"(user\40host@example.com)"},
      {R"(c:\net@example.com)", R"(c\3a\net@example.com)"},
      {R"(c:\\net@example.com)", R"(c\3a\\net@example.com)"},
      {R"(c:\cool stuff@example.com)", R"(c\3a\cool\20stuff@example.com)"},
      {R"(c:\5commas@example.com)", R"(c\3a\5c5commas@example.com)"},
  };
  for (const Example& example : examples) {
    check_example(example);
  }
}

TEST_CASE("XEP-0106 §5.2-5.5: email and SIP and IM and IMPS addresses") {
  // Email, mailto:, sip:, im: and pres: all decode to this mailbox (§5.2-5.4).
  check_example(
      {"here's_a_wild_&_/cr%zy/_address@example.com", R"(here\27s_a_wild_\26_\2fcr%zy\2f_address@example.com)"});
  // wv: (§5.5).
  check_example({"here's_a_wild_&_/cr%zy/_address_for:<wv>(\"IMPS\")@example.com",
                 R"(here\27s_a_wild_\26_\2fcr%zy\2f_address_for\3a\3cwv\3e(\22IMPS\22)@)"
                 "example.com"});
}

TEST_CASE("XEP-0106 §4.2 and §5.5: backslashes that look like escapes are escaped") {
  CHECK(escape_localpart(R"(\3and\2is\5cool)") == R"(\5c3and\2is\5c5cool)");
  CHECK(unescape_localpart(R"(\5c3and\2is\5c5cool)") == R"(\3and\2is\5cool)");
}

TEST_CASE("XEP-0106 §5.6: LDAP distinguished name") {
  // The UTF-8 form with the backslash before ',' removed, as §5.6 says; "\E9" is no escape.
  const std::string_view dn = R"(CN=D'Artagnan Saint-Andr\E9,O=Example & Company, Inc.,DC=example,)"
                              "DC=com";
  const std::string_view escaped = R"(CN=D\27Artagnan\20Saint-Andr\E9,O=Example\20\26\20Company,)"
                                   R"(\20Inc.,DC=example,DC=com)";
  CHECK(escape_localpart(dn) == escaped);
  CHECK(unescape_localpart(escaped) == dn);
  const auto jid = Jid::make(escape_localpart(dn), "st.example.com");
  REQUIRE(jid.has_value());
  // Nodeprep folds case, so the JID's localpart is the lowercase form.
  CHECK(unescape_localpart(jid->local()) ==
        R"(cn=d'artagnan saint-andr\e9,o=example & company, inc.,dc=example,dc=com)");
}

TEST_CASE("XEP-0106 §5.7: IRC address") {
  check_example(
      {R"(somenick!user"&'/:<>\3address@example.com)", R"(somenick!user\22\26\27\2f\3a\3c\3e\5c3address@example.com)"});
}

TEST_CASE("XEP-0106 §3.3: unescaping for a gateway") {
  const auto jid = Jid::parse("tr\u00E9ville\\40musketeers.lit@smtp.gascon.fr");
  REQUIRE(jid.has_value());
  CHECK(unescape_localpart(jid->local()) == "tr\u00E9ville@musketeers.lit");
  CHECK(unescape_localpart(R"(d\27artagnan)") == "d'artagnan");
}

TEST_CASE("XEP-0106 §4.3: partial and unknown escape sequences are left alone") {
  for (const std::string_view text : {R"(\2plus\2is\4)", R"(foo\bar)", R"(foob\41r)", R"(\)", R"(a\)", R"(a\2)",
                                      R"(\g0)", R"(\5)", R"(\5C)", R"(\3A)"}) {
    CAPTURE(text);
    CHECK(unescape_localpart(text) == text);
  }
  for (const std::string_view text :
       {R"(\2plus\2is\4)", R"(foo\bar)", R"(foob\41r)", R"(\)", R"(a\)", R"(a\2)", R"(\g0)", R"(\5)"}) {
    CAPTURE(text);
    CHECK(escape_localpart(text) == text);
  }
}

TEST_CASE("unescaping is case-sensitive and escaping guards against Nodeprep case folding") {
  // "\3A" is not an escape sequence (XEP-0106 §3.1: CASE IS SIGNIFICANT)...
  CHECK(unescape_localpart(R"(c\3Anet)") == R"(c\3Anet)");
  // ...but Nodeprep would fold it into "\3a", which is one, so escaping guards it.
  CHECK(escape_localpart(R"(c\3Anet)") == R"(c\5c3Anet)");
  const auto jid = Jid::make(escape_localpart(R"(c\3Anet)"), "example.com");
  REQUIRE(jid.has_value());
  CHECK(unescape_localpart(jid->local()) == R"(c\3anet)");
}

TEST_CASE("XEP-0106 §4.1 rule 6: an escaped space never starts or ends an escaped localpart") {
  CHECK(escape_localpart(" bob ") == "bob");
  CHECK(escape_localpart("   space   cadet ") == R"(space\20\20\20cadet)");
  CHECK(escape_localpart("   ").empty());
  CHECK(escape_localpart("").empty());
  CHECK(unescape_localpart("").empty());
}

TEST_CASE("a gateway maps an email address to a JID and back") {
  const std::string local = escape_localpart("bob@example.org");
  CHECK(local == R"(bob\40example.org)");
  const auto jid = Jid::make(local, "smtp.example.com");
  REQUIRE(jid.has_value());
  CHECK(jid->full() == R"(bob\40example.org@smtp.example.com)");
  CHECK(unescape_localpart(jid->local()) == "bob@example.org");
  // Every character an email local part may hold survives the trip.
  const std::string_view atext = "a!#$%&'*+-/=?^_`{|}~.z";
  const auto other = Jid::make(escape_localpart(atext), "smtp.example.com");
  REQUIRE(other.has_value());
  CHECK(unescape_localpart(other->local()) == atext);
}

TEST_CASE("round trip: unescape(escape(s)) is s without surrounding spaces") {
  const std::string_view alphabet[] = {" ", "\"", "&", "'", "/", ":", "<", ">", "@", R"(\)",   "2",
                                       "0", "5",  "c", "C", "3", "a", "A", "f", "x", "\u00E9", "\xFF"};
  std::uint64_t state = 0x2545F4914F6CDD1DULL;
  const auto next = [&state] {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x9E3779B97F4A7C15ULL;
  };
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const std::size_t length = next() % 10;
    for (std::size_t i = 0; i < length; ++i) {
      text += alphabet[next() % std::size(alphabet)];
    }
    const std::string escaped = escape_localpart(text);
    const std::size_t first = text.find_first_not_of(' ');
    const std::string trimmed =
        first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(' ') - first + 1);
    CAPTURE(text);
    REQUIRE(unescape_localpart(escaped) == trimmed);
    REQUIRE(escaped.find_first_of(" \"&'/:<>@") == std::string::npos);
  }
}
