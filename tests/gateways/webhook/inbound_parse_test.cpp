#include "gateways/webhook/inbound_parse.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace parley::gateways::webhook;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

InboundSettings settings_for(PayloadTemplate t = PayloadTemplate::auto_detect,
                             std::string default_recipient = "ops@example.com") {
  return {std::move(default_recipient), t};
}

boost::system::result<InboundMessage, InboundProblem> parse(std::string_view content_type, std::string_view body,
                                                            const Headers& headers = {},
                                                            const InboundSettings& settings = settings_for()) {
  return parse_inbound({content_type, body, headers}, settings);
}

// The problem type's last segment, "invalid-json" for urn:parley:problem:invalid-json.
std::string problem_name(const InboundProblem& problem) {
  constexpr std::string_view prefix = "urn:parley:problem:";
  REQUIRE(std::string_view(problem.type).starts_with(prefix));
  return problem.type.substr(prefix.size());
}

void check_problem(const boost::system::result<InboundMessage, InboundProblem>& r, unsigned status,
                   std::string_view name) {
  REQUIRE(r.has_error());
  CAPTURE(r.error().detail);
  CHECK(r.error().status == status);
  CHECK(problem_name(r.error()) == name);
  CHECK_FALSE(r.error().title.empty());
  CHECK_FALSE(r.error().detail.empty());
}

// Modelled on GitHub's documented `push` payload (docs.github.com, "Webhook events and
// payloads"), trimmed to the members a receiver reads plus some it ignores.
constexpr std::string_view github_push = R"json({
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
  "repository": {
    "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "repo", "full_name": "org/repo",
    "private": false, "owner": {"login": "org", "id": 1, "type": "Organization"},
    "html_url": "https://github.com/org/repo", "default_branch": "main"
  },
  "pusher": {"name": "alice", "email": "alice@example.com"},
  "sender": {"login": "alice", "id": 583231, "type": "User", "site_admin": false},
  "created": false, "deleted": false, "forced": false, "base_ref": null,
  "compare": "https://github.com/org/repo/compare/6113728f27ae...0d1a26e67d8f",
  "commits": [
    {
      "id": "b5a1d6f4d7e8c9a0b1c2d3e4f5a6b7c8d9e0f1a2", "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
      "distinct": true, "message": "Fix race in the outbox worker\n\nThe worker could pick the same row twice.",
      "timestamp": "2024-05-01T12:00:00+02:00",
      "url": "https://github.com/org/repo/commit/b5a1d6f4d7e8c9a0b1c2d3e4f5a6b7c8d9e0f1a2",
      "author": {"name": "Alice Liddell", "email": "alice@example.com", "username": "alice"},
      "committer": {"name": "Alice Liddell", "email": "alice@example.com", "username": "alice"},
      "added": [], "removed": [], "modified": ["gateways/outbox.cpp"]
    },
    {
      "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "tree_id": "a8c4d2e0f1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d0",
      "distinct": true, "message": "Add a regression test for the outbox",
      "timestamp": "2024-05-01T12:05:00+02:00",
      "url": "https://github.com/org/repo/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
      "author": {"name": "Alice Liddell", "email": "alice@example.com", "username": "alice"},
      "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
      "added": ["tests/outbox_test.cpp"], "removed": [], "modified": []
    }
  ],
  "head_commit": {
    "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "message": "Add a regression test for the outbox",
    "url": "https://github.com/org/repo/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
  }
})json";

constexpr std::string_view github_issue_opened = R"json({
  "action": "opened",
  "issue": {
    "url": "https://api.github.com/repos/org/repo/issues/12",
    "html_url": "https://github.com/org/repo/issues/12",
    "id": 1347, "number": 12, "title": "Crash when the roster is empty",
    "user": {"login": "alice", "id": 583231, "type": "User"},
    "labels": [{"id": 208045946, "name": "bug", "color": "f29513"}],
    "state": "open", "locked": false, "assignee": null, "assignees": [], "comments": 0,
    "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:00Z", "closed_at": null,
    "body": "Steps to reproduce:\n1. Log in with an empty roster\n2. Watch it crash"
  },
  "repository": {"id": 1296269, "name": "repo", "full_name": "org/repo", "html_url": "https://github.com/org/repo"},
  "sender": {"login": "alice", "id": 583231, "type": "User"}
})json";

std::string github_pull_request(std::string_view action, bool merged) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "action": "closed",
    "number": 5,
    "pull_request": {
      "url": "https://api.github.com/repos/org/repo/pulls/5",
      "html_url": "https://github.com/org/repo/pull/5",
      "number": 5, "state": "closed", "locked": false, "title": "Add the webhook gateway",
      "user": {"login": "alice", "id": 583231},
      "body": "Inbound and outbound webhooks.",
      "merged": true, "merged_at": "2024-05-02T09:00:00Z", "draft": false,
      "head": {"label": "alice:webhook", "ref": "webhook", "sha": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"},
      "base": {"label": "org:main", "ref": "main", "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"}
    },
    "repository": {"id": 1296269, "name": "repo", "full_name": "org/repo"},
    "sender": {"login": "bob", "id": 6752317, "type": "User"}
  })");
  j["action"] = action;
  j["pull_request"]["merged"] = merged;
  if (!merged) {
    j["pull_request"]["merged_at"] = nullptr;
  }
  return j.dump();
}

constexpr std::string_view github_ping = R"json({
  "zen": "Design for failure.",
  "hook_id": 30,
  "hook": {
    "type": "Repository", "id": 30, "name": "web", "active": true, "events": ["push", "issues"],
    "config": {"content_type": "json", "insecure_ssl": "0", "url": "https://xmpp.example.com/hooks/ci"}
  },
  "repository": {"id": 1296269, "name": "repo", "full_name": "org/repo"},
  "sender": {"login": "alice", "id": 583231, "type": "User"}
})json";

// Prometheus Alertmanager webhook_config, version 4 (prometheus.io/docs/alerting/latest/configuration).
constexpr std::string_view alertmanager_firing = R"json({
  "version": "4",
  "groupKey": "{}:{alertname=\"HighLatency\"}",
  "truncatedAlerts": 0,
  "status": "firing",
  "receiver": "xmpp-oncall",
  "groupLabels": {"alertname": "HighLatency"},
  "commonLabels": {"alertname": "HighLatency", "env": "prod", "service": "api", "severity": "page"},
  "commonAnnotations": {"runbook_url": "https://runbooks.example.com/high-latency"},
  "externalURL": "http://alertmanager.example.com:9093",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "HighLatency", "env": "prod", "instance": "api-1:8080", "service": "api", "severity": "page"},
      "annotations": {"summary": "p99 latency above 500ms",
                      "description": "p99 latency on api-1:8080 has been 730ms for 5 minutes.",
                      "runbook_url": "https://runbooks.example.com/high-latency"},
      "startsAt": "2024-05-01T10:00:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=histogram_quantile%280.99%29&g0.tab=1",
      "fingerprint": "a8f3c1d2e4b5f6a7"
    },
    {
      "status": "firing",
      "labels": {"alertname": "HighLatency", "env": "prod", "instance": "api-2:8080", "service": "api", "severity": "page"},
      "annotations": {"summary": "p99 latency above 500ms",
                      "runbook_url": "https://runbooks.example.com/high-latency"},
      "startsAt": "2024-05-01T10:01:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=histogram_quantile%280.99%29&g0.tab=1",
      "fingerprint": "b7e2d0c1f3a4e5d6"
    }
  ]
})json";

// Grafana unified alerting, webhook contact point (grafana.com/docs, "Configure webhook
// notifications"), as Grafana's own test notification sends it.
constexpr std::string_view grafana_firing = R"json({
  "receiver": "xmpp",
  "status": "firing",
  "orgId": 1,
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
      "annotations": {"description": "The system has high memory usage", "runbook_url": "https://myrunbook.com/runbook/1234",
                      "summary": "This alert was triggered for zone us-1"},
      "startsAt": "2021-10-12T09:51:03.157076+02:00", "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit", "fingerprint": "c6eadffa33fcdf37",
      "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2",
      "dashboardURL": "", "panelURL": "", "values": {"B": 44.23943737541908, "C": 1}
    }
  ],
  "groupLabels": {"alertname": "High memory usage"},
  "commonLabels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
  "commonAnnotations": {},
  "externalURL": "https://play.grafana.org/",
  "version": "1",
  "groupKey": "{}:{alertname=\"High memory usage\"}",
  "truncatedAlerts": 0,
  "title": "[FIRING:1] High memory usage (blue us-1)",
  "state": "alerting",
  "message": "**Firing**\n\nValue: B=44.23943737541908, C=1\nLabels:\n - alertname = High memory usage\n - team = blue\n - zone = us-1\nAnnotations:\n - summary = This alert was triggered for zone us-1\nSource: https://play.grafana.org/alerting/1afz29v7z/edit\n"
})json";

// Grafana's legacy (pre-8) alerting webhook.
constexpr std::string_view grafana_legacy = R"json({
  "dashboardId": 1,
  "evalMatches": [{"value": 1, "metric": "Count", "tags": {}}],
  "message": "Notification Message",
  "orgId": 1, "panelId": 2, "ruleId": 1,
  "ruleName": "Panel Title alert",
  "ruleUrl": "http://localhost:3000/d/hZ7BuVbWz/test-dashboard?fullscreen&edit&tab=alert&panelId=2&orgId=1",
  "state": "alerting",
  "tags": {"tag name": "tag value"},
  "title": "[Alerting] Panel Title alert"
})json";

} // namespace

TEST_CASE("generic JSON: to, body, subject and type") {
  auto r = parse("application/json",
                 R"({"to": "Alice@Example.COM", "body": "Build #1 failed", "subject": " CI ", "type": "headline"})");
  REQUIRE(r.has_value());
  CHECK(r->to == "alice@example.com"); // prepared (RFC 7622)
  CHECK(r->body == "Build #1 failed");
  CHECK(r->subject == "CI");
  CHECK(r->type == MessageType::headline);
  CHECK(r->dedupe_key.empty());

  r = parse("application/json", R"({"body": "line 1\nline 2", "to": null, "subject": null, "type": null, "x": [1]})");
  REQUIRE(r.has_value());
  CHECK(r->to.empty());
  CHECK(r->body == "line 1\nline 2");
  CHECK(r->subject.empty());
  CHECK(r->type == MessageType::chat);

  r = parse("application/json", R"({"to": "bob@example.com/phone", "body": "hi", "type": "normal"})");
  REQUIRE(r.has_value());
  CHECK(r->to == "bob@example.com/phone");
  CHECK(r->type == MessageType::normal);
}

TEST_CASE("generic JSON: Slack-style text") {
  auto r =
      parse("application/json", R"({"text": "Deploy finished :tada:", "username": "ci", "icon_emoji": ":ghost:"})");
  REQUIRE(r.has_value());
  CHECK(r->to.empty());
  CHECK(r->body == "Deploy finished :tada:");
  // "body" wins over "text".
  r = parse("application/json", R"({"text": "slack", "body": "generic"})");
  REQUIRE(r.has_value());
  CHECK(r->body == "generic");
  // Without a default recipient, a recipient is needed.
  check_problem(parse("application/json", R"({"text": "hello"})", {}, settings_for(PayloadTemplate::plain, "")), 422,
                "no-recipient");
  r = parse("application/json", R"({"text": "hello", "to": "alice@example.com"})", {},
            settings_for(PayloadTemplate::plain, ""));
  REQUIRE(r.has_value());
  CHECK(r->to == "alice@example.com");
}

TEST_CASE("generic JSON: fields of the wrong type or value") {
  struct Case {
    std::string_view body;
    std::string_view name;
  };
  for (const Case& c : {Case{R"({"to": 42, "body": "x"})", "invalid-field"},
                        Case{R"({"to": ["alice@example.com"], "body": "x"})", "invalid-field"},
                        Case{R"({"to": "", "body": "x"})", "invalid-field"},
                        Case{R"({"to": "@example.com", "body": "x"})", "invalid-field"},
                        Case{R"({"to": "alice@", "body": "x"})", "invalid-field"},
                        Case{R"({"body": 42})", "invalid-field"},
                        Case{R"({"body": {"text": "x"}})", "invalid-field"},
                        Case{R"({"text": true})", "invalid-field"},
                        Case{R"({"body": "x", "subject": 1})", "invalid-field"},
                        Case{R"({"body": "x", "type": "groupchat"})", "invalid-field"},
                        Case{R"({"body": "x", "type": "error"})", "invalid-field"},
                        Case{R"({"body": "x", "type": "Chat"})", "invalid-field"},
                        Case{R"({"body": "x", "type": 1})", "invalid-field"},
                        Case{R"({"body": ""})", "missing-body"},
                        Case{R"({"body": " \n\t "})", "missing-body"},
                        Case{R"({"to": "alice@example.com"})", "missing-body"},
                        Case{R"({"body": null})", "missing-body"},
                        Case{R"({})", "missing-body"},
                        Case{R"(["body", "x"])", "invalid-payload"},
                        Case{R"("just a string")", "invalid-payload"},
                        Case{R"(42)", "invalid-payload"},
                        Case{R"(null)", "invalid-payload"}}) {
    CAPTURE(c.body);
    check_problem(parse("application/json", c.body), 422, c.name);
  }
  // The detail names the field and what it got.
  auto r = parse("application/json", R"({"body": 42})");
  REQUIRE(r.has_error());
  CHECK(r.error().detail == "\"body\" must be a string, not number");
  CHECK(r.error().title == "Unprocessable Content");
}

TEST_CASE("invalid JSON, UTF-8 and nesting are 400") {
  for (const std::string_view body :
       {"", "{", R"({"body": "x",})", R"({'body': 'x'})", "{\"body\": \"x\"} trailing", R"({"body": "\ud800"})"}) {
    CAPTURE(body);
    check_problem(parse("application/json", body), 400, "invalid-json");
  }
  check_problem(parse("application/json", "{\"body\": \"caf\xE9\"}"), 400, "invalid-utf8");
  check_problem(parse("text/plain", "caf\xC3"), 400, "invalid-utf8");
  check_problem(parse("application/json", "{\"body\": \"\xED\xA0\x80\"}"), 400, "invalid-utf8");

  // 64 levels (the object and 63 arrays) are fine, 65 are not.
  const std::string fine = R"({"body": "x", "deep": )" + std::string(63, '[') + std::string(63, ']') + "}";
  CHECK(parse("application/json", fine).has_value());
  const std::string deep = R"({"body": "x", "deep": )" + std::string(64, '[') + std::string(64, ']') + "}";
  check_problem(parse("application/json", deep), 400, "invalid-json");
  // Brackets inside strings do not count.
  const std::string quoted = R"({"body": ")" + std::string(100, '[') + R"(\"{{{{"})";
  CHECK(parse("application/json", quoted).has_value());
  // Nor does an unbalanced closing bracket lower the count below zero for what follows.
  check_problem(parse("application/json", "]]]]" + deep), 400, "invalid-json");
}

TEST_CASE("content types") {
  for (const std::string_view ct :
       {"application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=\"UTF-8\"",
        "application/json ; charset=utf8", "application/cloudevents+json", "application/json; boundary=x"}) {
    CAPTURE(ct);
    CHECK(parse(ct, R"({"body": "x"})").has_value());
  }
  for (const std::string_view ct :
       {"", "   ", "application/xml", "text/html", "multipart/form-data; boundary=x",
        "application/json; charset=iso-8859-1", "text/plain; charset=latin1", "application/jsonp", "json"}) {
    CAPTURE(ct);
    check_problem(parse(ct, R"({"body": "x"})"), 415, "unsupported-media-type");
  }
  auto r = parse("application/xml", "<x/>");
  REQUIRE(r.has_error());
  CHECK(r.error().title == "Unsupported Media Type");
}

TEST_CASE("text/plain goes to the default recipient") {
  auto r = parse("text/plain; charset=utf-8", "Backup finished: 12 GiB in 4 min\n\n");
  REQUIRE(r.has_value());
  CHECK(r->to.empty());
  CHECK(r->body == "Backup finished: 12 GiB in 4 min");
  CHECK(r->type == MessageType::chat);
  CHECK(r->subject.empty());

  r = parse("text/plain", "  indented\nkept");
  REQUIRE(r.has_value());
  CHECK(r->body == "  indented\nkept");
  // JSON-looking text is still text.
  r = parse("text/plain", R"({"to": "alice@example.com", "body": "x"})");
  REQUIRE(r.has_value());
  CHECK(r->to.empty());

  check_problem(parse("text/plain", ""), 422, "missing-body");
  check_problem(parse("text/plain", " \r\n"), 422, "missing-body");
  check_problem(parse("text/plain", "hello", {}, settings_for(PayloadTemplate::auto_detect, "")), 422, "no-recipient");
  check_problem(parse("text/plain", "hello", {}, settings_for(PayloadTemplate::github)), 415, "unsupported-media-type");
  CHECK(parse("text/plain", "hello", {}, settings_for(PayloadTemplate::plain)).has_value());
}

TEST_CASE("form bodies: fields or a JSON payload field") {
  auto r =
      parse("application/x-www-form-urlencoded", "to=alice%40example.com&body=Build+%231+failed%0Aon+main&type=normal");
  REQUIRE(r.has_value());
  CHECK(r->to == "alice@example.com");
  CHECK(r->body == "Build #1 failed\non main");
  CHECK(r->type == MessageType::normal);

  // Slack's incoming webhooks accept payload=<JSON>.
  r = parse("application/x-www-form-urlencoded", "payload=%7B%22text%22%3A%20%22caf%C3%A9%22%7D");
  REQUIRE(r.has_value());
  CHECK(r->body == "caf\xC3\xA9");

  // The first of repeated fields wins; empty pairs are skipped.
  r = parse("application/x-www-form-urlencoded", "&body=first&&body=second&");
  REQUIRE(r.has_value());
  CHECK(r->body == "first");

  // `curl -d 'hello'` sends a form whose only field is "hello".
  check_problem(parse("application/x-www-form-urlencoded", "hello"), 422, "missing-body");
  check_problem(parse("application/x-www-form-urlencoded", "body=%zz"), 400, "invalid-form");
  check_problem(parse("application/x-www-form-urlencoded", "body=abc%4"), 400, "invalid-form");
  check_problem(parse("application/x-www-form-urlencoded", "body=abc%"), 400, "invalid-form");
  check_problem(parse("application/x-www-form-urlencoded", "body=caf%E9"), 400, "invalid-utf8");
  check_problem(parse("application/x-www-form-urlencoded", "payload=%7Bnot+json"), 400, "invalid-json");
  check_problem(parse("application/x-www-form-urlencoded", "to=not%20a%20jid%40&body=x"), 422, "invalid-field");
}

TEST_CASE("dedupe keys come from webhook-id, X-GitHub-Delivery or Idempotency-Key") {
  constexpr std::string_view body = R"({"body": "x"})";
  auto r = parse("application/json", body, {{"webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"}});
  REQUIRE(r.has_value());
  CHECK(r->dedupe_key == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");

  r = parse("application/json", body,
            {{"x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"}, {"webhook-id", "msg_1"}});
  REQUIRE(r.has_value());
  CHECK(r->dedupe_key == "msg_1");

  r = parse("application/json", body, {{"idempotency-key", "\"8e03978e-40d5-43e8-bc93-6894a57f9324\""}});
  REQUIRE(r.has_value());
  CHECK(r->dedupe_key == "8e03978e-40d5-43e8-bc93-6894a57f9324");

  check_problem(parse("application/json", body, {{"webhook-id", ""}}), 400, "invalid-header");
  check_problem(parse("application/json", body, {{"webhook-id", "two words"}}), 400, "invalid-header");
  check_problem(parse("application/json", body, {{"x-github-delivery", std::string(257, 'a')}}), 400, "invalid-header");
  check_problem(parse("application/json", body, {{"webhook-id", "caf\xC3\xA9"}}), 400, "invalid-header");
  CHECK(parse("application/json", body, {{"webhook-id", std::string(256, 'a')}}).has_value());
}

TEST_CASE("bodies and subjects are bounded") {
  const std::string long_text(20000, 'a');
  auto r = parse("text/plain", long_text);
  REQUIRE(r.has_value());
  CHECK(r->body.size() == max_body_bytes);
  CHECK(r->body.ends_with("\xE2\x80\xA6"));

  // Two-byte characters: the cut never splits one.
  std::string accents;
  for (int i = 0; i < 10000; ++i) {
    accents += "\xC3\xA9";
  }
  nlohmann::json j = {{"body", accents}, {"subject", accents}};
  r = parse("application/json", j.dump());
  REQUIRE(r.has_value());
  CHECK(r->body.size() <= max_body_bytes);
  CHECK(r->body.ends_with("\xC3\xA9\xE2\x80\xA6"));
  CHECK(r->subject.size() <= max_subject_bytes);
  CHECK(r->subject.ends_with("\xC3\xA9\xE2\x80\xA6"));
}

TEST_CASE("GitHub push") {
  const Headers headers = {{"x-github-event", "push"},
                           {"x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                           {"x-hub-signature-256", "sha256=..."}};
  auto r = parse("application/json", github_push, headers);
  REQUIRE(r.has_value());
  CHECK(r->body ==
        "alice pushed 2 commits to org/repo (main): https://github.com/org/repo/compare/6113728f27ae...0d1a26e67d8f\n"
        "- b5a1d6f Fix race in the outbox worker\xE2\x80\xA6\n"
        "- 0d1a26e Add a regression test for the outbox");
  CHECK(r->to.empty());
  CHECK(r->type == MessageType::chat);
  CHECK(r->dedupe_key == "72d3162e-cc78-11e3-81ab-4c9367dc0958");

  // The same through GitHub's form content type, and with the template named explicitly.
  const std::string form = "payload=" + [] {
    std::string encoded;
    for (const char c : github_push) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
      encoded += buf;
    }
    return encoded;
  }();
  auto via_form = parse("application/x-www-form-urlencoded", form, headers, settings_for(PayloadTemplate::github));
  REQUIRE(via_form.has_value());
  CHECK(via_form->body == r->body);
}

TEST_CASE("GitHub push variants: one commit, forced, tags, new and deleted branches, many commits") {
  const Headers headers = {{"x-github-event", "push"}};
  nlohmann::json j = nlohmann::json::parse(github_push);
  j["commits"].erase(0);
  j["forced"] = true;
  auto r = parse("application/json", j.dump(), headers);
  REQUIRE(r.has_value());
  CHECK(r->body == "alice force-pushed 1 commit to org/repo (main): "
                   "https://github.com/org/repo/compare/6113728f27ae...0d1a26e67d8f\n"
                   "- 0d1a26e Add a regression test for the outbox");

  j = nlohmann::json::parse(github_push);
  j["ref"] = "refs/tags/v1.4.2";
  j["created"] = true;
  j["commits"] = nlohmann::json::array();
  j["compare"] = "https://github.com/org/repo/compare/v1.4.2";
  r = parse("application/json", j.dump(), headers);
  REQUIRE(r.has_value());
  CHECK(r->body == "alice pushed tag v1.4.2 in org/repo: https://github.com/org/repo/compare/v1.4.2");

  j["ref"] = "refs/heads/feature/webhooks";
  r = parse("application/json", j.dump(), headers);
  REQUIRE(r.has_value());
  CHECK(r->body == "alice created branch feature/webhooks in org/repo: https://github.com/org/repo/compare/v1.4.2");

  j["created"] = false;
  j["deleted"] = true;
  j["after"] = "0000000000000000000000000000000000000000";
  r = parse("application/json", j.dump(), headers);
  REQUIRE(r.has_value());
  CHECK(r->body == "alice deleted branch feature/webhooks in org/repo");

  j = nlohmann::json::parse(github_push);
  const nlohmann::json commit = j["commits"][0];
  j["commits"] = nlohmann::json::array();
  for (int i = 0; i < 25; ++i) {
    nlohmann::json c = commit;
    c["id"] = std::to_string(1000000 + i) + "abcdef";
    c["message"] = "Change " + std::to_string(i);
    j["commits"].push_back(c);
  }
  r = parse("application/json", j.dump(), headers);
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with("alice pushed 25 commits to org/repo (main): "));
  CHECK(r->body.find("- 1000000 Change 0\n") != std::string::npos);
  CHECK(r->body.find("- 1000019 Change 19\n") != std::string::npos);
  CHECK(r->body.find("Change 20") == std::string::npos);
  CHECK(r->body.ends_with("\n\xE2\x80\xA6 and 5 more"));
}

TEST_CASE("GitHub issues, comments, pull requests, releases, ping and other events") {
  auto r = parse("application/json", github_issue_opened, {{"x-github-event", "issues"}});
  REQUIRE(r.has_value());
  CHECK(r->body ==
        "alice opened issue #12 in org/repo: Crash when the roster is empty https://github.com/org/repo/issues/12");

  nlohmann::json j = nlohmann::json::parse(github_issue_opened);
  j["action"] = "closed";
  j["sender"]["login"] = "bob";
  r = parse("application/json", j.dump(), {{"x-github-event", "issues"}});
  REQUIRE(r.has_value());
  CHECK(r->body ==
        "bob closed issue #12 in org/repo: Crash when the roster is empty https://github.com/org/repo/issues/12");

  j["action"] = "created";
  j["issue"]["pull_request"] = {{"url", "https://api.github.com/repos/org/repo/pulls/12"}};
  j["comment"] = {{"html_url", "https://github.com/org/repo/pull/12#issuecomment-1"},
                  {"body", "Looks good to me.\nOne nit below."},
                  {"user", {{"login", "bob"}}}};
  r = parse("application/json", j.dump(), {{"x-github-event", "issue_comment"}});
  REQUIRE(r.has_value());
  CHECK(r->body == "bob commented on pull request #12 in org/repo: Crash when the roster is empty "
                   "https://github.com/org/repo/pull/12#issuecomment-1\nLooks good to me.\nOne nit below.");

  r = parse("application/json", github_pull_request("closed", true), {{"x-github-event", "pull_request"}});
  REQUIRE(r.has_value());
  CHECK(r->body ==
        "bob merged pull request #5 in org/repo: Add the webhook gateway https://github.com/org/repo/pull/5");
  r = parse("application/json", github_pull_request("closed", false), {{"x-github-event", "pull_request"}});
  REQUIRE(r.has_value());
  CHECK(r->body ==
        "bob closed pull request #5 in org/repo: Add the webhook gateway https://github.com/org/repo/pull/5");
  r = parse("application/json", github_pull_request("opened", false), {{"x-github-event", "pull_request"}});
  REQUIRE(r.has_value());
  CHECK(r->body ==
        "bob opened pull request #5 in org/repo: Add the webhook gateway https://github.com/org/repo/pull/5");
  r = parse("application/json", github_pull_request("synchronize", false), {{"x-github-event", "pull_request"}});
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with("bob pushed to pull request #5 in org/repo: "));
  r = parse("application/json", github_pull_request("ready_for_review", false), {{"x-github-event", "pull_request"}});
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with("bob marked ready for review pull request #5 in org/repo: "));
  r = parse("application/json", github_pull_request("review_requested", false), {{"x-github-event", "pull_request"}});
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with("bob requested a review on pull request #5 in org/repo: "));

  r = parse("application/json", R"({
    "action": "published",
    "release": {"html_url": "https://github.com/org/repo/releases/tag/v1.4.2", "tag_name": "v1.4.2", "name": "",
                "draft": false, "prerelease": false},
    "repository": {"full_name": "org/repo"}, "sender": {"login": "alice"}})",
            {{"x-github-event", "release"}});
  REQUIRE(r.has_value());
  CHECK(r->body == "alice published release v1.4.2 in org/repo: https://github.com/org/repo/releases/tag/v1.4.2");

  // Long links are kept whole (a cut link is broken); absurd ones are left out.
  j = nlohmann::json::parse(github_issue_opened);
  const std::string long_url = "https://github.com/" + std::string(200, 'o') + "/repo/issues/12";
  j["issue"]["html_url"] = long_url;
  r = parse("application/json", j.dump(), {{"x-github-event", "issues"}});
  REQUIRE(r.has_value());
  CHECK(r->body.ends_with(": Crash when the roster is empty " + long_url));
  j["issue"]["html_url"] = "https://github.com/" + std::string(3000, 'o');
  r = parse("application/json", j.dump(), {{"x-github-event", "issues"}});
  REQUIRE(r.has_value());
  CHECK(r->body.ends_with(": Crash when the roster is empty"));

  r = parse("application/json", github_ping, {{"x-github-event", "ping"}});
  REQUIRE(r.has_value());
  CHECK(r->body == "GitHub webhook for org/repo is set up: Design for failure.");
  // An organisation hook's ping has no repository.
  r = parse("application/json", R"({"zen": "Keep it logically awesome.", "hook_id": 31,
                                    "organization": {"login": "org"}, "sender": {"login": "alice"}})",
            {{"x-github-event", "ping"}});
  REQUIRE(r.has_value());
  CHECK(r->body == "GitHub webhook for org is set up: Keep it logically awesome.");

  r = parse("application/json", R"({"action": "completed", "workflow_run": {"name": "CI", "conclusion": "failure"},
                                    "repository": {"full_name": "org/repo"}, "sender": {"login": "alice"}})",
            {{"x-github-event", "workflow_run"}});
  REQUIRE(r.has_value());
  CHECK(r->body == "GitHub workflow_run event (completed) in org/repo by alice");
  // Found by the fuzzer: header bytes that are not UTF-8 never reach the body.
  r = parse("application/json", R"({})", {{"x-github-event", "caf\xE9 <script>"}});
  REQUIRE(r.has_value());
  CHECK(r->body == "GitHub unknown event by someone");
  r = parse("application/json", R"({})", {{"x-github-event", "meta"}});
  REQUIRE(r.has_value());
  CHECK(r->body == "GitHub meta event by someone");
}

TEST_CASE("GitHub payloads with odd shapes never fail") {
  for (
      const std::string_view body :
      {R"({})", R"({"ref": 1, "commits": "x", "sender": [], "repository": null})",
       R"({"commits": [1, "two", null, {"id": 3, "message": ["x"]}], "ref": "refs/heads/x", "repository": {"full_name": "o/r"}})",
       R"({"issue": "x", "action": 3})", R"({"pull_request": {"number": "5", "merged": "true"}, "action": "closed"})",
       R"({"commits": [{"id": "\u00e9\u00e9\u00e9\u00e9\u00e9", "message": ""}]})"}) {
    for (const std::string_view event : {"push", "issues", "issue_comment", "pull_request", "release", "ping", "x"}) {
      CAPTURE(body);
      CAPTURE(event);
      auto r = parse("application/json", body, {{"x-github-event", std::string(event)}});
      REQUIRE(r.has_value());
      CHECK_FALSE(r->body.empty());
    }
  }
  auto r = parse("application/json", R"({"commits": [{"id": "\u00e9\u00e9\u00e9\u00e9\u00e9", "message": "m"}]})",
                 {{"x-github-event", "push"}});
  REQUIRE(r.has_value());
  CHECK(r->body.find("- \xC3\xA9\xC3\xA9\xC3\xA9 m") != std::string::npos); // 7 bytes, cut before a split character

  r = parse("application/json", R"({"commits": []})", {{"x-github-event", "push"}});
  REQUIRE(r.has_value());
  CHECK(r->body == "someone pushed 0 commits to an unnamed repository (?)");

  check_problem(parse("application/json", R"(["push"])", {{"x-github-event", "push"}}), 422, "invalid-payload");
  check_problem(parse("application/json", github_push, {}, settings_for(PayloadTemplate::github)), 400,
                "invalid-header");
  check_problem(parse("application/json", github_push, {{"x-github-event", "push"}}, settings_for({}, "")), 422,
                "no-recipient");
}

TEST_CASE("Alertmanager: firing, resolved and mixed groups") {
  auto r = parse("application/json", alertmanager_firing);
  REQUIRE(r.has_value());
  CHECK(r->body == "[FIRING:2] HighLatency (prod, api, page)\n"
                   "- p99 latency above 500ms (instance=api-1:8080)\n"
                   "  p99 latency on api-1:8080 has been 730ms for 5 minutes.\n"
                   "- p99 latency above 500ms (instance=api-2:8080)");
  CHECK(r->to.empty());
  CHECK(r->type == MessageType::chat);

  nlohmann::json j = nlohmann::json::parse(alertmanager_firing);
  j["status"] = "resolved";
  for (auto& alert : j["alerts"]) {
    alert["status"] = "resolved";
    alert["endsAt"] = "2024-05-01T10:30:00Z";
  }
  r = parse("application/json", j.dump(), {}, settings_for(PayloadTemplate::alertmanager));
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with(
      "[RESOLVED] HighLatency (prod, api, page)\n- p99 latency above 500ms (instance=api-1:8080)\n"));
  CHECK(r->body.find("[resolved]") == std::string::npos);

  j["status"] = "firing";
  j["alerts"][0]["status"] = "firing";
  j["truncatedAlerts"] = 3;
  r = parse("application/json", j.dump());
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with("[FIRING:1] HighLatency"));
  CHECK(r->body.find("- p99 latency above 500ms (instance=api-2:8080) [resolved]") != std::string::npos);
  CHECK(r->body.ends_with("\xE2\x80\xA6 and 3 more"));
}

TEST_CASE("Alertmanager: alerts without summaries, empty group labels, long lists") {
  nlohmann::json j = nlohmann::json::parse(alertmanager_firing);
  j["groupLabels"] = nlohmann::json::object();
  j["commonLabels"] = {{"alertname", "HighLatency"}};
  j["alerts"][0]["annotations"] = {{"description", "Only a description\nover two lines"}};
  j["alerts"][1]["annotations"] = nlohmann::json::object();
  auto r = parse("application/json", j.dump());
  REQUIRE(r.has_value());
  CHECK(r->body == "[FIRING:2] HighLatency\n"
                   "- Only a description\xE2\x80\xA6 (env=prod, instance=api-1:8080, service=api, severity=page)\n"
                   "- HighLatency (env=prod, instance=api-2:8080, service=api, severity=page)");

  j = nlohmann::json::parse(alertmanager_firing);
  const nlohmann::json alert = j["alerts"][1];
  j["alerts"] = nlohmann::json::array();
  for (int i = 0; i < 30; ++i) {
    nlohmann::json a = alert;
    a["labels"]["instance"] = "api-" + std::to_string(i) + ":8080";
    j["alerts"].push_back(a);
  }
  r = parse("application/json", j.dump());
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with("[FIRING:30] HighLatency"));
  CHECK(r->body.find("instance=api-19:8080") != std::string::npos);
  CHECK(r->body.find("instance=api-20:8080") == std::string::npos);
  CHECK(r->body.ends_with("\xE2\x80\xA6 and 10 more"));

  // Not an object where one is expected: still a message, never an error.
  for (
      const std::string_view body :
      {R"({"alerts": [], "groupLabels": {}})", R"({"alerts": [1, null, "x", {"labels": 3}], "groupLabels": {"a": 1}})",
       R"({"alerts": [{"status": 1, "annotations": {"summary": 2}}], "groupLabels": {}, "commonLabels": [], "truncatedAlerts": -1})"}) {
    CAPTURE(body);
    r = parse("application/json", body);
    REQUIRE(r.has_value());
    CHECK(r->body.starts_with("["));
  }
}

TEST_CASE("Grafana: unified alerting uses its title and message") {
  auto r = parse("application/json", grafana_firing);
  REQUIRE(r.has_value());
  CHECK(r->body == "[FIRING:1] High memory usage (blue us-1)\n**Firing**\n\nValue: B=44.23943737541908, C=1\n"
                   "Labels:\n - alertname = High memory usage\n - team = blue\n - zone = us-1\nAnnotations:\n"
                   " - summary = This alert was triggered for zone us-1\n"
                   "Source: https://play.grafana.org/alerting/1afz29v7z/edit");

  // Without a message, the alerts are listed.
  nlohmann::json j = nlohmann::json::parse(grafana_firing);
  j.erase("message");
  r = parse("application/json", j.dump(), {}, settings_for(PayloadTemplate::grafana));
  REQUIRE(r.has_value());
  CHECK(r->body == "[FIRING:1] High memory usage (blue us-1)\n- This alert was triggered for zone us-1\n"
                   "  The system has high memory usage");

  // Without a title, it reads like Alertmanager's.
  j.erase("title");
  r = parse("application/json", j.dump());
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with("[FIRING:1] High memory usage (blue, us-1)\n- This alert was triggered for zone us-1"));

  // Named explicitly as Alertmanager, Grafana's payload is read as one.
  r = parse("application/json", grafana_firing, {}, settings_for(PayloadTemplate::alertmanager));
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with("[FIRING:1] High memory usage (blue, us-1)\n"));

  r = parse("application/json", grafana_legacy);
  REQUIRE(r.has_value());
  CHECK(r->body == "[Alerting] Panel Title alert\nNotification Message\n"
                   "http://localhost:3000/d/hZ7BuVbWz/test-dashboard?fullscreen&edit&tab=alert&panelId=2&orgId=1");
}

TEST_CASE("auto detection and explicit templates") {
  // A generic message that happens to mention alerts is not an alert payload.
  auto r = parse("application/json", R"({"body": "3 alerts", "alerts": "many"})");
  REQUIRE(r.has_value());
  CHECK(r->body == "3 alerts");
  // With template = "plain", alert payloads are read as generic JSON (and lack a body).
  check_problem(parse("application/json", alertmanager_firing, {}, settings_for(PayloadTemplate::plain)), 422,
                "missing-body");
  // With template = "plain", X-GitHub-Event is ignored.
  r = parse("application/json", R"({"body": "x"})", {{"x-github-event", "push"}}, settings_for(PayloadTemplate::plain));
  REQUIRE(r.has_value());
  CHECK(r->body == "x");
  // The GitHub event header wins in auto mode even over an alert-shaped body.
  r = parse("application/json", alertmanager_firing, {{"x-github-event", "ping"}});
  REQUIRE(r.has_value());
  CHECK(r->body.starts_with("GitHub webhook is set up"));
  check_problem(parse("application/json", "[1]", {}, settings_for(PayloadTemplate::grafana)), 422, "invalid-payload");
  check_problem(parse("text/plain", "x", {}, settings_for(PayloadTemplate::alertmanager)), 415,
                "unsupported-media-type");
}

TEST_CASE("setting names") {
  CHECK(parse_payload_template("auto") == PayloadTemplate::auto_detect);
  CHECK(parse_payload_template("github") == PayloadTemplate::github);
  CHECK(parse_payload_template("alertmanager") == PayloadTemplate::alertmanager);
  CHECK(parse_payload_template("grafana") == PayloadTemplate::grafana);
  CHECK(parse_payload_template("plain") == PayloadTemplate::plain);
  CHECK_FALSE(parse_payload_template("GitHub").has_value());
  CHECK_FALSE(parse_payload_template("").has_value());
  CHECK(parse_message_type("headline") == MessageType::headline);
  CHECK_FALSE(parse_message_type("groupchat").has_value());
  CHECK(to_string(MessageType::normal) == "normal");
}

TEST_CASE("result::value() throws the problem for callers that want exceptions") {
  auto r = parse("application/json", "{");
  CHECK_THROWS_WITH_AS(r.value(), "urn:parley:problem:invalid-json: the body is not valid JSON", std::runtime_error);
}
