#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::bench {

enum class Scenario { login, messages, idle, offline };
/// `automatic` picks the strongest the server offers: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN.
enum class Mechanism { automatic, scram_sha_256, scram_sha_1, plain };

/// "auto", "SCRAM-SHA-256", "SCRAM-SHA-1" or "PLAIN" into `out`; false for anything else.
bool parse_mechanism(std::string_view text, Mechanism& out);
/// Who receives what user i sends: user i^1 (a fixed partner) or a random other user.
enum class Pairing { partner, random };

std::string_view to_string(Scenario scenario) noexcept;
std::string_view to_string(Mechanism mechanism) noexcept;
std::string_view to_string(Pairing pairing) noexcept;

/// Everything the command line says. Nothing here is specific to Parley: host, port, domain
/// and user names are all flags, so any XMPP server can be measured.
struct Options {
  // Target and accounts.
  std::string host = "127.0.0.1";
  std::uint16_t port = 5222;
  std::string domain = "localhost";
  std::size_t users = 0; ///< connections opened; user i is <prefix><first_user + i> (offline: senders + recipients)
  std::size_t first_user = 0;
  std::string user_prefix = "bench";
  std::string password;
  std::string resource = "loadgen";
  bool tls = false;
  Mechanism mechanism = Mechanism::automatic;

  // Connection ramp.
  double connect_rate = 0;       ///< connections started per second; 0: as fast as `concurrency` allows
  std::size_t connect_batch = 1; ///< started together, every connect_batch / connect_rate seconds
  std::size_t concurrency = 100; ///< logins in flight at once
  double login_timeout = 30;     ///< seconds for one whole login

  Scenario scenario = Scenario::login;

  // login
  std::size_t rounds = 3;        ///< measured rounds of connect-all then close-all
  std::size_t warmup_rounds = 1; ///< unmeasured rounds first (fills caches on both sides)

  // messages
  std::vector<double> rates{1000.0}; ///< offered messages/s in total, one step each
  double duration = 10;              ///< measured seconds per step
  double warmup = 2;                 ///< seconds at the step's rate before measuring
  double drain = 5;                  ///< longest wait for in-flight messages after a step
  Pairing pairing = Pairing::partner;
  std::size_t payload = 0; ///< extra body bytes per message
  std::uint64_t seed = 1;

  // idle
  double hold = 10;  ///< seconds to hold the connections open
  double settle = 1; ///< seconds after the last login before RSS is read
  std::size_t idle_warmup = 100; ///< logins made and closed before RSS is first read

  // offline: users 0 .. senders-1 send, users senders .. senders+recipients-1 receive
  std::size_t senders = 10;
  std::size_t recipients = 10;
  std::size_t per_sender = 100; ///< messages each sender sends while the recipients are offline
  double phase_timeout = 120;   ///< longest the store or the drain phase may take, in seconds

  // Measurement and output.
  std::optional<int> server_pid;
  std::string label = "server"; ///< names the server under test in the reports
  std::string json_path;
  std::string markdown_path; ///< appended to
  bool quiet = false;
};

struct ParsedOptions {
  std::optional<Options> options; ///< empty: exit with `exit_code`
  int exit_code = 0;
};

/// Parses argv; prints usage or errors itself.
ParsedOptions parse_options(int argc, char** argv);

} // namespace parley::bench
