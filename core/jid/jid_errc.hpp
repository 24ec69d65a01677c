#pragma once
// Why a string is not a JID, as a boost::system error code.

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace parley::core::jid {

/// Reasons for rejecting a JID or one of its parts (RFC 7622 §3).
///
/// Wire mapping: every enumerator except `no_memory` is the peer's fault and becomes the
/// stanza error `<jid-malformed/>` (RFC 6120 §8.3.3.8), or the stream error
/// `<improper-addressing/>`/`<invalid-from/>` where a stream header attribute is at fault.
/// `no_memory` is ours and becomes `<internal-server-error/>`.
enum class jid_errc {
  empty = 1,            ///< the whole input is empty
  too_long,             ///< a part is longer than 1023 bytes after preparation (RFC 7622 §3.1)
  invalid_utf8,         ///< a part is not well-formed UTF-8
  empty_localpart,      ///< "@example.com": an '@' with nothing before it
  empty_domainpart,     ///< "juliet@" or "/balcony": there is no domainpart
  empty_resourcepart,   ///< "juliet@example.com/": a '/' with nothing after it
  invalid_localpart,    ///< Nodeprep rejects the localpart, or it prepares to nothing
  invalid_domainpart,   ///< Nameprep, the label rules or the IP literal rules reject it
  invalid_resourcepart, ///< Resourceprep rejects the resourcepart, or it prepares to nothing
  no_memory,            ///< an allocation failed; not the peer's fault
};

/// The category of `jid_errc`, named "parley.jid". Thread-safe; lives forever.
const boost::system::error_category& jid_category() noexcept;

/// Found by argument-dependent lookup, so `boost::system::error_code ec = jid_errc::too_long;`
/// and `return jid_errc::too_long;` in a function returning `result<T>` both work.
boost::system::error_code make_error_code(jid_errc e) noexcept;

} // namespace parley::core::jid

template <> struct boost::system::is_error_code_enum<parley::core::jid::jid_errc> : std::true_type {};
