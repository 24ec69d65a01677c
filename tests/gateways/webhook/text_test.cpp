#include "gateways/webhook/detail/text.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::webhook::detail;

TEST_CASE("is_valid_utf8 follows RFC 3629") {
  for (const std::string_view ok : {"", "plain ASCII", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x8E\x89",
                                    "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"}) {
    CAPTURE(ok);
    CHECK(is_valid_utf8(ok));
  }
  for (const std::string_view bad : {"\x80", "\xC3", "caf\xC3", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF",
                                     "\xED\xA0\x80",     // a UTF-16 surrogate
                                     "\xF4\x90\x80\x80", // past U+10FFFF
                                     "\xF5\x80\x80\x80", "\xFF", "\xE2\x82", "\xE2\x28\xA1", "\xF0\x9F\x8E"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_utf8(bad));
  }
  CHECK(is_valid_utf8(std::string_view("nul\0inside", 10)));
}

TEST_CASE("truncate_utf8 cuts on a character boundary and marks the cut") {
  CHECK(truncate_utf8("short", 10) == "short");
  CHECK(truncate_utf8("exactly10!", 10) == "exactly10!");
  CHECK(truncate_utf8("eleven char", 10) == "eleven \xE2\x80\xA6");
  // "ééééé" is 10 bytes; 8 bytes leave 5 for text, which holds two whole é.
  const std::string cut = truncate_utf8("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 8);
  CHECK(cut == "\xC3\xA9\xC3\xA9\xE2\x80\xA6");
  CHECK(is_valid_utf8(cut));
  CHECK(truncate_utf8("\xF0\x9F\x8E\x89\xF0\x9F\x8E\x89", 6) == "\xE2\x80\xA6");
  CHECK(utf8_prefix("\xC3\xA9x", 1).empty());
  CHECK(utf8_prefix("ab\xC3\xA9", 3) == "ab");
  CHECK(utf8_prefix("abc", 7) == "abc");
}

TEST_CASE("trim, first_line and headline") {
  CHECK(trim("  a b \r\n") == "a b");
  CHECK(trim(" \t\r\n").empty());
  CHECK(first_line("\n\n  Fix the parser\n\nLonger explanation") == "Fix the parser");
  CHECK(first_line("one\r\ntwo") == "one");
  CHECK(headline("Fix the parser", 100) == "Fix the parser");
  CHECK(headline("Fix the parser\n\nbecause", 100) == "Fix the parser\xE2\x80\xA6");
  CHECK(headline("Fix the parser\n\n", 100) == "Fix the parser");
  CHECK(headline("A very long subject line", 10) == "A very \xE2\x80\xA6");
}
