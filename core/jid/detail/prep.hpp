#pragma once
// Preparation of the three JID parts (RFC 7622 §3.2-3.4 with the stringprep profiles of
// RFC 6122: Nodeprep, Nameprep with the IDNA2003 label rules, Resourceprep).
// Not for use outside core/jid; tests include it to compare the fast path with libidn.

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::core::jid::detail {

/// RFC 7622 §3.1: each part is at most 1023 bytes once prepared.
inline constexpr std::size_t max_part_size = 1023;

/// A raw part longer than this is rejected as too long without being prepared. Preparation
/// can shrink a part (characters mapped to nothing), but no real JID needs more than three
/// kilobytes of them, and Unicode normalisation of huge inputs is expensive.
inline constexpr std::size_t max_raw_part_size = 4 * max_part_size;

/// Which code prepares a part.
enum class PrepMode : unsigned char {
  /// Parts made only of ASCII that libidn would pass through (up to ASCII case folding where
  /// the profile folds case) are checked with a byte table; all others go to libidn.
  fast,
  /// Every part, and every domain label, goes through libidn. Same answers, slower; exists
  /// so that tests and the fuzzer can prove that.
  libidn_only,
};

// Each function below prepares one raw, non-empty part and appends the prepared form to
// `out`. On failure `out` is left as it was and the error is a jid_errc. Thread-safe: libidn's
// stringprep and punycode code is table driven and keeps no state between calls.
// std::bad_alloc is the only exception.

/// Nodeprep (RFC 6122 Appendix A); result between 1 and 1023 bytes.
boost::system::error_code prepare_localpart(std::string_view raw, std::string& out, PrepMode mode);

/// RFC 7622 §3.2: one trailing dot is stripped first. Then either an IP literal (an IPv4
/// dotted quad in canonical decimal form, or an IPv6 address in brackets, hex digits folded
/// to lowercase, no zone identifier, no IPvFuture), kept as written; or a host name: labels
/// split at U+002E and its ideographic equivalents U+3002, U+FF0E, U+FF61, each label
/// prepared with Nameprep and checked with the IDNA2003 ToASCII rules with UseSTD3ASCIIRules
/// (RFC 3490 §4.1): only letters, digits and hyphens among its ASCII characters, no hyphen
/// at either end, no empty label, at most 63 bytes in its ASCII (A-label) form. A-labels
/// ("xn--...") are converted to U-labels, as RFC 7622 §3.2.1 requires, and must be the exact
/// encoding of a prepared label. A host name made only of digits and dots must be a valid
/// dotted quad. Unassigned code points are allowed (stringprep "queries").
boost::system::error_code prepare_domainpart(std::string_view raw, std::string& out, PrepMode mode);

/// Resourceprep (RFC 6122 Appendix B); result between 1 and 1023 bytes; case is kept.
boost::system::error_code prepare_resourcepart(std::string_view raw, std::string& out, PrepMode mode);

} // namespace parley::core::jid::detail
