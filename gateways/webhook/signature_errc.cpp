#include "gateways/webhook/signature_errc.hpp"

#include <string>

namespace parley::gateways::webhook {
namespace {

class SignatureCategory final : public boost::system::error_category {
public:
  // A fixed identifier keeps categories equal across shared-library boundaries.
  constexpr SignatureCategory() noexcept : boost::system::error_category(0x70a1e7'3eb0'0001ULL) {}

  const char* name() const noexcept override { return "parley.webhook.signature"; }

  std::string message(int value) const override { return describe(value); }

  const char* message(int value, char* /*buffer*/, std::size_t /*len*/) const noexcept override {
    return describe(value);
  }

private:
  static const char* describe(int value) noexcept {
    switch (static_cast<signature_errc>(value)) {
    case signature_errc::invalid_secret: return "the configured webhook secret is invalid";
    case signature_errc::invalid_message_id: return "the message id is empty or contains '.'";
    case signature_errc::missing_id: return "the webhook-id header is missing";
    case signature_errc::missing_timestamp: return "the webhook-timestamp header is missing";
    case signature_errc::missing_signature: return "the signature header is missing";
    case signature_errc::malformed_id: return "the webhook-id header is empty or contains '.'";
    case signature_errc::malformed_timestamp: return "the webhook-timestamp header is not a Unix time in seconds";
    case signature_errc::timestamp_too_old: return "the webhook-timestamp is too far in the past";
    case signature_errc::timestamp_too_new: return "the webhook-timestamp is too far in the future";
    case signature_errc::malformed_signature: return "the signature header is malformed";
    case signature_errc::no_matching_signature: return "no signature matches the request";
    case signature_errc::missing_authorization: return "the Authorization header is missing";
    case signature_errc::malformed_authorization: return "the Authorization header is not a bearer token";
    case signature_errc::invalid_token: return "the bearer token is not valid";
    }
    return "unknown webhook signature error";
  }
};

constinit const SignatureCategory category_instance;

} // namespace

const boost::system::error_category& signature_category() noexcept {
  return category_instance;
}

boost::system::error_code make_error_code(signature_errc e) noexcept {
  return {static_cast<int>(e), category_instance};
}

} // namespace parley::gateways::webhook
