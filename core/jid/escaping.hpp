#pragma once
// XEP-0106 JID Escaping of localparts, for gateways that map foreign addresses (email,
// phone numbers with odd characters, IRC nicks) to JIDs and back.

#include <string>
#include <string_view>

namespace parley::core::jid {

/// Turns a foreign address's local part (e.g. "bob@example.org" for a JID at an email
/// gateway) into an escaped localpart ("bob\40example.org"), per XEP-0106 §3.2 and §4.2:
/// - each of ` "&'/:<>@` becomes `\` and two lowercase hex digits (`\20`, `\22`, ... `\40`);
/// - a `\` followed by two characters that read as one of the ten escape sequences becomes
///   `\5c` (so "c:\5commas" becomes "c\3a\5c5commas"); every other `\` is kept as it is
///   ("c:\net" becomes "c\3a\net"). The check ignores ASCII case, because Nodeprep will fold
///   "\3A" to "\3a", which would otherwise unescape to ':';
/// - leading and trailing spaces are dropped, since `\20` must not start or end an escaped
///   localpart (XEP-0106 §4.1 rule 6).
/// Nothing else changes: the result still has to pass Jid::make (Nodeprep), and it is empty
/// when the input is empty or all spaces, in which case there is no localpart to make.
/// Works on bytes; UTF-8 stays UTF-8. Throws only std::bad_alloc.
std::string escape_localpart(std::string_view unescaped);

/// The reverse, for presenting a localpart or handing it to a foreign system: each of the
/// ten escape sequences `\20 \22 \26 \27 \2f \3a \3c \3e \40 \5c` (lowercase only, XEP-0106
/// §3.1 "CASE IS SIGNIFICANT") becomes its character; anything else, including partial or
/// unknown sequences such as "\2plus" or "\41", stays as it is (XEP-0106 §4.3).
/// `unescape_localpart(escape_localpart(s))` is `s` without leading and trailing spaces.
/// Apply it to a prepared localpart only (Jid::local()); never compare unescaped forms.
/// Throws only std::bad_alloc.
std::string unescape_localpart(std::string_view escaped);

} // namespace parley::core::jid
