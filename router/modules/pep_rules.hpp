#pragma once
// The pure parts of the personal eventing service (XEP-0163, the subset of XEP-0060 clients
// use): node configuration and its forms, publish-options preconditions, event
// notifications, and the XEP-0115 verification string by which clients' "+notify" interests
// are known. No I/O here; router/modules/pep.cpp does the routing.

#include "core/stanza/stanza_error.hpp"
#include "core/xml/element.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::router::modules {

inline constexpr std::string_view pubsub_owner_ns = "http://jabber.org/protocol/pubsub#owner";
inline constexpr std::string_view pubsub_errors_ns = "http://jabber.org/protocol/pubsub#errors";
inline constexpr std::string_view pubsub_node_config_form = "http://jabber.org/protocol/pubsub#node_config";
inline constexpr std::string_view pubsub_publish_options_form = "http://jabber.org/protocol/pubsub#publish-options";

/// Limits of one account's service: items are one element each, at most this large serialized
/// (room for an avatar of XEP-0084's recommended size, several times over).
inline constexpr std::size_t max_pep_payload = 512 * 1024;
/// Node names and item ids: short (the store indexes them).
inline constexpr std::size_t max_pep_name = 1024;
/// Nodes per account.
inline constexpr std::size_t max_pep_nodes = 256;
/// What pubsub#max_items = "max" means, and the most a node keeps.
inline constexpr std::size_t max_pep_items = 1000;

/// XEP-0060 §4.5 access models this service implements.
enum class AccessModel { presence, open, whitelist };
std::string_view to_string(AccessModel model) noexcept;
std::optional<AccessModel> parse_access_model(std::string_view text) noexcept;

/// A node's configuration (XEP-0060 §16.4.4, the fields PEP clients set). Defaults are
/// XEP-0163 §4's: access model presence, the last item sent on presence; and one item kept.
struct NodeConfig {
  AccessModel access = AccessModel::presence;
  std::size_t max_items = 1;
  bool persist_items = true;
  /// pubsub#send_last_published_item: false for "never".
  bool send_last = true;
  bool notify_retract = true;
  bool notify_delete = true;
  std::string title;

  friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

/// The opaque string storage::PepStore keeps, and back. A string that does not parse (written
/// by a later version, damaged) reads as the defaults with the fields that do parse.
std::string serialize(const NodeConfig& config);
NodeConfig parse_node_config(std::string_view text);

/// Applies the fields of a submitted pubsub#node_config or pubsub#publish-options form to
/// `config`. Returns an error text naming the first field that is unknown or has a value this
/// service cannot take; `config` is unchanged then.
std::optional<std::string> apply_form(const core::xml::Element& x, NodeConfig& config);
/// XEP-0060 §7.1.5: whether the publish-options `x` hold for an existing node's `config`
/// (every field given has the node's value). The error text names the field that differs.
std::optional<std::string> check_preconditions(const core::xml::Element& x, const NodeConfig& config);
/// The pubsub#node_config form of `config` (XEP-0060 §8.2), type "form".
core::xml::Element config_form(const NodeConfig& config);

/// XEP-0060 §12: an error with a pubsub-specific condition beside the stanza condition.
/// `feature` goes with <unsupported/> (the pubsub feature that is missing).
core::xml::Element pubsub_error(const core::xml::Element& iq, core::stanza::stanza_errc condition,
                                std::string_view pubsub_condition, std::string_view text = {},
                                std::string_view feature = {});

/// <event xmlns='…#event'><items node='…'><item id='…'>payload</item></items></event> in a
/// headline message from `owner` to `to` (XEP-0163 §4.3.1).
core::xml::Element event_message(std::string_view owner, std::string_view to, std::string_view node,
                                 std::string_view item_id, const core::xml::Element* payload);
/// The same with <retract id='…'/> (XEP-0060 §7.2.2.1).
core::xml::Element retract_message(std::string_view owner, std::string_view to, std::string_view node,
                                   std::string_view item_id);
/// <delete node='…'/> or <purge node='…'/> (XEP-0060 §8.4.2, §8.5.2).
core::xml::Element node_event_message(std::string_view owner, std::string_view to, std::string_view what,
                                      std::string_view node);

/// XEP-0115 §5.1: the verification string of a disco#info <query/> (identities, features,
/// extended forms). nullopt when §5.4 says the answer cannot be verified: duplicate identities,
/// features or forms, or a form whose FORM_TYPE is not hidden.
std::optional<std::string> caps_verification_string(const core::xml::Element& query);
/// The verification string hashed with `hash_name` ("sha-1" or "sha-256") and base64-encoded;
/// nullopt for another hash.
std::optional<std::string> caps_hash(std::string_view hash_name, std::string_view verification);

/// The features of a disco#info <query/>.
std::vector<std::string> disco_features(const core::xml::Element& query);

/// The pubsub features the account's disco#info lists: what the service does (XEP-0060 §10).
std::vector<std::string_view> pep_features();

// ---- avatars: XEP-0084 in PEP, XEP-0153 in the vCard, and the XEP-0398 conversion --------

inline constexpr std::string_view avatar_data_node = "urn:xmpp:avatar:data";
inline constexpr std::string_view avatar_metadata_node = "urn:xmpp:avatar:metadata";
inline constexpr std::string_view vcard_update_ns = "vcard-temp:x:update";
inline constexpr std::string_view pep_vcard_conversion_feature = "urn:xmpp:pep-vcard-conversion:0";

/// An image: its media type and its bytes.
struct AvatarImage {
  std::string type;
  std::string bytes;
};
/// The PHOTO of a vCard (XEP-0153 §3.1: TYPE and base64 BINVAL; line breaks in the base64 are
/// allowed). nullopt when there is none, or it is an EXTVAL, or its BINVAL is not base64.
std::optional<AvatarImage> vcard_photo(const core::xml::Element& vcard);
/// The vCard with its PHOTO replaced by `image` (removed when nullopt).
core::xml::Element with_photo(core::xml::Element vcard, const std::optional<AvatarImage>& image);
/// Lower-case hex SHA-1: the id of an avatar (XEP-0084 §4.2) and its XEP-0153 hash.
std::string sha1_hex(std::string_view bytes);
/// XEP-0398 §3.1: the <info/> of a metadata payload that the vCard can hold: the first one
/// without a url. nullopt when none (an empty <metadata/> disables the avatar, §4.2 of XEP-0084).
struct AvatarInfo {
  std::string id;
  std::string type;
};
std::optional<AvatarInfo> stored_avatar_info(const core::xml::Element& metadata);
/// The XEP-0084 payloads for an image: <data/> and <metadata><info/></metadata>.
core::xml::Element avatar_data_payload(const AvatarImage& image);
core::xml::Element avatar_metadata_payload(const AvatarImage& image, std::string_view id);
/// XEP-0398 §4: puts the avatar `hash` into an available presence, as <x xmlns='vcard-temp:x:update'>
/// <photo>hash</photo></x>, unless the client sent an empty <photo/> (it has not read the vCard
/// yet, XEP-0153 §4.2): that presence is left alone. Returns whether the presence changed.
bool stamp_avatar_hash(core::xml::Element& presence, std::string_view hash);

} // namespace parley::router::modules
