#pragma once
// Errors of the storage layer, shared by every backend.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace parley::storage {

/// What went wrong in a storage call. Every backend maps its own failures onto these, so the
/// layers above never see SQLite or libpq codes.
///
/// How the XMPP layer answers each (stanza error conditions of RFC 6120 §8.3.3; SASL failures
/// of RFC 6120 §6.5):
/// - not_found: item-not-found (cancel); during SASL, not-authorized.
/// - conflict: conflict (cancel).
/// - quota_exceeded: for an offline message, service-unavailable (cancel), as when there is no
///   offline storage at all (RFC 6121 §8.5.2.1.1, XEP-0160); elsewhere resource-constraint (wait).
/// - unavailable: internal-server-error (wait); during SASL, temporary-auth-failure.
/// - corrupt, internal: internal-server-error (cancel); during SASL, temporary-auth-failure.
/// - invalid_argument: bad-request (modify).
/// - schema_too_new: never reaches the wire; parleyd refuses to start.
///
/// `unavailable` is the only transient condition: retrying later may succeed. A stanza that could
/// not be committed must not be acknowledged to its sender ("acknowledged means durable").
enum class storage_errc {
  /// The user, roster item or credential asked for does not exist.
  not_found = 1,
  /// The thing to create exists already (a user, a unique key).
  conflict,
  /// The user already holds as many offline messages as the quota allows.
  quota_exceeded,
  /// The database cannot be reached: locked beyond the busy timeout, disk full, I/O error,
  /// cannot open the file, out of memory. Transient; the caller may retry later.
  unavailable,
  /// The database file is damaged or is not a database of ours at all.
  corrupt,
  /// The caller passed something the store cannot hold (empty key, duplicate mechanism,
  /// value too big for the backend, zero page size).
  invalid_argument,
  /// The database was written by a newer Parley (its schema version is higher than this
  /// build knows); opening it would risk damaging it.
  schema_too_new,
  /// A bug on our side (bad SQL, API misuse) or a backend condition with no better mapping.
  internal,
};

/// The category of storage_errc; its name is "parley.storage".
const boost::system::error_category& storage_category() noexcept;

inline boost::system::error_code make_error_code(storage_errc e) noexcept {
  return {static_cast<int>(e), storage_category()};
}

} // namespace parley::storage

namespace boost::system {
template <> struct is_error_code_enum<parley::storage::storage_errc> : std::true_type {};
} // namespace boost::system
