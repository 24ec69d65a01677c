#include "bench/report.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace parley::bench {

namespace {

using json = nlohmann::json;

std::string opt(const std::optional<double>& v, int precision) {
  return v ? fmt::format("{:.{}f}", *v, precision) : std::string("-");
}

std::string mib(const std::optional<std::uint64_t>& kib) {
  return kib ? fmt::format("{:.1f} MiB", static_cast<double>(*kib) / 1024.0) : std::string("-");
}

json opt_json(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}
json opt_json(const std::optional<std::uint64_t>& v) {
  return v ? json(*v) : json(nullptr);
}

json latency_json(const LatencySummary& l) {
  return {{"count", l.count},   {"mean_ms", l.mean_ms},  {"p50_ms", l.p50_ms}, {"p90_ms", l.p90_ms},
          {"p99_ms", l.p99_ms}, {"p99_9_ms", l.p999_ms}, {"max_ms", l.max_ms}};
}

json login_json(const LoginPhase& p) {
  return {{"label", p.label},
          {"measured", p.measured},
          {"attempted", p.attempted},
          {"ok", p.ok},
          {"failed", p.failed},
          {"seconds", p.seconds},
          {"logins_per_s", p.logins_per_s},
          {"latency", latency_json(p.latency)},
          {"stage_means_ms",
           {{"connected", p.connected_ms},
            {"tls", p.secured_ms},
            {"authenticated", p.authenticated_ms},
            {"bound", p.bound_ms},
            {"ready", p.latency.mean_ms}}},
          {"server_cpu_s", opt_json(p.server_cpu_s)},
          {"server_cpu_us_per_login", opt_json(p.server_cpu_us_per_login)},
          {"server_cpu_pct", opt_json(p.server_cpu_pct)},
          {"client_cpu_pct", p.client_cpu_pct},
          {"steal_pct", p.steal_pct},
          {"server_rss_before_kib", opt_json(p.rss_before_kib)},
          {"server_rss_after_kib", opt_json(p.rss_after_kib)},
          {"errors", p.errors}};
}

std::string describe(const RunReport& r) {
  const auto& o = r.options;
  return fmt::format("{} @ {}:{} ({}), {} connections, {}, {}", o.label, o.host, o.port, o.domain, o.users,
                     o.tls ? "STARTTLS" : "plaintext",
                     r.mechanism.empty() ? std::string(to_string(o.mechanism)) : r.mechanism);
}

/// Server memory around the first connect phase; later rounds reuse what the previous
/// round freed, so only the first says what connections cost.
std::string rss_growth(const LoginPhase& p) {
  std::string line =
      fmt::format("server RSS {} before the {} phase, {} after", mib(p.rss_before_kib), p.label, mib(p.rss_after_kib));
  if (p.rss_before_kib && p.rss_after_kib && p.ok > 0) {
    const double per =
        (static_cast<double>(*p.rss_after_kib) - static_cast<double>(*p.rss_before_kib)) / static_cast<double>(p.ok);
    line += fmt::format(" ({:+.1f} KiB per connection)", per);
  }
  return line;
}

void print_login_rows(std::ostream& out, const RunReport& r) {
  out << fmt::format("{:<14} {:>6} {:>6} {:>5} {:>8} {:>9} {:>8} {:>8} {:>8} {:>12} {:>8} {:>8} {:>6}\n", "round",
                     "conns", "ok", "fail", "seconds", "logins/s", "p50 ms", "p99 ms", "max ms", "srv µs/login",
                     "srv CPU%", "gen CPU%", "steal%");
  auto row = [&out](const LoginPhase& p) {
    out << fmt::format(
        "{:<14} {:>6} {:>6} {:>5} {:>8.2f} {:>9.0f} {:>8.2f} {:>8.2f} {:>8.2f} {:>12} {:>8} {:>8.0f} {:>6.1f}\n",
        p.label, p.attempted, p.ok, p.failed, p.seconds, p.logins_per_s, p.latency.p50_ms, p.latency.p99_ms,
        p.latency.max_ms, opt(p.server_cpu_us_per_login, 0), opt(p.server_cpu_pct, 0), p.client_cpu_pct, p.steal_pct);
  };
  for (const auto& p : r.logins) {
    row(p);
  }
  if (r.login_total) {
    row(*r.login_total);
  }
  for (const auto& p : r.logins) {
    for (const auto& [why, n] : p.errors) {
      out << fmt::format("  {}: {} x {}\n", p.label, n, why);
    }
  }
  if (!r.logins.empty() && r.logins.front().rss_before_kib) {
    out << "  " << rss_growth(r.logins.front()) << '\n';
  }
}

json offline_phase_json(const OfflinePhase& p) {
  return {{"seconds", p.seconds},
          {"msg_per_s", p.per_s},
          {"done", latency_json(p.done)},
          {"server_cpu_s", opt_json(p.server_cpu_s)},
          {"server_cpu_us_per_msg", opt_json(p.server_cpu_us_per_msg)},
          {"server_cpu_pct", opt_json(p.server_cpu_pct)},
          {"client_cpu_pct", p.client_cpu_pct},
          {"steal_pct", p.steal_pct},
          {"server_cores_busy_pct", opt_json(p.server_cores_busy_pct)}};
}

/// What went wrong in an offline run, or "" when nothing did.
std::string offline_problems(const OfflineFigures& f) {
  std::vector<std::string> parts;
  if (f.refused > 0) {
    parts.push_back(fmt::format("{} refused by the server (not stored)", f.refused));
  }
  if (f.proofs_missing > 0) {
    parts.push_back(fmt::format("{} senders without an answer to their ping", f.proofs_missing));
  }
  if (f.lost > 0) {
    parts.push_back(fmt::format("{} stored but never received", f.lost));
  }
  if (f.duplicates > 0) {
    parts.push_back(fmt::format("{} received twice", f.duplicates));
  }
  if (f.misrouted > 0) {
    parts.push_back(fmt::format("{} received by the wrong recipient", f.misrouted));
  }
  if (f.stale > 0) {
    parts.push_back(fmt::format("{} left over from an earlier run", f.stale));
  }
  if (f.ping_errors > 0) {
    parts.push_back(fmt::format("{} pings answered with an error", f.ping_errors));
  }
  std::string out;
  for (const auto& p : parts) {
    out += out.empty() ? p : "; " + p;
  }
  return out;
}

} // namespace

LatencySummary summarize(std::vector<std::int64_t>& ns) {
  LatencySummary s;
  s.count = ns.size();
  if (ns.empty()) {
    return s;
  }
  std::sort(ns.begin(), ns.end());
  auto ms = [](std::int64_t v) { return static_cast<double>(v) / 1e6; };
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  auto rank = [&ns, &ms](double p) {
    auto index = static_cast<std::size_t>(std::ceil(p * static_cast<double>(ns.size())));
    index = std::clamp<std::size_t>(index, 1, ns.size()) - 1;
    return ms(ns[index]);
  };
  const long double sum = std::accumulate(ns.begin(), ns.end(), 0.0L);
  s.mean_ms = static_cast<double>(sum / static_cast<long double>(ns.size())) / 1e6;
  s.p50_ms = rank(0.50);
  s.p90_ms = rank(0.90);
  s.p99_ms = rank(0.99);
  s.p999_ms = rank(0.999);
  s.max_ms = ms(ns.back());
  return s;
}

void print_table(std::ostream& out, const RunReport& r) {
  const auto& o = r.options;
  out << '\n' << to_string(o.scenario) << ": " << describe(r) << '\n';
  if (!r.logins.empty()) {
    print_login_rows(out, r);
  }
  if (!r.steps.empty()) {
    out << fmt::format("\nmessages, pairing {}, warm-up {} s, window {} s per step\n", to_string(o.pairing), o.warmup,
                       o.duration);
    out << fmt::format("{:>9} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9} {:>8} {:>7} {:>6} {:>10} {:>8} {:>8} {:>6}\n",
                       "offered/s", "sent/s", "deliv/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "lost",
                       "dup", "srv µs/msg", "srv CPU%", "gen CPU%", "steal%");
    for (const auto& s : r.steps) {
      out << fmt::format("{:>9.0f} {:>9.0f} {:>9.0f} {:>8.2f} {:>8.2f} {:>8.2f} {:>9.2f} {:>8.2f} {:>7} {:>6} {:>10} "
                         "{:>8} {:>8.0f} {:>6.1f}\n",
                         s.offered_per_s, s.sent_per_s, s.delivered_per_s, s.latency.p50_ms, s.latency.p90_ms,
                         s.latency.p99_ms, s.latency.p999_ms, s.latency.max_ms, s.lost, s.duplicates,
                         opt(s.server_cpu_us_per_msg, 1), opt(s.server_cpu_pct, 0), s.client_cpu_pct, s.steal_pct);
    }
    for (const auto& s : r.steps) {
      if (s.misrouted > 0 || s.error_stanzas > 0 || s.client_backlog_bytes > 0) {
        out << fmt::format("  at {:.0f}/s: {} misrouted, {} error stanzas, {} bytes still queued in the generator at "
                           "window end (server not keeping up)\n",
                           s.offered_per_s, s.misrouted, s.error_stanzas, s.client_backlog_bytes);
      }
    }
  }
  if (r.idle) {
    const auto& i = *r.idle;
    out << fmt::format("\nidle: {} connections held {} s, {} dropped\n", i.connections, i.hold_s, i.dropped);
    out << fmt::format("  server RSS before {}, connected {}, after hold {}\n", mib(i.rss_before_kib),
                       mib(i.rss_connected_kib), mib(i.rss_end_kib));
    out << fmt::format("  server RSS per connection: {} KiB; server CPU while idle: {} %\n",
                       i.rss_bytes_per_connection ? fmt::format("{:.1f}", *i.rss_bytes_per_connection / 1024.0)
                                                  : std::string("-"),
                       opt(i.server_cpu_pct_idle, 1));
  }
  if (r.offline) {
    const auto& f = *r.offline;
    out << fmt::format("\noffline: {} senders x {} messages to {} offline recipients, then {} recipients log in\n",
                       f.senders, o.per_sender, o.recipients, f.recipients);
    out << fmt::format("{:<6} {:>8} {:>8} {:>9} {:>10} {:>10} {:>10} {:>8} {:>9} {:>8} {:>6}\n", "phase", "msgs",
                       "seconds", "msg/s", "p50 ms", "max ms", "srv µs/msg", "srv CPU%", "core busy", "gen CPU%",
                       "steal%");
    auto row = [&out](std::string_view name, std::uint64_t count, const OfflinePhase& p) {
      out << fmt::format("{:<6} {:>8} {:>8.3f} {:>9.0f} {:>10.1f} {:>10.1f} {:>10} {:>8} {:>9} {:>8.0f} {:>6.1f}\n",
                         name, count, p.seconds, p.per_s, p.done.p50_ms, p.done.max_ms, opt(p.server_cpu_us_per_msg, 1),
                         opt(p.server_cpu_pct, 0), opt(p.server_cores_busy_pct, 0), p.client_cpu_pct, p.steal_pct);
    };
    row("store", f.stored, f.store);
    row("drain", f.received, f.drain);
    out << fmt::format("  sent {}, refused {}, stored {}, received {}, lost {}, duplicates {}, misrouted {}\n", f.sent,
                       f.refused, f.stored, f.received, f.lost, f.duplicates, f.misrouted);
    out << "  p50/max: store, per sender until its ping was answered; drain, per recipient until its last message\n";
    out << "  core busy: the server's CPUs used by anyone (near 100 with a lower srv CPU%: other work took them)\n";
    out << fmt::format("  server RSS before the store {}, after it {}\n", mib(f.rss_before_kib), mib(f.rss_stored_kib));
    if (const std::string problems = offline_problems(f); !problems.empty()) {
      out << "  problems: " << problems << '\n';
    }
  }
  if (r.unexpected_session_ends > 0) {
    out << fmt::format("\n{} sessions ended unexpectedly:\n", r.unexpected_session_ends);
    for (const auto& [why, n] : r.session_end_reasons) {
      out << fmt::format("  {} x {}\n", n, why);
    }
  }
  if (!r.first_error_stanza.empty()) {
    out << "first error stanza: " << r.first_error_stanza << '\n';
  }
  out.flush();
}

nlohmann::json to_json(const RunReport& r) {
  const auto& o = r.options;
  json j;
  j["tool"] = "parley-loadgen";
  j["label"] = o.label;
  j["scenario"] = to_string(o.scenario);
  j["target"] = {{"host", o.host}, {"port", o.port}, {"domain", o.domain}};
  j["settings"] = {{"users", o.users},
                   {"first_user", o.first_user},
                   {"user_prefix", o.user_prefix},
                   {"tls", o.tls},
                   {"mechanism_requested", to_string(o.mechanism)},
                   {"mechanism", r.mechanism},
                   {"connect_rate", o.connect_rate},
                   {"connect_batch", o.connect_batch},
                   {"concurrency", o.concurrency},
                   {"rounds", o.rounds},
                   {"warmup_rounds", o.warmup_rounds},
                   {"rates", o.rates},
                   {"duration_s", o.duration},
                   {"warmup_s", o.warmup},
                   {"pairing", to_string(o.pairing)},
                   {"payload_bytes", o.payload},
                   {"hold_s", o.hold},
                   {"senders", o.senders},
                   {"recipients", o.recipients},
                   {"messages_per_sender", o.per_sender},
                   {"drain_quiet_s", o.drain},
                   {"server_pid", o.server_pid ? json(*o.server_pid) : json(nullptr)},
                   {"file_limit", r.file_limit}};
  j["logins"] = json::array();
  for (const auto& p : r.logins) {
    j["logins"].push_back(login_json(p));
  }
  if (r.login_total) {
    j["login_total"] = login_json(*r.login_total);
  }
  j["steps"] = json::array();
  for (const auto& s : r.steps) {
    j["steps"].push_back({{"offered_per_s", s.offered_per_s},
                          {"window_s", s.window_s},
                          {"sent", s.sent},
                          {"sent_per_s", s.sent_per_s},
                          {"arrived", s.arrived},
                          {"delivered_per_s", s.delivered_per_s},
                          {"delivered", s.delivered},
                          {"lost", s.lost},
                          {"duplicates", s.duplicates},
                          {"misrouted", s.misrouted},
                          {"error_stanzas", s.error_stanzas},
                          {"drain_s", s.drain_s},
                          {"client_backlog_bytes", s.client_backlog_bytes},
                          {"latency", latency_json(s.latency)},
                          {"server_cpu_s", opt_json(s.server_cpu_s)},
                          {"server_cpu_us_per_msg", opt_json(s.server_cpu_us_per_msg)},
                          {"server_cpu_pct", opt_json(s.server_cpu_pct)},
                          {"client_cpu_pct", s.client_cpu_pct},
                          {"steal_pct", s.steal_pct}});
  }
  if (r.idle) {
    const auto& i = *r.idle;
    j["idle"] = {{"connections", i.connections},
                 {"hold_s", i.hold_s},
                 {"dropped", i.dropped},
                 {"server_rss_before_kib", opt_json(i.rss_before_kib)},
                 {"server_rss_connected_kib", opt_json(i.rss_connected_kib)},
                 {"server_rss_end_kib", opt_json(i.rss_end_kib)},
                 {"server_rss_bytes_per_connection", opt_json(i.rss_bytes_per_connection)},
                 {"server_cpu_pct_idle", opt_json(i.server_cpu_pct_idle)},
                 {"client_rss_kib", opt_json(i.client_rss_kib)}};
  }
  if (r.offline) {
    const auto& f = *r.offline;
    j["offline"] = {{"senders", f.senders},
                    {"recipients", f.recipients},
                    {"sent", f.sent},
                    {"refused", f.refused},
                    {"stored", f.stored},
                    {"proofs_missing", f.proofs_missing},
                    {"ping_errors", f.ping_errors},
                    {"received", f.received},
                    {"lost", f.lost},
                    {"duplicates", f.duplicates},
                    {"misrouted", f.misrouted},
                    {"stale", f.stale},
                    {"server_rss_before_kib", opt_json(f.rss_before_kib)},
                    {"server_rss_stored_kib", opt_json(f.rss_stored_kib)},
                    {"store", offline_phase_json(f.store)},
                    {"drain", offline_phase_json(f.drain)}};
  }
  j["unexpected_session_ends"] = r.unexpected_session_ends;
  j["session_end_reasons"] = r.session_end_reasons;
  return j;
}

void write_markdown(std::ostream& out, const RunReport& r) {
  const auto& o = r.options;
  out << fmt::format("\n### {}: {}\n\n", to_string(o.scenario), describe(r));
  if (!r.logins.empty()) {
    out << "| round | conns | ok | failed | s | logins/s | p50 ms | p99 ms | server CPU-µs/login | server CPU % | "
           "loadgen CPU % | steal % |\n";
    out << "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    std::vector<const LoginPhase*> rows;
    for (const auto& p : r.logins) {
      rows.push_back(&p);
    }
    if (r.login_total) {
      rows.push_back(&*r.login_total);
    }
    for (const auto* p : rows) {
      out << fmt::format("| {} | {} | {} | {} | {:.2f} | {:.0f} | {:.2f} | {:.2f} | {} | {} | {:.0f} | {:.1f} |\n",
                         p->label, p->attempted, p->ok, p->failed, p->seconds, p->logins_per_s, p->latency.p50_ms,
                         p->latency.p99_ms, opt(p->server_cpu_us_per_login, 0), opt(p->server_cpu_pct, 0),
                         p->client_cpu_pct, p->steal_pct);
    }
    for (const auto& p : r.logins) {
      for (const auto& [why, n] : p.errors) {
        out << fmt::format("\n- {}: {} × {}", p.label, n, why);
      }
    }
    if (r.logins.front().rss_before_kib) {
      out << "\n- " << rss_growth(r.logins.front()) << '\n';
    }
    out << '\n';
  }
  if (!r.steps.empty()) {
    out << fmt::format("\nPairing {}, {} s warm-up and {} s measured per step.\n\n", to_string(o.pairing), o.warmup,
                       o.duration);
    out << "| offered/s | sent/s | delivered/s | p50 ms | p99 ms | p99.9 ms | max ms | lost | server CPU-µs/msg | "
           "server CPU % | loadgen CPU % | steal % |\n";
    out << "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    for (const auto& s : r.steps) {
      out << fmt::format(
          "| {:.0f} | {:.0f} | {:.0f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {} | {} | {} | {:.0f} | {:.1f} |\n",
          s.offered_per_s, s.sent_per_s, s.delivered_per_s, s.latency.p50_ms, s.latency.p99_ms, s.latency.p999_ms,
          s.latency.max_ms, s.lost, opt(s.server_cpu_us_per_msg, 1), opt(s.server_cpu_pct, 0), s.client_cpu_pct,
          s.steal_pct);
    }
  }
  if (r.idle) {
    const auto& i = *r.idle;
    out << "\n| connections | held s | dropped | server RSS before | connected | after hold | RSS per connection |\n";
    out << "|--:|--:|--:|--:|--:|--:|--:|\n";
    out << fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", i.connections, i.hold_s, i.dropped,
                       mib(i.rss_before_kib), mib(i.rss_connected_kib), mib(i.rss_end_kib),
                       i.rss_bytes_per_connection ? fmt::format("{:.1f} KiB", *i.rss_bytes_per_connection / 1024.0)
                                                  : std::string("-"));
  }
  if (r.offline) {
    const auto& f = *r.offline;
    out << fmt::format("\n{} senders × {} messages to {} offline recipients; the store ends when the last sender's "
                       "ping is answered, the drain runs from the first recipient's connect to the last message.\n\n",
                       f.senders, o.per_sender, o.recipients);
    out << "| phase | messages | s | msg/s | p50 ms | max ms | server CPU-µs/msg | server CPU % | server core busy % "
           "| loadgen CPU % | steal % |\n";
    out << "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    auto row = [&out](std::string_view name, std::uint64_t count, const OfflinePhase& p) {
      out << fmt::format("| {} | {} | {:.3f} | {:.0f} | {:.1f} | {:.1f} | {} | {} | {} | {:.0f} | {:.1f} |\n", name,
                         count, p.seconds, p.per_s, p.done.p50_ms, p.done.max_ms, opt(p.server_cpu_us_per_msg, 1),
                         opt(p.server_cpu_pct, 0), opt(p.server_cores_busy_pct, 0), p.client_cpu_pct, p.steal_pct);
    };
    row("store", f.stored, f.store);
    row("drain", f.received, f.drain);
    out << fmt::format("\n- sent {}, refused {}, stored {}, received {}, lost {}, duplicates {}, misrouted {}\n",
                       f.sent, f.refused, f.stored, f.received, f.lost, f.duplicates, f.misrouted);
    if (const std::string problems = offline_problems(f); !problems.empty()) {
      out << "- problems: " << problems << '\n';
    }
  }
  if (r.unexpected_session_ends > 0) {
    out << fmt::format("\n{} sessions ended unexpectedly.\n", r.unexpected_session_ends);
  }
  out.flush();
}

} // namespace parley::bench
