// libFuzzer target for router/modules/pep_rules: what a client sends to its personal eventing
// service and in its presence, as the rules read it. The input is one XML element; it is read
// as a node configuration form (publish-options, configure), as a disco#info answer (entity
// capabilities), as a vCard, as avatar metadata and as a presence. Whatever it says: no crash,
// and the invariants below hold (a violation traps so that libFuzzer keeps the input).

#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
#include "router/modules/pep_rules.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace parley::router::modules;
namespace ns = parley::core::xml::ns;

void require(bool condition) {
  if (!condition) {
    __builtin_trap();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = parley::core::xml::parse_element(input, ns::client);
  if (!parsed) {
    return 0;
  }
  auto& element = *parsed;

  // Forms: applying either succeeds and the result survives storage, or nothing changes.
  NodeConfig config;
  const NodeConfig before = config;
  if (apply_form(element, config)) {
    require(config == before);
  }
  require(config.max_items >= 1 && config.max_items <= max_pep_items);
  require(parse_node_config(serialize(config)) == config);
  (void)check_preconditions(element, config);
  require(parse_node_config(std::string(input)).max_items >= 1);

  // Capabilities: a verification string hashes; the features come out sorted.
  if (auto s = caps_verification_string(element)) {
    require(caps_hash("sha-1", *s).has_value());
  }
  const auto features = disco_features(element);
  for (std::size_t i = 1; i < features.size(); ++i) {
    require(features[i - 1] <= features[i]);
  }

  // Avatars: a photo read from a vCard goes back into one unchanged.
  if (auto image = vcard_photo(element)) {
    const auto again = vcard_photo(with_photo(element, image));
    require(again && again->bytes == image->bytes && again->type == image->type);
    require(sha1_hex(image->bytes).size() == 40);
  }
  (void)stored_avatar_info(element);
  auto presence = element;
  if (stamp_avatar_hash(presence, "0123456789abcdef0123456789abcdef01234567")) {
    require(presence.child("x", vcard_update_ns) != nullptr);
  }
  (void)parley::core::xml::serialize(presence, ns::client);
  return 0;
}
