#include "core/jid/jid.hpp"

#include "core/jid/detail/prep.hpp"

#include <new>
#include <optional>
#include <ostream>

namespace parley::core::jid {

namespace detail {
namespace {

using boost::system::error_code;

struct Prepared {
  std::string full;
  std::size_t local_size = 0;
  std::size_t domain_size = 0;
};

/// Prepares the parts in order (localpart, domainpart, resourcepart) and reports the first
/// error. An absent part is std::nullopt; a present one must not be empty.
error_code prepare(std::optional<std::string_view> local, std::string_view domain,
                   std::optional<std::string_view> resource, PrepMode mode, Prepared& result) {
  if (local && local->empty()) {
    return jid_errc::empty_localpart;
  }
  if (domain.empty()) {
    return jid_errc::empty_domainpart;
  }
  if (resource && resource->empty()) {
    return jid_errc::empty_resourcepart;
  }
  std::string& full = result.full;
  // The fast path never grows a part, so this is usually the only allocation.
  full.reserve((local ? local->size() + 1 : 0) + domain.size() + (resource ? resource->size() + 1 : 0));
  if (local) {
    if (const error_code ec = prepare_localpart(*local, full, mode)) {
      return ec;
    }
    result.local_size = full.size();
    full.push_back('@');
  }
  const std::size_t domain_begin = full.size();
  if (const error_code ec = prepare_domainpart(domain, full, mode)) {
    return ec;
  }
  result.domain_size = full.size() - domain_begin;
  if (resource) {
    full.push_back('/');
    if (const error_code ec = prepare_resourcepart(*resource, full, mode)) {
      return ec;
    }
  }
  return {};
}

} // namespace

boost::system::result<Jid> parse_jid(std::string_view text, PrepMode mode) noexcept {
  if (text.empty()) {
    return jid_errc::empty;
  }
  // RFC 7622 §3.1: the resourcepart starts after the first '/', the localpart ends at the
  // first '@' before that.
  std::optional<std::string_view> resource;
  std::string_view head = text;
  if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    resource = text.substr(slash + 1);
    head = text.substr(0, slash);
  }
  std::optional<std::string_view> local;
  std::string_view domain = head;
  if (const std::size_t at = head.find('@'); at != std::string_view::npos) {
    local = head.substr(0, at);
    domain = head.substr(at + 1);
  }
  try {
    Prepared prepared;
    if (const error_code ec = prepare(local, domain, resource, mode, prepared)) {
      return ec;
    }
    return Jid::from_prepared(std::move(prepared.full), prepared.local_size, prepared.domain_size);
  } catch (const std::bad_alloc&) {
    return jid_errc::no_memory;
  }
}

boost::system::result<Jid> make_jid(std::string_view local, std::string_view domain, std::string_view resource,
                                    PrepMode mode) noexcept {
  const auto present = [](std::string_view part) -> std::optional<std::string_view> {
    if (part.empty()) {
      return std::nullopt;
    }
    return part;
  };
  try {
    Prepared prepared;
    if (const error_code ec = prepare(present(local), domain, present(resource), mode, prepared)) {
      return ec;
    }
    return Jid::from_prepared(std::move(prepared.full), prepared.local_size, prepared.domain_size);
  } catch (const std::bad_alloc&) {
    return jid_errc::no_memory;
  }
}

} // namespace detail

boost::system::result<Jid> Jid::parse(std::string_view text) noexcept {
  return detail::parse_jid(text, detail::PrepMode::fast);
}

boost::system::result<Jid> Jid::make(std::string_view local, std::string_view domain,
                                     std::string_view resource) noexcept {
  return detail::make_jid(local, domain, resource, detail::PrepMode::fast);
}

Jid Jid::from_prepared(std::string full, std::size_t local_size, std::size_t domain_size) {
  // Three parts of at most 1023 bytes each fit the 16-bit sizes.
  Rep rep;
  rep.hash = std::hash<std::string_view>{}(full);
  rep.full = std::move(full);
  rep.local_size = static_cast<std::uint16_t>(local_size);
  rep.domain_size = static_cast<std::uint16_t>(domain_size);
  return Jid(std::make_shared<const Rep>(std::move(rep)));
}

Jid Jid::bare() const {
  if (is_bare()) {
    return *this;
  }
  return from_prepared(std::string(bare_string()), rep_->local_size, rep_->domain_size);
}

boost::system::result<Jid> Jid::with_resource(std::string_view resource) const noexcept {
  if (resource.empty()) {
    return jid_errc::empty_resourcepart;
  }
  try {
    std::string full;
    full.reserve(bare_string().size() + 1 + resource.size());
    full += bare_string();
    full.push_back('/');
    if (const boost::system::error_code ec = detail::prepare_resourcepart(resource, full, detail::PrepMode::fast)) {
      return ec;
    }
    return from_prepared(std::move(full), rep_->local_size, rep_->domain_size);
  } catch (const std::bad_alloc&) {
    return jid_errc::no_memory;
  }
}

std::strong_ordering operator<=>(const Jid& a, const Jid& b) noexcept {
  if (a.rep_ == b.rep_) {
    return std::strong_ordering::equal;
  }
  if (const auto order = a.domain() <=> b.domain(); std::is_neq(order)) {
    return order;
  }
  if (const auto order = a.local() <=> b.local(); std::is_neq(order)) {
    return order;
  }
  return a.resource() <=> b.resource();
}

std::ostream& operator<<(std::ostream& os, const Jid& jid) {
  return os << jid.full();
}

} // namespace parley::core::jid
