#pragma once
// Inbound MMS media re-hosted on the HTTP upload service: what each stored file is called and
// typed, and the note that names a medium that could not be re-hosted. Pure functions; any
// thread.

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::gateways::sms {

/// The most media of one inbound message that are re-hosted (Twilio sends at most 10); more
/// are named in a note instead.
inline constexpr std::size_t max_inbound_media = 10;

/// The file extension, dot included, of a media type as carriers send them: ".jpg" for
/// image/jpeg, ".vcf" for text/vcard, ".3gp" for video/3gpp; ".bin" for a type not known.
/// Parameters ("; charset=...") and case do not matter.
std::string_view extension_for(std::string_view content_type);

/// The media type a re-hosted medium is stored with: the one the provider declared in its
/// (signed) webhook when that is a type, else the Content-Type its server answered with, else
/// application/octet-stream. Lower-cased, parameters dropped.
std::string media_content_type(std::string_view declared, std::string_view served);

/// The file name of a re-hosted medium: the last path segment of its URL (Twilio's media sid,
/// "ME...") reduced to letters, digits, '-' and '_' and at most 64 of them, or "media-N"
/// (N = index + 1) when nothing is left; then the extension of its type.
std::string media_filename(std::string_view url, std::size_t index, std::string_view content_type);

/// The line that stands in the body for a medium that could not be re-hosted:
/// "[MMS attachment 2 of 3 (image/jpeg) not received: HTTP 404]". `index` counts from 0;
/// `content_type` may be empty.
std::string missing_media_note(std::size_t index, std::size_t total, std::string_view content_type,
                               std::string_view reason);

} // namespace parley::gateways::sms
