#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// XML a user keeps on the server for their own clients: private XML storage (XEP-0049) and
/// their vCard (XEP-0054), each a serialized fragment under a key the caller chooses (the
/// router uses "vcard" for the vCard and "private {namespace} {name}" for XEP-0049 data).
/// `user` is the user's bare JID ("alice@example.com").
///
/// Threading: every call blocks on I/O; worker pool only. No call throws.
/// invalid_argument for an empty user or key (and, for put, an empty fragment or one larger
/// than 1 MiB). Keys are meant to be short: PostgreSQL indexes them, and refuses index rows
/// over about 2.7 kB (the router keeps them under 1 KiB).
class PrivateStore {
public:
  virtual ~PrivateStore() = default;

  /// The fragment stored under `key`; not_found when there is none.
  virtual boost::system::result<std::string> get(std::string_view user, std::string_view key) = 0;
  /// Stores `xml` under `key`, replacing what was there.
  virtual boost::system::result<void> put(std::string_view user, std::string_view key, std::string_view xml,
                                          Timestamp now) = 0;
  /// Removes it: true when it was there, false when not.
  virtual boost::system::result<bool> remove(std::string_view user, std::string_view key) = 0;
  /// Removes everything of `user` (account deleted); returns how many fragments went.
  virtual boost::system::result<std::size_t> remove_user(std::string_view user) = 0;
  /// `user`'s keys, ascending (byte order).
  virtual boost::system::result<std::vector<std::string>> keys(std::string_view user) = 0;
  /// Users with at least one fragment, ascending, strictly after `after` ("" = from the start),
  /// at most `limit` (invalid_argument for 0): with keys() and get(), a walk over everything
  /// (copy_all).
  virtual boost::system::result<std::vector<std::string>> users(std::string_view after, std::size_t limit) = 0;
};

} // namespace parley::storage
