// The storage conformance suite, opt-outs part: SMS STOP/START (OptOutStore). Like
// conformance_test.cpp, every backend listed in backends.hpp must pass every test here, through
// the interfaces only.

#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"
#include "tests/storage/backends.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using namespace parley::storage;

namespace {

template <class Backend> std::unique_ptr<Storage> open_storage(Backend& backend) {
  auto opened = backend.open();
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message()));
  return std::move(*opened);
}

Timestamp at(std::int64_t microseconds) {
  return Timestamp(std::chrono::microseconds(microseconds));
}

/// "address contact" of each opt-out, in the order given.
std::vector<std::string> pairs_of(const std::vector<OptOut>& opt_outs) {
  std::vector<std::string> out;
  for (const auto& opt_out : opt_outs) {
    out.push_back(opt_out.address + " " + opt_out.contact);
  }
  return out;
}

} // namespace

TEST_CASE_TEMPLATE("opt-outs: add records an opt-out once, keeping the first time and keyword", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& opt_outs = testling->opt_outs();

  CHECK(opt_outs.contains("sms.example.com", "+15551234567", "+15557654321").value() == false);
  CHECK(opt_outs.add("sms.example.com", "+15551234567", "+15557654321", "STOP", at(1'700'000'000'123'456)).value() ==
        true);
  CHECK(opt_outs.contains("sms.example.com", "+15551234567", "+15557654321").value() == true);

  // A second STOP (or another keyword) changes nothing.
  CHECK(opt_outs.add("sms.example.com", "+15551234567", "+15557654321", "UNSUBSCRIBE", at(2)).value() == false);
  CHECK(opt_outs.list("sms.example.com", "", "", 10).value() ==
        std::vector<OptOut>{{"sms.example.com", "+15551234567", "+15557654321", at(1'700'000'000'123'456), "STOP"}});
}

TEST_CASE_TEMPLATE("opt-outs: an opt-out holds for one domain, address and contact only", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& opt_outs = testling->opt_outs();

  REQUIRE(opt_outs.add("sms.example.com", "+15551234567", "+15557654321", "STOP", at(1)));

  CHECK(opt_outs.contains("sms.example.org", "+15551234567", "+15557654321").value() == false);
  // The same contact still hears from our other numbers.
  CHECK(opt_outs.contains("sms.example.com", "+15551234568", "+15557654321").value() == false);
  CHECK(opt_outs.contains("sms.example.com", "+15551234567", "+15557654322").value() == false);
  // Addresses are compared exactly, as stored: normalising is the gateway's business.
  CHECK(opt_outs.contains("sms.example.com", "15551234567", "+15557654321").value() == false);
  CHECK(opt_outs.contains("SMS.example.com", "+15551234567", "+15557654321").value() == false);

  // Two of our numbers, one contact: two opt-outs, each removed on its own.
  CHECK(opt_outs.add("sms.example.com", "+15551234568", "+15557654321", "stop", at(2)).value() == true);
  CHECK(opt_outs.remove("sms.example.com", "+15551234567", "+15557654321").value() == true);
  CHECK(opt_outs.contains("sms.example.com", "+15551234567", "+15557654321").value() == false);
  CHECK(opt_outs.contains("sms.example.com", "+15551234568", "+15557654321").value() == true);
}

TEST_CASE_TEMPLATE("opt-outs: remove (START) answers whether there was one, and a later STOP counts anew", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& opt_outs = testling->opt_outs();

  CHECK(opt_outs.remove("sms.example.com", "+15551234567", "+15557654321").value() == false);
  REQUIRE(opt_outs.add("sms.example.com", "+15551234567", "+15557654321", "STOP", at(1)));
  REQUIRE(opt_outs.add("sms.example.com", "+15551234567", "+15550000000", "STOP", at(1)));

  CHECK(opt_outs.remove("sms.example.org", "+15551234567", "+15557654321").value() == false);
  CHECK(opt_outs.remove("sms.example.com", "+15551234567", "+15557654321").value() == true);
  CHECK(opt_outs.remove("sms.example.com", "+15551234567", "+15557654321").value() == false);
  CHECK(opt_outs.contains("sms.example.com", "+15551234567", "+15557654321").value() == false);
  CHECK(opt_outs.contains("sms.example.com", "+15551234567", "+15550000000").value() == true);

  CHECK(opt_outs.add("sms.example.com", "+15551234567", "+15557654321", "QUIT", at(9)).value() == true);
  CHECK(opt_outs.list("sms.example.com", "+15551234567", "+15550000000", 10).value() ==
        std::vector<OptOut>{{"sms.example.com", "+15551234567", "+15557654321", at(9), "QUIT"}});
}

TEST_CASE_TEMPLATE("opt-outs: list pages through one domain by (address, contact)", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& opt_outs = testling->opt_outs();

  // Added out of order; 5 addresses x 3 contacts on one domain, one more on another.
  std::vector<std::string> expected;
  for (int a = 0; a < 5; ++a) {
    for (int c = 0; c < 3; ++c) {
      expected.push_back("+1555000000" + std::to_string(a) + " +1666000000" + std::to_string(c));
    }
  }
  for (int a = 4; a >= 0; --a) {
    for (int c = 2; c >= 0; --c) {
      REQUIRE(opt_outs.add("sms.example.com", "+1555000000" + std::to_string(a), "+1666000000" + std::to_string(c),
                           "STOP", at(a * 10 + c)));
    }
  }
  REQUIRE(opt_outs.add("sms.example.org", "+15550000000", "+16660000000", "STOP", at(0)));

  std::vector<std::string> walked;
  std::string after_address;
  std::string after_contact;
  for (;;) {
    const auto page = opt_outs.list("sms.example.com", after_address, after_contact, 4).value();
    for (const auto& opt_out : page) {
      CHECK(opt_out.domain == "sms.example.com");
      CHECK(opt_out.keyword == "STOP");
    }
    const auto names = pairs_of(page);
    walked.insert(walked.end(), names.begin(), names.end());
    if (page.size() < 4) {
      break;
    }
    after_address = page.back().address;
    after_contact = page.back().contact;
  }
  CHECK(walked == expected);

  // Strictly after the pair, which need not exist itself.
  CHECK(
      pairs_of(opt_outs.list("sms.example.com", "+15550000001", "+16660000000", 3).value()) ==
      std::vector<std::string>{"+15550000001 +16660000001", "+15550000001 +16660000002", "+15550000002 +16660000000"});
  CHECK(pairs_of(opt_outs.list("sms.example.com", "+15550000003", "zz", 1).value()) ==
        std::vector<std::string>{"+15550000004 +16660000000"});
  CHECK(pairs_of(opt_outs.list("sms.example.com", "+15550000002", "", 1).value()) ==
        std::vector<std::string>{"+15550000002 +16660000000"});
  CHECK(opt_outs.list("sms.example.com", "+15550000004", "+16660000002", 10).value().empty());
  CHECK(opt_outs.list("nothing.example.com", "", "", 10).value().empty());
  CHECK(opt_outs.list("sms.example.org", "", "", 10).value().size() == 1);
  const auto first = opt_outs.list("sms.example.com", "", "", 1).value();
  REQUIRE(first.size() == 1);
  CHECK(first[0] == OptOut{"sms.example.com", "+15550000000", "+16660000000", at(0), "STOP"});
}

TEST_CASE_TEMPLATE("opt-outs: list orders bytewise and keeps every keyword as given", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& opt_outs = testling->opt_outs();

  // Byte order: '+' < 'B' < 'b' < any UTF-8 lead byte.
  REQUIRE(opt_outs.add("email.example.com", "news@example.com", "bob@mail.example.net", "", at(3)));
  REQUIRE(opt_outs.add("email.example.com", "news@example.com", "Bob@mail.example.net", "stop", at(2)));
  REQUIRE(opt_outs.add("email.example.com", "news@example.com", "+15557654321", "Stop \xe2\x9c\x8b", at(1)));
  REQUIRE(
      opt_outs.add("email.example.com", "news@example.com", "\xc3\xa9lise@mail.example.net", "ARR\xc3\x8aT", at(4)));

  CHECK(opt_outs.list("email.example.com", "", "", 10).value() ==
        std::vector<OptOut>{
            {"email.example.com", "news@example.com", "+15557654321", at(1), "Stop \xe2\x9c\x8b"},
            {"email.example.com", "news@example.com", "Bob@mail.example.net", at(2), "stop"},
            {"email.example.com", "news@example.com", "bob@mail.example.net", at(3), ""},
            {"email.example.com", "news@example.com", "\xc3\xa9lise@mail.example.net", at(4), "ARR\xc3\x8aT"},
        });
}

TEST_CASE_TEMPLATE("opt-outs: domains names every domain that holds opt-outs, ascending", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& opt_outs = testling->opt_outs();

  CHECK(opt_outs.domains().value().empty());
  REQUIRE(opt_outs.add("sms.example.com", "+15550000001", "+16660000001", "STOP", at(1)));
  REQUIRE(opt_outs.add("email.example.com", "news@example.com", "bob@mail.example.net", "", at(1)));
  REQUIRE(opt_outs.add("sms.example.com", "+15550000002", "+16660000001", "STOP", at(1)));
  CHECK(opt_outs.domains().value() == std::vector<std::string>{"email.example.com", "sms.example.com"});

  REQUIRE(opt_outs.remove("email.example.com", "news@example.com", "bob@mail.example.net").value());
  CHECK(opt_outs.domains().value() == std::vector<std::string>{"sms.example.com"});
  // Opt-outs are their own concern: registrations on a domain do not make it one of these.
  REQUIRE(testling->registrations().assign("sms.example.net", "+15550000001", "alice@example.com", at(1)));
  CHECK(opt_outs.domains().value() == std::vector<std::string>{"sms.example.com"});
}

TEST_CASE_TEMPLATE("opt-outs: empty arguments and a zero limit are refused and change nothing", Backend,
                   PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  auto testling = open_storage(backend);
  auto& opt_outs = testling->opt_outs();
  REQUIRE(opt_outs.add("d", "a", "c", "STOP", at(1)));

  CHECK(opt_outs.add("", "a", "x", "STOP", at(1)).error() == storage_errc::invalid_argument);
  CHECK(opt_outs.add("d", "", "x", "STOP", at(1)).error() == storage_errc::invalid_argument);
  CHECK(opt_outs.add("d", "a", "", "STOP", at(1)).error() == storage_errc::invalid_argument);
  CHECK(opt_outs.remove("", "a", "c").error() == storage_errc::invalid_argument);
  CHECK(opt_outs.remove("d", "", "c").error() == storage_errc::invalid_argument);
  CHECK(opt_outs.remove("d", "a", "").error() == storage_errc::invalid_argument);
  CHECK(opt_outs.contains("", "a", "c").error() == storage_errc::invalid_argument);
  CHECK(opt_outs.contains("d", "", "c").error() == storage_errc::invalid_argument);
  CHECK(opt_outs.contains("d", "a", "").error() == storage_errc::invalid_argument);
  CHECK(opt_outs.list("", "", "", 10).error() == storage_errc::invalid_argument);
  CHECK(opt_outs.list("d", "", "", 0).error() == storage_errc::invalid_argument);

  CHECK(opt_outs.list("d", "", "", 10).value() == std::vector<OptOut>{{"d", "a", "c", at(1), "STOP"}});
  CHECK(opt_outs.domains().value() == std::vector<std::string>{"d"});
}

TEST_CASE_TEMPLATE("opt-outs: survive reopening", Backend, PARLEY_STORAGE_BACKENDS) {
  Backend backend;
  {
    auto testling = open_storage(backend);
    REQUIRE(testling->opt_outs().add("sms.example.com", "+15551234567", "+15557654321", "STOP", at(7)));
    REQUIRE(testling->opt_outs().add("sms.example.com", "+15551234567", "+15550000000", "STOP", at(8)));
    REQUIRE(testling->opt_outs().remove("sms.example.com", "+15551234567", "+15550000000").value());
  }

  auto testling = open_storage(backend);
  CHECK(testling->opt_outs().contains("sms.example.com", "+15551234567", "+15557654321").value() == true);
  CHECK(testling->opt_outs().contains("sms.example.com", "+15551234567", "+15550000000").value() == false);
  CHECK(testling->opt_outs().list("sms.example.com", "", "", 10).value() ==
        std::vector<OptOut>{{"sms.example.com", "+15551234567", "+15557654321", at(7), "STOP"}});
}
