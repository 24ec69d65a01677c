#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::storage {

/// XEP-0191 block lists: which JIDs a user blocks. `user` is the user's bare JID
/// ("alice@example.com"); `jid` is a JID as the user gave it, already prepared (RFC 7622):
/// a bare JID, a full JID or a domain ("bob@example.com", "bob@example.com/phone", "example.com").
/// Both are compared exactly, as stored: matching a stanza's sender against the list is the
/// caller's business. Threading: every call blocks on I/O; worker pool only. No call throws.
/// invalid_argument for an empty user or jid.
class BlockStore {
public:
  virtual ~BlockStore() = default;

  /// Adds `jid` to `user`'s list: true when added, false (changing nothing) when it was there.
  virtual boost::system::result<bool> block(std::string_view user, std::string_view jid, Timestamp now) = 0;
  /// Removes it: true when it was there, false when not.
  virtual boost::system::result<bool> unblock(std::string_view user, std::string_view jid) = 0;
  /// Empties `user`'s list; returns how many went.
  virtual boost::system::result<std::size_t> unblock_all(std::string_view user) = 0;
  /// `user`'s list, ascending (byte order).
  virtual boost::system::result<std::vector<std::string>> blocked(std::string_view user) = 0;
  /// Users with a non-empty list, ascending, strictly after `after` ("" = from the start), at
  /// most `limit` (invalid_argument for 0): with blocked(), a walk over every list (copy_all).
  virtual boost::system::result<std::vector<std::string>> users(std::string_view after, std::size_t limit) = 0;
};

} // namespace parley::storage
