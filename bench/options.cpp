#include "bench/options.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <iostream>
#include <map>

namespace parley::bench {

bool parse_mechanism(std::string_view text, Mechanism& out) {
  if (text == "auto") {
    out = Mechanism::automatic;
  } else if (text == "SCRAM-SHA-256") {
    out = Mechanism::scram_sha_256;
  } else if (text == "SCRAM-SHA-1") {
    out = Mechanism::scram_sha_1;
  } else if (text == "PLAIN") {
    out = Mechanism::plain;
  } else {
    return false;
  }
  return true;
}

namespace {

constexpr std::string_view usage =
    R"(usage: parley-loadgen --users N --password PW --scenario login|messages|idle [options]
       parley-loadgen --senders S --recipients R --password PW --scenario offline [options]

Target (any XMPP server; users <prefix><i> must exist beforehand):
  --host ADDR            server address (default 127.0.0.1)
  --port P               c2s port (default 5222)
  --domain D             XMPP domain the users live on (default localhost)
  --users N              connections to open, one per user (required, except for offline)
  --first-user K         first user index (default 0): users K .. K+N-1
  --user-prefix S        user names are S<i> (default bench)
  --password PW          password of every user (required)
  --resource R           resource to bind (default loadgen)
  --tls                  negotiate STARTTLS before authenticating
  --mech M               auto|SCRAM-SHA-256|SCRAM-SHA-1|PLAIN (default auto: strongest offered)

Ramp:
  --connect-rate R       connections started per second (default 0: unlimited)
  --connect-batch B      start B connections together (default 1)
  --concurrency C        logins in flight at once (default 100)
  --login-timeout S      seconds allowed for one login (default 30)

Scenario login:
  --rounds K             measured rounds of connect-all / close-all (default 3)
  --warmup-rounds K      unmeasured rounds first (default 1)

Scenario messages:
  --rates R1,R2,...      offered messages/s in total, one step each (default 1000)
  --duration S           measured seconds per step (default 10)
  --warmup S             seconds at each step's rate before measuring (default 2)
  --drain S              longest wait for in-flight messages after a step (default 5)
  --pairing partner|random  user i sends to user i^1, or to a random other (default partner)
  --payload BYTES        extra body bytes per message (default 0)
  --seed N               random seed (default 1)

Scenario idle:
  --hold S               seconds to hold the connections (default 10)
  --settle S             seconds between the last login and reading RSS (default 1)
  --idle-warmup N        logins made and closed first, before RSS is read (default 100)

Scenario offline (users 0..S-1 send, users S..S+R-1 receive; the receivers must be offline):
  --senders S            sender connections (default 10)
  --recipients R         recipients, offline while the messages are stored (default 10)
  --messages M           messages each sender sends, spread round-robin over the recipients
                         (default 100); --payload pads each body
  --drain S              after the recipients logged in, give up when no message arrived for
                         S seconds (default 5)
  --phase-timeout S      longest the store or the drain phase may take (default 120)

Measurement and output:
  --server-pid PID       read the server's RSS and CPU time from /proc/PID
  --label NAME           server name in the reports (default server)
  --json FILE            write machine-readable results
  --markdown FILE        append a markdown section with the results
  --quiet                no progress lines on stderr
  --help
)";

template <class T> bool parse_number(std::string_view text, T& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool parse_seconds(std::string_view text, double& out) {
  // std::from_chars for double is in GCC 12's libstdc++.
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && std::isfinite(out) && out >= 0;
}

} // namespace

std::string_view to_string(Scenario scenario) noexcept {
  switch (scenario) {
  case Scenario::login: return "login";
  case Scenario::messages: return "messages";
  case Scenario::idle: return "idle";
  case Scenario::offline: return "offline";
  }
  return "?";
}

std::string_view to_string(Mechanism mechanism) noexcept {
  switch (mechanism) {
  case Mechanism::automatic: return "auto";
  case Mechanism::scram_sha_256: return "SCRAM-SHA-256";
  case Mechanism::scram_sha_1: return "SCRAM-SHA-1";
  case Mechanism::plain: return "PLAIN";
  }
  return "?";
}

std::string_view to_string(Pairing pairing) noexcept {
  return pairing == Pairing::partner ? "partner" : "random";
}

ParsedOptions parse_options(int argc, char** argv) {
  Options o;
  std::vector<std::string> errors;
  using Setter = std::function<bool(std::string_view)>;
  auto size = [](std::size_t& target) {
    return Setter([&target](std::string_view v) { return parse_number(v, target); });
  };
  auto seconds = [](double& target) {
    return Setter([&target](std::string_view v) { return parse_seconds(v, target); });
  };
  auto text = [](std::string& target) {
    return Setter([&target](std::string_view v) {
      target = std::string(v);
      return !v.empty();
    });
  };

  const std::map<std::string, Setter, std::less<>> with_value{
      {"--host", text(o.host)},
      {"--port", [&o](std::string_view v) { return parse_number(v, o.port) && o.port != 0; }},
      {"--domain", text(o.domain)},
      {"--users", size(o.users)},
      {"--first-user", size(o.first_user)},
      {"--user-prefix", text(o.user_prefix)},
      {"--password", text(o.password)},
      {"--resource", text(o.resource)},
      {"--mech", [&o](std::string_view v) { return parse_mechanism(v, o.mechanism); }},
      {"--connect-rate", seconds(o.connect_rate)},
      {"--connect-batch", [&o](std::string_view v) { return parse_number(v, o.connect_batch) && o.connect_batch > 0; }},
      {"--concurrency", [&o](std::string_view v) { return parse_number(v, o.concurrency) && o.concurrency > 0; }},
      {"--login-timeout",
       [&o](std::string_view v) { return parse_seconds(v, o.login_timeout) && o.login_timeout > 0; }},
      {"--scenario",
       [&o](std::string_view v) {
         if (v == "login") {
           o.scenario = Scenario::login;
         } else if (v == "messages") {
           o.scenario = Scenario::messages;
         } else if (v == "idle") {
           o.scenario = Scenario::idle;
         } else if (v == "offline") {
           o.scenario = Scenario::offline;
         } else {
           return false;
         }
         return true;
       }},
      {"--rounds", [&o](std::string_view v) { return parse_number(v, o.rounds) && o.rounds > 0; }},
      {"--warmup-rounds", size(o.warmup_rounds)},
      {"--rates",
       [&o](std::string_view v) {
         o.rates.clear();
         while (!v.empty()) {
           const auto comma = v.find(',');
           double rate = 0;
           if (!parse_seconds(v.substr(0, comma), rate) || rate <= 0) {
             return false;
           }
           o.rates.push_back(rate);
           v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
         }
         return !o.rates.empty();
       }},
      {"--duration", [&o](std::string_view v) { return parse_seconds(v, o.duration) && o.duration > 0; }},
      {"--warmup", seconds(o.warmup)},
      {"--drain", seconds(o.drain)},
      {"--pairing",
       [&o](std::string_view v) {
         if (v == "partner") {
           o.pairing = Pairing::partner;
         } else if (v == "random") {
           o.pairing = Pairing::random;
         } else {
           return false;
         }
         return true;
       }},
      {"--payload", size(o.payload)},
      {"--seed", [&o](std::string_view v) { return parse_number(v, o.seed); }},
      {"--hold", seconds(o.hold)},
      {"--settle", seconds(o.settle)},
      {"--idle-warmup", size(o.idle_warmup)},
      {"--senders", [&o](std::string_view v) { return parse_number(v, o.senders) && o.senders > 0; }},
      {"--recipients", [&o](std::string_view v) { return parse_number(v, o.recipients) && o.recipients > 0; }},
      {"--messages", [&o](std::string_view v) { return parse_number(v, o.per_sender) && o.per_sender > 0; }},
      {"--phase-timeout",
       [&o](std::string_view v) { return parse_seconds(v, o.phase_timeout) && o.phase_timeout > 0; }},
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
      {"--markdown", text(o.markdown_path)},
  };

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return {std::nullopt, 0};
    }
    if (arg == "--tls") {
      o.tls = true;
      continue;
    }
    if (arg == "--quiet") {
      o.quiet = true;
      continue;
    }
    std::string_view value;
    bool have_value = false;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
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
  if (o.scenario == Scenario::offline) {
    // The senders and the recipients are distinct users, so that no recipient is online.
    if (o.users != 0 && o.users != o.senders + o.recipients) {
      errors.emplace_back("the offline scenario uses --senders and --recipients; --users must be left out or be "
                          "their sum");
    }
    o.users = o.senders + o.recipients;
  } else if (o.users == 0) {
    errors.emplace_back("--users is required and must be at least 1");
  }
  if (o.password.empty()) {
    errors.emplace_back("--password is required");
  }
  if (o.scenario == Scenario::messages && o.users < 2) {
    errors.emplace_back("the messages scenario needs at least 2 users");
  }
  if (!errors.empty()) {
    for (const auto& e : errors) {
      std::cerr << "parley-loadgen: " << e << '\n';
    }
    std::cerr << "try parley-loadgen --help\n";
    return {std::nullopt, 2};
  }
  return {std::move(o), 0};
}

} // namespace parley::bench
