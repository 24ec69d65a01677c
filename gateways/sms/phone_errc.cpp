#include "gateways/sms/phone_errc.hpp"

#include <string>

namespace parley::gateways::sms {
namespace {

class PhoneCategory final : public boost::system::error_category {
public:
  // A fixed identifier keeps categories equal across shared-library boundaries.
  constexpr PhoneCategory() noexcept : boost::system::error_category(0x70a1e7'5350'0003ULL) {}

  const char* name() const noexcept override { return "parley.phone"; }

  std::string message(int value) const override { return describe(value); }

  const char* message(int value, char* /*buffer*/, std::size_t /*len*/) const noexcept override {
    return describe(value);
  }

private:
  static const char* describe(int value) noexcept {
    switch (static_cast<phone_errc>(value)) {
    case phone_errc::empty: return "the phone number has no digits";
    case phone_errc::invalid_character: return "the phone number contains a character other than digits and separators";
    case phone_errc::misplaced_plus: return "'+' may only start a phone number";
    case phone_errc::too_short: return "the phone number has too few digits";
    case phone_errc::too_long: return "the phone number has too many digits";
    case phone_errc::invalid_country_code: return "the phone number has an invalid country code";
    case phone_errc::no_default_country: return "the phone number lacks a country code (start it with +)";
    case phone_errc::unknown_country: return "the country is not known";
    }
    return "unknown phone number error";
  }
};

constinit const PhoneCategory category_instance;

} // namespace

const boost::system::error_category& phone_category() noexcept {
  return category_instance;
}

boost::system::error_code make_error_code(phone_errc e) noexcept {
  return {static_cast<int>(e), category_instance};
}

} // namespace parley::gateways::sms
