#pragma once

#include "bench/options.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace parley::bench {

/// Percentiles of a set of durations, in milliseconds (nearest-rank).
struct LatencySummary {
  std::size_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

/// Sorts `nanoseconds` and summarises it.
LatencySummary summarize(std::vector<std::int64_t>& nanoseconds);

/// One pass of opening connections and logging every one in.
struct LoginPhase {
  std::string label;
  bool measured = true;
  std::size_t attempted = 0;
  std::size_t ok = 0;
  std::size_t failed = 0;
  double seconds = 0; ///< from the first connect to the last login done
  double logins_per_s = 0;
  LatencySummary latency; ///< connect to "ready" (roster and presence echo received)
  // Mean completion times of each stage, from the start of the connect, in ms.
  double connected_ms = 0;
  double secured_ms = 0;
  double authenticated_ms = 0;
  double bound_ms = 0;
  std::optional<double> server_cpu_s;
  std::optional<double> server_cpu_us_per_login;
  std::optional<double> server_cpu_pct;
  double client_cpu_pct = 0;
  double steal_pct = 0;
  std::optional<std::uint64_t> rss_before_kib;
  std::optional<std::uint64_t> rss_after_kib;
  std::map<std::string, std::size_t> errors; ///< reason -> connections
};

/// One offered rate of the messages scenario; counts cover the measured window.
struct MessageStep {
  double offered_per_s = 0;
  double window_s = 0;
  std::uint64_t sent = 0; ///< messages sent in the window
  double sent_per_s = 0;
  std::uint64_t arrived = 0;   ///< messages received in the window (whenever sent)
  double delivered_per_s = 0;  ///< arrived / window
  std::uint64_t delivered = 0; ///< of those sent in the window, received by the end of the drain
  std::uint64_t lost = 0;      ///< sent in the window, never received
  std::uint64_t duplicates = 0;
  std::uint64_t misrouted = 0;
  std::uint64_t error_stanzas = 0;
  double drain_s = 0;
  std::uint64_t client_backlog_bytes = 0; ///< unsent bytes queued in the generator at window end
  LatencySummary latency;                 ///< of messages sent in the window
  std::optional<double> server_cpu_s;
  std::optional<double> server_cpu_us_per_msg;
  std::optional<double> server_cpu_pct;
  double client_cpu_pct = 0;
  double steal_pct = 0;
};

/// The idle scenario: memory held per open connection.
struct IdleFigures {
  std::size_t connections = 0;
  double hold_s = 0;
  std::size_t dropped = 0; ///< sessions that ended during the hold
  std::optional<std::uint64_t> rss_before_kib;
  std::optional<std::uint64_t> rss_connected_kib;
  std::optional<std::uint64_t> rss_end_kib;
  std::optional<double> rss_bytes_per_connection;
  std::optional<double> server_cpu_pct_idle; ///< during the hold
  std::optional<std::uint64_t> client_rss_kib;
};

/// The offline scenario: messages stored for users who are offline, then drained when they
/// log in. Each phase's interval ends with the last proof: the last sender's ping answer
/// (store) and the last expected message received (drain).
struct OfflinePhase {
  double seconds = 0;
  double per_s = 0;    ///< messages stored (store) or received (drain) / seconds
  LatencySummary done; ///< per connection: phase start to its ping answer / to its last message
  std::optional<double> server_cpu_s;
  std::optional<double> server_cpu_us_per_msg;
  std::optional<double> server_cpu_pct;
  double client_cpu_pct = 0;
  double steal_pct = 0;
  std::optional<double> server_cores_busy_pct; ///< the server's CPUs, used by anyone
};

struct OfflineFigures {
  std::size_t senders = 0;    ///< logged in and sending
  std::size_t recipients = 0; ///< logged in for the drain
  std::uint64_t sent = 0;
  std::uint64_t refused = 0;      ///< error replies to messages (quota, storage): not stored
  std::uint64_t stored = 0;       ///< sent - refused, once every sender had its proof
  std::size_t proofs_missing = 0; ///< senders whose ping was not answered in time
  std::uint64_t ping_errors = 0;  ///< pings answered with an error (still a proof of order)
  std::uint64_t received = 0;     ///< distinct messages of this run received in the drain
  std::uint64_t lost = 0;         ///< stored but not received by the end of the drain
  std::uint64_t duplicates = 0;
  std::uint64_t misrouted = 0;                 ///< received by another recipient than the one addressed
  std::uint64_t stale = 0;                     ///< messages of an earlier run still stored (not counted)
  std::optional<std::uint64_t> rss_before_kib; ///< server RSS before the store
  std::optional<std::uint64_t> rss_stored_kib; ///< after the store
  OfflinePhase store;
  OfflinePhase drain; ///< from the first recipient's connect; includes their logins
};

struct RunReport {
  Options options;
  std::string mechanism; ///< what was negotiated
  std::uint64_t file_limit = 0;
  std::vector<LoginPhase> logins;
  std::optional<LoginPhase> login_total; ///< the measured rounds together (login scenario)
  std::vector<MessageStep> steps;
  std::optional<IdleFigures> idle;
  std::optional<OfflineFigures> offline;
  std::size_t unexpected_session_ends = 0;
  std::map<std::string, std::size_t> session_end_reasons;
  std::string first_error_stanza;
};

void print_table(std::ostream& out, const RunReport& report);
nlohmann::json to_json(const RunReport& report);
void write_markdown(std::ostream& out, const RunReport& report);

} // namespace parley::bench
