#include "gateways/sms/encoding.hpp"

#include "gateways/sms/udh.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace parley::gateways::sms;

namespace {

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

std::string bytes(std::initializer_list<unsigned> octets) {
  std::string out;
  for (const unsigned o : octets) {
    out.push_back(static_cast<char>(o));
  }
  return out;
}

constexpr std::string_view euro = "\xE2\x82\xAC";         // €, GSM extension 0x65
constexpr std::string_view zhe = "\xD0\xB6";              // ж, UCS-2 only, one unit
constexpr std::string_view grinning = "\xF0\x9F\x98\x80"; // 😀 U+1F600, a surrogate pair

} // namespace

TEST_CASE("fits_gsm7 knows the default alphabet and its extension table") {
  CHECK(fits_gsm7(""));
  CHECK(fits_gsm7("Hello, world! 123 @ $ _ \r\n"));
  CHECK(fits_gsm7("\xC2\xA3\xC2\xA5\xC3\xA8\xC3\xA9\xC3\xB9\xC3\xAC\xC3\xB2\xC3\x87")); // £¥èéùìòÇ
  CHECK(fits_gsm7("\xCE\x94\xCE\xA6\xCE\x93\xCE\x9B\xCE\xA9\xCE\xA0\xCE\xA8\xCE\xA3\xCE\x98\xCE\x9E")); // ΔΦΓΛΩΠΨΣΘΞ
  CHECK(fits_gsm7("\xC3\x84\xC3\x96\xC3\x91\xC3\x9C\xC2\xA7\xC2\xBF\xC3\xA4\xC3\xB6\xC3\xB1\xC3\xBC\xC3\xA0"));
  CHECK(fits_gsm7("^{}\\[~]|\f"));
  CHECK(fits_gsm7(euro));
  for (const std::string_view outside : {std::string_view("`"), std::string_view("\t"), std::string_view("\xC3\xA7"),
                                         zhe, grinning, std::string_view("\xE4\xB8\xAD"), std::string_view("\x1B")}) {
    CAPTURE(outside);
    CHECK_FALSE(fits_gsm7(outside));
  }
  CHECK_FALSE(fits_gsm7("abc\xC3"));
}

TEST_CASE("choose_alphabet picks GSM-7 when it can and refuses invalid UTF-8") {
  CHECK(choose_alphabet("plain").value() == Alphabet::gsm7);
  CHECK(choose_alphabet("price: 5\xE2\x82\xAC").value() == Alphabet::gsm7);
  CHECK(choose_alphabet(std::string("smile ") + std::string(grinning)).value() == Alphabet::ucs2);
  for (const std::string_view bad :
       {"\x80", "abc\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF", "ok\xE2\x82"}) {
    CAPTURE(bad);
    CHECK(choose_alphabet(bad).error() == sms_errc::invalid_utf8);
    CHECK(encode_gsm7(bad).error() == sms_errc::invalid_utf8);
    CHECK(encode_ucs2(bad).error() == sms_errc::invalid_utf8);
    CHECK(segment(bad).error() == sms_errc::invalid_utf8);
  }
  // A non-GSM character followed by invalid UTF-8 is still invalid UTF-8.
  CHECK(choose_alphabet(std::string(zhe) + "\xFF").error() == sms_errc::invalid_utf8);
}

TEST_CASE("encode_gsm7 gives one septet per octet, two for the extension table") {
  CHECK(encode_gsm7("@").value() == bytes({0x00}));
  CHECK(encode_gsm7("A{").value() == bytes({0x41, 0x1B, 0x28}));
  CHECK(encode_gsm7(euro).value() == bytes({0x1B, 0x65}));
  CHECK(encode_gsm7("\f^|").value() == bytes({0x1B, 0x0A, 0x1B, 0x14, 0x1B, 0x40}));
  CHECK(encode_gsm7("\xCE\x94\xCE\xA9$_").value() == bytes({0x10, 0x15, 0x02, 0x11}));
  CHECK(encode_gsm7("\xC3\xA0\xC2\xBF").value() == bytes({0x7F, 0x60}));
  CHECK(encode_gsm7("caf\xC3\xA7").error() == sms_errc::not_gsm7);
}

TEST_CASE("encode_ucs2 writes UTF-16BE with surrogate pairs beyond the BMP") {
  CHECK(encode_ucs2("A").value() == bytes({0x00, 0x41}));
  CHECK(encode_ucs2(std::string("A") + std::string(euro) + std::string(grinning)).value() ==
        bytes({0x00, 0x41, 0x20, 0xAC, 0xD8, 0x3D, 0xDE, 0x00}));
  CHECK(encode_ucs2("\xF4\x8F\xBF\xBF").value() == bytes({0xDB, 0xFF, 0xDF, 0xFF})); // U+10FFFF
  CHECK(encode_ucs2("").value().empty());
}

TEST_CASE("decode_gsm7 reverses every character of both tables") {
  std::string all;
  for (unsigned septet = 0; septet < 0x80; ++septet) {
    if (septet != gsm7_escape) {
      all.push_back(static_cast<char>(septet));
    }
  }
  for (const unsigned code : {0x0Au, 0x14u, 0x28u, 0x29u, 0x2Fu, 0x3Cu, 0x3Du, 0x3Eu, 0x40u, 0x65u}) {
    all.push_back(static_cast<char>(gsm7_escape));
    all.push_back(static_cast<char>(code));
  }
  const auto text = decode_gsm7(all);
  REQUIRE(text.has_value());
  CHECK(fits_gsm7(*text));
  CHECK(encode_gsm7(*text).value() == all);
  CHECK(decode_gsm7(bytes({0x00, 0x01, 0x10, 0x1B, 0x65})).value() == "@\xC2\xA3\xCE\x94\xE2\x82\xAC");
}

TEST_CASE("decode_gsm7: unknown escapes, double escape, lone escape, octets above 0x7F") {
  // 23.038 §6.2.1.1: a code missing from the extension table shows as the default character.
  CHECK(decode_gsm7(bytes({0x1B, 0x41})).value() == "A");
  CHECK(decode_gsm7(bytes({0x61, 0x1B, 0x1B, 0x62})).value() == "a b");
  CHECK(decode_gsm7(bytes({0x61, 0x1B})).value() == "a");
  CHECK(decode_gsm7(bytes({0x61, 0x80})).error() == sms_errc::invalid_septet);
  CHECK(decode_gsm7(bytes({0x1B, 0xE5})).error() == sms_errc::invalid_septet);
}

TEST_CASE("decode_ucs2: pairs, lone surrogates, odd lengths") {
  CHECK(decode_ucs2(bytes({0x00, 0x41, 0x04, 0x36, 0xD8, 0x3D, 0xDE, 0x00})).value() ==
        std::string("A") + std::string(zhe) + std::string(grinning));
  const std::string replacement = "\xEF\xBF\xBD"; // U+FFFD
  CHECK(decode_ucs2(bytes({0xD8, 0x3D, 0x00, 0x41})).value() == replacement + "A");
  CHECK(decode_ucs2(bytes({0xDE, 0x00})).value() == "\xEF\xBF\xBD");
  CHECK(decode_ucs2(bytes({0x00, 0x41, 0xD8, 0x3D})).value() == "A\xEF\xBF\xBD");
  CHECK(decode_ucs2(bytes({0x00, 0x41, 0x00})).error() == sms_errc::odd_ucs2_length);
  CHECK(decode_ucs2("").value().empty());
}

TEST_CASE("decode_text follows data_coding") {
  CHECK(decode_text(dcs::smsc_default, bytes({0x48, 0x69, 0x1B, 0x65})).value() == "Hi\xE2\x82\xAC");
  CHECK(decode_text(0xF1, bytes({0x48, 0x69})).value() == "Hi");
  CHECK(decode_text(dcs::ia5, "Hi!").value() == "Hi!");
  CHECK(decode_text(dcs::ia5, "caf\xE9").error() == sms_errc::non_ascii);
  CHECK(decode_text(dcs::latin1, "caf\xE9 \xA3").value() == "caf\xC3\xA9 \xC2\xA3");
  CHECK(decode_text(dcs::ucs2, bytes({0x04, 0x36})).value() == zhe);
  CHECK(decode_text(0x04, "binary").error() == sms_errc::unsupported_data_coding);
  CHECK(decode_text(0xF5, "binary").error() == sms_errc::unsupported_data_coding);
  CHECK(decode_latin1(std::string(1, '\0')) == std::string(1, '\0'));
}

TEST_CASE("pack_septets packs least significant bit first, with fill bits after a UDH") {
  // The classic example of 23.038 §6.1.2.1.1 implementations: "hellohello" in nine octets.
  const std::string septets = encode_gsm7("hellohello").value();
  CHECK(pack_septets(septets) == bytes({0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37}));
  CHECK(pack_septets(septets, 1) == bytes({0xD0, 0x65, 0x36, 0xFB, 0x8D, 0x2E, 0xB3, 0xD9, 0x6F}));
  CHECK(unpack_septets(pack_septets(septets), septets.size()) == septets);
  CHECK(pack_septets(repeat("a", 8)).size() == 7);
  CHECK(pack_septets("").empty());
  CHECK(udh_fill_bits(6) == 1);
  CHECK(udh_septets(6) == 7);
  for (unsigned fill = 0; fill < 7; ++fill) {
    for (std::size_t n = 0; n < 20; ++n) {
      std::string s;
      for (std::size_t i = 0; i < n; ++i) {
        s.push_back(static_cast<char>((i * 37 + fill) & 0x7F));
      }
      CAPTURE(fill);
      CAPTURE(n);
      CHECK(unpack_septets(pack_septets(s, fill), n, fill) == s);
    }
  }
  // Asking for more septets than the octets hold stops at the end.
  CHECK(unpack_septets(bytes({0xE8, 0x32}), 10).size() == 2);
}

TEST_CASE("segment: an empty text is one empty GSM-7 part") {
  const auto testling = segment("");
  REQUIRE(testling.has_value());
  CHECK(testling->alphabet == Alphabet::gsm7);
  CHECK(testling->data_coding == dcs::smsc_default);
  REQUIRE(testling->parts.size() == 1);
  CHECK(testling->parts[0] == MessagePart{});
}

TEST_CASE("segment: 160 septets are one message, 161 are two parts of 153 and 8") {
  auto single = segment(repeat("a", 160));
  REQUIRE(single.has_value());
  REQUIRE(single->parts.size() == 1);
  CHECK(single->parts[0].udh.empty());
  CHECK(single->parts[0].payload.size() == 160);
  CHECK(single->units == 160);

  auto two = segment(repeat("a", 161), {.reference = 0x2A});
  REQUIRE(two.has_value());
  REQUIRE(two->parts.size() == 2);
  CHECK(two->units == 161);
  CHECK(two->parts[0].udh == bytes({0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}));
  CHECK(two->parts[1].udh == bytes({0x05, 0x00, 0x03, 0x2A, 0x02, 0x02}));
  CHECK(two->parts[0].payload.size() == gsm7_part_septets);
  CHECK(two->parts[1].payload.size() == 8);
}

TEST_CASE("segment: an extension character counts two septets") {
  CHECK(segment(repeat("a", 158) + std::string(euro)).value().parts.size() == 1); // 160
  CHECK(segment(repeat("a", 159) + std::string(euro)).value().parts.size() == 2); // 161
  CHECK(segment(repeat("{", 80)).value().parts.size() == 1);
  CHECK(segment(repeat("{", 81)).value().parts.size() == 2);
}

TEST_CASE("segment: an escape pair never straddles the 153-septet boundary") {
  // 152 + 2 would be 154: the pair moves whole to part 2.
  const auto moved = segment(repeat("a", 152) + std::string(euro) + repeat("b", 10));
  REQUIRE(moved.has_value());
  REQUIRE(moved->parts.size() == 2);
  CHECK(moved->parts[0].payload == repeat("a", 152));
  CHECK(moved->parts[1].payload == bytes({0x1B, 0x65}) + repeat("b", 10));

  // 151 + 2 is exactly 153: the pair ends part 1.
  const auto exact = segment(repeat("a", 151) + std::string(euro) + repeat("b", 10));
  REQUIRE(exact.has_value());
  REQUIRE(exact->parts.size() == 2);
  CHECK(exact->parts[0].payload.size() == 153);
  CHECK(exact->parts[0].payload.substr(151) == bytes({0x1B, 0x65}));
  CHECK(exact->parts[1].payload == repeat("b", 10));

  // Only escapes: every part holds a whole number of pairs.
  const auto braces = segment(repeat("]", 200));
  REQUIRE(braces.has_value());
  for (const auto& part : braces->parts) {
    CHECK(part.payload.size() % 2 == 0);
    CHECK(part.payload.size() <= 152);
    CHECK(decode_gsm7(part.payload).has_value());
  }
}

TEST_CASE("segment: 70 UCS-2 units are one message, 71 are two parts of 67 and 4") {
  const auto single = segment(repeat(zhe, 70));
  REQUIRE(single.has_value());
  CHECK(single->alphabet == Alphabet::ucs2);
  CHECK(single->data_coding == dcs::ucs2);
  REQUIRE(single->parts.size() == 1);
  CHECK(single->parts[0].payload.size() == 140);

  const auto two = segment(repeat(zhe, 71), {.reference = 7});
  REQUIRE(two.has_value());
  REQUIRE(two->parts.size() == 2);
  CHECK(two->parts[0].payload.size() == 2 * ucs2_part_units);
  CHECK(two->parts[1].payload.size() == 8);
  CHECK(two->parts[1].udh == bytes({0x05, 0x00, 0x03, 0x07, 0x02, 0x02}));

  // An emoji is two units: 68 + 2 = 70 fits one message, 69 + 2 = 71 does not.
  CHECK(segment(repeat(zhe, 68) + std::string(grinning)).value().parts.size() == 1);
  CHECK(segment(repeat(zhe, 69) + std::string(grinning)).value().parts.size() == 2);
}

TEST_CASE("segment: a surrogate pair never straddles the 67-unit boundary") {
  const auto moved = segment(repeat(zhe, 66) + std::string(grinning) + repeat(zhe, 10));
  REQUIRE(moved.has_value());
  REQUIRE(moved->parts.size() == 2);
  CHECK(moved->parts[0].payload.size() == 132);
  CHECK(moved->parts[1].payload.substr(0, 4) == bytes({0xD8, 0x3D, 0xDE, 0x00}));

  const auto exact = segment(repeat(zhe, 65) + std::string(grinning) + repeat(zhe, 10));
  REQUIRE(exact.has_value());
  REQUIRE(exact->parts.size() == 2);
  CHECK(exact->parts[0].payload.size() == 134);
  CHECK(exact->parts[0].payload.substr(130) == bytes({0xD8, 0x3D, 0xDE, 0x00}));

  const auto emoji = segment(repeat(grinning, 100));
  REQUIRE(emoji.has_value());
  CHECK(emoji->units == 200);
  for (const auto& part : emoji->parts) {
    CHECK(part.payload.size() == (&part == &emoji->parts.back() ? 200 * 2 - 132 * 3 : 132));
    CHECK(decode_ucs2(part.payload).value().find("\xEF\xBF\xBD") == std::string::npos);
  }
}

TEST_CASE("segment: one non-GSM character turns the whole text to UCS-2") {
  const auto testling = segment(repeat("a", 100) + std::string(zhe));
  REQUIRE(testling.has_value());
  CHECK(testling->alphabet == Alphabet::ucs2);
  CHECK(testling->units == 101);
  CHECK(testling->parts.size() == 2);
}

TEST_CASE("segment: forced alphabets") {
  const auto ucs2 = segment("abc", {.alphabet = Alphabet::ucs2});
  REQUIRE(ucs2.has_value());
  CHECK(ucs2->data_coding == dcs::ucs2);
  CHECK(ucs2->parts[0].payload == bytes({0x00, 0x61, 0x00, 0x62, 0x00, 0x63}));
  CHECK(segment(zhe, {.alphabet = Alphabet::gsm7}).error() == sms_errc::not_gsm7);
}

TEST_CASE("segment: the part limit") {
  CHECK(segment(repeat("a", 153 * 3), {.max_parts = 3}).value().parts.size() == 3);
  CHECK(segment(repeat("a", 153 * 3 + 1), {.max_parts = 3}).error() == sms_errc::too_many_parts);
  CHECK(segment(repeat("a", 161), {.max_parts = 1}).error() == sms_errc::too_many_parts);
  CHECK(segment(repeat("a", 160), {.max_parts = 1}).value().parts.size() == 1);

  const auto most = segment(repeat("a", 153 * 255));
  REQUIRE(most.has_value());
  CHECK(most->parts.size() == 255);
  CHECK(most->parts.back().udh == bytes({0x05, 0x00, 0x03, 0x00, 0xFF, 0xFF}));
  CHECK(segment(repeat("a", 153 * 255 + 1)).error() == sms_errc::too_many_parts);
  CHECK(segment(repeat("a", 153 * 255 + 1), {.max_parts = 1000}).error() == sms_errc::too_many_parts);
}
