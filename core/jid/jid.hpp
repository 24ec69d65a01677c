#pragma once
// XMPP addresses (RFC 7622): [localpart@]domainpart[/resourcepart].

#include "core/jid/jid_errc.hpp"

#include <boost/system/result.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

namespace parley::core::jid {

class Jid;

// Entry points with a choice of preparation path, for tests and the fuzzer (detail/prep.hpp).
namespace detail {
enum class PrepMode : unsigned char;
boost::system::result<Jid> parse_jid(std::string_view text, PrepMode mode) noexcept;
boost::system::result<Jid> make_jid(std::string_view local, std::string_view domain, std::string_view resource,
                                    PrepMode mode) noexcept;
} // namespace detail

/// A valid, prepared JID. There is no empty or invalid Jid: the only ways to get one are
/// `parse`, `make` and the members that derive one Jid from another, and those report bad
/// input as a `jid_errc` instead of throwing.
///
/// Preparation follows RFC 7622's syntax rules with the stringprep profiles of RFC 6122
/// (libidn): the localpart goes through Nodeprep (case folded), the domainpart through
/// Nameprep and the IDNA2003 label rules (case folded, trailing dot stripped, A-labels turned
/// into U-labels, IP literals kept), the resourcepart through Resourceprep (case kept). Each
/// part is 1 to 1023 bytes once prepared. See detail/prep.hpp for the exact rules.
///
/// The string forms are well-formed UTF-8 without control characters or noncharacters, so
/// they can go into an XML attribute (with the usual escaping of `&`, `<` and quotes, which a
/// resourcepart may contain).
///
/// Comparison and hashing use the prepared forms, so `Juliet@Example.COM` equals
/// `juliet@example.com`. Parts are not unescaped (XEP-0106): `d\27artagnan` stays as it is.
///
/// A Jid is immutable and shares its storage between copies: copying costs one atomic
/// increment, moving nothing. Any number of threads may use copies of one Jid, and call
/// `parse`/`make`, at the same time.
class Jid {
public:
  /// Parses and prepares a JID from its string form (a `to` or `from` attribute, a roster
  /// item). Splits at the first '/' (everything after it is the resourcepart, which may
  /// contain '@' and '/'), then at the first '@' before it. Accepts any bytes; never throws.
  /// On the hot path: parts made only of ASCII that the profiles would keep (up to case
  /// folding) skip libidn; that fast path gives exactly libidn's answers.
  static boost::system::result<Jid> parse(std::string_view text) noexcept;

  /// Prepares a JID from its parts. An empty `local` or `resource` means the JID has none;
  /// `domain` is mandatory. The parts are taken literally: `local` may not contain '@' (it is
  /// prohibited there), `resource` may contain anything Resourceprep allows. Never throws.
  static boost::system::result<Jid> make(std::string_view local, std::string_view domain,
                                         std::string_view resource = {}) noexcept;

  /// Empty when the JID has no localpart.
  std::string_view local() const noexcept { return view().substr(0, rep_->local_size); }
  std::string_view domain() const noexcept { return view().substr(domain_begin(), rep_->domain_size); }
  /// Empty when the JID has no resourcepart.
  std::string_view resource() const noexcept {
    const std::size_t end = domain_begin() + rep_->domain_size;
    return end == full().size() ? std::string_view() : view().substr(end + 1);
  }

  /// True when there is no resourcepart.
  bool is_bare() const noexcept { return domain_begin() + rep_->domain_size == full().size(); }

  /// The JID without its resourcepart; `*this` when it has none. Allocates when it has one,
  /// so it throws std::bad_alloc when memory runs out.
  Jid bare() const;

  /// The same localpart and domainpart with `resource` prepared as the resourcepart. An empty
  /// `resource` is `jid_errc::empty_resourcepart`; use `bare()` to drop the resourcepart.
  boost::system::result<Jid> with_resource(std::string_view resource) const noexcept;

  /// "local@domain/resource", built once when the Jid was made. The reference stays valid as
  /// long as this Jid or any copy of it lives.
  const std::string& full() const noexcept { return rep_->full; }

  /// "local@domain": a prefix of full(), valid as long as this Jid or any copy of it lives.
  std::string_view bare_string() const noexcept { return view().substr(0, domain_begin() + rep_->domain_size); }

  /// Hash of full(), computed once when the Jid was made.
  std::size_t hash() const noexcept { return rep_->hash; }

  friend bool operator==(const Jid& a, const Jid& b) noexcept {
    return a.rep_ == b.rep_ || (a.rep_->hash == b.rep_->hash && a.rep_->full == b.rep_->full);
  }

  /// Orders by domainpart, then localpart, then resourcepart, so that the JIDs of one domain
  /// (and the resources of one bare JID) sit together in ordered containers. A missing
  /// localpart or resourcepart sorts before any present one.
  friend std::strong_ordering operator<=>(const Jid& a, const Jid& b) noexcept;

private:
  struct Rep {
    std::string full;
    std::size_t hash = 0;
    std::uint16_t local_size = 0;  // 0 when there is no localpart
    std::uint16_t domain_size = 0; // the domainpart follows the '@', or starts at 0
  };

  explicit Jid(std::shared_ptr<const Rep> rep) noexcept : rep_(std::move(rep)) {}

  std::string_view view() const noexcept { return rep_->full; }

  std::size_t domain_begin() const noexcept { return rep_->local_size == 0 ? 0 : std::size_t{rep_->local_size} + 1; }

  /// Wraps a string already in prepared form with its part sizes.
  static Jid from_prepared(std::string full, std::size_t local_size, std::size_t domain_size);

  friend boost::system::result<Jid> detail::parse_jid(std::string_view, detail::PrepMode) noexcept;
  friend boost::system::result<Jid> detail::make_jid(std::string_view, std::string_view, std::string_view,
                                                     detail::PrepMode) noexcept;

  std::shared_ptr<const Rep> rep_;
};

/// Writes full().
std::ostream& operator<<(std::ostream& os, const Jid& jid);

} // namespace parley::core::jid

template <> struct std::hash<parley::core::jid::Jid> {
  std::size_t operator()(const parley::core::jid::Jid& jid) const noexcept { return jid.hash(); }
};
