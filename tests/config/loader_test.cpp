#include "config/loader.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

using namespace parley::config;

namespace {

LoadResult load(std::string_view toml) { return load_string(toml, "test.toml"); }

std::string all_errors(const LoadResult& result) {
  std::string out;
  for (const ConfigError& error : result.errors) {
    out += error.to_string() + "\n";
  }
  return out;
}

// Expects exactly one error, at line:column, with this message.
void check_error(std::string_view toml, std::uint32_t line, std::uint32_t column,
                 std::string_view message) {
  const LoadResult testling = load(toml);
  INFO(toml);
  INFO(all_errors(testling));
  CHECK_FALSE(testling.ok());
  CHECK_FALSE(testling.config.has_value());
  REQUIRE(testling.errors.size() == 1);
  CHECK(testling.errors[0].source == "test.toml");
  CHECK(testling.errors[0].line == line);
  CHECK(testling.errors[0].column == column);
  CHECK(testling.errors[0].message == message);
}

// Expects no error; returns the loaded configuration.
Config check_loads(std::string_view toml) {
  const LoadResult testling = load(toml);
  INFO(toml);
  INFO(all_errors(testling));
  REQUIRE(testling.ok());
  REQUIRE(testling.errors.empty());
  return *testling.config;
}

void check_same(const Config& a, const Config& b) {
  CHECK(a.hosts == b.hosts);
  CHECK(a.data_dir == b.data_dir);
  CHECK(a.io_threads == b.io_threads);
  CHECK(a.log.level == b.log.level);
  CHECK(a.log.format == b.log.format);
  CHECK(a.tls.certificate == b.tls.certificate);
  CHECK(a.tls.key == b.tls.key);
  CHECK(a.c2s.address == b.c2s.address);
  CHECK(a.c2s.port == b.c2s.port);
  CHECK(a.c2s.tls == b.c2s.tls);
  CHECK(a.c2s.direct_tls_port == b.c2s.direct_tls_port);
  CHECK(a.c2s.sm_resume_timeout_seconds == b.c2s.sm_resume_timeout_seconds);
  CHECK(a.c2s.max_connections_per_ip == b.c2s.max_connections_per_ip);
  CHECK(a.c2s.max_auth_failures_per_ip == b.c2s.max_auth_failures_per_ip);
  CHECK(a.c2s.allow_registration == b.c2s.allow_registration);
  CHECK(a.http.address == b.http.address);
  CHECK(a.http.port == b.http.port);
  CHECK(a.http.max_body_bytes == b.http.max_body_bytes);
  CHECK(a.limits.max_stanza_bytes == b.limits.max_stanza_bytes);
  CHECK(a.limits.max_stanza_bytes_unauthenticated == b.limits.max_stanza_bytes_unauthenticated);
  CHECK(a.limits.max_depth == b.limits.max_depth);
  CHECK(a.limits.max_attributes == b.limits.max_attributes);
  CHECK(a.limits.unauthenticated_timeout_seconds == b.limits.unauthenticated_timeout_seconds);
  CHECK(a.storage.backend == b.storage.backend);
  CHECK(a.storage.sqlite_path == b.storage.sqlite_path);
  CHECK(a.storage.postgres_dsn == b.storage.postgres_dsn);
  CHECK(a.storage.postgres_password_env == b.storage.postgres_password_env);
  CHECK(a.storage.postgres_connections == b.storage.postgres_connections);
  CHECK(a.storage.workers == b.storage.workers);
  CHECK(a.storage.offline_quota == b.storage.offline_quota);
  CHECK(a.auth.backend == b.auth.backend);
  CHECK(a.auth.url == b.auth.url);
  CHECK(a.auth.timeout_seconds == b.auth.timeout_seconds);
  CHECK(a.auth.cache_seconds == b.auth.cache_seconds);
  CHECK(a.auth.allow_private_addresses == b.auth.allow_private_addresses);
  CHECK(a.auth.auth_token_env == b.auth.auth_token_env);
  CHECK(a.muc.enabled == b.muc.enabled);
  CHECK(a.muc.domain == b.muc.domain);
  CHECK(a.muc.name == b.muc.name);
  CHECK(a.muc.max_occupants == b.muc.max_occupants);
  CHECK(a.muc.max_history == b.muc.max_history);
  CHECK(a.muc.max_rooms == b.muc.max_rooms);
  CHECK(a.upload.enabled == b.upload.enabled);
  CHECK(a.upload.domain == b.upload.domain);
  CHECK(a.upload.max_file_size == b.upload.max_file_size);
  CHECK(a.upload.allowed_types == b.upload.allowed_types);
  CHECK(a.upload.expire_after_days == b.upload.expire_after_days);
  CHECK(a.upload.public_url == b.upload.public_url);
}

/// A file under the system temporary directory, removed at the end of the test.
class TempFile {
public:
  explicit TempFile(std::string_view content)
      : path_(std::filesystem::temp_directory_path() /
              ("parley_config_test_" + std::to_string(counter_++) + ".toml")) {
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

} // namespace

TEST_CASE("embedded default holds the defaults of config.hpp") {
  const Config& testling = embedded_default();
  CHECK(testling.hosts == std::vector<std::string>{"localhost"});
  CHECK(testling.data_dir == "parley-data");
  CHECK(testling.io_threads == 0);
  CHECK(testling.log.level == "info");
  CHECK(testling.log.format == LogFormat::text);
  CHECK(testling.tls.certificate.empty());
  CHECK(testling.tls.key.empty());
  CHECK(testling.c2s.address == "127.0.0.1");
  CHECK(testling.c2s.port == 5222);
  CHECK(testling.c2s.tls == C2sTls::required);
  CHECK(testling.c2s.direct_tls_port == 0);
  CHECK(testling.http.address == "127.0.0.1");
  CHECK(testling.http.port == 5280);
  CHECK(testling.http.max_body_bytes == 1024 * 1024);
  CHECK(testling.limits.max_stanza_bytes == 256 * 1024);
  CHECK(testling.limits.max_stanza_bytes_unauthenticated == 16 * 1024);
  CHECK(testling.limits.max_depth == 64);
  CHECK(testling.limits.max_attributes == 64);
  CHECK(testling.limits.unauthenticated_timeout_seconds == 60);
  CHECK(testling.storage.backend == StorageBackend::sqlite);
  CHECK(testling.storage.sqlite_path == "parley.db");
  CHECK(testling.storage.workers == 4);
  CHECK(testling.storage.offline_quota == 1000);
  CHECK(&embedded_default() == &testling);
}

TEST_CASE("an empty document gives the defaults") {
  check_same(check_loads(""), embedded_default());
  check_same(check_loads("# only a comment\n\n"), embedded_default());
  check_same(check_loads("[server]\n[log]\n[tls]\n[c2s]\n[http]\n[limits]\n[storage]\n"),
             embedded_default());
}

TEST_CASE("absent keys keep their defaults") {
  const Config testling = check_loads("[c2s]\nport = 15222\n");
  CHECK(testling.c2s.port == 15222);
  Config expected = embedded_default();
  expected.c2s.port = 15222;
  check_same(testling, expected);
}

TEST_CASE("every key is read") {
  const Config testling = check_loads(R"(
[server]
hosts = ["example.com", "muc.example.com", "xn--bcher-kva.example", "[::1]"]
data_dir = "/var/lib/parley"
io_threads = 256
[log]
level = "debug"
format = "json"
[tls]
certificate = "/etc/parley/cert.pem"
key = "/etc/parley/key.pem"
[c2s]
address = "::"
port = 15222
tls = "optional"
direct_tls_port = 15223
[http]
address = "::1"
port = 1
max_body_bytes = 1073741824
[limits]
max_stanza_bytes = 67108864
max_stanza_bytes_unauthenticated = 67108864
max_depth = 1024
max_attributes = 4
unauthenticated_timeout_seconds = 3600
[storage]
backend = "sqlite"
sqlite_path = "/var/lib/parley/db.sqlite"
workers = 256
offline_quota = 10000000
)");
  CHECK(testling.hosts == std::vector<std::string>{"example.com", "muc.example.com",
                                                   "xn--bcher-kva.example", "[::1]"});
  CHECK(testling.data_dir == "/var/lib/parley");
  CHECK(testling.io_threads == 256);
  CHECK(testling.log.level == "debug");
  CHECK(testling.log.format == LogFormat::json);
  CHECK(testling.tls.certificate == "/etc/parley/cert.pem");
  CHECK(testling.tls.key == "/etc/parley/key.pem");
  CHECK(testling.c2s.address == "::");
  CHECK(testling.c2s.port == 15222);
  CHECK(testling.c2s.tls == C2sTls::optional);
  CHECK(testling.c2s.direct_tls_port == 15223);
  CHECK(testling.http.address == "::1");
  CHECK(testling.http.port == 1);
  CHECK(testling.http.max_body_bytes == 1024u * 1024u * 1024u);
  CHECK(testling.limits.max_stanza_bytes == 64u * 1024u * 1024u);
  CHECK(testling.limits.max_stanza_bytes_unauthenticated == 64u * 1024u * 1024u);
  CHECK(testling.limits.max_depth == 1024);
  CHECK(testling.limits.max_attributes == 4);
  CHECK(testling.limits.unauthenticated_timeout_seconds == 3600);
  CHECK(testling.storage.backend == StorageBackend::sqlite);
  CHECK(testling.storage.sqlite_path == "/var/lib/parley/db.sqlite");
  CHECK(testling.storage.workers == 256);
  CHECK(testling.storage.offline_quota == 10'000'000);
}

TEST_CASE("every enum value is accepted") {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    CHECK(check_loads(std::string("[log]\nlevel = \"") + level + "\"\n").log.level == level);
  }
  CHECK(check_loads("[log]\nformat = \"text\"").log.format == LogFormat::text);
  CHECK(check_loads("[c2s]\ntls = \"required\"").c2s.tls == C2sTls::required);
  CHECK(check_loads("[c2s]\ntls = \"disabled\"").c2s.tls == C2sTls::disabled);
}

TEST_CASE("dotted keys and inline tables are ordinary TOML") {
  const Config testling = check_loads("c2s.port = 6222\nhttp = { port = 6280 }\n");
  CHECK(testling.c2s.port == 6222);
  CHECK(testling.http.port == 6280);
}

TEST_CASE("unknown tables and keys") {
  SUBCASE("a misspelt key gets a suggestion") {
    check_error("[c2s]\nprot = 5222\n", 2, 1, "unknown key 'prot' in [c2s]; did you mean 'port'?");
  }
  SUBCASE("suggestions ignore case") {
    check_error("[c2s]\nPort = 5222\n", 2, 1, "unknown key 'Port' in [c2s]; did you mean 'port'?");
  }
  SUBCASE("a longer slip") {
    check_error("[limits]\nmax_stanza_byte = 5\n", 2, 1,
                "unknown key 'max_stanza_byte' in [limits]; did you mean 'max_stanza_bytes'?");
  }
  SUBCASE("no suggestion when nothing is close") {
    check_error("[log]\ncolour = true\n", 2, 1, "unknown key 'colour' in [log]");
  }
  SUBCASE("a key from another table says where it belongs") {
    check_error("[server]\nport = 5222\n", 2, 1,
                "unknown key 'port' in [server]; it belongs in [c2s], [http] or [admin]");
  }
  SUBCASE("a misspelt table") {
    check_error("[srever]\nhosts = [\"a\"]\n", 1, 2,
                "unknown table [srever]; did you mean [server]?");
  }
  SUBCASE("an unknown table without a near name") {
    check_error("\n[gateways]\n", 2, 2, "unknown table [gateways]");
  }
  SUBCASE("a sub-table of a known table") {
    check_error("[c2s.extra]\n", 1, 6, "unknown table [c2s.extra]");
  }
  SUBCASE("a key before any table") {
    check_error("hosts = [\"example.com\"]\n", 1, 1,
                "unknown top-level key 'hosts'; it belongs in [server]");
    check_error("debug = true\n", 1, 1,
                "unknown top-level key 'debug'; settings go inside a table such as [server]");
  }
  SUBCASE("a known table name given a plain value") {
    check_error("log = \"debug\"\n", 1, 7, "'log' must be a table ([log]), got a string");
  }
  SUBCASE("an array of tables where a table belongs") {
    check_error("[[c2s]]\nport = 1\n", 1, 1, "'c2s' must be a table ([c2s]), got an array");
  }
}

TEST_CASE("values of the wrong type") {
  check_error("[c2s]\nport = \"5222\"\n", 2, 8, "[c2s] port: expected an integer, got a string");
  check_error("[c2s]\nport = 5222.0\n", 2, 8,
              "[c2s] port: expected an integer, got a floating-point number");
  check_error("[server]\nio_threads = true\n", 2, 14,
              "[server] io_threads: expected an integer, got a boolean");
  check_error("[server]\ndata_dir = 1979-05-27\n", 2, 12,
              "[server] data_dir: expected a string, got a date");
  check_error("[log]\nlevel = [\"info\"]\n", 2, 9, "[log] level: expected a string, got an array");
  check_error("[tls]\nkey = { path = \"k\" }\n", 2, 7, "[tls] key: expected a string, got a table");
  check_error("[server]\nhosts = \"example.com\"\n", 2, 9,
              "[server] hosts: expected an array of strings, got a string");
  check_error("[server]\nhosts = [\"a.example\", 42]\n", 2, 23,
              "[server] hosts[1]: expected a string, got an integer");
}

TEST_CASE("integers out of range name the range") {
  struct Case {
    const char* table;
    const char* key;
    long long below; // 0 with no lower bound to test
    long long above;
    const char* range;
  };
  const Case cases[] = {
      {"server", "io_threads", -1, 257, "0..256 (0 means one per core)"},
      {"c2s", "port", 0, 65536, "1..65535"},
      {"c2s", "direct_tls_port", -1, 65536, "0..65535 (0 turns it off)"},
      {"c2s", "sm_resume_timeout_seconds", -1, 86401, "0..86400 (0 turns resumption off)"},
      {"c2s", "max_connections_per_ip", 0, 1000001, "1..1000000"},
      {"c2s", "max_auth_failures_per_ip", 0, 1000001, "1..1000000"},
      {"http", "port", 0, 65536, "1..65535"},
      {"http", "max_body_bytes", 1023, 1073741825, "1024..1073741824 (1 KiB..1 GiB)"},
      {"limits", "max_stanza_bytes", 4095, 67108865, "4096..67108864 (4 KiB..64 MiB)"},
      {"limits", "max_stanza_bytes_unauthenticated", 1023, 262145,
       "1024..262144 (1 KiB..256 KiB; at most [limits] max_stanza_bytes)"},
      {"limits", "max_depth", 3, 1025, "4..1024"},
      {"limits", "max_attributes", 3, 1025, "4..1024"},
      {"limits", "unauthenticated_timeout_seconds", 0, 3601, "1..3600"},
      {"storage", "workers", 0, 257, "1..256"},
      {"storage", "offline_quota", -1, 10000001, "0..10000000"},
  };
  for (const Case& c : cases) {
    for (const long long value : {c.below, c.above}) {
      const std::string key = c.key;
      const std::string toml =
          std::string("[") + c.table + "]\n" + key + " = " + std::to_string(value) + "\n";
      check_error(toml, 2, static_cast<std::uint32_t>(key.size() + 4),
                  std::string("[") + c.table + "] " + key + ": " + std::to_string(value) +
                      " is out of range; expected " + c.range);
    }
  }
  check_error("[c2s]\nport = 9223372036854775807\n", 2, 8,
              "[c2s] port: 9223372036854775807 is out of range; expected 1..65535");
}

TEST_CASE("the unauthenticated stanza limit follows max_stanza_bytes") {
  CHECK(check_loads("[limits]\nmax_stanza_bytes = 8192\nmax_stanza_bytes_unauthenticated = 8192\n")
            .limits.max_stanza_bytes_unauthenticated == 8192);
  check_error("[limits]\nmax_stanza_bytes = 8192\nmax_stanza_bytes_unauthenticated = 8193\n", 3, 36,
              "[limits] max_stanza_bytes_unauthenticated: 8193 is out of range; expected "
              "1024..8192 (1 KiB..8 KiB; at most [limits] max_stanza_bytes)");
  // Order in the file does not matter.
  check_error("[limits]\nmax_stanza_bytes_unauthenticated = 20000\nmax_stanza_bytes = 16384\n", 2,
              36,
              "[limits] max_stanza_bytes_unauthenticated: 20000 is out of range; expected "
              "1024..16384 (1 KiB..16 KiB; at most [limits] max_stanza_bytes)");
  SUBCASE("with max_stanza_bytes itself invalid only that one is reported") {
    const LoadResult testling =
        load("[limits]\nmax_stanza_bytes = 1\nmax_stanza_bytes_unauthenticated = 300000\n");
    REQUIRE(testling.errors.size() == 1);
    CHECK(testling.errors[0].line == 2);
  }
}

TEST_CASE("enum values name the accepted values") {
  check_error("[log]\nlevel = \"verbose\"\n", 2, 9,
              "[log] level: 'verbose' is not accepted; expected one of: trace, debug, info, "
              "warn, error, critical, off");
  check_error("[log]\nlevel = \"INFO\"\n", 2, 9,
              "[log] level: 'INFO' is not accepted; expected one of: trace, debug, info, warn, "
              "error, critical, off");
  check_error("[log]\nformat = \"xml\"\n", 2, 10,
              "[log] format: 'xml' is not accepted; expected one of: text, json");
  check_error("[c2s]\ntls = \"yes\"\n", 2, 7,
              "[c2s] tls: 'yes' is not accepted; expected one of: required, optional, disabled");
  check_error("[storage]\nbackend = \"mysql\"\n", 2, 11,
              "[storage] backend: 'mysql' is not accepted; expected one of: sqlite, postgres");
}

TEST_CASE("hosts") {
  SUBCASE("at least one") {
    check_error("[server]\nhosts = []\n", 2, 9, "[server] hosts: at least one host is required");
  }
  SUBCASE("no empty name") {
    check_error("[server]\nhosts = [\"\"]\n", 2, 10, "[server] hosts[0]: host name is empty");
  }
  SUBCASE("no empty labels") {
    for (const char* host : {".example.com", "example.com.", "example..com", "."}) {
      check_error(std::string("[server]\nhosts = [\"") + host + "\"]\n", 2, 10,
                  std::string("[server] hosts[0]: '") + host +
                      "' has an empty label (leading, trailing or doubled '.')");
    }
  }
  SUBCASE("no spaces or control characters") {
    check_error("[server]\nhosts = [\"exa mple.com\"]\n", 2, 10,
                "[server] hosts[0]: 'exa mple.com' contains a space or control character");
    check_error("[server]\nhosts = [\"example.com\\t\"]\n", 2, 10,
                "[server] hosts[0]: 'example.com\\x09' contains a space or control character");
  }
  SUBCASE("no JID separators") {
    check_error("[server]\nhosts = [\"user@example.com\"]\n", 2, 10,
                "[server] hosts[0]: 'user@example.com' contains '@', which cannot appear in a "
                "domain");
    check_error("[server]\nhosts = [\"example.com/x\"]\n", 2, 10,
                "[server] hosts[0]: 'example.com/x' contains '/', which cannot appear in a "
                "domain");
  }
  SUBCASE("at most 1023 bytes") {
    std::string longest;
    while (longest.size() < 1023) {
      longest += longest.empty() ? "a" : ".a";
    }
    REQUIRE(longest.size() == 1023);
    CHECK(check_loads("[server]\nhosts = [\"" + longest + "\"]\n").hosts ==
          std::vector<std::string>{longest});
    const std::string too_long = longest + "b";
    check_error("[server]\nhosts = [\"" + too_long + "\"]\n", 2, 10,
                "[server] hosts[0]: '" + too_long + "' is longer than 1023 bytes");
  }
  SUBCASE("no duplicates, ignoring case") {
    check_error("[server]\nhosts = [\"a.example\", \"b.example\", \"A.Example\"]\n", 2, 36,
                "[server] hosts[2]: 'A.Example' is listed twice");
  }
  SUBCASE("every bad element is reported") {
    const LoadResult testling = load("[server]\nhosts = [\"\", \"a b\", 1]\n");
    REQUIRE(testling.errors.size() == 3);
    CHECK(testling.errors[0].column == 10);
    CHECK(testling.errors[1].column == 14);
    CHECK(testling.errors[2].column == 21);
  }
}

TEST_CASE("strings that must not be empty") {
  check_error("[server]\ndata_dir = \"\"\n", 2, 12, "[server] data_dir: must not be empty");
  check_error("[storage]\nsqlite_path = \"\"\n", 2, 15, "[storage] sqlite_path: must not be empty");
  check_error("[server]\ndata_dir = \"a\\u0000b\"\n", 2, 12,
              "[server] data_dir: must not contain a NUL character");
}

TEST_CASE("listen addresses are IP literals") {
  for (const char* address :
       {"0.0.0.0", "127.0.0.1", "255.255.255.255", "10.0.0.1", "::", "::1", "fe80::1",
        "2001:db8::8a2e:370:7334", "2001:0db8:0000:0000:0000:ff00:0042:8329",
        "1::", "1:2:3:4:5:6:7::", "::ffff:127.0.0.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:1.2.3.4",
        "ABCD::EF"}) {
    INFO(address);
    CHECK(check_loads(std::string("[c2s]\naddress = \"") + address + "\"\n").c2s.address ==
          address);
  }
  for (const char* address : {"localhost",     "example.com",
                              "1.2.3",         "1.2.3.4.5",
                              "256.0.0.1",     "01.2.3.4",
                              "1.2.3.",        "1..2.3",
                              "-1.2.3.4",      " 127.0.0.1",
                              ":::",           "1:::2",
                              "1::2::3",       "12345::",
                              "g::",           "1:2:3:4:5:6:7:8:9",
                              "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::",
                              "::1.2.3",       "1.2.3.4::",
                              "fe80::1%eth0",  "[::1]",
                              ":1::",          "1::2:"}) {
    check_error(std::string("[http]\naddress = \"") + address + "\"\n", 2, 11,
                "[http] address: '" + std::string(address) +
                    "' is not an IP address; expected an IPv4 or IPv6 literal such as 127.0.0.1, "
                    "::1, 0.0.0.0 (all IPv4) or :: (all)");
  }
  check_error("[c2s]\naddress = \"\"\n", 2, 11, "[c2s] address: must not be empty");
}

TEST_CASE("tls certificate and key come together") {
  CHECK(check_loads("[tls]\ncertificate = \"c.pem\"\nkey = \"k.pem\"\n").tls.key == "k.pem");
  CHECK(check_loads("[tls]\ncertificate = \"\"\nkey = \"\"\n").tls.key.empty());
  check_error("[tls]\ncertificate = \"c.pem\"\n", 2, 1,
              "[tls] certificate: set without [tls] key; set both, or neither to use a "
              "generated self-signed pair");
  check_error("[tls]\ncertificate = \"\"\nkey = \"k.pem\"\n", 3, 1,
              "[tls] key: set without [tls] certificate; set both, or neither to use a "
              "generated self-signed pair");
}

TEST_CASE("listening ports must not collide") {
  SUBCASE("c2s and http on the same address") {
    check_error("[c2s]\nport = 5280\n", 2, 1,
                "[c2s] port: 5280 is also used by [http] port on the same address; each "
                "listener needs its own port");
  }
  SUBCASE("the later key is blamed") {
    check_error("[http]\nport = 6000\n[c2s]\nport = 6000\n", 4, 1,
                "[c2s] port: 6000 is also used by [http] port on the same address; each "
                "listener needs its own port");
    check_error("[c2s]\nport = 6000\n[http]\nport = 6000\n", 4, 1,
                "[http] port: 6000 is also used by [c2s] port on the same address; each "
                "listener needs its own port");
  }
  SUBCASE("direct TLS differs from the plain c2s port") {
    check_error("[c2s]\ndirect_tls_port = 5222\n", 2, 1,
                "[c2s] direct_tls_port: 5222 is also used by [c2s] port on the same address; "
                "each listener needs its own port");
    check_error("[c2s]\nport = 5223\ndirect_tls_port = 5280\n", 3, 1,
                "[c2s] direct_tls_port: 5280 is also used by [http] port on the same address; "
                "each listener needs its own port");
  }
  SUBCASE("different addresses may share a port") {
    CHECK(check_loads("[c2s]\naddress = \"127.0.0.1\"\nport = 5280\n[http]\naddress = "
                      "\"127.0.0.2\"\n")
              .c2s.port == 5280);
    CHECK(check_loads("[c2s]\naddress = \"0.0.0.0\"\nport = 5280\n[http]\naddress = \"::1\"\n")
              .c2s.port == 5280);
  }
  SUBCASE("wildcards overlap") {
    check_error("[c2s]\naddress = \"0.0.0.0\"\nport = 5280\n", 3, 1,
                "[c2s] port: 5280 is also used by [http] port on an overlapping address; each "
                "listener needs its own port");
    check_error("[http]\naddress = \"::\"\nport = 5222\n", 3, 1,
                "[http] port: 5222 is also used by [c2s] port on an overlapping address; each "
                "listener needs its own port");
    check_error("[c2s]\naddress = \"::ffff:127.0.0.1\"\nport = 5280\n", 3, 1,
                "[c2s] port: 5280 is also used by [http] port on the same address; each "
                "listener needs its own port");
  }
  SUBCASE("all three on one port") {
    const LoadResult testling =
        load("[c2s]\nport = 7000\ndirect_tls_port = 7000\n[http]\nport = 7000\n");
    REQUIRE(testling.errors.size() == 3);
    CHECK(testling.errors[0].line == 3);
    CHECK(testling.errors[1].line == 5);
    CHECK(testling.errors[2].line == 5);
  }
  SUBCASE("an invalid port or address is not also reported as a conflict") {
    CHECK(load("[c2s]\naddress = \"bad\"\nport = 5280\n").errors.size() == 1);
    CHECK(load("[c2s]\nport = 5280\n[http]\nport = 70000\n").errors.size() == 1);
  }
}

TEST_CASE("every mistake in a file is reported, in order, with its position") {
  const LoadResult testling = load(R"([server]
hosts = ["example.com", "example .org"]
io_threads = 1000
[log]
level = "loud"
[c2s]
prot = 5222
port = "5222"
direct_tls_port = 5280
[htpp]
port = 5281
[limits]
max_depth = 2
[storage]
backend = "mysql"
)");
  CHECK_FALSE(testling.ok());
  CHECK_FALSE(testling.config.has_value());
  const std::vector<std::string> expected = {
      "test.toml:2:25: [server] hosts[1]: 'example .org' contains a space or control character",
      "test.toml:3:14: [server] io_threads: 1000 is out of range; expected 0..256 (0 means one "
      "per core)",
      "test.toml:5:9: [log] level: 'loud' is not accepted; expected one of: trace, debug, info, "
      "warn, error, critical, off",
      "test.toml:7:1: unknown key 'prot' in [c2s]; did you mean 'port'?",
      "test.toml:8:8: [c2s] port: expected an integer, got a string",
      "test.toml:9:1: [c2s] direct_tls_port: 5280 is also used by [http] port on the same "
      "address; each listener needs its own port",
      "test.toml:10:2: unknown table [htpp]; did you mean [http]?",
      "test.toml:13:13: [limits] max_depth: 2 is out of range; expected 4..1024",
      "test.toml:15:11: [storage] backend: 'mysql' is not accepted; expected one of: sqlite, postgres",
  };
  std::vector<std::string> actual;
  for (const ConfigError& error : testling.errors) {
    actual.push_back(error.to_string());
  }
  CHECK(actual == expected);
}

TEST_CASE("a syntax error is reported with its position") {
  SUBCASE("missing value") {
    const LoadResult testling = load("[c2s]\nport = 5222\naddress =\n");
    REQUIRE(testling.errors.size() == 1);
    CHECK(testling.errors[0].line == 3);
    CHECK(testling.errors[0].column == 10);
    CHECK_FALSE(testling.errors[0].message.empty());
    CHECK_FALSE(testling.config.has_value());
  }
  SUBCASE("duplicate key") {
    const LoadResult testling = load("[c2s]\nport = 1\nport = 2\n");
    REQUIRE(testling.errors.size() == 1);
    CHECK(testling.errors[0].line == 3);
    CHECK(testling.errors[0].column == 8); // toml++ points at the repeated value
  }
  SUBCASE("unterminated string") {
    const LoadResult testling = load("[log]\nlevel = \"info\n");
    REQUIRE(testling.errors.size() == 1);
    CHECK(testling.errors[0].line == 2);
  }
  SUBCASE("integer too large for TOML") {
    const LoadResult testling = load("[c2s]\nport = 99999999999999999999\n");
    REQUIRE(testling.errors.size() == 1);
    CHECK(testling.errors[0].line == 2);
  }
  SUBCASE("not text at all") {
    const std::string binary("\xff\xfe\x00\x01garbage", 11);
    LoadResult testling;
    CHECK_NOTHROW(testling = load(binary));
    REQUIRE(testling.errors.size() == 1);
    CHECK(testling.errors[0].line == 1);
  }
}

TEST_CASE("the example file loads and matches the embedded default") {
  const std::filesystem::path example =
      std::filesystem::path(PARLEY_SOURCE_DIR) / "config" / "parley.example.toml";
  const LoadResult testling = load_file(example);
  INFO(all_errors(testling));
  REQUIRE(testling.ok());
  check_same(*testling.config, embedded_default());
}

TEST_CASE("load_file") {
  SUBCASE("a readable file") {
    const TempFile file("[server]\nhosts = [\"example.com\"]\n");
    const LoadResult testling = load_file(file.path());
    REQUIRE(testling.ok());
    CHECK(testling.config->hosts == std::vector<std::string>{"example.com"});
  }
  SUBCASE("errors carry the file's path") {
    const TempFile file("[c2s]\nport = 0\n");
    const LoadResult testling = load_file(file.path());
    REQUIRE(testling.errors.size() == 1);
    CHECK(testling.errors[0].source == file.path().string());
    CHECK(testling.errors[0].to_string() ==
          file.path().string() + ":2:8: [c2s] port: 0 is out of range; expected 1..65535");
  }
  SUBCASE("a missing file") {
    const std::filesystem::path missing =
        std::filesystem::temp_directory_path() / "parley_config_test_does_not_exist.toml";
    const LoadResult testling = load_file(missing);
    CHECK_FALSE(testling.ok());
    REQUIRE(testling.errors.size() == 1);
    CHECK(testling.errors[0].line == 0);
    CHECK(testling.errors[0].column == 0);
    CHECK(testling.errors[0].to_string() ==
          missing.string() + ": cannot open file: No such file or directory");
  }
  SUBCASE("a directory") {
    const LoadResult testling = load_file(std::filesystem::temp_directory_path());
    REQUIRE(testling.errors.size() == 1);
    CHECK(testling.errors[0].line == 0);
    CHECK(testling.errors[0].message.find("cannot") == 0);
  }
}

TEST_CASE("ConfigError::to_string") {
  CHECK(ConfigError{"a.toml", 3, 7, "bad"}.to_string() == "a.toml:3:7: bad");
  CHECK(ConfigError{"a.toml", 0, 0, "unreadable"}.to_string() == "a.toml: unreadable");
}

TEST_CASE("control characters in values are escaped in messages") {
  check_error("[log]\nlevel = \"in\\u001bfo'\"\n", 2, 9,
              "[log] level: 'in\\x1bfo\\'' is not accepted; expected one of: trace, debug, info, "
              "warn, error, critical, off");
}

TEST_CASE("a boolean key refuses other types") {
  const auto testling = parley::config::load_string("[c2s]\nallow_registration = \"yes\"\n", "b.toml");
  REQUIRE(testling.errors.size() == 1);
  CHECK(testling.errors[0].line == 2);
  CHECK(testling.errors[0].column == 22);
  CHECK(testling.errors[0].message.find("boolean") != std::string::npos);
  const auto ok = parley::config::load_string("[c2s]\nallow_registration = true\n", "b.toml");
  REQUIRE(ok.ok());
  CHECK(ok.config->c2s.allow_registration);
}

TEST_CASE("the postgres backend needs a DSN") {
  const auto missing = parley::config::load_string("[storage]\nbackend = \"postgres\"\n", "p.toml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].line == 2);
  CHECK(missing.errors[0].message.find("postgres_dsn") != std::string::npos);
  const auto ok = parley::config::load_string(
      "[storage]\nbackend = \"postgres\"\npostgres_dsn = \"host=db dbname=parley\"\n"
      "postgres_password_env = \"DB_PASSWORD\"\npostgres_connections = 16\n",
      "p.toml");
  REQUIRE(ok.ok());
  CHECK(ok.config->storage.backend == parley::config::StorageBackend::postgres);
  CHECK(ok.config->storage.postgres_dsn == "host=db dbname=parley");
  CHECK(ok.config->storage.postgres_password_env == "DB_PASSWORD");
  CHECK(ok.config->storage.postgres_connections == 16);
}

TEST_CASE("[[gateway]] entries with their hooks") {
  const auto ok = parley::config::load_string(R"([server]
hosts = ["example.com"]
[[gateway]]
domain = "hooks.example.com"
kind = "webhook"
allow_private_addresses = true
max_attempts = 3
retry_base_ms = 100
[[gateway.hook]]
name = "ci"
url = "https://ci.example.com/parley"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
github_signature = true
[[gateway.hook]]
name = "alerts"
inbound_secret_env = "ALERTS_SECRET"
recipient = "ops@example.com"
template = "alertmanager"
)",
                                              "g.toml");
  REQUIRE_MESSAGE(ok.ok(), (ok.errors.empty() ? std::string() : ok.errors[0].to_string()));
  REQUIRE(ok.config->gateways.size() == 1);
  const auto& gateway = ok.config->gateways[0];
  CHECK(gateway.domain == "hooks.example.com");
  CHECK(gateway.kind == parley::config::GatewayKind::webhook);
  CHECK(gateway.allow_private_addresses);
  CHECK(gateway.max_attempts == 3);
  CHECK(gateway.retry_base_ms == 100);
  REQUIRE(gateway.hooks.size() == 2);
  CHECK(gateway.hooks[0].name == "ci");
  CHECK(gateway.hooks[0].url == "https://ci.example.com/parley");
  CHECK(gateway.hooks[0].github_signature);
  CHECK(gateway.hooks[0].template_name == "auto");
  CHECK(gateway.hooks[1].inbound_secret_env == "ALERTS_SECRET");
  CHECK(gateway.hooks[1].recipient == "ops@example.com");
  CHECK(gateway.hooks[1].template_name == "alertmanager");
}

TEST_CASE("[[gateway]] mistakes are reported with their position") {
  const auto missing = parley::config::load_string("[[gateway]]\nkind = \"webhook\"\n", "g.toml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].message.find("'domain' is required") != std::string::npos);

  const auto local = parley::config::load_string(
      "[server]\nhosts = [\"example.com\"]\n[[gateway]]\ndomain = \"example.com\"\nkind = \"webhook\"\n", "g.toml");
  REQUIRE(local.errors.size() == 1);
  CHECK(local.errors[0].line == 4);
  CHECK(local.errors[0].message.find("also in [server] hosts") != std::string::npos);

  const auto twice = parley::config::load_string(
      "[[gateway]]\ndomain = \"h.example\"\nkind = \"webhook\"\n[[gateway]]\ndomain = \"h.example\"\nkind = \"webhook\"\n",
      "g.toml");
  REQUIRE(twice.errors.size() == 1);
  CHECK(twice.errors[0].line == 5);

  const auto kind = parley::config::load_string("[[gateway]]\ndomain = \"h.example\"\nkind = \"fax\"\n", "g.toml");
  REQUIRE(kind.errors.size() == 1);
  CHECK(kind.errors[0].message.find("expected one of: webhook") != std::string::npos);

  const auto hook = parley::config::load_string(R"([[gateway]]
domain = "h.example"
kind = "webhook"
[[gateway.hook]]
name = "CI Bot"
url = "ftp://x"
colour = "red"
[[gateway.hook]]
url = "https://x"
)",
                                                "g.toml");
  REQUIRE(hook.errors.size() == 4);
  CHECK(hook.errors[0].line == 5); // name
  CHECK(hook.errors[1].line == 6); // url scheme
  CHECK(hook.errors[2].line == 7); // unknown key
  CHECK(hook.errors[3].message.find("'name' is required") != std::string::npos);

  const auto not_array = parley::config::load_string("[gateway]\ndomain = \"h.example\"\n", "g.toml");
  REQUIRE(not_array.errors.size() == 1);
  CHECK(not_array.errors[0].message.find("[[gateway]]") != std::string::npos);
}

TEST_CASE("[[gateway]] of kind sms with the twilio provider") {
  const auto ok = parley::config::load_string(R"([server]
hosts = ["example.com"]
[[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "twilio"
default_country = "gb"
public_url = "https://xmpp.example.com/"
allow_private_addresses = true
[gateway.twilio]
account_sid = "AC0123"
auth_token_env = "TWILIO_TOKEN"
base_url = "http://127.0.0.1:9999/"
)",
                                              "s.toml");
  REQUIRE_MESSAGE(ok.ok(), (ok.errors.empty() ? std::string() : ok.errors[0].to_string()));
  REQUIRE(ok.config->gateways.size() == 1);
  const auto& gateway = ok.config->gateways[0];
  CHECK(gateway.kind == parley::config::GatewayKind::sms);
  CHECK(gateway.sms.provider == parley::config::SmsProvider::twilio);
  CHECK(gateway.sms.default_country == "GB");
  CHECK(gateway.sms.public_url == "https://xmpp.example.com");
  CHECK(gateway.sms.twilio.account_sid == "AC0123");
  CHECK(gateway.sms.twilio.auth_token.empty());
  CHECK(gateway.sms.twilio.auth_token_env == "TWILIO_TOKEN");
  CHECK(gateway.sms.twilio.base_url == "http://127.0.0.1:9999");

  SUBCASE("the defaults") {
    const auto minimal = parley::config::load_string(R"([[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "twilio"
public_url = "https://xmpp.example.com"
[gateway.twilio]
account_sid = "AC0123"
auth_token = "secret"
)",
                                                     "s.toml");
    REQUIRE_MESSAGE(minimal.ok(), (minimal.errors.empty() ? std::string() : minimal.errors[0].to_string()));
    const auto& sms = minimal.config->gateways[0].sms;
    CHECK(sms.default_country.empty());
    CHECK(sms.twilio.base_url == "https://api.twilio.com");
    CHECK(sms.twilio.auth_token == "secret");
  }
}

TEST_CASE("[[gateway]] of kind sms: mistakes are reported") {
  const auto load = [](std::string_view text) { return parley::config::load_string(text, "s.toml"); };
  const auto has = [](const LoadResult& result, std::string_view needle) {
    return std::any_of(result.errors.begin(), result.errors.end(),
                       [&](const auto& e) { return e.message.find(needle) != std::string::npos; });
  };
  const auto no_provider = load("[[gateway]]\ndomain = \"s.example\"\nkind = \"sms\"\n");
  CHECK(has(no_provider, "'provider' is required"));

  const auto bare = load("[[gateway]]\ndomain = \"s.example\"\nkind = \"sms\"\nprovider = \"twilio\"\n");
  CHECK(has(bare, "'public_url' is required"));
  CHECK(has(bare, "[gateway.twilio] is required"));

  const auto bad = load(R"([[gateway]]
domain = "s.example"
kind = "sms"
provider = "twilio"
default_country = "USA"
public_url = "ftp://x"
[gateway.twilio]
auth_token = "a"
auth_token_env = "B"
base_url = "http://localhost:1"
colour = "red"
)");
  CHECK(has(bad, "'USA' is not an ISO 3166-1 alpha-2 country code"));
  CHECK(has(bad, "'ftp://x' is not an http:// or https:// URL"));
  CHECK(has(bad, "'account_sid' is required"));
  CHECK(has(bad, "set together with auth_token"));
  CHECK(has(bad, "is on loopback; set allow_private_addresses"));
  CHECK(has(bad, "unknown key 'colour' in [gateway.twilio]"));
  CHECK(bad.errors.size() == 6);

  const auto no_token = load(R"([[gateway]]
domain = "s.example"
kind = "sms"
provider = "twilio"
public_url = "https://x.example"
[gateway.twilio]
account_sid = "AC1"
)");
  REQUIRE(no_token.errors.size() == 1);
  CHECK(has(no_token, "'auth_token' or 'auth_token_env' is required"));

  const auto mixed = load(R"([[gateway]]
domain = "h.example"
kind = "webhook"
provider = "twilio"
[gateway.twilio]
account_sid = "AC1"
[[gateway]]
domain = "s.example"
kind = "sms"
provider = "fax"
[[gateway.hook]]
name = "x"
)");
  CHECK(has(mixed, "[gateway] provider: only gateways of kind = \"sms\" have it"));
  CHECK(has(mixed, "[gateway] twilio: only gateways of kind = \"sms\" have it"));
  CHECK(has(mixed, "expected one of: twilio"));
  CHECK(has(mixed, "[[gateway.hook]] belongs to gateways of kind = \"webhook\""));
}

TEST_CASE("[[gateway]] of kind sms: numbers, rates, failover and keywords") {
  const auto load = [](std::string_view text) { return parley::config::load_string(text, "s.toml"); };
  const auto has = [](const LoadResult& result, std::string_view needle) {
    return std::any_of(result.errors.begin(), result.errors.end(),
                       [&](const auto& e) { return e.message.find(needle) != std::string::npos; });
  };
  const auto ok = load(R"([[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "twilio"
public_url = "https://xmpp.example.com"
self_registration = false
numbers = ["+15550100001", "+447700900123"]
rate_per_second = 2.5
number_rate_per_second = 1
failover = "kannel"
[gateway.keywords]
stop = ["stop", "Arret"]
help_reply = ""
[[gateway.number]]
number = "+15550100001"
enabled = false
[[gateway.number]]
number = "+447700900123"
start_reply = "Welcome back"
[gateway.twilio]
account_sid = "AC0123"
auth_token = "secret"
[gateway.kannel]
sendsms_url = "https://kannel.example.com/cgi-bin/sendsms"
username = "u"
password = "p"
inbound_secret = "s"
)");
  REQUIRE_MESSAGE(ok.ok(), (ok.errors.empty() ? std::string() : ok.errors[0].to_string()));
  const auto& sms = ok.config->gateways[0].sms;
  CHECK_FALSE(sms.self_registration);
  CHECK(sms.numbers == std::vector<std::string>{"+15550100001", "+447700900123"});
  CHECK(sms.rate_per_second == doctest::Approx(2.5));
  CHECK(sms.number_rate_per_second == doctest::Approx(1.0));
  REQUIRE(sms.failover.has_value());
  CHECK(*sms.failover == parley::config::SmsProvider::kannel);
  CHECK(sms.kannel.username == "u");
  CHECK(sms.keywords.stop == std::vector<std::string>{"STOP", "ARRET"});
  CHECK(sms.keywords.help_reply.empty());
  CHECK(sms.keywords.start == std::vector<std::string>{"START", "UNSTOP", "YES"});
  REQUIRE(sms.number_settings.size() == 2);
  CHECK_FALSE(sms.number_settings[0].keywords.enabled);
  CHECK(sms.number_settings[0].keywords.stop == sms.keywords.stop); // inherited
  CHECK(sms.number_settings[1].keywords.start_reply == "Welcome back");
  CHECK(sms.number_settings[1].keywords.help_reply.empty());

  SUBCASE("the defaults") {
    const auto minimal = load(R"([[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "twilio"
public_url = "https://xmpp.example.com"
[gateway.twilio]
account_sid = "AC0123"
auth_token = "secret"
)");
    REQUIRE(minimal.ok());
    const auto& d = minimal.config->gateways[0].sms;
    CHECK(d.self_registration);
    CHECK(d.numbers.empty());
    CHECK(d.rate_per_second == 0);
    CHECK_FALSE(d.failover.has_value());
    CHECK(d.keywords.enabled);
    CHECK(d.keywords.help == std::vector<std::string>{"HELP", "INFO"});
  }

  SUBCASE("mistakes") {
    const auto bad = load(R"([[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "twilio"
public_url = "https://xmpp.example.com"
numbers = ["5550100001", "+15550100002", "+15550100002"]
rate_per_second = -1
failover = "twilio"
[gateway.keywords]
stop = ["two words"]
[[gateway.number]]
number = "+1555"
[[gateway.number]]
help_reply = "no number"
[gateway.twilio]
account_sid = "AC0123"
auth_token = "secret"
)");
    CHECK(has(bad, "'5550100001' is not an E.164 number"));
    CHECK(has(bad, "'+15550100002' is listed twice"));
    CHECK(has(bad, "out of range; expected 0..1000000"));
    CHECK(has(bad, "the failover provider must differ"));
    CHECK(has(bad, "expected one word"));
    CHECK(has(bad, "[[gateway.number]]: 'number' is required"));

    const auto no_table = load(R"([[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "twilio"
public_url = "https://xmpp.example.com"
failover = "smpp"
[gateway.twilio]
account_sid = "AC0123"
auth_token = "secret"
)");
    CHECK(has(no_table, "[gateway.smpp] is required for failover = \"smpp\""));
  }
}

TEST_CASE("[[gateway]] of kind sms with the kannel provider") {
  const auto ok = parley::config::load_string(R"([[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "kannel"
public_url = "http://10.0.0.5:5280"
allow_private_addresses = true
[gateway.kannel]
sendsms_url = "http://127.0.0.1:13013/cgi-bin/sendsms"
username = "parley"
password_env = "KANNEL_PASSWORD"
inbound_secret = "s3cret-Value_1.2~"
smsc = "fake"
)",
                                              "k.toml");
  REQUIRE_MESSAGE(ok.ok(), (ok.errors.empty() ? std::string() : ok.errors[0].to_string()));
  const auto& sms = ok.config->gateways[0].sms;
  CHECK(sms.provider == parley::config::SmsProvider::kannel);
  CHECK(sms.kannel.sendsms_url == "http://127.0.0.1:13013/cgi-bin/sendsms");
  CHECK(sms.kannel.username == "parley");
  CHECK(sms.kannel.password_env == "KANNEL_PASSWORD");
  CHECK(sms.kannel.inbound_secret == "s3cret-Value_1.2~");
  CHECK(sms.kannel.smsc == "fake");

  const auto has = [](const LoadResult& result, std::string_view needle) {
    return std::any_of(result.errors.begin(), result.errors.end(),
                       [&](const auto& e) { return e.message.find(needle) != std::string::npos; });
  };
  const auto bad = parley::config::load_string(R"([[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "kannel"
[gateway.kannel]
sendsms_url = "http://127.0.0.1:13013/cgi-bin/sendsms"
password = "p"
inbound_secret = "has space"
[gateway.twilio]
account_sid = "AC1"
)",
                                               "k.toml");
  CHECK(has(bad, "'public_url' is required"));
  CHECK(has(bad, "is on loopback; set allow_private_addresses"));
  CHECK(has(bad, "'username' is required"));
  CHECK(has(bad, "use letters, digits"));
  CHECK(has(bad, "[gateway.twilio] belongs to provider = \"twilio\""));
  CHECK(bad.errors.size() == 5);
}

TEST_CASE("[auth]") {
  SUBCASE("defaults: the internal directory") {
    const Config& testling = embedded_default();
    CHECK(testling.auth.backend == AuthBackend::internal);
    CHECK(testling.auth.url.empty());
    CHECK(testling.auth.timeout_seconds == 5);
    CHECK(testling.auth.cache_seconds == 60);
    CHECK_FALSE(testling.auth.allow_private_addresses);
    CHECK(testling.auth.auth_token_env.empty());
  }
  SUBCASE("every key") {
    const Config testling = check_loads(R"([auth]
backend = "http"
url = "http://127.0.0.1:8080/xmpp/"
timeout_seconds = 2
cache_seconds = 0
allow_private_addresses = true
auth_token_env = "PARLEY_AUTH_TOKEN"
)");
    CHECK(testling.auth.backend == AuthBackend::http);
    CHECK(testling.auth.url == "http://127.0.0.1:8080/xmpp/");
    CHECK(testling.auth.timeout_seconds == 2);
    CHECK(testling.auth.cache_seconds == 0);
    CHECK(testling.auth.allow_private_addresses);
    CHECK(testling.auth.auth_token_env == "PARLEY_AUTH_TOKEN");
  }
  SUBCASE("http needs a url") {
    check_error("[auth]\nbackend = \"http\"\n", 2, 11,
                "[auth] url: is required with backend = \"http\" (for example "
                "\"https://auth.example.com/xmpp\")");
    check_error("[auth]\nbackend = \"http\"\nurl = \"\"\n", 3, 7,
                "[auth] url: is required with backend = \"http\" (for example "
                "\"https://auth.example.com/xmpp\")");
  }
  SUBCASE("the url is an http(s) base URL") {
    check_error("[auth]\nurl = \"ftp://auth.example.com\"\n", 2, 7,
                "[auth] url: 'ftp://auth.example.com' is not an http:// or https:// URL");
    check_error("[auth]\nurl = \"https://auth.example.com/x?key=1\"\n", 2, 7,
                "[auth] url: 'https://auth.example.com/x?key=1' has a query or fragment; give the base "
                "URL that /check_password and /user_exists are appended to");
  }
  SUBCASE("a loopback service needs allow_private_addresses") {
    for (const char* url : {"http://localhost:8080/auth", "http://127.0.0.1/auth", "http://[::1]:80",
                            "https://user@127.1.2.3:9/x"}) {
      INFO(url);
      const LoadResult testling =
          load("[auth]\nbackend = \"http\"\nurl = \"" + std::string(url) + "\"\n");
      REQUIRE(testling.errors.size() == 1);
      CHECK(testling.errors[0].message.find("is on loopback; set allow_private_addresses = true") !=
            std::string::npos);
    }
    check_loads("[auth]\nbackend = \"http\"\nurl = \"https://auth.example.com/xmpp\"\n");
    check_loads("[auth]\nbackend = \"http\"\nurl = \"http://10.0.0.7/xmpp\"\n");
  }
  SUBCASE("ranges and names") {
    check_error("[auth]\ntimeout_seconds = 0\n", 2, 19,
                "[auth] timeout_seconds: 0 is out of range; expected 1..60");
    check_error("[auth]\ncache_seconds = 3601\n", 2, 17,
                "[auth] cache_seconds: 3601 is out of range; expected 0..3600 (0 caches nothing)");
    check_error("[auth]\nbackend = \"ldap\"\n", 2, 11,
                "[auth] backend: 'ldap' is not accepted; expected one of: internal, http");
  }
  SUBCASE("no in-band registration with an external directory") {
    check_error("[c2s]\nallow_registration = true\n[auth]\nbackend = \"http\"\n"
                "url = \"https://auth.example.com\"\n",
                4, 11,
                "[auth] backend: \"http\" cannot be combined with [c2s] allow_registration = true; "
                "accounts are created in the authentication service");
  }
}

TEST_CASE("[muc]") {
  SUBCASE("defaults: a service at conference.HOST for each host") {
    const Config& testling = embedded_default();
    CHECK(testling.muc.enabled);
    CHECK(testling.muc.domain.empty());
    CHECK(testling.muc.name == "Chatrooms");
    CHECK(testling.muc.max_occupants == 200);
    CHECK(testling.muc.max_history == 100);
    CHECK(testling.muc.max_rooms == 10000);
  }
  SUBCASE("every key") {
    const Config testling = check_loads(R"([muc]
enabled = false
domain = "rooms.example.com"
name = "Rooms"
max_occupants = 50
max_history = 0
max_rooms = 3
)");
    CHECK_FALSE(testling.muc.enabled);
    CHECK(testling.muc.domain == "rooms.example.com");
    CHECK(testling.muc.name == "Rooms");
    CHECK(testling.muc.max_occupants == 50);
    CHECK(testling.muc.max_history == 0);
    CHECK(testling.muc.max_rooms == 3);
  }
  SUBCASE("the service needs a domain of its own") {
    check_error("[server]\nhosts = [\"example.com\"]\n[muc]\ndomain = \"example.com\"\n", 4, 10,
                "[muc] domain: 'example.com' is also in [server] hosts; the chat service needs a domain of its own");
    const LoadResult gateway = load("[server]\nhosts = [\"example.com\"]\n[[gateway]]\n"
                                    "domain = \"conference.example.com\"\nkind = \"webhook\"\n");
    REQUIRE(gateway.errors.size() == 1);
    CHECK(gateway.errors[0].message.find("is also a [[gateway]] domain") != std::string::npos);
    // Turned off, the default domain does not matter.
    check_loads("[server]\nhosts = [\"example.com\"]\n[[gateway]]\ndomain = \"conference.example.com\"\n"
                "kind = \"webhook\"\n[muc]\nenabled = false\n");
  }
  SUBCASE("bad values") {
    check_error("[muc]\ndomain = \"a b\"\n", 2, 10, "[muc] domain: 'a b' contains a space or control character");
    check_error("[muc]\nmax_occupants = 0\n", 2, 17,
                "[muc] max_occupants: 0 is out of range; expected 1..1000000");
    check_error("[muc]\nname = \"\"\n", 2, 8, "[muc] name: must not be empty");
  }
}

TEST_CASE("[upload]") {
  SUBCASE("defaults: a service at upload.FIRST-HOST, 100 MiB, any type, 30 days") {
    const Config& testling = embedded_default();
    CHECK(testling.upload.enabled);
    CHECK(testling.upload.domain.empty());
    CHECK(testling.upload.max_file_size == 100ULL * 1024 * 1024);
    CHECK(testling.upload.allowed_types.empty());
    CHECK(testling.upload.expire_after_days == 30);
    CHECK(testling.upload.public_url.empty());
  }
  SUBCASE("every key") {
    const Config testling = check_loads(R"([upload]
enabled = false
domain = "files.example.com"
max_file_size = 5242880
allowed_types = ["Image/*", "application/pdf"]
expire_after_days = 0
public_url = "https://xmpp.example.com/"
)");
    CHECK_FALSE(testling.upload.enabled);
    CHECK(testling.upload.domain == "files.example.com");
    CHECK(testling.upload.max_file_size == 5242880);
    CHECK(testling.upload.allowed_types == std::vector<std::string>{"image/*", "application/pdf"});
    CHECK(testling.upload.expire_after_days == 0);
    CHECK(testling.upload.public_url == "https://xmpp.example.com");
  }
  SUBCASE("the service needs a domain of its own") {
    check_error("[server]\nhosts = [\"example.com\"]\n[upload]\ndomain = \"example.com\"\n", 4, 10,
                "[upload] domain: 'example.com' is also in [server] hosts; the upload service needs a domain of its own");
    check_error("[server]\nhosts = [\"example.com\"]\n[upload]\ndomain = \"conference.example.com\"\n", 4, 10,
                "[upload] domain: 'conference.example.com' is also the [muc] domain; set [upload] domain to another one");
    check_error("[[gateway]]\ndomain = \"up.example.com\"\nkind = \"webhook\"\n[upload]\ndomain = \"up.example.com\"\n", 5,
                10, "[upload] domain: 'up.example.com' is also a [[gateway]] domain; set [upload] domain to another one");
  }
  SUBCASE("bad values") {
    check_error("[upload]\nallowed_types = [\"image\"]\n", 2, 18,
                "[upload] allowed_types[0]: 'image' is not a MIME type; expected \"type/subtype\" or \"type/*\", such as "
                "\"image/*\"");
    check_error("[upload]\nallowed_types = [\"*/*\"]\n", 2, 18,
                "[upload] allowed_types[0]: '*/*' is not a MIME type; expected \"type/subtype\" or \"type/*\", such as "
                "\"image/*\"");
    check_error("[upload]\nallowed_types = [\"image/png\", \"IMAGE/PNG\"]\n", 2, 31,
                "[upload] allowed_types[1]: 'IMAGE/PNG' is listed twice");
    check_error("[upload]\nallowed_types = \"image/*\"\n", 2, 17,
                "[upload] allowed_types: expected an array of strings, got a string");
    check_error("[upload]\nmax_file_size = 0\n", 2, 17,
                "[upload] max_file_size: 0 is out of range; expected 1..68719476736 (1 bytes..64 GiB)");
    check_error("[upload]\npublic_url = \"ftp://x\"\n", 2, 14, "[upload] public_url: 'ftp://x' is not an http:// or https:// URL");
    check_error("[upload]\nexpire_after_day = 3\n", 2, 1, "unknown key 'expire_after_day' in [upload]; did you mean 'expire_after_days'?");
  }
}

TEST_CASE("[[gateway]] of kind sms with the smpp provider") {
  const auto ok = parley::config::load_string(R"([[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "smpp"
default_country = "US"
[gateway.smpp]
host = "smsc.example.net"
port = 2776
system_id = "parley"
password_env = "SMPP_PASSWORD"
system_type = "XMPP"
window = 20
enquire_link_seconds = 15
response_timeout_seconds = 5
reconnect_min_ms = 200
reconnect_max_ms = 5000
throttle_backoff_ms = 300
throttle_max_ms = 2000
source_ton = 5
source_npi = 0
destination_ton = 1
destination_npi = 1
delivery_receipts = false
reassembly_timeout_seconds = 30
)",
                                              "s.toml");
  REQUIRE_MESSAGE(ok.ok(), (ok.errors.empty() ? std::string() : ok.errors[0].to_string()));
  const auto& sms = ok.config->gateways[0].sms;
  CHECK(sms.provider == parley::config::SmsProvider::smpp);
  CHECK(sms.public_url.empty()); // an SMSC needs no callbacks
  CHECK(sms.smpp.host == "smsc.example.net");
  CHECK(sms.smpp.port == 2776);
  CHECK(sms.smpp.system_id == "parley");
  CHECK(sms.smpp.password.empty());
  CHECK(sms.smpp.password_env == "SMPP_PASSWORD");
  CHECK(sms.smpp.system_type == "XMPP");
  CHECK(sms.smpp.window == 20);
  CHECK(sms.smpp.enquire_link_seconds == 15);
  CHECK(sms.smpp.response_timeout_seconds == 5);
  CHECK(sms.smpp.reconnect_min_ms == 200);
  CHECK(sms.smpp.reconnect_max_ms == 5000);
  CHECK(sms.smpp.throttle_backoff_ms == 300);
  CHECK(sms.smpp.throttle_max_ms == 2000);
  CHECK(sms.smpp.source_ton == 5);
  CHECK(sms.smpp.source_npi == 0);
  CHECK_FALSE(sms.smpp.delivery_receipts);
  CHECK(sms.smpp.reassembly_timeout_seconds == 30);

  SUBCASE("the defaults") {
    const auto minimal = parley::config::load_string(R"([[gateway]]
domain = "sms.example.com"
kind = "sms"
provider = "smpp"
[gateway.smpp]
host = "127.0.0.1"
system_id = "parley"
)",
                                                     "s.toml");
    REQUIRE_MESSAGE(minimal.ok(), (minimal.errors.empty() ? std::string() : minimal.errors[0].to_string()));
    const auto& smpp = minimal.config->gateways[0].sms.smpp;
    CHECK(smpp.port == 2775);
    CHECK(smpp.password.empty());
    CHECK(smpp.window == 10);
    CHECK(smpp.enquire_link_seconds == 30);
    CHECK(smpp.reconnect_min_ms == 1000);
    CHECK(smpp.reconnect_max_ms == 60000);
    CHECK(smpp.source_ton == 1);
    CHECK(smpp.source_npi == 1);
    CHECK(smpp.delivery_receipts);
  }
}

TEST_CASE("[[gateway]] of provider smpp: mistakes are reported") {
  const auto load = [](std::string_view text) { return parley::config::load_string(text, "s.toml"); };
  const auto has = [](const LoadResult& result, std::string_view needle) {
    return std::any_of(result.errors.begin(), result.errors.end(),
                       [&](const auto& e) { return e.message.find(needle) != std::string::npos; });
  };
  const auto bare = load("[[gateway]]\ndomain = \"s.example\"\nkind = \"sms\"\nprovider = \"smpp\"\n");
  CHECK(has(bare, "[gateway.smpp] is required"));
  CHECK_FALSE(has(bare, "public_url"));

  const auto bad = load(R"([[gateway]]
domain = "s.example"
kind = "sms"
provider = "smpp"
[gateway.smpp]
system_id = "a-system-id-that-is-too-long"
password = "longer-than-8"
password_env = "X"
window = 0
reconnect_min_ms = 5000
reconnect_max_ms = 100
source_ton = 9
colour = "blue"
)");
  CHECK(has(bad, "'host' is required"));
  CHECK(has(bad, "system_id: is 28 characters; SMPP 3.4 allows at most 15"));
  CHECK(has(bad, "password: is 13 characters"));
  CHECK(has(bad, "password_env: set together with password"));
  CHECK(has(bad, "window: 0 is out of range"));
  CHECK(has(bad, "reconnect_max_ms: is below reconnect_min_ms"));
  CHECK(has(bad, "source_ton: 9 is out of range"));
  CHECK(has(bad, "colour"));

  const auto wrong_table = load(R"([[gateway]]
domain = "s.example"
kind = "sms"
provider = "twilio"
public_url = "https://x.example"
[gateway.twilio]
account_sid = "AC1"
auth_token = "t"
[gateway.smpp]
host = "h"
)");
  CHECK(has(wrong_table, "[gateway.smpp] belongs to provider = \"smpp\""));
}

TEST_CASE("[[gateway]] of kind email") {
  const auto load = [](std::string_view text) { return parley::config::load_string(text, "e.toml"); };
  const auto has = [](const LoadResult& result, std::string_view needle) {
    return std::any_of(result.errors.begin(), result.errors.end(),
                       [&](const auto& e) { return e.message.find(needle) != std::string::npos; });
  };
  const auto testling = load(R"([server]
hosts = ["example.com"]
[[gateway]]
domain = "mail.example.com"
kind = "email"
address_domain = "Example.ORG"
recipients = "address"
lmtp_port = 2525
smtp_port = 2526
max_message_bytes = 1048576
default_subject = "Hi"
[gateway.smtp]
url = "smtp://127.0.0.1:587"
tls = "opportunistic"
username = "parley"
password_env = "SMTP_PASSWORD"
verify_peer = false
connections = 2
[[gateway.user]]
jid = "alice@example.com"
address = "alice@example.org"
name = "Alice Liddell"
)");
  REQUIRE_MESSAGE(testling.ok(), (testling.errors.empty() ? std::string() : testling.errors[0].to_string()));
  const auto& email = testling.config->gateways.at(0).email;
  CHECK(testling.config->gateways[0].kind == parley::config::GatewayKind::email);
  CHECK(email.address_domain == "example.org");
  CHECK(email.recipients == parley::config::EmailRecipients::address);
  CHECK(email.lmtp_port == 2525);
  CHECK(email.smtp_port == 2526);
  CHECK(email.max_message_bytes == 1048576);
  CHECK(email.default_subject == "Hi");
  CHECK(email.smtp.url == "smtp://127.0.0.1:587");
  CHECK(email.smtp.tls == parley::config::SmtpTls::opportunistic);
  CHECK(email.smtp.password_env == "SMTP_PASSWORD");
  CHECK_FALSE(email.smtp.verify_peer);
  CHECK(email.smtp.connections == 2);
  REQUIRE(email.users.size() == 1);
  CHECK(email.users[0].name == "Alice Liddell");

  const auto bad = load(R"([server]
hosts = ["example.com"]
[[gateway]]
domain = "mail.example.com"
kind = "email"
lmtp_port = 2525
smtp_port = 2525
[gateway.smtp]
url = "http://x"
password = "p"
[[gateway.user]]
jid = "bob@elsewhere.net"
address = "not an address"
[[gateway.hook]]
name = "x"
)");
  CHECK(has(bad, "'address_domain' is required"));
  CHECK(has(bad, "lmtp_port and smtp_port must differ"));
  CHECK(has(bad, "is not an smtp:// or smtps:// URL"));
  CHECK(has(bad, "is set without a username"));
  CHECK(has(bad, "is not the bare JID of a user of [server] hosts"));
  CHECK(has(bad, "is not a mail address such as"));
  CHECK(has(bad, "[[gateway.hook]] belongs to gateways of kind = \"webhook\""));

  const auto wrong_kind = load(R"([[gateway]]
domain = "sms.example.com"
kind = "webhook"
address_domain = "example.org"
)");
  CHECK(has(wrong_kind, "only gateways of kind = \"email\" have it"));
}
