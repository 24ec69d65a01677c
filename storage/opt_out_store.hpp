#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// A phone number (or other gateway address) that asked not to be messaged from one of our
/// addresses: an SMS "STOP" from `contact` to our number `address` on gateway `domain`.
struct OptOut {
  /// The gateway domain ("sms.example.com").
  std::string domain;
  /// Our address, as the gateway writes it ("+15551234567").
  std::string address;
  /// The outside address that opted out ("+15557654321").
  std::string contact;
  Timestamp created;
  /// The keyword that opted out, as received ("STOP", "UNSUBSCRIBE"); may be empty, say for an
  /// opt-out an admin recorded.
  std::string keyword;

  friend bool operator==(const OptOut&, const OptOut&) = default;
};

/// Who asked not to be messaged from which gateway address, so that a gateway honours an opt-out
/// before sending. Threading: every call blocks on I/O; worker pool only. No call throws.
/// invalid_argument for any empty domain, address or contact argument (the `after_` pair of list
/// excepted).
class OptOutStore {
public:
  virtual ~OptOutStore() = default;

  /// Records that `contact` opted out of messages from `address` on `domain`, with the
  /// `keyword` it sent. true when this call added it; false, changing nothing (neither time nor
  /// keyword), when it was there already.
  virtual boost::system::result<bool> add(std::string_view domain, std::string_view address, std::string_view contact,
                                          std::string_view keyword, Timestamp now) = 0;
  /// Removes that opt-out (the contact sent START): true when there was one, false when not.
  virtual boost::system::result<bool> remove(std::string_view domain, std::string_view address,
                                             std::string_view contact) = 0;
  /// Whether `contact` opted out of messages from `address` on `domain`.
  virtual boost::system::result<bool> contains(std::string_view domain, std::string_view address,
                                               std::string_view contact) = 0;
  /// One page of the opt-outs on `domain` by ascending (address, contact), starting strictly
  /// after the pair (`after_address`, `after_contact`) (both empty: from the start).
  /// invalid_argument for a zero `limit`.
  virtual boost::system::result<std::vector<OptOut>> list(std::string_view domain, std::string_view after_address,
                                                          std::string_view after_contact, std::size_t limit) = 0;
  /// The domains that hold opt-outs, ascending: with list, a walk over every opt-out
  /// (storage::copy_all).
  virtual boost::system::result<std::vector<std::string>> domains() = 0;
};

} // namespace parley::storage
