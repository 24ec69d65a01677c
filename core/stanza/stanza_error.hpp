#pragma once

#include "core/xml/element.hpp"

#include <string_view>

namespace parley::core::stanza {

/// RFC 6120 §8.3.3 defined stanza error conditions; enumerators mirror the wire names.
enum class stanza_errc {
  bad_request,
  conflict,
  feature_not_implemented,
  forbidden,
  gone,
  internal_server_error,
  item_not_found,
  jid_malformed,
  not_acceptable,
  not_allowed,
  not_authorized,
  policy_violation,
  recipient_unavailable,
  redirect,
  registration_required,
  remote_server_not_found,
  remote_server_timeout,
  resource_constraint,
  service_unavailable,
  subscription_required,
  undefined_condition,
  unexpected_request,
};

/// RFC 6120 §8.3.2 error types.
enum class ErrorType { auth, cancel, continue_, modify, wait };

std::string_view wire_name(stanza_errc condition) noexcept;
std::string_view wire_name(ErrorType type) noexcept;
/// The type RFC 6120 §8.3.3 suggests for each condition.
ErrorType default_type(stanza_errc condition) noexcept;

/// True when an error reply may be sent for `stanza`: never for a stanza of type 'error'
/// (RFC 6120 §8.3.1), nor for iq results.
bool may_answer_with_error(const xml::Element& stanza);

/// Builds the error reply to `stanza` (RFC 6120 §8.3.1): same name and id, `to` and `from`
/// swapped, type='error', the original payload kept for message and presence, and an
/// <error/> with the condition and an optional human-readable text.
xml::Element make_error(const xml::Element& stanza, stanza_errc condition, std::string_view text = {});
xml::Element make_error(const xml::Element& stanza, stanza_errc condition, ErrorType type, std::string_view text);

/// An iq result answering `iq` (type='result', same id, to/from swapped), without payload.
xml::Element make_result(const xml::Element& iq);

} // namespace parley::core::stanza
