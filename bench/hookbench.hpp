#pragma once

#include "bench/client_connection.hpp"
#include "bench/options.hpp"
#include "bench/process_probe.hpp"
#include "bench/report.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::bench {

/// inbound: HTTP POSTs to a webhook endpoint, delivered as XMPP messages to one user.
/// outbound: XMPP messages from that user to a webhook contact, POSTed to our own sink.
enum class HookMode { inbound, outbound };
/// What the inbound endpoint is: Parley's POST /hooks/NAME ({"body":...}, answered 202 once
/// delivered) or ejabberd's mod_http_api POST /api/send_message (answered 200 once routed).
enum class InboundApi { parley, ejabberd };

std::string_view to_string(HookMode mode) noexcept;
std::string_view to_string(InboundApi api) noexcept;

/// The command line of parley-hookbench.
struct HookOptions {
  HookMode mode = HookMode::inbound;

  // The XMPP user who receives (inbound) or sends (outbound).
  std::string host = "127.0.0.1";
  std::uint16_t port = 5222;
  std::string domain = "localhost";
  std::string user = "alice";
  std::string password;
  std::string resource = "hookbench";
  Mechanism mechanism = Mechanism::automatic;

  // Sizes, both modes.
  std::size_t messages = 10000; ///< measured messages
  std::size_t warmup = 1000;    ///< unmeasured messages first
  double rate = 0;              ///< offered messages/s; 0: closed loop (connections or window)
  double drain = 10;            ///< longest wait for deliveries after the last send
  double timeout = 120;         ///< longest a phase may take, sending included
  std::size_t payload = 0;      ///< extra body bytes

  // inbound
  std::uint16_t http_port = 5280;
  std::string path = "/hooks/bench";
  std::string authorization; ///< the Authorization header value; empty: none
  InboundApi api = InboundApi::parley;
  std::string from = "bench@localhost"; ///< ejabberd's send_message needs a sender
  std::size_t connections = 16;         ///< HTTP/1.1 keep-alive connections

  // outbound
  std::string to = "bench@hooks.localhost";
  std::uint16_t sink_port = 0;
  std::string sink_path = "/sink";
  std::size_t window = 100; ///< messages sent but not yet POSTed to the sink, at most

  // Measurement and output.
  std::optional<int> server_pid;
  std::string label = "parleyd";
  std::string json_path;
  bool quiet = false;
};

struct ParsedHookOptions {
  std::optional<HookOptions> options; ///< empty: exit with `exit_code`
  int exit_code = 0;
};

/// Parses argv; prints usage or errors itself.
ParsedHookOptions parse_hook_options(int argc, char** argv);

/// One batch of messages, from the first send to the last delivery.
struct HookPhase {
  std::string label;
  bool measured = true;
  std::size_t offered = 0;                    ///< POSTs sent (inbound), messages sent (outbound)
  std::size_t accepted = 0;                   ///< inbound: answered with the expected status; outbound: = offered
  std::map<std::string, std::size_t> refused; ///< inbound: other answers and transport errors
  std::size_t delivered = 0;                  ///< distinct messages that arrived (at the user, or at the sink)
  std::size_t missing = 0;                    ///< accepted but never arrived within the drain
  std::size_t duplicates = 0;                 ///< arrived more than once
  std::size_t unexpected = 0;                 ///< arrived with a sequence number of no message of this phase
  std::size_t malformed = 0;                  ///< arrivals or answers we could not read
  std::size_t error_stanzas = 0;
  double seconds = 0;              ///< first send to last delivery
  double accept_seconds = 0;       ///< inbound: first send to last accepted answer
  double accepted_per_s = 0;       ///< inbound: accepted / accept_seconds
  double delivered_per_s = 0;      ///< delivered / seconds
  LatencySummary accept_latency;   ///< inbound: POST written to answer read
  LatencySummary delivery_latency; ///< send (or, with --rate, its scheduled time) to arrival
  std::optional<double> server_cpu_s;
  std::optional<double> server_cpu_us_per_msg;
  std::optional<double> server_cpu_pct;
  double client_cpu_pct = 0;
  double steal_pct = 0;
  std::size_t http_connections = 0; ///< outbound: connections the sink accepted so far
  std::size_t reconnects = 0;       ///< inbound: keep-alive connections the server closed
};

struct HookReport {
  HookOptions options;
  std::string mechanism;
  std::vector<HookPhase> phases;
  std::string fatal; ///< why the run could not be done at all
};

/// What inbound and outbound share: one io_context on the calling thread (so nothing needs
/// a lock), the XMPP session of the user, the per-phase bookkeeping of sequence numbers and
/// the measurement of CPU time. Every message body starts "hb <seq> <send time ns>".
class HookBench : public ClientListener {
public:
  explicit HookBench(HookOptions options);
  ~HookBench() override;

  /// Logs in, runs the warm-up and the measured phase; returns the exit code.
  int run(HookReport& report);

  void on_message(std::size_t receiver, std::string_view body) override;
  void on_error_stanza(std::size_t receiver, std::string_view stanza) override;
  void on_session_end(std::size_t index, std::string_view why) override;

protected:
  using Clock = std::chrono::steady_clock;

  /// Before the first phase, after the login: open connections, start the sink.
  virtual boost::asio::awaitable<bool> prepare() = 0;
  /// Sends messages base .. base+count-1 and waits for them; fills offered, accepted,
  /// refused, accept figures and `last_sent_ns_`. The base class does the rest.
  virtual boost::asio::awaitable<void> drive(HookPhase& phase) = 0;
  /// Whether arrivals are XMPP messages to the user (inbound) rather than POSTs (outbound).
  virtual bool deliveries_are_messages() const = 0;

  /// "hb <seq> <now ns>" and the padding.
  std::string body_for(std::uint64_t seq, std::int64_t sent_ns) const;
  /// Records an arrival whose body is `body` ("hb <seq> ..."); false when unreadable.
  bool record_arrival(std::string_view body);
  /// Records that message `seq` was handed over at `ns` (for its latency).
  void record_sent(std::uint64_t seq, std::int64_t ns);
  /// Records that message `seq` must arrive (inbound: its POST was accepted).
  void record_accepted(std::uint64_t seq);
  /// Whether all accepted messages of the phase arrived.
  bool all_arrived() const { return delivered_ >= expected_; }

  boost::asio::awaitable<void> sleep_for(Clock::duration d);
  /// Waits until notify() or `limit` passes.
  boost::asio::awaitable<void> wait_wake(Clock::duration limit);
  void notify() { wake_.cancel(); }
  /// Waits until every expected message arrived, or the drain (or phase timeout) ran out.
  boost::asio::awaitable<void> drain();
  void progress(const std::string& line) const;

  static std::int64_t now_ns();

  HookOptions options_;
  boost::asio::io_context io_{1};
  ProcessProbe probe_;
  std::unique_ptr<ClientEnvironment> env_;
  std::shared_ptr<ClientConnection> alice_;
  boost::asio::steady_timer wake_;
  bool session_lost_ = false;

  // The current phase.
  std::uint64_t base_ = 0;
  std::size_t count_ = 0;
  std::size_t expected_ = 0;             ///< how many should arrive (accepted so far)
  std::vector<std::int64_t> sent_ns_;    ///< per message: when sent (or scheduled), 0: not
  std::vector<std::int64_t> arrived_ns_; ///< per message: first arrival, 0: not yet
  std::vector<std::uint8_t> accepted_;   ///< per message: must arrive
  std::size_t delivered_ = 0;
  std::size_t duplicates_ = 0;
  std::size_t unexpected_ = 0;
  std::size_t stray_ = 0; ///< late arrivals of an earlier phase (not counted in this one)
  std::size_t malformed_ = 0;
  std::size_t error_stanzas_ = 0;
  std::int64_t first_sent_ns_ = 0;
  std::int64_t last_arrival_ns_ = 0;
  Clock::time_point phase_deadline_;

private:
  boost::asio::awaitable<void> scenario(HookReport& report);
  boost::asio::awaitable<HookPhase> phase(std::string label, bool measured, std::uint64_t base, std::size_t count);
};

/// The inbound benchmark (HTTP in, XMPP out) and the outbound one (XMPP in, HTTP out).
std::unique_ptr<HookBench> make_inbound_bench(HookOptions options);
std::unique_ptr<HookBench> make_outbound_bench(HookOptions options);

/// Prints the phases as a table; writes the JSON report.
void print_hook_report(std::ostream& out, const HookReport& report);
nlohmann::json hook_report_json(const HookReport& report);

} // namespace parley::bench
