// parley-hookbench: webhook throughput and latency. Inbound: HTTP POST to a webhook endpoint
// until the message reaches the XMPP user; outbound: XMPP message until the POST reaches a
// sink run by this process. See bench/README.md.

#include "bench/hookbench.hpp"

#include "core/sasl/scram_credentials.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/fmt/fmt.h>

#include <charconv>
#include <cmath>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>

namespace parley::bench {

namespace asio = boost::asio;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view usage =
    R"(usage: parley-hookbench inbound|outbound --password PW [options]

inbound:  C keep-alive HTTP/1.1 connections POST messages to the webhook endpoint; the user
          is logged in over XMPP and receives them. Measures accepted answers/s, delivered
          messages/s and POST-to-message latency.
outbound: the user sends XMPP messages to the webhook contact; the server POSTs each to the
          sink this process runs. Measures POSTs/s and message-to-POST latency.

XMPP user (receives inbound, sends outbound; plaintext c2s, no STARTTLS):
  --host ADDR          server address (default 127.0.0.1)
  --port P             c2s port (default 5222)
  --domain D           the user's domain (default localhost)
  --user NAME          local part of the user (default alice)
  --password PW        (required)
  --resource R         (default hookbench)
  --mech M             auto|SCRAM-SHA-256|SCRAM-SHA-1|PLAIN (default auto)

Sizes:
  --messages N         measured messages (default 10000)
  --warmup N           unmeasured messages first (default 1000)
  --rate R             offered messages/s; 0: as fast as the connections / window allow (default 0)
  --drain S            longest wait for deliveries after the last send (default 10)
  --timeout S          longest a phase may take (default 120)
  --payload BYTES      extra body bytes (default 0)

inbound:
  --http-port P        HTTP port of the server (default 5280)
  --path PATH          endpoint (default /hooks/bench)
  --authorization V    Authorization header, e.g. "Bearer s3cret" (default none)
  --api parley|ejabberd  body {"body":...} and 202, or mod_http_api send_message and 200
  --from JID           sender for --api ejabberd (default bench@localhost)
  --connections C      HTTP keep-alive connections, one request in flight each (default 16)

outbound:
  --to JID             the webhook contact (default bench@hooks.localhost)
  --sink-port P        port of the sink this process listens on, 127.0.0.1 (required)
  --sink-path PATH     the path the server POSTs to (default /sink)
  --window W           messages sent but not yet POSTed, at most (default 100)

Output:
  --server-pid PID     read the server's CPU time from /proc/PID
  --label NAME         server name in the reports (default parleyd)
  --json FILE          write machine-readable results
  --quiet              no progress lines on stderr
  --help
)";

template <class T> bool parse_number(std::string_view text, T& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool parse_real(std::string_view text, double& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && std::isfinite(out) && out >= 0;
}

double rate_of(std::size_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

/// Completion of the scenario coroutine: an escaped exception is a bug of ours, so say so.
std::string describe_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

json latency_json(const LatencySummary& l) {
  return {{"count", l.count},   {"mean_ms", l.mean_ms},  {"p50_ms", l.p50_ms}, {"p90_ms", l.p90_ms},
          {"p99_ms", l.p99_ms}, {"p99_9_ms", l.p999_ms}, {"max_ms", l.max_ms}};
}

json opt_json(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

std::string opt(const std::optional<double>& v, int precision) {
  return v ? fmt::format("{:.{}f}", *v, precision) : std::string("-");
}

} // namespace

std::string_view to_string(HookMode mode) noexcept {
  return mode == HookMode::inbound ? "inbound" : "outbound";
}

std::string_view to_string(InboundApi api) noexcept {
  return api == InboundApi::parley ? "parley" : "ejabberd";
}

ParsedHookOptions parse_hook_options(int argc, char** argv) {
  HookOptions o;
  std::vector<std::string> errors;
  using Setter = std::function<bool(std::string_view)>;
  auto size = [](std::size_t& target) {
    return Setter([&target](std::string_view v) { return parse_number(v, target); });
  };
  auto real = [](double& target) { return Setter([&target](std::string_view v) { return parse_real(v, target); }); };
  auto port = [](std::uint16_t& target) {
    return Setter([&target](std::string_view v) { return parse_number(v, target) && target != 0; });
  };
  auto text = [](std::string& target) {
    return Setter([&target](std::string_view v) {
      target = std::string(v);
      return !v.empty();
    });
  };
  const std::map<std::string, Setter, std::less<>> with_value{
      {"--host", text(o.host)},
      {"--port", port(o.port)},
      {"--domain", text(o.domain)},
      {"--user", text(o.user)},
      {"--password", text(o.password)},
      {"--resource", text(o.resource)},
      {"--mech", [&o](std::string_view v) { return parse_mechanism(v, o.mechanism); }},
      {"--messages", [&o](std::string_view v) { return parse_number(v, o.messages) && o.messages > 0; }},
      {"--warmup", size(o.warmup)},
      {"--rate", real(o.rate)},
      {"--drain", real(o.drain)},
      {"--timeout", [&o](std::string_view v) { return parse_real(v, o.timeout) && o.timeout > 0; }},
      {"--payload", size(o.payload)},
      {"--http-port", port(o.http_port)},
      {"--path", text(o.path)},
      {"--authorization", text(o.authorization)},
      {"--api",
       [&o](std::string_view v) {
         if (v == "parley") {
           o.api = InboundApi::parley;
         } else if (v == "ejabberd") {
           o.api = InboundApi::ejabberd;
         } else {
           return false;
         }
         return true;
       }},
      {"--from", text(o.from)},
      {"--connections", [&o](std::string_view v) { return parse_number(v, o.connections) && o.connections > 0; }},
      {"--to", text(o.to)},
      {"--sink-port", port(o.sink_port)},
      {"--sink-path", text(o.sink_path)},
      {"--window", [&o](std::string_view v) { return parse_number(v, o.window) && o.window > 0; }},
      {"--server-pid",
       [&o](std::string_view v) {
         int pid = 0;
         if (!parse_number(v, pid) || pid <= 0) {
           return false;
         }
         o.server_pid = pid;
         return true;
       }},
      {"--label", text(o.label)},
      {"--json", text(o.json_path)},
  };
  bool have_mode = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return {std::nullopt, 0};
    }
    if (arg == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      if (have_mode) {
        errors.push_back("unexpected argument " + std::string(arg));
      } else if (arg == "inbound" || arg == "outbound") {
        o.mode = arg == "inbound" ? HookMode::inbound : HookMode::outbound;
        have_mode = true;
      } else {
        errors.push_back("the mode is inbound or outbound, not " + std::string(arg));
      }
      continue;
    }
    std::string_view value;
    bool have_value = false;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      have_value = true;
    }
    const auto it = with_value.find(arg);
    if (it == with_value.end()) {
      errors.push_back("unknown option " + std::string(arg));
      continue;
    }
    if (!have_value) {
      if (i + 1 >= argc) {
        errors.push_back(std::string(arg) + " needs a value");
        continue;
      }
      value = argv[++i];
    }
    if (!it->second(value)) {
      errors.push_back("bad value for " + std::string(arg) + ": '" + std::string(value) + "'");
    }
  }
  if (!have_mode) {
    errors.emplace_back("the mode (inbound or outbound) is required");
  }
  if (o.password.empty()) {
    errors.emplace_back("--password is required");
  }
  if (have_mode && o.mode == HookMode::outbound && o.sink_port == 0) {
    errors.emplace_back("outbound needs --sink-port (the port the server's webhook URL names)");
  }
  if (!errors.empty()) {
    for (const auto& e : errors) {
      std::cerr << "parley-hookbench: " << e << '\n';
    }
    std::cerr << "try parley-hookbench --help\n";
    return {std::nullopt, 2};
  }
  return {std::move(o), 0};
}

// ---- HookBench ------------------------------------------------------------------------------

HookBench::HookBench(HookOptions options) : options_(std::move(options)), probe_(options_.server_pid), wake_(io_) {}

HookBench::~HookBench() = default;

std::int64_t HookBench::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

void HookBench::progress(const std::string& line) const {
  if (!options_.quiet) {
    std::cerr << "[hookbench] " << line << std::endl;
  }
}

asio::awaitable<void> HookBench::sleep_for(Clock::duration d) {
  asio::steady_timer timer(io_, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> HookBench::wait_wake(Clock::duration limit) {
  // Single-threaded with one waiter, so a condition checked just before this call cannot
  // change before the wait is armed: no wake-up is lost.
  wake_.expires_after(limit);
  co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> HookBench::drain() {
  const auto until = std::min(
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.drain)),
      phase_deadline_);
  while (!all_arrived() && !session_lost_ && Clock::now() < until) {
    co_await wait_wake(std::min<Clock::duration>(until - Clock::now(), 100ms));
  }
}

std::string HookBench::body_for(std::uint64_t seq, std::int64_t sent_ns) const {
  std::string body = fmt::format("hb {} {}", seq, sent_ns);
  if (options_.payload > 0) {
    body += ' ';
    body.append(options_.payload, 'x');
  }
  return body;
}

void HookBench::record_sent(std::uint64_t seq, std::int64_t ns) {
  const std::size_t i = seq - base_;
  sent_ns_[i] = ns;
  if (first_sent_ns_ == 0 || ns < first_sent_ns_) {
    first_sent_ns_ = ns;
  }
}

void HookBench::record_accepted(std::uint64_t seq) {
  accepted_[seq - base_] = 1;
  ++expected_;
}

bool HookBench::record_arrival(std::string_view body) {
  const std::int64_t now = now_ns();
  if (!body.starts_with("hb ")) {
    ++malformed_;
    return false;
  }
  body.remove_prefix(3);
  std::uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), seq);
  if (ec != std::errc()) {
    ++malformed_;
    return false;
  }
  if (seq < base_) {
    ++stray_;
    return true;
  }
  const std::uint64_t i = seq - base_;
  if (i >= count_ || sent_ns_[i] == 0) {
    ++unexpected_;
    return true;
  }
  if (arrived_ns_[i] != 0) {
    ++duplicates_;
    return true;
  }
  arrived_ns_[i] = now;
  ++delivered_;
  last_arrival_ns_ = std::max(last_arrival_ns_, now);
  if (all_arrived()) {
    notify();
  }
  return true;
}

void HookBench::on_message(std::size_t, std::string_view body) {
  if (deliveries_are_messages()) {
    record_arrival(body);
  }
}

void HookBench::on_error_stanza(std::size_t, std::string_view stanza) {
  ++error_stanzas_;
  if (error_stanzas_ <= 3) {
    progress("error stanza: " + std::string(stanza.substr(0, 300)));
  }
}

void HookBench::on_session_end(std::size_t, std::string_view why) {
  session_lost_ = true;
  progress("the XMPP session ended: " + std::string(why));
  notify();
}

asio::awaitable<HookPhase> HookBench::phase(std::string label, bool measured, std::uint64_t base, std::size_t count) {
  base_ = base;
  count_ = count;
  expected_ = 0;
  sent_ns_.assign(count, 0);
  arrived_ns_.assign(count, 0);
  accepted_.assign(count, 0);
  delivered_ = duplicates_ = unexpected_ = stray_ = malformed_ = error_stanzas_ = 0;
  first_sent_ns_ = last_arrival_ns_ = 0;
  phase_deadline_ =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.timeout));

  HookPhase p;
  p.label = std::move(label);
  p.measured = measured;
  const Snapshot before = take_snapshot(probe_);
  co_await drive(p);
  co_await drain();
  const Snapshot after = take_snapshot(probe_);

  p.delivered = delivered_;
  p.duplicates = duplicates_;
  p.unexpected = unexpected_;
  p.malformed += malformed_;
  p.error_stanzas = error_stanzas_;
  for (std::size_t i = 0; i < count; ++i) {
    p.missing += accepted_[i] != 0 && arrived_ns_[i] == 0 ? 1 : 0;
  }
  if (first_sent_ns_ != 0 && last_arrival_ns_ > first_sent_ns_) {
    p.seconds = static_cast<double>(last_arrival_ns_ - first_sent_ns_) / 1e9;
  }
  p.delivered_per_s = rate_of(p.delivered, p.seconds);
  p.accepted_per_s = rate_of(p.accepted, p.accept_seconds);
  std::vector<std::int64_t> latencies;
  latencies.reserve(delivered_);
  for (std::size_t i = 0; i < count; ++i) {
    if (arrived_ns_[i] != 0) {
      latencies.push_back(arrived_ns_[i] - sent_ns_[i]);
    }
  }
  p.delivery_latency = summarize(latencies);

  const Interval interval = between(before, after);
  p.client_cpu_pct = interval.seconds > 0 ? 100.0 * interval.self_cpu_s / interval.seconds : 0;
  p.steal_pct = interval.steal_pct;
  if (interval.server_cpu_s) {
    p.server_cpu_s = interval.server_cpu_s;
    p.server_cpu_pct = interval.seconds > 0 ? 100.0 * *interval.server_cpu_s / interval.seconds : 0;
    if (p.delivered > 0) {
      p.server_cpu_us_per_msg = 1e6 * *interval.server_cpu_s / static_cast<double>(p.delivered);
    }
  }
  progress(fmt::format("{}: {} sent, {} accepted, {} delivered in {:.2f} s ({:.0f}/s), p50 {:.2f} ms, p99 {:.2f} ms, "
                       "{} missing, {} duplicates",
                       p.label, p.offered, p.accepted, p.delivered, p.seconds, p.delivered_per_s,
                       p.delivery_latency.p50_ms, p.delivery_latency.p99_ms, p.missing, p.duplicates));
  if (stray_ > 0) {
    progress(fmt::format("{}: {} late arrivals of an earlier phase", p.label, stray_));
  }
  co_return p;
}

asio::awaitable<void> HookBench::scenario(HookReport& report) {
  alice_ = ClientConnection::create(*env_, 0, options_.user);
  if (!co_await alice_->login(*this)) {
    report.fatal = "login of " + options_.user + "@" + options_.domain + " failed: " + alice_->error();
    co_return;
  }
  report.mechanism = std::string(alice_->mechanism());
  progress("logged in as " + alice_->full_jid() + " with " + report.mechanism);
  if (!co_await prepare()) {
    if (report.fatal.empty()) {
      report.fatal = "preparation failed";
    }
    co_return;
  }
  std::uint64_t base = 1;
  if (options_.warmup > 0) {
    report.phases.push_back(co_await phase("warm-up", false, base, options_.warmup));
    base += options_.warmup;
  }
  if (!session_lost_) {
    report.phases.push_back(co_await phase("measured", true, base, options_.messages));
  }
  if (session_lost_) {
    report.fatal = "the XMPP session of " + options_.user + " ended during the run";
  }
  alice_->close();
  co_await sleep_for(50ms);
}

int HookBench::run(HookReport& report) {
  report.options = options_;
  raise_file_limit();
  asio::ip::tcp::resolver resolver(io_);
  boost::system::error_code ec;
  const auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port), ec);
  if (ec || endpoints.empty()) {
    std::cerr << "parley-hookbench: cannot resolve " << options_.host << ": " << ec.message() << '\n';
    return 2;
  }
  auto prepared = core::sasl::saslprep(options_.password);
  if (!prepared) {
    std::cerr << "parley-hookbench: the password is not valid for SASLprep: " << prepared.error() << '\n';
    return 2;
  }
  env_ = std::unique_ptr<ClientEnvironment>(new ClientEnvironment{io_,
                                                                  endpoints.begin()->endpoint(),
                                                                  nullptr,
                                                                  options_.domain,
                                                                  *prepared,
                                                                  options_.resource,
                                                                  options_.mechanism,
                                                                  std::chrono::seconds(30),
                                                                  {}});

  std::exception_ptr failure;
  asio::co_spawn(io_, scenario(report), [this, &failure](std::exception_ptr e) {
    failure = e;
    io_.stop();
  });
  io_.run();
  if (failure) {
    report.fatal = "internal error: " + describe_exception(failure);
  }
  if (!report.fatal.empty()) {
    std::cerr << "parley-hookbench: " << report.fatal << '\n';
    return 2;
  }
  bool clean = true;
  for (const auto& p : report.phases) {
    clean = clean && p.missing == 0 && p.duplicates == 0 && p.unexpected == 0 && p.malformed == 0 &&
            p.refused.empty() && p.error_stanzas == 0 && p.accepted == p.offered;
  }
  return clean ? 0 : 1;
}

// ---- reports --------------------------------------------------------------------------------

nlohmann::json hook_report_json(const HookReport& r) {
  const auto& o = r.options;
  json options = {{"mode", to_string(o.mode)}, {"label", o.label}, {"host", o.host},           {"port", o.port},
                  {"domain", o.domain},        {"user", o.user},   {"mechanism", r.mechanism}, {"messages", o.messages},
                  {"warmup", o.warmup},        {"rate", o.rate},   {"drain_s", o.drain},       {"payload", o.payload}};
  if (o.mode == HookMode::inbound) {
    options["http_port"] = o.http_port;
    options["path"] = o.path;
    options["api"] = to_string(o.api);
    options["connections"] = o.connections;
  } else {
    options["to"] = o.to;
    options["sink_port"] = o.sink_port;
    options["sink_path"] = o.sink_path;
    options["window"] = o.window;
  }
  json phases = json::array();
  for (const auto& p : r.phases) {
    phases.push_back({{"label", p.label},
                      {"measured", p.measured},
                      {"offered", p.offered},
                      {"accepted", p.accepted},
                      {"refused", p.refused},
                      {"delivered", p.delivered},
                      {"missing", p.missing},
                      {"duplicates", p.duplicates},
                      {"unexpected", p.unexpected},
                      {"malformed", p.malformed},
                      {"error_stanzas", p.error_stanzas},
                      {"seconds", p.seconds},
                      {"accept_seconds", p.accept_seconds},
                      {"accepted_per_s", p.accepted_per_s},
                      {"delivered_per_s", p.delivered_per_s},
                      {"accept_latency", latency_json(p.accept_latency)},
                      {"delivery_latency", latency_json(p.delivery_latency)},
                      {"server_cpu_s", opt_json(p.server_cpu_s)},
                      {"server_cpu_us_per_msg", opt_json(p.server_cpu_us_per_msg)},
                      {"server_cpu_pct", opt_json(p.server_cpu_pct)},
                      {"client_cpu_pct", p.client_cpu_pct},
                      {"steal_pct", p.steal_pct},
                      {"http_connections", p.http_connections},
                      {"reconnects", p.reconnects}});
  }
  return {{"tool", "parley-hookbench"}, {"options", options}, {"phases", phases}, {"fatal", r.fatal}};
}

void print_hook_report(std::ostream& out, const HookReport& r) {
  const auto& o = r.options;
  if (o.mode == HookMode::inbound) {
    out << fmt::format("{} inbound ({}): POST http://{}:{}{} over {} connections, {} to {}@{}\n", o.label,
                       to_string(o.api), o.host, o.http_port, o.path, o.connections,
                       o.rate > 0 ? fmt::format("{:.0f} msg/s offered", o.rate) : std::string("closed loop"), o.user,
                       o.domain);
  } else {
    out << fmt::format("{} outbound: {}@{} -> {} -> POST http://127.0.0.1:{}{}, {}\n", o.label, o.user, o.domain, o.to,
                       o.sink_port, o.sink_path,
                       o.rate > 0 ? fmt::format("{:.0f} msg/s offered", o.rate) : fmt::format("window {}", o.window));
  }
  out << fmt::format("{:<9} {:>7} {:>7} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>5} {:>9} {:>6} {:>6} "
                     "{:>6}\n",
                     "phase", "sent", "acc", "acc/s", "deliv/s", "acc p50", "p50 ms", "p90 ms", "p99 ms", "max ms",
                     "miss", "dup", "cpu-us/m", "srv %", "gen %", "steal");
  for (const auto& p : r.phases) {
    out << fmt::format("{:<9} {:>7} {:>7} {:>9.0f} {:>9.0f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f} {:>6} {:>5} "
                       "{:>9} {:>6} {:>6.0f} {:>6.1f}\n",
                       p.label, p.offered, p.accepted, p.accepted_per_s, p.delivered_per_s, p.accept_latency.p50_ms,
                       p.delivery_latency.p50_ms, p.delivery_latency.p90_ms, p.delivery_latency.p99_ms,
                       p.delivery_latency.max_ms, p.missing, p.duplicates, opt(p.server_cpu_us_per_msg, 0),
                       opt(p.server_cpu_pct, 0), p.client_cpu_pct, p.steal_pct);
    for (const auto& [what, n] : p.refused) {
      out << fmt::format("  {}: {} refused: {}\n", p.label, n, what);
    }
    if (p.unexpected + p.malformed + p.error_stanzas > 0) {
      out << fmt::format("  {}: {} unexpected, {} malformed, {} error stanzas\n", p.label, p.unexpected, p.malformed,
                         p.error_stanzas);
    }
  }
  if (!r.fatal.empty()) {
    out << "FAILED: " << r.fatal << '\n';
  }
}

} // namespace parley::bench

int main(int argc, char** argv) {
  using namespace parley::bench;
  auto parsed = parse_hook_options(argc, argv);
  if (!parsed.options) {
    return parsed.exit_code;
  }
  // A server that resets connections must not kill the tool with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  const HookOptions options = *parsed.options;
  auto bench = options.mode == HookMode::inbound ? make_inbound_bench(options) : make_outbound_bench(options);
  HookReport report;
  const int code = bench->run(report);
  print_hook_report(std::cout, report);
  if (!options.json_path.empty()) {
    std::ofstream out(options.json_path);
    out << hook_report_json(report).dump(2) << '\n';
    if (!out) {
      std::cerr << "parley-hookbench: cannot write " << options.json_path << '\n';
      return 2;
    }
  }
  return code;
}
