#pragma once

#include "core/failure.hpp"
// Thin wrappers over OpenSSL digests for SASL; raw byte strings in and out.

#include "core/sasl/scram_credentials.hpp"

#include <string>
#include <string_view>

namespace parley::core::sasl::crypto {

std::string hash(ScramHash h, std::string_view data);
std::string hmac(ScramHash h, std::string_view key, std::string_view data);
std::string pbkdf2(ScramHash h, std::string_view password, std::string_view salt, std::uint32_t iterations);
std::string random_bytes(std::size_t n);
std::string base64_encode(std::string_view raw);
/// Lower-case hexadecimal, two digits per byte.
std::string hex_encode(std::string_view raw);
/// Strict RFC 4648 base64 (padding required, no whitespace); empty optional-like failure.
boost::system::result<std::string, Failure> base64_decode(std::string_view text);
/// Constant-time comparison of equal-length strings (false when lengths differ).
bool equal_constant_time(std::string_view a, std::string_view b) noexcept;

} // namespace parley::core::sasl::crypto
