#include "core/jid/jid_errc.hpp"

#include <string>

namespace parley::core::jid {
namespace {

class JidCategory final : public boost::system::error_category {
public:
  // A fixed identifier keeps categories equal across shared-library boundaries.
  constexpr JidCategory() noexcept : boost::system::error_category(0x70a1e7'6a1d'0001ULL) {}

  const char* name() const noexcept override { return "parley.jid"; }

  std::string message(int value) const override { return describe(value); }

  const char* message(int value, char* /*buffer*/, std::size_t /*len*/) const noexcept override {
    return describe(value);
  }

private:
  static const char* describe(int value) noexcept {
    switch (static_cast<jid_errc>(value)) {
    case jid_errc::empty: return "the JID is empty";
    case jid_errc::too_long: return "a JID part is longer than 1023 bytes";
    case jid_errc::invalid_utf8: return "the JID is not well-formed UTF-8";
    case jid_errc::empty_localpart: return "the JID has an empty localpart";
    case jid_errc::empty_domainpart: return "the JID has no domainpart";
    case jid_errc::empty_resourcepart: return "the JID has an empty resourcepart";
    case jid_errc::invalid_localpart: return "the JID localpart is invalid";
    case jid_errc::invalid_domainpart: return "the JID domainpart is invalid";
    case jid_errc::invalid_resourcepart: return "the JID resourcepart is invalid";
    case jid_errc::no_memory: return "out of memory while preparing a JID";
    }
    return "unknown JID error";
  }
};

constinit const JidCategory category_instance;

} // namespace

const boost::system::error_category& jid_category() noexcept {
  return category_instance;
}

boost::system::error_code make_error_code(jid_errc e) noexcept {
  return {static_cast<int>(e), category_instance};
}

} // namespace parley::core::jid
