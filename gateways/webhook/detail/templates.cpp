#include "gateways/webhook/detail/templates.hpp"

#include "gateways/webhook/detail/text.hpp"
#include "gateways/webhook/inbound_parse.hpp"

#include <algorithm>
#include <cstdint>

namespace parley::gateways::webhook::detail {

using nlohmann::json;

namespace {

// Bounds for one-line fields taken from a payload (titles, commit subjects, label values).
constexpr std::size_t max_title_bytes = 300;
constexpr std::size_t max_word_bytes = 100;
constexpr std::size_t max_detail_bytes = 500;

std::string upper_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

// A value from the payload for use inside a sentence: one line, bounded.
std::string word(std::string_view text, std::string_view fallback = {}) {
  const std::string_view line = first_line(text);
  return truncate_utf8(line.empty() ? fallback : line, max_word_bytes);
}

// A URL from the payload: one line, left out when too long, since a cut link is broken.
std::string link(std::string_view text) {
  constexpr std::size_t max_link_bytes = 2048;
  const std::string_view line = first_line(text);
  return line.size() <= max_link_bytes ? std::string(line) : std::string();
}

// "#12" for an integer issue or pull request number, "" otherwise.
std::string number_of(const json& j, std::initializer_list<std::string_view> path) {
  const json* n = value_at(j, path);
  return n != nullptr && n->is_number_integer() ? "#" + n->dump() : std::string();
}

bool bool_at(const json& j, std::initializer_list<std::string_view> path) {
  const json* b = value_at(j, path);
  return b != nullptr && b->is_boolean() && b->get<bool>();
}

std::string actor_of(const json& payload) {
  std::string_view actor = string_at(payload, {"sender", "login"});
  if (actor.empty()) {
    actor = string_at(payload, {"pusher", "name"});
  }
  return word(actor, "someone");
}

std::string repository_of(const json& payload) {
  std::string_view repo = string_at(payload, {"repository", "full_name"});
  if (repo.empty()) {
    repo = string_at(payload, {"repository", "name"});
  }
  return word(repo);
}

// "opened", "review requested": GitHub's action names read as verbs once unsnaked.
std::string action_words(std::string_view action) {
  std::string out = word(action);
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

void append_more(std::string& out, std::size_t more) {
  if (more > 0) {
    out += "\n";
    out += ellipsis;
    out += " and " + std::to_string(more) + " more";
  }
}

// "alice opened issue #12 in org/repo: Title https://…"
std::string item_line(std::string_view verb, std::string_view noun, const json& payload, const json& item,
                      std::string_view url) {
  std::string out = actor_of(payload) + " " + std::string(verb) + " " + std::string(noun);
  const std::string number = number_of(item, {"number"});
  if (!number.empty()) {
    out += " " + number;
  }
  const std::string repo = repository_of(payload);
  if (!repo.empty()) {
    out += " in " + repo;
  }
  const std::string title = headline(string_at(item, {"title"}), max_title_bytes);
  if (!title.empty()) {
    out += ": " + title;
  }
  if (const std::string href = link(url); !href.empty()) {
    out += " " + href;
  }
  return out;
}

std::string render_push(const json& payload) {
  const std::string actor = actor_of(payload);
  std::string repo = repository_of(payload);
  if (repo.empty()) {
    repo = "an unnamed repository";
  }
  const std::string_view ref = string_at(payload, {"ref"});
  std::string_view kind = "branch";
  std::string_view name = ref;
  if (ref.starts_with("refs/heads/")) {
    name = ref.substr(11);
  } else if (ref.starts_with("refs/tags/")) {
    kind = "tag";
    name = ref.substr(10);
  } else {
    kind = "ref";
  }
  const std::string ref_name = word(name, "?");

  if (bool_at(payload, {"deleted"})) {
    return actor + " deleted " + std::string(kind) + " " + ref_name + " in " + repo;
  }
  const json* commits = value_at(payload, {"commits"});
  const std::size_t count = commits != nullptr && commits->is_array() ? commits->size() : 0;
  const std::string compare = link(string_at(payload, {"compare"}));
  if (kind == "tag" || (count == 0 && bool_at(payload, {"created"}))) {
    std::string out = actor + (kind == "tag" ? " pushed tag " : " created branch ") + ref_name + " in " + repo;
    if (!compare.empty()) {
      out += ": " + compare;
    }
    return out;
  }

  std::string out = actor + (bool_at(payload, {"forced"}) ? " force-pushed " : " pushed ") + std::to_string(count) +
                    (count == 1 ? " commit" : " commits") + " to " + repo + " (" + ref_name + ")";
  if (!compare.empty()) {
    out += ": " + compare;
  }
  std::size_t listed = 0;
  if (count > 0) {
    for (const json& commit : *commits) {
      if (listed == max_listed_items) {
        break;
      }
      ++listed;
      const std::string_view id = string_at(commit, {"id"});
      out += "\n- ";
      if (!id.empty()) {
        out += word(utf8_prefix(id, 7)) + " ";
      }
      out += headline(string_at(commit, {"message"}), max_title_bytes);
    }
  }
  append_more(out, count - listed);
  return out;
}

std::string render_issue_comment(const json& payload) {
  const std::string_view action = string_at(payload, {"action"});
  const json* issue = value_at(payload, {"issue"});
  static const json empty = json::object();
  const json& item = issue != nullptr ? *issue : empty;
  // GitHub sends comments on pull requests as issue_comment too, marked by issue.pull_request.
  const std::string_view noun = value_at(item, {"pull_request"}) != nullptr ? "pull request" : "issue";
  const std::string verb = action == "created"   ? "commented on"
                           : action == "edited"  ? "edited a comment on"
                           : action == "deleted" ? "deleted a comment on"
                                                 : action_words(action) + " a comment on";
  std::string out = item_line(verb, noun, payload, item, string_at(payload, {"comment", "html_url"}));
  const std::string_view text = trim(string_at(payload, {"comment", "body"}));
  if (action != "deleted" && !text.empty()) {
    out += "\n" + truncate_utf8(text, max_detail_bytes);
  }
  return out;
}

std::string render_issue(const json& payload) {
  const json* issue = value_at(payload, {"issue"});
  static const json empty = json::object();
  const json& item = issue != nullptr ? *issue : empty;
  return item_line(action_words(string_at(payload, {"action"})), "issue", payload, item, string_at(item, {"html_url"}));
}

std::string render_pull_request(const json& payload) {
  const json* pr = value_at(payload, {"pull_request"});
  static const json empty = json::object();
  const json& item = pr != nullptr ? *pr : empty;
  const std::string_view action = string_at(payload, {"action"});
  std::string verb;
  if (action == "closed") {
    verb = bool_at(item, {"merged"}) ? "merged" : "closed";
  } else if (action == "synchronize") {
    verb = "pushed to";
  } else if (action == "review_requested") {
    verb = "requested a review on";
  } else if (action == "review_request_removed") {
    verb = "removed a review request from";
  } else if (action == "ready_for_review") {
    verb = "marked ready for review";
  } else if (action == "converted_to_draft") {
    verb = "converted to draft";
  } else {
    verb = action_words(action);
  }
  return item_line(verb, "pull request", payload, item, string_at(item, {"html_url"}));
}

std::string render_release(const json& payload) {
  std::string_view name = string_at(payload, {"release", "name"});
  if (trim(name).empty()) {
    name = string_at(payload, {"release", "tag_name"});
  }
  std::string out =
      actor_of(payload) + " " + action_words(string_at(payload, {"action"})) + " release " + word(name, "?");
  if (const std::string repo = repository_of(payload); !repo.empty()) {
    out += " in " + repo;
  }
  const std::string url = link(string_at(payload, {"release", "html_url"}));
  if (!url.empty()) {
    out += ": " + url;
  }
  return out;
}

std::string render_ping(const json& payload) {
  std::string target = repository_of(payload);
  if (target.empty()) {
    target = word(string_at(payload, {"organization", "login"}));
  }
  std::string out = target.empty() ? "GitHub webhook is set up" : "GitHub webhook for " + target + " is set up";
  const std::string zen = headline(string_at(payload, {"zen"}), max_title_bytes);
  if (!zen.empty()) {
    out += ": " + zen;
  }
  return out;
}

std::string render_github_generic(std::string_view event, const json& payload) {
  // The event name comes from a header, which may hold any bytes; GitHub's are snake_case.
  const bool plain_name = !event.empty() && event.size() <= 64 && std::all_of(event.begin(), event.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
  std::string out = "GitHub " + (plain_name ? std::string(event) : std::string("unknown")) + " event";
  const std::string action = action_words(string_at(payload, {"action"}));
  if (!action.empty()) {
    out += " (" + action + ")";
  }
  const std::string repo = repository_of(payload);
  if (!repo.empty()) {
    out += " in " + repo;
  }
  out += " by " + actor_of(payload);
  return out;
}

// Label values in key order (a JSON object is a std::map here), joined by `separator`;
// with `except`, only the labels that `except` lacks or gives another value.
std::string label_values(const json* labels, std::string_view separator, const json* except = nullptr) {
  std::string out;
  if (labels == nullptr || !labels->is_object()) {
    return out;
  }
  for (const auto& [key, value] : labels->items()) {
    if (!value.is_string()) {
      continue;
    }
    if (except != nullptr && except->is_object()) {
      const auto it = except->find(key);
      if (it != except->end() && *it == value) {
        continue;
      }
    }
    if (!out.empty()) {
      out += separator;
    }
    out += word(value.get_ref<const std::string&>());
  }
  return out;
}

// "instance=api-1, pod=x": the labels that set one alert apart from the group.
std::string distinguishing_labels(const json& alert, const json* common) {
  std::string out;
  const json* labels = value_at(alert, {"labels"});
  if (labels == nullptr || !labels->is_object()) {
    return out;
  }
  for (const auto& [key, value] : labels->items()) {
    if (!value.is_string()) {
      continue;
    }
    if (common != nullptr && common->is_object()) {
      const auto it = common->find(key);
      if (it != common->end() && *it == value) {
        continue;
      }
    }
    if (!out.empty()) {
      out += ", ";
    }
    out += word(key) + "=" + word(value.get_ref<const std::string&>());
  }
  return out;
}

// One line per alert (plus its description), at most max_listed_items of them.
void append_alerts(std::string& out, const json& payload, std::string_view group_status) {
  const json* alerts = value_at(payload, {"alerts"});
  if (alerts == nullptr || !alerts->is_array()) {
    return;
  }
  const json* common = value_at(payload, {"commonLabels"});
  std::size_t listed = 0;
  for (const json& alert : *alerts) {
    if (listed == max_listed_items) {
      break;
    }
    ++listed;
    const std::string_view summary = trim(string_at(alert, {"annotations", "summary"}));
    const std::string_view description = trim(string_at(alert, {"annotations", "description"}));
    out += "\n- ";
    if (!summary.empty()) {
      out += headline(summary, max_title_bytes);
    } else if (!description.empty()) {
      out += headline(description, max_title_bytes);
    } else {
      out += word(string_at(alert, {"labels", "alertname"}), "alert");
    }
    const std::string labels = distinguishing_labels(alert, common);
    if (!labels.empty()) {
      out += " (" + labels + ")";
    }
    const std::string_view status = string_at(alert, {"status"});
    if (!status.empty() && status != group_status) {
      out += " [" + word(status) + "]";
    }
    if (!summary.empty() && !description.empty()) {
      out += "\n  " + headline(description, max_detail_bytes);
    }
  }
  std::size_t more = alerts->size() - listed;
  if (const json* truncated = value_at(payload, {"truncatedAlerts"});
      truncated != nullptr && truncated->is_number_unsigned()) {
    more += static_cast<std::size_t>(std::min<std::uint64_t>(truncated->get<std::uint64_t>(), 1'000'000'000));
  }
  append_more(out, more);
}

} // namespace

const json* value_at(const json& j, std::initializer_list<std::string_view> path) noexcept {
  const json* at = &j;
  for (const std::string_view step : path) {
    if (!at->is_object()) {
      return nullptr;
    }
    const auto it = at->find(step);
    if (it == at->end()) {
      return nullptr;
    }
    at = &*it;
  }
  return at;
}

std::string_view string_at(const json& j, std::initializer_list<std::string_view> path) noexcept {
  const json* value = value_at(j, path);
  if (value == nullptr || !value->is_string()) {
    return {};
  }
  return value->get_ref<const std::string&>();
}

bool json_depth_at_most(std::string_view text, std::size_t max_depth) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return false;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

bool looks_like_grafana(const json& payload) noexcept {
  if (!payload.is_object()) {
    return false;
  }
  const json* alerts = value_at(payload, {"alerts"});
  const bool has_state = payload.contains("state");
  if (alerts != nullptr && alerts->is_array()) {
    return has_state || payload.contains("orgId");
  }
  return has_state && payload.contains("ruleName");
}

bool looks_like_alertmanager(const json& payload) noexcept {
  const json* alerts = value_at(payload, {"alerts"});
  const json* group = value_at(payload, {"groupLabels"});
  return alerts != nullptr && alerts->is_array() && group != nullptr && group->is_object();
}

std::string render_github(std::string_view event, const json& payload) {
  if (event == "push") {
    return render_push(payload);
  }
  if (event == "issues") {
    return render_issue(payload);
  }
  if (event == "issue_comment") {
    return render_issue_comment(payload);
  }
  if (event == "pull_request") {
    return render_pull_request(payload);
  }
  if (event == "release") {
    return render_release(payload);
  }
  if (event == "ping") {
    return render_ping(payload);
  }
  return render_github_generic(event, payload);
}

std::string render_alertmanager(const json& payload) {
  const std::string_view status = string_at(payload, {"status"});
  std::size_t firing = 0;
  if (const json* alerts = value_at(payload, {"alerts"}); alerts != nullptr && alerts->is_array()) {
    firing = static_cast<std::size_t>(std::count_if(
        alerts->begin(), alerts->end(), [](const json& alert) { return string_at(alert, {"status"}) == "firing"; }));
  }
  // Alertmanager's default title: [STATUS(:firing count)] group label values (other common labels)
  std::string out = "[" + upper_ascii(word(status, "unknown"));
  if (status == "firing") {
    out += ":" + std::to_string(firing);
  }
  out += "]";
  const json* group = value_at(payload, {"groupLabels"});
  std::string grouped = label_values(group, " ");
  // Grouped by nothing (`group_by: ['...']` or none): name the alert by its common alertname.
  json by_name = json::object();
  if (grouped.empty()) {
    const std::string_view alertname = string_at(payload, {"commonLabels", "alertname"});
    if (!alertname.empty()) {
      by_name["alertname"] = alertname;
      grouped = word(alertname);
    }
    group = &by_name;
  }
  if (!grouped.empty()) {
    out += " " + grouped;
  }
  const std::string extra = label_values(value_at(payload, {"commonLabels"}), ", ", group);
  if (!extra.empty()) {
    out += " (" + extra + ")";
  }
  append_alerts(out, payload, status);
  return out;
}

std::string render_grafana(const json& payload) {
  const std::string_view title = trim(string_at(payload, {"title"}));
  if (title.empty()) {
    return render_alertmanager(payload);
  }
  std::string out(title);
  const std::string_view message = trim(string_at(payload, {"message"}));
  if (!message.empty()) {
    out += "\n";
    out += message;
  } else {
    append_alerts(out, payload, string_at(payload, {"status"}));
  }
  // Legacy alerting links its rule; unified alerting puts links inside `message`.
  const std::string rule_url = link(string_at(payload, {"ruleUrl"}));
  if (!rule_url.empty()) {
    out += "\n" + rule_url;
  }
  return out;
}

} // namespace parley::gateways::webhook::detail
