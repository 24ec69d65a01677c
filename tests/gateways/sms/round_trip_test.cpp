// Property tests across the text layer: whatever the text, segmenting it and reassembling the
// parts, in any order and with duplicates, gives it back.

#include "gateways/sms/encoding.hpp"
#include "gateways/sms/reassembly.hpp"
#include "gateways/sms/udh.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace parley::gateways::sms;

namespace {

// Characters of every kind that matters: GSM basic and extension, Latin-1 outside GSM,
// Greek, Cyrillic, CJK, emoji beyond the BMP, combining marks, controls.
// clang-format off
const std::vector<std::string> gsm_pool = {
    "a", "Z", "0", " ", "\n", "\r", "@", "$", "_", "!", "\xC2\xA3", "\xC3\xA9", "\xC3\x87", "\xC3\x9F", "\xCE\x94",
    "\xCE\xA9", "\xC2\xBF", "{", "}", "[", "]", "~", "^", "|", "\\", "\f", "\xE2\x82\xAC",
};
// clang-format on
const std::vector<std::string> other_pool = {
    "\xC3\xA7",         // ç (not in GSM)
    "`",                // backtick
    "\t",               // tab
    "\xD0\xB6",         // ж
    "\xE4\xB8\xAD",     // 中
    "\xF0\x9F\x98\x80", // 😀
    "\xF0\x9F\x91\x8D", // 👍
    "\xF0\x9D\x84\x9E", // 𝄞
    "\xCC\x81",         // combining acute
    "\xEF\xBF\xBD",     // U+FFFD
};

std::string random_text(std::mt19937& rng, bool gsm_only, std::size_t max_chars) {
  std::uniform_int_distribution<std::size_t> length(0, max_chars);
  std::uniform_int_distribution<std::size_t> pick_gsm(0, gsm_pool.size() - 1);
  std::uniform_int_distribution<std::size_t> pick_other(0, other_pool.size() - 1);
  std::bernoulli_distribution other(0.2);
  std::string text;
  const std::size_t n = length(rng);
  for (std::size_t i = 0; i < n; ++i) {
    text += !gsm_only && other(rng) ? other_pool[pick_other(rng)] : gsm_pool[pick_gsm(rng)];
  }
  return text;
}

} // namespace

TEST_CASE("round trip: random texts survive segment, shuffle, duplicate and reassemble") {
  std::mt19937 rng(20240601); // fixed: a failure reproduces
  Reassembler testling;
  const auto now = Reassembler::Clock::time_point{};
  for (int round = 0; round < 600; ++round) {
    const bool gsm_only = round % 2 == 0;
    const std::size_t max_chars = round % 3 == 0 ? 1200 : 200;
    const std::string text = random_text(rng, gsm_only, max_chars);
    const auto reference = static_cast<std::uint8_t>(round);
    CAPTURE(round);
    CAPTURE(text);

    const auto segmented = segment(text, {.reference = reference});
    REQUIRE(segmented.has_value());
    CHECK(segmented->alphabet == (fits_gsm7(text) ? Alphabet::gsm7 : Alphabet::ucs2));
    if (gsm_only) {
      CHECK(segmented->alphabet == Alphabet::gsm7);
    }
    const bool gsm7 = segmented->alphabet == Alphabet::gsm7;
    const std::size_t parts = segmented->parts.size();

    // Every part within its limit, decodable alone, and the decoded parts join to the text.
    std::string joined_text;
    for (const MessagePart& part : segmented->parts) {
      if (parts == 1) {
        CHECK(part.udh.empty());
        CHECK(part.payload.size() <= (gsm7 ? gsm7_single_septets : 2 * ucs2_single_units));
      } else {
        CHECK(part.udh.size() == 6);
        CHECK(part.payload.size() <= (gsm7 ? gsm7_part_septets : 2 * ucs2_part_units));
      }
      const auto decoded = decode_text(segmented->data_coding, part.payload);
      REQUIRE(decoded.has_value());
      joined_text += *decoded;
    }
    CHECK(joined_text == text);
    // Greedy packing: each part but the last is full, in that the first character of the
    // next one would not have fitted.
    if (parts > 1) {
      CHECK(segmented->units > (gsm7 ? gsm7_single_septets : ucs2_single_units));
      for (std::size_t i = 0; i + 1 < parts; ++i) {
        const std::string& payload = segmented->parts[i].payload;
        const std::string& next = segmented->parts[i + 1].payload;
        REQUIRE_FALSE(next.empty());
        const auto lead = static_cast<std::uint8_t>(next[0]);
        if (gsm7) {
          CHECK(payload.size() + (lead == gsm7_escape ? 2 : 1) > gsm7_part_septets);
        } else {
          CHECK(payload.size() / 2 + (lead >= 0xD8 && lead <= 0xDB ? 2 : 1) > ucs2_part_units);
        }
      }
    }

    // The parts as an SMSC would deliver them: shuffled, some twice.
    std::vector<std::string> delivered;
    for (const MessagePart& part : segmented->parts) {
      delivered.push_back(part.udh + part.payload);
      if (rng() % 4 == 0) {
        delivered.push_back(part.udh + part.payload);
      }
    }
    std::shuffle(delivered.begin(), delivered.end(), rng);

    std::optional<std::string> whole;
    for (const std::string& user_data : delivered) {
      if (parts == 1) {
        whole = user_data;
        continue;
      }
      const auto udh = parse_udh(user_data);
      REQUIRE(udh.has_value());
      REQUIRE(udh->concat.has_value());
      CHECK(udh->concat->reference == reference);
      CHECK(udh->concat->total == parts);
      // One sender per round: references repeat every 256 rounds, and a completed set's key
      // is remembered to catch redeliveries.
      const auto outcome = testling.add("+1555" + std::to_string(round), *udh->concat, udh->payload, now);
      REQUIRE(outcome.has_value());
      if (outcome->status == Reassembler::Status::complete) {
        CHECK_FALSE(whole.has_value());
        whole = outcome->payload;
      }
    }
    REQUIRE(whole.has_value());
    CHECK(decode_text(segmented->data_coding, *whole).value() == text);
  }
  // Duplicates that came after completion were recognised, so no set is left waiting.
  CHECK(testling.pending_sets() == 0);
  CHECK(testling.pending_bytes() == 0);
}

TEST_CASE("round trip: GSM-7 through packing and unpacking with the UDH fill bits") {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const std::string text = random_text(rng, true, 400);
    const auto segmented = segment(text);
    REQUIRE(segmented.has_value());
    std::string joined;
    for (const MessagePart& part : segmented->parts) {
      const unsigned fill = part.udh.empty() ? 0 : udh_fill_bits(part.udh.size());
      const std::string packed = pack_septets(part.payload, fill);
      // Packed user data plus header never exceeds the 140 octets of one SMS.
      CHECK(part.udh.size() + packed.size() <= 140);
      joined += unpack_septets(packed, part.payload.size(), fill);
    }
    CHECK(decode_gsm7(joined).value() == text);
  }
}
