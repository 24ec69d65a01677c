#pragma once
// What goes into a message archive (XEP-0313) and the ids it hands out (XEP-0359): rules on
// stanzas only, without storage, for the router and the chat rooms alike.

#include "core/xml/element.hpp"

#include <string>
#include <string_view>

namespace parley::router::modules {

/// XEP-0313 §7.1: the feature of the extended query (before-id, after-id, ids, flip-page) and
/// the archive metadata.
inline constexpr std::string_view mam_extended_feature = "urn:xmpp:mam:2#extended";

/// XEP-0313 §5.1.1 (and the XEP-0334 hints): whether a 1:1 message belongs in an archive at
/// all: type chat or normal with a <body/> (or <store/>), never <no-store/> or
/// <no-permanent-store/>, never an error, groupchat, headline or a carbon copy.
bool archivable(const core::xml::Element& msg);

/// XEP-0313 §5.1.2: whether a room keeps a groupchat message: one with a <body/> or a
/// <subject/>, and no <no-store/> hint.
bool room_archivable(const core::xml::Element& msg);

/// XEP-0359 §5: a <stanza-id/> that claims to come from `by` (an archive of this server) and did
/// not is removed, so that nobody can forge the archive's ids.
void strip_stanza_ids(core::xml::Element& msg, std::string_view by);

/// Adds <stanza-id xmlns='urn:xmpp:sid:0' by='BY' id='ID'/>.
void add_stanza_id(core::xml::Element& msg, std::string_view by, std::string_view id);

/// A new archive id: 96 random bits, 24 hex digits.
std::string new_archive_id();

} // namespace parley::router::modules
