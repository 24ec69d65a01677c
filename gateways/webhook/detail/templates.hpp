#pragma once
// Plain-text renderings of the payloads of GitHub, Alertmanager and Grafana. Not for other
// modules: inbound_parse.hpp is the interface.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace parley::gateways::webhook::detail {

/// The string at `path` below `j` (each step an object member), or "" when a step is
/// missing or not an object, or the value is not a string. Never throws.
std::string_view string_at(const nlohmann::json& j, std::initializer_list<std::string_view> path) noexcept;

/// The value at `path`, or nullptr when a step is missing or not an object. Never throws.
const nlohmann::json* value_at(const nlohmann::json& j, std::initializer_list<std::string_view> path) noexcept;

/// Whether JSON text nests arrays and objects at most `max_depth` deep. Counted on the raw
/// text (brackets inside strings skipped) so that no deep structure is ever built; the text
/// need not be valid JSON.
bool json_depth_at_most(std::string_view text, std::size_t max_depth) noexcept;

/// Grafana alerting (unified: `alerts` and `orgId` or `state`; legacy: `ruleName` and `state`).
bool looks_like_grafana(const nlohmann::json& payload) noexcept;
/// Alertmanager webhook_config: `alerts` (array) and `groupLabels` (object).
bool looks_like_alertmanager(const nlohmann::json& payload) noexcept;

/// One-line-plus-details text for GitHub event `event` (X-GitHub-Event). Handles push,
/// issues, issue_comment, pull_request, release and ping; any other event gets a generic
/// line naming it, its action and the repository. `payload` must be an object.
std::string render_github(std::string_view event, const nlohmann::json& payload);

/// "[FIRING:2] HighLatency (api, prod)" and one line per alert. `payload` must be an object.
std::string render_alertmanager(const nlohmann::json& payload);

/// Grafana's own `title` and `message`; the alert list when `message` is absent; the
/// Alertmanager rendering when `title` is. `payload` must be an object.
std::string render_grafana(const nlohmann::json& payload);

} // namespace parley::gateways::webhook::detail
