#pragma once

#include "bench/client_connection.hpp"
#include "bench/options.hpp"
#include "bench/process_probe.hpp"
#include "bench/report.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace parley::bench {

/// Runs one scenario against one server with many client connections on a single thread
/// (the io_context runs on the calling thread, so nothing here needs a lock), and fills a
/// RunReport.
class LoadGenerator final : public ClientListener {
public:
  explicit LoadGenerator(Options options);
  ~LoadGenerator() override;

  /// Runs the scenario to the end; returns the process exit code (0, or 1 when logins
  /// failed or messages were lost).
  int run();
  const RunReport& report() const noexcept { return report_; }

  void on_message(std::size_t receiver, std::string_view body) override;
  void on_error_stanza(std::size_t receiver, std::string_view stanza) override;
  void on_iq_response(std::size_t index, std::string_view id, bool error) override;
  void on_session_end(std::size_t index, std::string_view why) override;

private:
  boost::asio::awaitable<void> scenario();
  boost::asio::awaitable<void> scenario_login();
  boost::asio::awaitable<void> scenario_messages();
  boost::asio::awaitable<void> scenario_idle();
  boost::asio::awaitable<void> scenario_offline();

  /// Opens connections `first` .. `first + how_many - 1` (default: all `--users`) at the
  /// configured rate and concurrency, and waits for all their logins.
  boost::asio::awaitable<LoginPhase> connect_all(std::string label, bool measured, std::size_t first = 0,
                                                 std::size_t how_many = SIZE_MAX);
  boost::asio::awaitable<void> login_one(std::size_t index);
  /// Closes every session and waits (bounded) until the server has closed them too.
  boost::asio::awaitable<void> close_all();
  boost::asio::awaitable<MessageStep> message_step(double rate);
  boost::asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration d);
  /// Waits until `wake_` is notified or `limit` passes.
  boost::asio::awaitable<void> wait_wake(std::chrono::steady_clock::duration limit);
  void notify() { wake_.cancel(); }

  /// The offline scenario's store burst of one sender, ending with the ping that proves it
  /// was processed.
  std::string offline_burst(std::size_t sender, std::uint64_t nonce) const;
  void on_offline_message(std::size_t receiver, std::string_view body);
  void prepare_messages();
  void send_one();
  void progress(const std::string& line) const;

  Options options_;
  boost::asio::io_context io_{1};
  boost::asio::ssl::context tls_context_;
  std::unique_ptr<ClientEnvironment> env_;
  ProcessProbe probe_;
  RunReport report_;

  std::vector<std::shared_ptr<ClientConnection>> connections_;
  std::size_t in_flight_ = 0; ///< logins under way
  std::size_t live_ = 0;      ///< sessions whose read loop runs
  bool closing_ = false;
  boost::asio::steady_timer wake_;

  // Messages.
  std::vector<std::size_t> active_;    ///< indices of ready connections
  std::vector<std::string> to_prefix_; ///< per receiver: "<message ... to='jid'><body>lg "
  std::string scratch_;
  std::string padding_;
  std::size_t next_sender_ = 0;
  std::mt19937_64 random_;
  std::uint64_t next_seq_ = 0;
  std::vector<std::uint8_t> received_; ///< per sequence number
  std::uint64_t step_first_seq_ = 0;
  std::uint64_t measure_first_seq_ = UINT64_MAX;
  std::uint64_t measure_end_seq_ = UINT64_MAX;
  bool window_open_ = false;
  std::uint64_t window_arrivals_ = 0;
  std::uint64_t step_received_ = 0;
  std::uint64_t measured_received_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t misrouted_ = 0;
  std::uint64_t foreign_ = 0;
  std::uint64_t error_stanzas_ = 0;
  std::vector<std::int64_t> latencies_;

  // Offline.
  std::uint64_t offline_nonce_ = 0;   ///< tells this run's messages from those of earlier runs
  std::uint64_t offline_refused_ = 0; ///< message errors seen by the senders
  std::uint64_t offline_ping_errors_ = 0;
  std::size_t proofs_pending_ = 0;
  std::vector<std::uint8_t> awaiting_proof_; ///< per sender: its ping is not answered yet
  std::vector<std::int64_t> proof_times_;    ///< ns from the store's start, per answered sender
  Clock::time_point phase_start_;
  std::optional<Snapshot> phase_end_; ///< taken when the phase's last proof arrived
  bool draining_ = false;
  std::uint64_t drain_expected_ = 0;
  std::uint64_t drain_received_ = 0;
  std::uint64_t drain_stale_ = 0;
  Clock::time_point last_arrival_;
  std::vector<std::uint64_t> recipient_left_; ///< per recipient: messages still expected
  std::vector<std::int64_t> recipient_times_; ///< ns from the drain's start, per completed recipient
};

} // namespace parley::bench
