#pragma once

#include "storage/offline_message.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::storage {

/// Keys of deliveries already handled, for the deduplication of inbound deliveries that the
/// outside world may repeat (a webhook's `webhook-id`, GitHub's `X-GitHub-Delivery`, a
/// provider's message id). Record a key only after the delivery it names was handled: a crash
/// in between then delivers twice, never zero times.
///
/// Threading: every call blocks on I/O; worker pool only. No call throws.
class SeenStore {
public:
  virtual ~SeenStore() = default;

  /// Records `key` within `scope` with `value` (what the delivery became, say a stanza id).
  /// true when this call recorded it; false, storing nothing, when it was there already.
  /// invalid_argument for an empty scope or key.
  virtual boost::system::result<bool> remember(std::string_view scope, std::string_view key, std::string_view value,
                                               Timestamp now) = 0;

  /// The value recorded for `key` within `scope`; not_found if none.
  virtual boost::system::result<std::string> lookup(std::string_view scope, std::string_view key) = 0;

  /// Deletes the records made before `before`; returns how many went.
  virtual boost::system::result<std::size_t> forget_before(Timestamp before) = 0;
};

} // namespace parley::storage
