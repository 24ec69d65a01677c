#pragma once

#include <boost/system/error_code.hpp>

#include <optional>
#include <string_view>
#include <type_traits>

namespace parley::core::xml {

/// RFC 6120 §4.9.3 defined stream error conditions; enumerators mirror the wire names
/// (`not_well_formed` is <not-well-formed/>). Values start at 1 so that a default-constructed
/// error_code means success.
enum class stream_errc {
  bad_format = 1,           // §4.9.3.1
  bad_namespace_prefix,     // §4.9.3.2
  conflict,                 // §4.9.3.3
  connection_timeout,       // §4.9.3.4
  host_gone,                // §4.9.3.5
  host_unknown,             // §4.9.3.6
  improper_addressing,      // §4.9.3.7
  internal_server_error,    // §4.9.3.8
  invalid_from,             // §4.9.3.9
  invalid_namespace,        // §4.9.3.10
  invalid_xml,              // §4.9.3.11
  not_authorized,           // §4.9.3.12
  not_well_formed,          // §4.9.3.13
  policy_violation,         // §4.9.3.14
  remote_connection_failed, // §4.9.3.15
  reset,                    // §4.9.3.16
  resource_constraint,      // §4.9.3.17
  restricted_xml,           // §4.9.3.18
  see_other_host,           // §4.9.3.19
  system_shutdown,          // §4.9.3.20
  undefined_condition,      // §4.9.3.21
  unsupported_encoding,     // §4.9.3.22
  unsupported_feature,      // §4.9.3.23
  unsupported_stanza_type,  // §4.9.3.24
  unsupported_version,      // §4.9.3.25
};

/// The element name of the condition as sent inside <stream:error/>, e.g. "not-well-formed".
std::string_view wire_name(stream_errc condition) noexcept;

/// The condition whose wire name is `name` (e.g. from a peer's <stream:error/>); nullopt for
/// a name RFC 6120 does not define.
std::optional<stream_errc> stream_errc_from_wire(std::string_view name) noexcept;

/// The category of stream_errc values. Its message() is the wire name.
const boost::system::error_category& stream_category() noexcept;

/// Makes `e` usable wherever an error_code is expected: `error_code ec = stream_errc::reset;`.
boost::system::error_code make_error_code(stream_errc e) noexcept;

} // namespace parley::core::xml

namespace boost::system {
template <> struct is_error_code_enum<parley::core::xml::stream_errc> : std::true_type {};
} // namespace boost::system
