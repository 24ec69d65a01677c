#include "bench/load_generator.hpp"

#include "core/sasl/scram_credentials.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>

namespace parley::bench {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

/// Completion of a detached coroutine: an escaped exception is a bug of ours, so say so.
void report_exception(std::exception_ptr e) {
  if (!e) {
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::cerr << "parley-loadgen: internal error: " << ex.what() << '\n';
  }
}

template <class T> bool take_number(std::string_view& text, T& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (ec != std::errc()) {
    return false;
  }
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  if (!text.empty() && text.front() == ' ') {
    text.remove_prefix(1);
  }
  return true;
}

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;
  out.append(digits, end);
}

} // namespace

LoadGenerator::LoadGenerator(Options options)
    : options_(std::move(options)), tls_context_(asio::ssl::context::tls_client), probe_(options_.server_pid),
      wake_(io_), random_(options_.seed) {
  // A benchmark talks to a test server with a self-signed certificate.
  tls_context_.set_verify_mode(asio::ssl::verify_none);
  // Idle connections keep no TLS read/write buffers, so the generator itself stays lean.
  SSL_CTX_set_mode(tls_context_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
}

LoadGenerator::~LoadGenerator() = default;

void LoadGenerator::progress(const std::string& line) const {
  if (!options_.quiet) {
    std::cerr << "[loadgen] " << line << std::endl;
  }
}

int LoadGenerator::run() {
  report_.options = options_;
  report_.file_limit = raise_file_limit();
  if (report_.file_limit < options_.users + 64) {
    std::cerr << "parley-loadgen: warning: the file descriptor limit (" << report_.file_limit << ") is too low for "
              << options_.users << " connections\n";
  }
  asio::ip::tcp::resolver resolver(io_);
  boost::system::error_code ec;
  const auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port), ec);
  if (ec || endpoints.empty()) {
    std::cerr << "parley-loadgen: cannot resolve " << options_.host << ": " << ec.message() << '\n';
    return 2;
  }
  auto prepared = core::sasl::saslprep(options_.password);
  if (!prepared) {
    std::cerr << "parley-loadgen: the password is not valid for SASLprep: " << prepared.error() << '\n';
    return 2;
  }
  env_ = std::unique_ptr<ClientEnvironment>(new ClientEnvironment{
      io_,
      endpoints.begin()->endpoint(),
      options_.tls ? &tls_context_ : nullptr,
      options_.domain,
      *prepared,
      options_.resource,
      options_.mechanism,
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.login_timeout)),
      {}});

  std::exception_ptr failure;
  asio::co_spawn(io_, scenario(), [this, &failure](std::exception_ptr e) {
    failure = e;
    io_.stop();
  });
  io_.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "parley-loadgen: " << e.what() << '\n';
      return 2;
    }
  }

  print_table(std::cout, report_);
  if (!options_.json_path.empty()) {
    std::ofstream out(options_.json_path);
    out << to_json(report_).dump(2) << '\n';
    if (!out) {
      std::cerr << "parley-loadgen: cannot write " << options_.json_path << '\n';
      return 2;
    }
  }
  if (!options_.markdown_path.empty()) {
    std::ofstream out(options_.markdown_path, std::ios::app);
    write_markdown(out, report_);
    if (!out) {
      std::cerr << "parley-loadgen: cannot write " << options_.markdown_path << '\n';
      return 2;
    }
  }
  bool clean = report_.unexpected_session_ends == 0;
  for (const auto& p : report_.logins) {
    clean = clean && p.failed == 0;
  }
  for (const auto& s : report_.steps) {
    clean = clean && s.lost == 0 && s.duplicates == 0 && s.misrouted == 0;
  }
  if (const auto& off = report_.offline) {
    clean = clean && off->sent > 0 && off->refused == 0 && off->proofs_missing == 0 && off->lost == 0 &&
            off->duplicates == 0 && off->misrouted == 0;
  }
  return clean ? 0 : 1;
}

asio::awaitable<void> LoadGenerator::scenario() {
  switch (options_.scenario) {
  case Scenario::login: co_await scenario_login(); break;
  case Scenario::messages: co_await scenario_messages(); break;
  case Scenario::idle: co_await scenario_idle(); break;
  case Scenario::offline: co_await scenario_offline(); break;
  }
  io_.stop();
}

// ---- timing helpers ------------------------------------------------------------------------

asio::awaitable<void> LoadGenerator::sleep_for(Clock::duration d) {
  asio::steady_timer timer(io_, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> LoadGenerator::wait_wake(Clock::duration limit) {
  // Single-threaded and with one waiter (the scenario), so a condition checked just before
  // this call cannot change before the wait is armed: no wake-up is lost.
  wake_.expires_after(limit);
  co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
}

// ---- connecting ----------------------------------------------------------------------------

asio::awaitable<LoginPhase> LoadGenerator::connect_all(std::string label, bool measured, std::size_t first,
                                                       std::size_t how_many) {
  const std::size_t n = how_many == SIZE_MAX ? options_.users - first : how_many;
  LoginPhase phase;
  phase.label = std::move(label);
  phase.measured = measured;
  phase.attempted = n;
  if (connections_.size() < first + n) {
    connections_.resize(first + n);
  }
  std::fill(connections_.begin() + static_cast<std::ptrdiff_t>(first),
            connections_.begin() + static_cast<std::ptrdiff_t>(first + n), nullptr);
  phase.rss_before_kib = probe_.rss_kib();
  const Snapshot before = take_snapshot(probe_);
  const std::size_t report_every = std::max<std::size_t>(n / 5, 1000);

  for (std::size_t i = 0; i < n; ++i) {
    if (options_.connect_rate > 0) {
      const std::size_t batch_start = i / options_.connect_batch * options_.connect_batch;
      const auto due = before.at + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                       static_cast<double>(batch_start) / options_.connect_rate));
      if (Clock::now() < due) {
        co_await sleep_for(due - Clock::now());
      }
    }
    while (in_flight_ >= options_.concurrency) {
      co_await wait_wake(100ms);
    }
    ++in_flight_;
    asio::co_spawn(io_, login_one(first + i), report_exception);
    if ((i + 1) % report_every == 0 && i + 1 < n) {
      progress(fmt::format("{}: {} of {} connections started", phase.label, i + 1, n));
    }
  }
  while (in_flight_ > 0) {
    co_await wait_wake(100ms);
  }
  const Snapshot after = take_snapshot(probe_);
  phase.rss_after_kib = probe_.rss_kib();

  const Interval interval = between(before, after);
  std::vector<std::int64_t> ready;
  ready.reserve(n);
  Clock::duration connected{};
  Clock::duration secured{};
  Clock::duration authenticated{};
  Clock::duration bound{};
  for (std::size_t i = first; i < first + n; ++i) {
    const auto& c = connections_[i];
    if (c && c->error().empty()) {
      ++phase.ok;
      const auto& t = c->timings();
      ready.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t.ready).count());
      connected += t.connected;
      secured += t.secured;
      authenticated += t.authenticated;
      bound += t.bound;
    } else {
      ++phase.failed;
      ++phase.errors[c ? c->error() : std::string("not started")];
    }
  }
  // The interval ends when the last login completes; that is the rate's denominator.
  phase.seconds = interval.seconds;
  phase.logins_per_s = phase.seconds > 0 ? static_cast<double>(phase.ok) / phase.seconds : 0;
  if (phase.ok > 0) {
    const double count = static_cast<double>(phase.ok);
    phase.connected_ms = ms(connected) / count;
    phase.secured_ms = ms(secured) / count;
    phase.authenticated_ms = ms(authenticated) / count;
    phase.bound_ms = ms(bound) / count;
  }
  phase.latency = summarize(ready);
  phase.server_cpu_s = interval.server_cpu_s;
  if (interval.server_cpu_s) {
    if (phase.ok > 0) {
      phase.server_cpu_us_per_login = *interval.server_cpu_s * 1e6 / static_cast<double>(phase.ok);
    }
    phase.server_cpu_pct = interval.seconds > 0 ? 100.0 * *interval.server_cpu_s / interval.seconds : 0.0;
  }
  phase.client_cpu_pct = interval.seconds > 0 ? 100.0 * interval.self_cpu_s / interval.seconds : 0.0;
  phase.steal_pct = interval.steal_pct;
  progress(fmt::format("{}: {} of {} logged in in {:.2f} s ({:.0f}/s){}", phase.label, phase.ok, n, phase.seconds,
                       phase.logins_per_s, phase.failed > 0 ? fmt::format(", {} failed", phase.failed) : ""));
  co_return phase;
}

asio::awaitable<void> LoadGenerator::login_one(std::size_t index) {
  std::string user = options_.user_prefix + std::to_string(options_.first_user + index);
  auto connection = ClientConnection::create(*env_, index, std::move(user));
  connections_[index] = connection;
  const bool ok = co_await connection->login(*this);
  if (ok) {
    ++live_;
    if (report_.mechanism.empty()) {
      report_.mechanism = std::string(connection->mechanism());
    }
  }
  --in_flight_;
  notify();
}

asio::awaitable<void> LoadGenerator::close_all() {
  closing_ = true;
  for (const auto& c : connections_) {
    if (c) {
      c->close();
    }
  }
  const auto polite = Clock::now() + 10s;
  while (live_ > 0 && Clock::now() < polite) {
    co_await wait_wake(50ms);
  }
  if (live_ > 0) {
    progress(fmt::format("{} sessions did not close within 10 s; dropping them", live_));
    for (const auto& c : connections_) {
      if (c && (c->state() == ClientConnection::State::ready || c->state() == ClientConnection::State::closing)) {
        c->abort();
      }
    }
    const auto hard = Clock::now() + 2s;
    while (live_ > 0 && Clock::now() < hard) {
      co_await wait_wake(50ms);
    }
  }
  connections_.clear();
  active_.clear();
  closing_ = false;
}

void LoadGenerator::on_session_end(std::size_t index, std::string_view why) {
  --live_;
  if (proofs_pending_ > 0 && index < awaiting_proof_.size() && awaiting_proof_[index] != 0) {
    // A sender that is gone will never have its proof: stop waiting for it.
    awaiting_proof_[index] = 0;
    --proofs_pending_;
    if (proofs_pending_ == 0) {
      phase_end_ = take_snapshot(probe_);
    }
  }
  if (!closing_) {
    ++report_.unexpected_session_ends;
    ++report_.session_end_reasons[std::string(why)];
  }
  notify();
}

void LoadGenerator::on_error_stanza(std::size_t /*receiver*/, std::string_view stanza) {
  ++error_stanzas_;
  if (options_.scenario == Scenario::offline && element_name(stanza) == "message") {
    // The server bounced a message instead of storing it (quota, storage failure). When the
    // bounce carries the body, its recipient will not wait for it.
    ++offline_refused_;
    std::string_view body = child_text(stanza, "body");
    std::uint64_t nonce = 0;
    std::uint64_t seq = 0;
    std::size_t to = 0;
    if (body.starts_with("lo ")) {
      body.remove_prefix(3);
      if (take_number(body, nonce) && take_number(body, seq) && take_number(body, to) && nonce == offline_nonce_) {
        const std::size_t r = to - options_.senders;
        if (r < recipient_left_.size() && recipient_left_[r] > 0) {
          --recipient_left_[r];
        }
      }
    }
  }
  if (report_.first_error_stanza.empty()) {
    report_.first_error_stanza = std::string(stanza.substr(0, 400));
  }
}

// ---- scenarios -----------------------------------------------------------------------------

asio::awaitable<void> LoadGenerator::scenario_login() {
  std::vector<std::int64_t> all_ready;
  LoginPhase total;
  total.label = "measured";
  double client_cpu_s = 0;
  double steal_weighted = 0;
  const std::size_t rounds = options_.warmup_rounds + options_.rounds;
  for (std::size_t r = 0; r < rounds; ++r) {
    const bool measured = r >= options_.warmup_rounds;
    std::string label =
        measured ? fmt::format("round {}", r - options_.warmup_rounds + 1) : fmt::format("warm-up {}", r + 1);
    LoginPhase phase = co_await connect_all(std::move(label), measured);
    if (measured) {
      for (const auto& c : connections_) {
        if (c && c->error().empty()) {
          all_ready.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(c->timings().ready).count());
        }
      }
      const double ok = static_cast<double>(phase.ok);
      const double prior = static_cast<double>(total.ok);
      auto mix = [&](double& into, double value) {
        into = ok + prior > 0 ? (into * prior + value * ok) / (ok + prior) : 0;
      };
      mix(total.connected_ms, phase.connected_ms);
      mix(total.secured_ms, phase.secured_ms);
      mix(total.authenticated_ms, phase.authenticated_ms);
      mix(total.bound_ms, phase.bound_ms);
      total.attempted += phase.attempted;
      total.ok += phase.ok;
      total.failed += phase.failed;
      total.seconds += phase.seconds;
      if (phase.server_cpu_s) {
        total.server_cpu_s = total.server_cpu_s.value_or(0) + *phase.server_cpu_s;
      }
      client_cpu_s += phase.client_cpu_pct * phase.seconds / 100.0;
      steal_weighted += phase.steal_pct * phase.seconds;
    }
    report_.logins.push_back(std::move(phase));
    co_await close_all();
    // Let the server finish tearing the sessions down before the next round is timed.
    co_await sleep_for(300ms);
  }
  if (total.seconds > 0) {
    total.logins_per_s = static_cast<double>(total.ok) / total.seconds;
    total.client_cpu_pct = 100.0 * client_cpu_s / total.seconds;
    total.steal_pct = steal_weighted / total.seconds;
    if (total.server_cpu_s) {
      total.server_cpu_pct = 100.0 * *total.server_cpu_s / total.seconds;
      if (total.ok > 0) {
        total.server_cpu_us_per_login = *total.server_cpu_s * 1e6 / static_cast<double>(total.ok);
      }
    }
  }
  total.latency = summarize(all_ready);
  report_.login_total = std::move(total);
}

asio::awaitable<void> LoadGenerator::scenario_messages() {
  LoginPhase phase = co_await connect_all("connect", true);
  const std::size_t ok = phase.ok;
  report_.logins.push_back(std::move(phase));
  if (ok < 2) {
    progress("fewer than 2 connections logged in; no messages sent");
    co_await close_all();
    co_return;
  }
  prepare_messages();
  for (const double rate : options_.rates) {
    MessageStep step = co_await message_step(rate);
    progress(fmt::format("{:.0f} msg/s offered: {:.0f} delivered/s, p50 {:.2f} ms, p99 {:.2f} ms, {} lost", rate,
                         step.delivered_per_s, step.latency.p50_ms, step.latency.p99_ms, step.lost));
    report_.steps.push_back(std::move(step));
  }
  co_await close_all();
}

asio::awaitable<void> LoadGenerator::scenario_idle() {
  IdleFigures idle;
  // Warm up, as every other scenario does: logins made and closed again first, so that what a
  // server sets up once on its first logins (code paged in, caches, pools) is not counted as
  // memory per idle connection. The same for every server.
  if (const std::size_t warm = std::min(options_.idle_warmup, options_.users); warm > 0) {
    LoginPhase w = co_await connect_all("warm-up", false, 0, warm);
    report_.logins.push_back(std::move(w));
    co_await close_all();
    co_await sleep_for(2s);
  }
  idle.rss_before_kib = probe_.rss_kib();
  LoginPhase phase = co_await connect_all("connect", true);
  idle.connections = phase.ok;
  report_.logins.push_back(std::move(phase));
  co_await sleep_for(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.settle)));
  idle.rss_connected_kib = probe_.rss_kib();
  const std::size_t ended_before = report_.unexpected_session_ends;
  const Snapshot before = take_snapshot(probe_);
  progress(fmt::format("holding {} connections for {} s", idle.connections, options_.hold));
  co_await sleep_for(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.hold)));
  const Snapshot after = take_snapshot(probe_);
  idle.rss_end_kib = probe_.rss_kib();
  idle.client_rss_kib = self_rss_kib();
  idle.hold_s = options_.hold;
  idle.dropped = report_.unexpected_session_ends - ended_before;
  const Interval interval = between(before, after);
  if (interval.server_cpu_s && interval.seconds > 0) {
    idle.server_cpu_pct_idle = 100.0 * *interval.server_cpu_s / interval.seconds;
  }
  if (idle.rss_before_kib && idle.rss_end_kib && idle.connections > 0) {
    idle.rss_bytes_per_connection =
        (static_cast<double>(*idle.rss_end_kib) - static_cast<double>(*idle.rss_before_kib)) * 1024.0 /
        static_cast<double>(idle.connections);
  }
  report_.idle = idle;
  co_await close_all();
}

// ---- offline -------------------------------------------------------------------------------

namespace {

constexpr std::string_view offline_ping_id = "offline-store";

std::string seconds_text(double seconds) {
  return fmt::format("{:.2f} s", seconds);
}

Clock::duration seconds_to_clock(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

/// Fills the figures of one phase from its interval; `count` is what the phase achieved.
void fill_phase(OfflinePhase& phase, const Interval& interval, std::uint64_t count) {
  phase.seconds = interval.seconds;
  if (interval.seconds > 0) {
    phase.per_s = static_cast<double>(count) / interval.seconds;
    phase.client_cpu_pct = 100.0 * interval.self_cpu_s / interval.seconds;
  }
  phase.server_cpu_s = interval.server_cpu_s;
  if (interval.server_cpu_s) {
    if (count > 0) {
      phase.server_cpu_us_per_msg = *interval.server_cpu_s * 1e6 / static_cast<double>(count);
    }
    if (interval.seconds > 0) {
      phase.server_cpu_pct = 100.0 * *interval.server_cpu_s / interval.seconds;
    }
  }
  phase.steal_pct = interval.steal_pct;
  phase.server_cores_busy_pct = interval.server_cores_busy_pct;
}

} // namespace

std::string LoadGenerator::offline_burst(std::size_t sender, std::uint64_t nonce) const {
  const std::size_t senders = options_.senders;
  const std::size_t recipients = options_.recipients;
  const std::uint64_t per_sender = options_.per_sender;
  std::vector<std::string> to_prefix(recipients);
  for (std::size_t r = 0; r < recipients; ++r) {
    const std::string user = options_.user_prefix + std::to_string(options_.first_user + senders + r);
    to_prefix[r] = "<message type='chat' to='" + xml_escape(user + "@" + options_.domain) + "'><body>lo ";
  }
  std::string burst;
  burst.reserve(static_cast<std::size_t>(per_sender) * (to_prefix[0].size() + 64 + options_.payload));
  for (std::uint64_t j = 0; j < per_sender; ++j) {
    // Sequence numbers are global, so consecutive messages of one sender go to different
    // recipients and every recipient gets its share from every sender.
    const std::uint64_t seq = sender * per_sender + j;
    const std::size_t r = static_cast<std::size_t>(seq % recipients);
    // Body: "lo <run nonce> <sequence> <receiver connection index>".
    burst += to_prefix[r];
    append_number(burst, nonce);
    burst += ' ';
    append_number(burst, seq);
    burst += ' ';
    append_number(burst, senders + r);
    burst += padding_;
    burst += "</body></message>";
  }
  // The proof that the server has taken the burst: the answer to a ping sent after it.
  // XEP-0198 acks would say the same only where 'handled' means stored, and it does not
  // everywhere: Prosody 0.12's mod_smacks counts a stanza when it is read, before it is
  // routed; ejabberd needs mod_stream_mgmt and Prosody mod_smacks loaded and negotiated. An iq
  // round trip works on every server, because each of the three processes one stream's
  // stanzas one after the other and stores an offline message before it moves on: Prosody
  // runs a session's stanzas in order and mod_offline appends synchronously; ejabberd's c2s
  // process routes each message itself and mod_offline writes it to Mnesia in that process;
  // parleyd awaits the offline commit before it handles the next stanza of the stream. An
  // error answer (no XEP-0199 on the server) proves the same and is counted apart.
  burst += "<iq type='get' id='";
  burst += offline_ping_id;
  burst += "' to='";
  burst += xml_escape(options_.domain);
  burst += "'><ping xmlns='urn:xmpp:ping'/></iq>";
  return burst;
}

asio::awaitable<void> LoadGenerator::scenario_offline() {
  const std::size_t senders = options_.senders;
  const std::size_t recipients = options_.recipients;
  const std::uint64_t per_sender = options_.per_sender;
  OfflineFigures off;
  padding_.assign(options_.payload, 'x');
  // Not measured: the store starts with every sender logged in.
  LoginPhase sender_logins = co_await connect_all("senders", false, 0, senders);
  off.senders = sender_logins.ok;
  report_.logins.push_back(std::move(sender_logins));

  // A new nonce per run: messages an earlier run left in storage are told apart.
  offline_nonce_ = static_cast<std::uint64_t>(now_ns());
  received_.assign(static_cast<std::size_t>(senders * per_sender), 0);
  recipient_left_.assign(recipients, 0);
  offline_refused_ = offline_ping_errors_ = error_stanzas_ = 0;
  proof_times_.clear();
  awaiting_proof_.assign(senders, 0);
  phase_end_.reset();

  // ---- store: every sender sends its burst and a ping; done when the last ping is answered.
  std::vector<std::pair<std::size_t, std::string>> bursts;
  for (std::size_t s = 0; s < senders; ++s) {
    if (connections_[s] && connections_[s]->state() == ClientConnection::State::ready) {
      bursts.emplace_back(s, offline_burst(s, offline_nonce_));
      for (std::uint64_t j = 0; j < per_sender; ++j) {
        ++recipient_left_[static_cast<std::size_t>((s * per_sender + j) % recipients)];
      }
    }
  }
  progress(fmt::format("store: {} senders send {} messages each to {} offline recipients", bursts.size(), per_sender,
                       recipients));
  off.rss_before_kib = probe_.rss_kib();
  const Snapshot store_before = take_snapshot(probe_);
  phase_start_ = store_before.at;
  const std::size_t sending = bursts.size();
  proofs_pending_ = sending;
  for (auto& [s, burst] : bursts) {
    awaiting_proof_[s] = 1;
    connections_[s]->send(burst);
    off.sent += per_sender;
  }
  bursts.clear();
  const auto store_deadline = phase_start_ + seconds_to_clock(options_.phase_timeout);
  while (proofs_pending_ > 0 && Clock::now() < store_deadline) {
    co_await wait_wake(std::min<Clock::duration>(store_deadline - Clock::now(), 1s));
  }
  const Snapshot store_after = phase_end_ ? *phase_end_ : take_snapshot(probe_);
  off.proofs_missing = sending - proof_times_.size();
  proofs_pending_ = 0;
  off.refused = offline_refused_;
  off.ping_errors = offline_ping_errors_;
  off.stored = off.sent - std::min(off.sent, off.refused);
  fill_phase(off.store, between(store_before, store_after), off.stored);
  off.store.done = summarize(proof_times_);
  off.rss_stored_kib = probe_.rss_kib();
  progress(fmt::format("store: {} of {} messages taken in {} ({:.0f}/s), {} refused, {} senders without proof",
                       off.stored, off.sent, seconds_text(off.store.seconds), off.store.per_s, off.refused,
                       off.proofs_missing));
  co_await close_all();
  // Let the server finish tearing the sender sessions down before the drain is timed.
  co_await sleep_for(300ms);

  // ---- drain: the recipients log in; done when the last stored message has arrived.
  drain_expected_ = off.stored;
  drain_received_ = drain_stale_ = duplicates_ = misrouted_ = foreign_ = 0;
  recipient_times_.clear();
  phase_end_.reset();
  draining_ = true;
  const Snapshot drain_before = take_snapshot(probe_);
  phase_start_ = drain_before.at;
  last_arrival_ = phase_start_;
  LoginPhase recipient_logins = co_await connect_all("recipients", false, senders, recipients);
  off.recipients = recipient_logins.ok;
  report_.logins.push_back(std::move(recipient_logins));
  const auto logged_in = Clock::now();
  const auto drain_deadline = phase_start_ + seconds_to_clock(options_.phase_timeout);
  const auto quiet = seconds_to_clock(options_.drain);
  while (drain_received_ < drain_expected_) {
    const auto now = Clock::now();
    const auto idle_until = std::max(last_arrival_, logged_in) + quiet;
    if (now >= drain_deadline || now >= idle_until) {
      break;
    }
    co_await wait_wake(std::min<Clock::duration>(std::min(drain_deadline, idle_until) - now, 100ms));
  }
  Interval drain_interval;
  if (phase_end_) {
    drain_interval = between(drain_before, *phase_end_);
  } else {
    // Incomplete: the rate is over the time to the last arrival, the CPU over the whole wait.
    drain_interval = between(drain_before, take_snapshot(probe_));
    drain_interval.seconds = std::chrono::duration<double>(last_arrival_ - phase_start_).count();
  }
  // A short look for late duplicates, not timed.
  co_await sleep_for(std::min<Clock::duration>(quiet, 500ms));
  draining_ = false;
  off.received = drain_received_;
  off.lost = drain_expected_ - std::min(drain_expected_, drain_received_);
  off.duplicates = duplicates_;
  off.misrouted = misrouted_;
  off.stale = drain_stale_;
  fill_phase(off.drain, drain_interval, off.received);
  off.drain.done = summarize(recipient_times_);
  progress(fmt::format("drain: {} of {} messages received in {} ({:.0f}/s), {} lost, {} duplicates, {} misrouted, "
                       "{} from earlier runs",
                       off.received, drain_expected_, seconds_text(off.drain.seconds), off.drain.per_s, off.lost,
                       off.duplicates, off.misrouted, off.stale));
  if (foreign_ > 0) {
    progress(fmt::format("drain: {} messages with a body the generator did not send", foreign_));
  }
  report_.offline = off;
  co_await close_all();
}

void LoadGenerator::on_iq_response(std::size_t index, std::string_view id, bool error) {
  if (id != offline_ping_id || index >= awaiting_proof_.size() || awaiting_proof_[index] == 0) {
    return;
  }
  awaiting_proof_[index] = 0;
  proof_times_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - phase_start_).count());
  if (error) {
    ++offline_ping_errors_;
  }
  if (--proofs_pending_ == 0) {
    phase_end_ = take_snapshot(probe_);
    notify();
  }
}

void LoadGenerator::on_offline_message(std::size_t receiver, std::string_view body) {
  if (!draining_ || !body.starts_with("lo ")) {
    ++foreign_;
    return;
  }
  body.remove_prefix(3);
  std::uint64_t nonce = 0;
  std::uint64_t seq = 0;
  std::size_t to = 0;
  if (!take_number(body, nonce) || !take_number(body, seq) || !take_number(body, to)) {
    ++foreign_;
    return;
  }
  if (nonce != offline_nonce_) {
    ++drain_stale_;
    return;
  }
  if (seq >= received_.size()) {
    ++foreign_;
    return;
  }
  if (received_[seq] != 0) {
    ++duplicates_;
    return;
  }
  received_[seq] = 1;
  ++drain_received_;
  last_arrival_ = Clock::now();
  if (to != receiver) {
    ++misrouted_;
  }
  const std::size_t r = receiver - options_.senders;
  if (r < recipient_left_.size() && recipient_left_[r] > 0 && --recipient_left_[r] == 0) {
    recipient_times_.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(last_arrival_ - phase_start_).count());
  }
  if (drain_received_ == drain_expected_) {
    phase_end_ = take_snapshot(probe_);
    notify();
  }
}

// ---- messages ------------------------------------------------------------------------------

void LoadGenerator::prepare_messages() {
  active_.clear();
  to_prefix_.assign(connections_.size(), std::string());
  for (std::size_t i = 0; i < connections_.size(); ++i) {
    const auto& c = connections_[i];
    if (c && c->state() == ClientConnection::State::ready) {
      active_.push_back(i);
      to_prefix_[i] = "<message type='chat' to='" + xml_escape(c->full_jid()) + "'><body>lg ";
    }
  }
  padding_.assign(options_.payload, 'x');
}

void LoadGenerator::send_one() {
  const std::size_t sender = active_[next_sender_++ % active_.size()];
  std::size_t receiver = sender ^ 1U;
  if (options_.pairing == Pairing::random || receiver >= connections_.size() || !connections_[receiver] ||
      connections_[receiver]->state() != ClientConnection::State::ready) {
    do {
      receiver = active_[random_() % active_.size()];
    } while (receiver == sender);
  }
  const std::uint64_t seq = next_seq_++;
  received_.push_back(0);
  // Body: "lg <sequence> <send time, steady clock ns> <receiver index>".
  scratch_ = to_prefix_[receiver];
  append_number(scratch_, seq);
  scratch_ += ' ';
  append_number(scratch_, static_cast<std::uint64_t>(now_ns()));
  scratch_ += ' ';
  append_number(scratch_, receiver);
  scratch_ += padding_;
  scratch_ += "</body></message>";
  connections_[sender]->send(scratch_);
}

void LoadGenerator::on_message(std::size_t receiver, std::string_view body) {
  if (options_.scenario == Scenario::offline) {
    on_offline_message(receiver, body);
    return;
  }
  const std::int64_t arrival = now_ns();
  if (!body.starts_with("lg ")) {
    ++foreign_;
    return;
  }
  body.remove_prefix(3);
  std::uint64_t seq = 0;
  std::uint64_t sent_at = 0;
  std::size_t to = 0;
  if (!take_number(body, seq) || !take_number(body, sent_at) || !take_number(body, to) || seq >= received_.size()) {
    ++foreign_;
    return;
  }
  if (received_[seq] != 0) {
    ++duplicates_;
    return;
  }
  received_[seq] = 1;
  if (to != receiver) {
    ++misrouted_;
  }
  if (window_open_) {
    ++window_arrivals_;
  }
  if (seq >= step_first_seq_) {
    ++step_received_;
  }
  if (seq >= measure_first_seq_ && seq < measure_end_seq_) {
    ++measured_received_;
    latencies_.push_back(arrival - static_cast<std::int64_t>(sent_at));
  }
}

asio::awaitable<MessageStep> LoadGenerator::message_step(double rate) {
  MessageStep step;
  step.offered_per_s = rate;
  step_first_seq_ = next_seq_;
  measure_first_seq_ = UINT64_MAX;
  measure_end_seq_ = UINT64_MAX;
  window_arrivals_ = step_received_ = measured_received_ = 0;
  duplicates_ = misrouted_ = error_stanzas_ = 0;
  latencies_.clear();
  latencies_.reserve(static_cast<std::size_t>(rate * options_.duration * 1.1));

  const auto to_clock = [](double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  const auto start = Clock::now();
  const auto window_start = start + to_clock(options_.warmup);
  const auto end = window_start + to_clock(options_.duration);
  progress(fmt::format("{:.0f} msg/s: {} s warm-up, {} s measured", rate, options_.warmup, options_.duration));

  Snapshot before;
  std::uint64_t sent = 0;
  asio::steady_timer tick(io_);
  for (;;) {
    const auto t = Clock::now();
    if (!window_open_ && t >= window_start) {
      before = take_snapshot(probe_);
      measure_first_seq_ = next_seq_;
      window_open_ = true;
    }
    if (t >= end) {
      break;
    }
    // Sends what is due by now, so a late tick catches up instead of lowering the rate.
    const auto due = static_cast<std::uint64_t>(rate * std::chrono::duration<double>(t - start).count());
    while (sent < due) {
      send_one();
      ++sent;
    }
    tick.expires_after(1ms);
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  const Snapshot after = take_snapshot(probe_);
  measure_end_seq_ = next_seq_;
  window_open_ = false;
  for (const auto& c : connections_) {
    if (c) {
      step.client_backlog_bytes += c->queued_bytes();
    }
  }

  const auto drain_start = Clock::now();
  const auto drain_end = drain_start + to_clock(options_.drain);
  while (step_received_ < next_seq_ - step_first_seq_ && Clock::now() < drain_end) {
    co_await sleep_for(5ms);
  }
  step.drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();

  const Interval interval = between(before, after);
  step.window_s = interval.seconds;
  step.sent = measure_end_seq_ - measure_first_seq_;
  step.arrived = window_arrivals_;
  step.delivered = measured_received_;
  step.lost = step.sent - step.delivered;
  step.duplicates = duplicates_;
  step.misrouted = misrouted_;
  step.error_stanzas = error_stanzas_;
  if (interval.seconds > 0) {
    step.sent_per_s = static_cast<double>(step.sent) / interval.seconds;
    step.delivered_per_s = static_cast<double>(step.arrived) / interval.seconds;
    step.client_cpu_pct = 100.0 * interval.self_cpu_s / interval.seconds;
  }
  step.latency = summarize(latencies_);
  step.server_cpu_s = interval.server_cpu_s;
  if (interval.server_cpu_s) {
    if (step.arrived > 0) {
      step.server_cpu_us_per_msg = *interval.server_cpu_s * 1e6 / static_cast<double>(step.arrived);
    }
    if (interval.seconds > 0) {
      step.server_cpu_pct = 100.0 * *interval.server_cpu_s / interval.seconds;
    }
  }
  step.steal_pct = interval.steal_pct;
  // Messages of this step still in flight after the drain would be counted in the next one.
  measure_first_seq_ = measure_end_seq_ = UINT64_MAX;
  co_return step;
}

} // namespace parley::bench
