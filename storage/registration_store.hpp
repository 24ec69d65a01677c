#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// An address on a gateway (an E.164 number on an SMS gateway, an email address) assigned to a
/// local user. An address may have several owners: a team, to whom inbound messages fan out.
struct Registration {
  /// The gateway domain ("sms.example.com").
  std::string domain;
  /// The address as the gateway writes it ("+15551234567").
  std::string address;
  /// The owner's bare JID ("alice@example.com").
  std::string owner;
  Timestamp created;

  friend bool operator==(const Registration&, const Registration&) = default;
};

/// Who owns which gateway address. Threading: every call blocks on I/O; worker pool only.
/// No call throws. invalid_argument for any empty domain, address or owner argument.
class RegistrationStore {
public:
  virtual ~RegistrationStore() = default;

  /// Assigns `address` on `domain` to `owner`. true when this call added it; false, changing
  /// nothing, when the owner had it already.
  virtual boost::system::result<bool> assign(std::string_view domain, std::string_view address,
                                             std::string_view owner, Timestamp now) = 0;
  /// Takes `address` on `domain` from `owner`; not_found if the owner did not have it.
  virtual boost::system::result<void> unassign(std::string_view domain, std::string_view address,
                                               std::string_view owner) = 0;
  /// The owners of `address` on `domain`, ascending (empty if nobody owns it).
  virtual boost::system::result<std::vector<std::string>> owners(std::string_view domain,
                                                                 std::string_view address) = 0;
  /// Every registration of `owner` on every domain, by (domain, address).
  virtual boost::system::result<std::vector<Registration>> of_owner(std::string_view owner) = 0;
  /// One page of the registrations on `domain` by ascending (address, owner), starting
  /// strictly after the pair (`after_address`, `after_owner`) (both empty: from the start).
  /// invalid_argument for a zero `limit`.
  virtual boost::system::result<std::vector<Registration>> list(std::string_view domain,
                                                                std::string_view after_address,
                                                                std::string_view after_owner, std::size_t limit) = 0;
  /// Deletes every registration of `owner` (the user was deleted); returns how many went.
  virtual boost::system::result<std::size_t> remove_owner(std::string_view owner) = 0;
  /// The domains that hold registrations, ascending: with list, a walk over every registration
  /// (storage::copy_all).
  virtual boost::system::result<std::vector<std::string>> domains() = 0;
};

} // namespace parley::storage
