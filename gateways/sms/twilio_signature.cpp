#include "gateways/sms/twilio_signature.hpp"

#include "core/sasl/crypto.hpp"

#include <algorithm>

namespace parley::gateways::sms {

namespace crypto = core::sasl::crypto;

std::string twilio_signature(std::string_view auth_token, std::string_view url, FormParams params) {
  std::sort(params.begin(), params.end());
  std::string data(url);
  for (const auto& [name, value] : params) {
    data += name;
    data += value;
  }
  return crypto::base64_encode(crypto::hmac(core::sasl::ScramHash::sha1, auth_token, data));
}

bool verify_twilio_signature(std::string_view auth_token, std::string_view url, const FormParams& params,
                             std::string_view header) {
  if (auth_token.empty() || header.empty()) {
    return false;
  }
  return crypto::equal_constant_time(twilio_signature(auth_token, url, params), header);
}

} // namespace parley::gateways::sms
