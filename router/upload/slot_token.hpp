#pragma once
// Stateless upload slots (XEP-0363): what a PUT URL carries is signed with a secret of the
// server's, so that any slot can be checked without remembering it, across restarts.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace parley::router::upload {

/// What a slot allows: one PUT of `size` bytes of `content_type` to `path` before `expires`
/// (seconds since the Unix epoch).
struct SlotGrant {
  std::string path; ///< "/upload/SLOT/NAME", as in the URL (not percent-encoded: it needs none)
  std::uint64_t size = 0;
  std::string content_type;
  std::int64_t expires = 0;
};

/// HMAC-SHA256 over the grant's fields, as lower-case hex.
std::string sign(std::string_view secret, const SlotGrant& grant);
/// Whether `token` is sign(secret, grant), compared in constant time.
bool verify(std::string_view secret, const SlotGrant& grant, std::string_view token);

/// A file name safe as one URL path segment and one file name on disk: letters, digits, '.',
/// '-', '_' and nothing else (others become '_'), no leading '.', at most 100 bytes (the
/// extension kept). Empty when nothing usable is left ("", "...", "////").
std::string sanitize_filename(std::string_view name);

/// The slot (32 lower-case hex digits, like a random one) of a file stored under `key`
/// rather than through a slot request: HMAC-SHA256 over the key, so that the same key always
/// names the same slot and nobody without the secret can guess it.
std::string keyed_slot(std::string_view secret, std::string_view key);

/// `count` random bytes from the system's CSPRNG, as lower-case hex.
std::string random_hex(std::size_t count);

/// The secret in `file`; created (32 random bytes, mode 0600) when absent. Blocks: start-up only.
boost::system::result<std::string> load_or_create_secret(const std::filesystem::path& file);

/// A media type from a slot request or a Content-Type header: "type/subtype" lower-cased,
/// parameters dropped. nullopt when it is not one (RFC 9110 §8.3.1 tokens).
std::optional<std::string> media_type(std::string_view text);

} // namespace parley::router::upload
