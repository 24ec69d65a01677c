#pragma once
// What a user keeps on the server for their clients: private XML storage (XEP-0049) and their
// vCard (XEP-0054), both in storage::PrivateStore.

#include "core/xml/element.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>

namespace parley::core::async {
class WorkerPool;
}
namespace parley::storage {
class Storage;
}

namespace parley::router::modules {

/// The largest fragment (one XEP-0049 element, one vCard) a user may store, serialized: room
/// for a vCard with an embedded avatar; PrivateStore refuses more than 1 MiB.
inline constexpr std::size_t max_private_fragment = 512 * 1024;

/// Answers an iq get or set of jabber:iq:private from the user `user` (a bare JID) to their
/// own account (XEP-0049 §2): the answer to send back.
boost::asio::awaitable<core::xml::Element> answer_private(storage::Storage& storage, core::async::WorkerPool& workers,
                                                           core::xml::Element iq, std::string user);

/// Answers an iq get or set of vcard-temp (XEP-0054) for the vCard of `owner` (a bare JID of an
/// existing user): anyone may get it; only the owner (`own`) may set it.
boost::asio::awaitable<core::xml::Element> answer_vcard(storage::Storage& storage, core::async::WorkerPool& workers,
                                                         core::xml::Element iq, std::string owner, bool own);

} // namespace parley::router::modules
