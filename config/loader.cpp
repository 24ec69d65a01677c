#include "config/loader.hpp"

// Debian's toml++ is a compiled library (pkg-config adds TOML_HEADER_ONLY=0 and
// TOML_SHARED_LIB=1) built with exceptions, so its symbols live in toml::v3::ex. The headers
// must agree, or the parse functions we call would not exist in the library.
#include <toml++/toml.h>
static_assert(TOML_EXCEPTIONS, "libtomlplusplus is built with exceptions; keep them on here");

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

namespace parley::config {

std::string ConfigError::to_string() const {
  if (line == 0) {
    return source + ": " + message;
  }
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace {

constexpr std::int64_t kib = 1024;
constexpr std::int64_t mib = 1024 * kib;
constexpr std::int64_t gib = 1024 * mib;

// A configuration file larger than this is a mistake (say, --config /dev/zero).
constexpr std::size_t max_file_bytes = 16 * 1024 * 1024;

struct Position {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  friend auto operator<=>(const Position&, const Position&) = default;
};

Position position_of(const toml::source_region& region) {
  return {static_cast<std::uint32_t>(region.begin.line),
          static_cast<std::uint32_t>(region.begin.column)};
}

std::string_view describe(toml::node_type type) {
  switch (type) {
  case toml::node_type::none:
    return "nothing";
  case toml::node_type::table:
    return "a table";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a floating-point number";
  case toml::node_type::boolean:
    return "a boolean";
  case toml::node_type::date:
    return "a date";
  case toml::node_type::time:
    return "a time";
  case toml::node_type::date_time:
    return "a date-time";
  }
  return "a value of unknown type";
}

// Quotes a value for an error message; control characters are escaped so that a stray byte
// in the file cannot garble the terminal the message is printed on.
std::string quote(std::string_view text) {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string out = "'";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

// Optimal string alignment distance, ignoring ASCII case: a swap of two neighbouring
// letters ("prot" for "port") counts as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && ascii_lower(a[i - 1]) == ascii_lower(b[j - 2]) &&
          ascii_lower(a[i - 2]) == ascii_lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The known name closest to `typo`, if it is close enough to be what was meant.
std::optional<std::string_view> nearest(std::string_view typo,
                                        std::span<const std::string_view> known) {
  if (typo.size() > 64) {
    return std::nullopt;
  }
  std::optional<std::string_view> best;
  std::size_t best_distance = 0;
  for (const std::string_view candidate : known) {
    const std::size_t distance = edit_distance(typo, candidate);
    const std::size_t allowed = candidate.size() <= 3 ? 1 : 2;
    if (distance <= allowed && (!best || distance < best_distance)) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string format_bytes(std::int64_t n) {
  if (n != 0 && n % gib == 0) {
    return std::to_string(n / gib) + " GiB";
  }
  if (n != 0 && n % mib == 0) {
    return std::to_string(n / mib) + " MiB";
  }
  if (n != 0 && n % kib == 0) {
    return std::to_string(n / kib) + " KiB";
  }
  return std::to_string(n) + " bytes";
}

// ---------------------------------------------------------------------------------------
// Values with their own syntax

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{}; // IPv4 uses the first four

  bool is_unspecified() const {
    const std::size_t n = v6 ? 16 : 4;
    return std::all_of(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n),
                       [](std::uint8_t b) { return b == 0; });
  }
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Dotted quad, four decimal octets without leading zeros (inet_pton's rule; "010" could be
// read as octal elsewhere).
std::optional<std::array<std::uint8_t, 4>> parse_ipv4(std::string_view text) {
  std::array<std::uint8_t, 4> out{};
  std::size_t start = 0;
  for (std::size_t part = 0; part < 4; ++part) {
    const std::size_t dot = text.find('.', start);
    if ((part < 3) != (dot != std::string_view::npos)) {
      return std::nullopt;
    }
    const std::string_view octet =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) {
      return std::nullopt;
    }
    unsigned value = 0;
    for (const char c : octet) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 255) {
      return std::nullopt;
    }
    out[part] = static_cast<std::uint8_t>(value);
    start = dot + 1;
  }
  return out;
}

// RFC 4291 §2.2 text forms: eight groups, one "::" for a run of zero groups, and an
// optional dotted-quad tail. Zone identifiers ("%eth0") are not accepted.
std::optional<std::array<std::uint8_t, 16>> parse_ipv6(std::string_view text) {
  const auto parse_groups = [](std::string_view part, bool may_end_in_ipv4,
                               std::vector<std::uint8_t>& out) {
    if (part.empty()) {
      return true;
    }
    std::size_t start = 0;
    for (;;) {
      const std::size_t colon = part.find(':', start);
      const std::string_view group = part.substr(
          start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
      if (colon == std::string_view::npos && may_end_in_ipv4 &&
          group.find('.') != std::string_view::npos) {
        const auto v4 = parse_ipv4(group);
        if (!v4) {
          return false;
        }
        out.insert(out.end(), v4->begin(), v4->end());
        return true;
      }
      if (group.empty() || group.size() > 4) {
        return false;
      }
      unsigned value = 0;
      for (const char c : group) {
        unsigned digit = 0;
        if (c >= '0' && c <= '9') {
          digit = static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
          digit = static_cast<unsigned>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
          digit = static_cast<unsigned>(c - 'A' + 10);
        } else {
          return false;
        }
        value = value * 16 + digit;
      }
      out.push_back(static_cast<std::uint8_t>(value >> 8));
      out.push_back(static_cast<std::uint8_t>(value & 0xff));
      if (colon == std::string_view::npos) {
        return true;
      }
      start = colon + 1;
    }
  };

  std::vector<std::uint8_t> head;
  std::vector<std::uint8_t> tail;
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    if (!parse_groups(text, true, head) || head.size() != 16) {
      return std::nullopt;
    }
  } else {
    const std::string_view after = text.substr(gap + 2);
    if (after.find("::") != std::string_view::npos ||
        !parse_groups(text.substr(0, gap), false, head) || !parse_groups(after, true, tail) ||
        head.size() + tail.size() > 14) {
      return std::nullopt;
    }
  }
  std::array<std::uint8_t, 16> out{};
  std::copy(head.begin(), head.end(), out.begin());
  std::copy(tail.begin(), tail.end(), out.end() - static_cast<std::ptrdiff_t>(tail.size()));
  return out;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  IpAddress address;
  if (const auto v4 = parse_ipv4(text)) {
    std::copy(v4->begin(), v4->end(), address.bytes.begin());
    return address;
  }
  const auto v6 = parse_ipv6(text);
  if (!v6) {
    return std::nullopt;
  }
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d as far as binding goes.
  static constexpr std::array<std::uint8_t, 12> v4_mapped = {0, 0, 0, 0, 0,    0,
                                                             0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(v4_mapped.begin(), v4_mapped.end(), v6->begin())) {
    std::copy(v6->begin() + 12, v6->end(), address.bytes.begin());
    return address;
  }
  address.v6 = true;
  address.bytes = *v6;
  return address;
}

// Whether two listeners on these addresses compete for the same ports: the same address,
// the IPv4 wildcard against any IPv4 address, or "::", which on Linux is dual-stack by
// default and so covers every address.
bool overlap(const IpAddress& a, const IpAddress& b) {
  if (a == b) {
    return true;
  }
  if ((a.v6 && a.is_unspecified()) || (b.v6 && b.is_unspecified())) {
    return true;
  }
  return a.v6 == b.v6 && (a.is_unspecified() || b.is_unspecified());
}

// A plausible domain name (RFC 7622 §3.2 domainpart before PRECIS): at most 1023 bytes,
// dot-separated non-empty labels, no whitespace or control characters, and neither of the
// JID separators '@' and '/'. Returns what is wrong, if anything.
std::optional<std::string> host_problem(std::string_view host) {
  if (host.empty()) {
    return "is empty";
  }
  if (host.size() > 1023) {
    return "is longer than 1023 bytes";
  }
  for (const char c : host) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) {
      return "contains a space or control character";
    }
    if (c == '@' || c == '/') {
      return std::string("contains '") + c + "', which cannot appear in a domain";
    }
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = host.find('.', start);
    if (dot == start || start == host.size()) {
      return "has an empty label (leading, trailing or doubled '.')";
    }
    if (dot == std::string_view::npos) {
      return std::nullopt;
    }
    start = dot + 1;
  }
}

// Whether an http(s) URL names this machine: "localhost", 127.0.0.0/8 or [::1].
bool url_names_loopback(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return false;
  }
  std::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  if (host.starts_with('[')) {
    host = host.substr(1, host.find(']') == std::string_view::npos ? std::string_view::npos : host.find(']') - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (iequals(host, "localhost") || host.ends_with(".localhost")) {
    return true;
  }
  const auto ip = parse_ip(host);
  if (!ip) {
    return false;
  }
  if (!ip->v6) {
    return ip->bytes[0] == 127;
  }
  return std::all_of(ip->bytes.begin(), ip->bytes.begin() + 15, [](std::uint8_t b) { return b == 0; }) &&
         ip->bytes[15] == 1;
}

// ---------------------------------------------------------------------------------------
// The loader

/// What became of one key: absent (the default stays), valid (stored) or invalid (reported;
/// the default stays, and checks that involve the key are skipped).
struct Field {
  enum class State { absent, valid, invalid };
  State state = State::absent;
  Position key;
  Position value;

  bool usable() const { return state != State::invalid; }
  bool present() const { return state != State::absent; }
};

class Section;

class Loader {
public:
  explicit Loader(std::string_view source) : source_(source) {}

  void error(Position where, std::string message) {
    errors_.push_back(ConfigError{source_, where.line, where.column, std::move(message)});
  }

  void add_section(std::string_view name, std::vector<std::string_view> keys) {
    sections_.push_back(Known{name, std::move(keys)});
  }

  void add_unknown(std::string_view section, std::string_view key, Position where, bool is_table) {
    unknown_.push_back(Unknown{std::string(section), std::string(key), where, is_table});
  }

  LoadResult load(const toml::table& root);

private:
  struct Known {
    std::string_view name;
    std::vector<std::string_view> keys;
  };
  struct Unknown {
    std::string section; // empty: top level
    std::string key;
    Position where;
    bool is_table = false;
  };

  void report_unknown();
  void read_gateways(const toml::table& root, Config& config);
  void read_sms(Section& section, const toml::table& table, GatewayConfig& gateway);
  void read_twilio(const toml::table& twilio_table, GatewayConfig& gateway);
  void read_kannel(const toml::table& kannel_table, GatewayConfig& gateway);
  void read_smpp(const toml::table& smpp_table, GatewayConfig& gateway);
  void read_provider_table(SmsProvider provider, const toml::table& table, GatewayConfig& gateway);
  void read_sms_keywords(Section& section, SmsConfig& sms);
  void read_email(Section& section, const toml::table& table, GatewayConfig& gateway, const Config& config);
  void read_muc(const toml::table* table, Config& config);
  void read_archive(const toml::table* table, Config& config);
  void read_upload(const toml::table* table, Config& config);
  std::string homes_of(std::string_view key, std::string_view except) const;

  std::string source_;
  std::vector<ConfigError> errors_;
  std::vector<Known> sections_;
  std::vector<Unknown> unknown_;
};

/// Reads the keys of one [section]. Remembers each key it is asked for; whatever else the
/// table holds is reported as unknown by finish().
class Section {
public:
  Section(Loader& loader, std::string_view name, const toml::table* table)
      : loader_(loader), name_(name), table_(table) {}

  std::string label(std::string_view key) const {
    return "[" + std::string(name_) + "] " + std::string(key);
  }

  void error(Position where, std::string_view key, std::string_view problem) {
    loader_.error(where, label(key) + ": " + std::string(problem));
  }

  /// The node under `key`, or nullptr when absent; fills in the positions.
  const toml::node* lookup(std::string_view key, Field& field) {
    known_.push_back(key);
    if (table_ == nullptr) {
      return nullptr;
    }
    const auto it = table_->find(key);
    if (it == table_->end()) {
      return nullptr;
    }
    field.state = Field::State::valid;
    field.key = position_of(it->first.source());
    field.value = position_of(it->second.source());
    return &it->second;
  }

  void wrong_type(Field& field, std::string_view key, const toml::node& node,
                  std::string_view expected) {
    field.state = Field::State::invalid;
    error(field.value, key,
          "expected " + std::string(expected) + ", got " + std::string(describe(node.type())));
  }

  enum class Empty { allowed, refused };

  Field read_string(std::string_view key, std::string& out, Empty empty) {
    Field field;
    const toml::node* node = lookup(key, field);
    if (node == nullptr) {
      return field;
    }
    const auto* value = node->as_string();
    if (value == nullptr) {
      wrong_type(field, key, *node, "a string");
      return field;
    }
    const std::string& text = value->get();
    if (empty == Empty::refused && text.empty()) {
      field.state = Field::State::invalid;
      error(field.value, key, "must not be empty");
    } else if (text.find('\0') != std::string::npos) {
      field.state = Field::State::invalid;
      error(field.value, key, "must not contain a NUL character");
    } else {
      out = text;
    }
    return field;
  }

  enum class Unit { count, bytes };

  template <typename T>
  Field read_integer(std::string_view key, T& out, std::int64_t min, std::int64_t max,
                     Unit unit = Unit::count, std::string_view note = {}) {
    Field field;
    const toml::node* node = lookup(key, field);
    if (node == nullptr) {
      return field;
    }
    const auto* value = node->as_integer();
    if (value == nullptr) {
      wrong_type(field, key, *node, "an integer");
      return field;
    }
    const std::int64_t n = value->get();
    if (n < min || n > max) {
      field.state = Field::State::invalid;
      std::string range = std::to_string(min) + ".." + std::to_string(max);
      if (unit == Unit::bytes) {
        range += " (" + format_bytes(min) + ".." + format_bytes(max);
        if (!note.empty()) {
          range += "; " + std::string(note);
        }
        range += ")";
      } else if (!note.empty()) {
        range += " (" + std::string(note) + ")";
      }
      error(field.value, key, std::to_string(n) + " is out of range; expected " + range);
      return field;
    }
    out = static_cast<T>(n);
    return field;
  }

  Field read_bool(std::string_view key, bool& out) {
    Field field;
    const toml::node* node = lookup(key, field);
    if (node == nullptr) {
      return field;
    }
    const auto* value = node->as_boolean();
    if (value == nullptr) {
      wrong_type(field, key, *node, "a boolean (true or false)");
      return field;
    }
    out = value->get();
    return field;
  }

  /// A string that must be one of `names`; `chosen` receives its index.
  Field read_choice(std::string_view key, std::span<const std::string_view> names,
                    std::size_t& chosen) {
    Field field;
    const toml::node* node = lookup(key, field);
    if (node == nullptr) {
      return field;
    }
    const auto* value = node->as_string();
    if (value == nullptr) {
      wrong_type(field, key, *node, "a string");
      return field;
    }
    const auto it = std::find(names.begin(), names.end(), std::string_view(value->get()));
    if (it == names.end()) {
      field.state = Field::State::invalid;
      std::string accepted;
      for (const std::string_view name : names) {
        accepted += (accepted.empty() ? "" : ", ") + std::string(name);
      }
      error(field.value, key,
            quote(value->get()) + " is not accepted; expected one of: " + accepted);
      return field;
    }
    chosen = static_cast<std::size_t>(it - names.begin());
    return field;
  }

  void finish() {
    if (table_ != nullptr) {
      for (auto&& [key, node] : *table_) {
        if (std::find(known_.begin(), known_.end(), key.str()) == known_.end()) {
          loader_.add_unknown(name_, key.str(), position_of(key.source()), node.is_table());
        }
      }
    }
    loader_.add_section(name_, std::move(known_));
  }

private:
  Loader& loader_;
  std::string_view name_;
  const toml::table* table_;
  std::vector<std::string_view> known_;
};

template <typename E, std::size_t N>
Field read_enum(Section& section, std::string_view key,
                const std::array<std::pair<std::string_view, E>, N>& values, E& out) {
  std::array<std::string_view, N> names{};
  std::transform(values.begin(), values.end(), names.begin(),
                 [](const auto& entry) { return entry.first; });
  std::size_t chosen = 0;
  const Field field = section.read_choice(key, names, chosen);
  if (field.present() && field.usable()) {
    out = values[chosen].second;
  }
  return field;
}

void read_hosts(Section& section, std::vector<std::string>& out) {
  static constexpr std::string_view key = "hosts";
  Field field;
  const toml::node* node = section.lookup(key, field);
  if (node == nullptr) {
    return;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    section.wrong_type(field, key, *node, "an array of strings");
    return;
  }
  if (array->empty()) {
    section.error(field.value, key, "at least one host is required");
    return;
  }
  std::vector<std::string> hosts;
  bool valid = true;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const Position where = position_of(element.source());
    const std::string element_key = std::string(key) + "[" + std::to_string(i) + "]";
    const auto* value = element.as_string();
    if (value == nullptr) {
      section.error(where, element_key,
                    "expected a string, got " + std::string(describe(element.type())));
      valid = false;
      continue;
    }
    const std::string& host = value->get();
    if (const auto problem = host_problem(host)) {
      section.error(where, element_key,
                    (host.empty() ? std::string("host name") : quote(host)) + " " + *problem);
      valid = false;
      continue;
    }
    const auto earlier = std::find_if(hosts.begin(), hosts.end(),
                                      [&](const std::string& h) { return iequals(h, host); });
    if (earlier != hosts.end()) {
      section.error(where, element_key, quote(host) + " is listed twice");
      valid = false;
      continue;
    }
    hosts.push_back(host);
  }
  if (valid) {
    out = std::move(hosts);
  }
}

bool is_e164(const std::string& number) {
  // ITU-T E.164: at most 15 digits, the first (of the country code) not 0.
  return number.size() >= 3 && number.size() <= 16 && number[0] == '+' && number[1] != '0' &&
         std::all_of(number.begin() + 1, number.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// A rate in messages per second: a non-negative number (integer or float), 0 for none.
void read_rate(Section& section, std::string_view key, double& out) {
  Field field;
  const toml::node* node = section.lookup(key, field);
  if (node == nullptr) {
    return;
  }
  double value = 0;
  if (const auto* i = node->as_integer()) {
    value = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    value = f->get();
  } else {
    section.wrong_type(field, key, *node, "a number");
    return;
  }
  if (!(value >= 0 && value <= 1e6)) {
    section.error(field.value, key, "out of range; expected 0..1000000 messages per second (0: no limit)");
    return;
  }
  out = value;
}

/// A list of keywords: non-empty strings without spaces, upper-cased.
void read_keyword_list(Section& section, std::string_view key, std::vector<std::string>& out) {
  Field field;
  const toml::node* node = section.lookup(key, field);
  if (node == nullptr) {
    return;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    section.wrong_type(field, key, *node, "an array of strings");
    return;
  }
  std::vector<std::string> words;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* value = element.as_string();
    const std::string element_key = std::string(key) + "[" + std::to_string(i) + "]";
    if (value == nullptr || value->get().empty() ||
        std::any_of(value->get().begin(), value->get().end(), [](char c) { return c == ' ' || c == '\t'; })) {
      section.error(position_of(element.source()), element_key, "expected one word, such as \"STOP\"");
      continue;
    }
    std::string word = value->get();
    for (auto& c : word) {
      c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    words.push_back(std::move(word));
  }
  out = std::move(words);
}

/// The keys of [gateway.keywords] and of [[gateway.number]].
void read_keywords(Section& keys, SmsKeywords& out) {
  keys.read_bool("enabled", out.enabled);
  read_keyword_list(keys, "stop", out.stop);
  read_keyword_list(keys, "start", out.start);
  read_keyword_list(keys, "help", out.help);
  keys.read_string("stop_reply", out.stop_reply, Section::Empty::allowed);
  keys.read_string("start_reply", out.start_reply, Section::Empty::allowed);
  keys.read_string("help_reply", out.help_reply, Section::Empty::allowed);
}

/// `numbers` of an SMS gateway: E.164 numbers ("+15551234567"), each once.
void read_numbers(Section& section, std::vector<std::string>& out) {
  static constexpr std::string_view key = "numbers";
  Field field;
  const toml::node* node = section.lookup(key, field);
  if (node == nullptr) {
    return;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    section.wrong_type(field, key, *node, "an array of strings");
    return;
  }
  std::vector<std::string> numbers;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const Position where = position_of(element.source());
    const std::string element_key = std::string(key) + "[" + std::to_string(i) + "]";
    const auto* value = element.as_string();
    if (value == nullptr) {
      section.error(where, element_key, "expected a string, got " + std::string(describe(element.type())));
      continue;
    }
    const std::string& number = value->get();
    if (!is_e164(number)) {
      section.error(where, element_key, quote(number) + " is not an E.164 number such as \"+15551234567\"");
      continue;
    }
    if (std::find(numbers.begin(), numbers.end(), number) != numbers.end()) {
      section.error(where, element_key, quote(number) + " is listed twice");
      continue;
    }
    numbers.push_back(number);
  }
  out = std::move(numbers);
}

/// An address key and its parsed value; nullopt when invalid (and already reported).
std::optional<IpAddress> read_address(Section& section, std::string& out) {
  static constexpr std::string_view key = "address";
  const Field field = section.read_string(key, out, Section::Empty::refused);
  if (!field.usable()) {
    return std::nullopt;
  }
  auto address = parse_ip(out);
  if (!address) {
    section.error(field.value, key,
                  quote(out) + " is not an IP address; expected an IPv4 or IPv6 literal such as "
                               "127.0.0.1, ::1, 0.0.0.0 (all IPv4) or :: (all)");
  }
  return address;
}

/// One listening socket, for the port conflict check.
struct Listener {
  std::string label;
  std::uint16_t port = 0;
  Field field;
  std::optional<IpAddress> address;
};

void check_port_conflicts(Loader& loader, const std::vector<Listener>& listeners) {
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    for (std::size_t j = i + 1; j < listeners.size(); ++j) {
      const Listener& a = listeners[i];
      const Listener& b = listeners[j];
      if (!a.field.usable() || !b.field.usable() || !a.address || !b.address || a.port != b.port ||
          !overlap(*a.address, *b.address)) {
        continue;
      }
      // Blame whichever key comes later in the file; a key left at its default sorts first.
      const bool b_later = a.field.key <= b.field.key;
      const Listener& later = b_later ? b : a;
      const Listener& earlier = b_later ? a : b;
      loader.error(later.field.key,
                   later.label + ": " + std::to_string(later.port) + " is also used by " +
                       earlier.label +
                       (*a.address == *b.address ? std::string(" on the same address")
                                                 : std::string(" on an overlapping address")) +
                       "; each listener needs its own port");
    }
  }
}

LoadResult Loader::load(const toml::table& root) {
  static constexpr std::array section_names = {std::string_view("server"), std::string_view("log"),
                                               std::string_view("tls"),    std::string_view("c2s"),
                                               std::string_view("http"),   std::string_view("admin"),
                                               std::string_view("limits"), std::string_view("storage"),
                                               std::string_view("auth"),   std::string_view("gateway"),
                                               std::string_view("muc"),    std::string_view("archive"),
                                               std::string_view("upload")};

  for (auto&& [key, node] : root) {
    const bool known =
        std::find(section_names.begin(), section_names.end(), key.str()) != section_names.end();
    if (!known) {
      add_unknown({}, key.str(), position_of(key.source()), node.is_table());
    } else if (key.str() == "gateway") {
      if (!node.is_array_of_tables()) {
        error(position_of(node.source()), "'gateway' must be an array of tables ([[gateway]]), got " +
                                              std::string(describe(node.type())));
      }
    } else if (!node.is_table()) {
      error(position_of(node.source()), "'" + std::string(key.str()) + "' must be a table ([" +
                                            std::string(key.str()) + "]), got " +
                                            std::string(describe(node.type())));
    }
  }
  const auto table = [&](std::string_view name) { return root.get_as<toml::table>(name); };

  Config config;

  Section server(*this, "server", table("server"));
  read_hosts(server, config.hosts);
  server.read_string("data_dir", config.data_dir, Section::Empty::refused);
  server.read_integer("io_threads", config.io_threads, 0, 256, Section::Unit::count,
                      "0 means one per core");
  server.finish();

  Section log(*this, "log", table("log"));
  static constexpr std::array<std::string_view, 7> levels = {"trace", "debug",    "info", "warn",
                                                             "error", "critical", "off"};
  std::size_t level = 0;
  if (const Field f = log.read_choice("level", levels, level); f.present() && f.usable()) {
    config.log.level = std::string(levels[level]);
  }
  static constexpr std::array<std::pair<std::string_view, LogFormat>, 2> formats = {
      {{"text", LogFormat::text}, {"json", LogFormat::json}}};
  read_enum(log, "format", formats, config.log.format);
  log.finish();

  Section tls(*this, "tls", table("tls"));
  const Field certificate =
      tls.read_string("certificate", config.tls.certificate, Section::Empty::allowed);
  const Field key = tls.read_string("key", config.tls.key, Section::Empty::allowed);
  if (certificate.usable() && key.usable() &&
      config.tls.certificate.empty() != config.tls.key.empty()) {
    // Blame the key that is set: it is the one present in the file.
    const bool has_certificate = !config.tls.certificate.empty();
    tls.error(has_certificate ? certificate.key : key.key, has_certificate ? "certificate" : "key",
              has_certificate ? "set without [tls] key; set both, or neither to use a generated "
                                "self-signed pair"
                              : "set without [tls] certificate; set both, or neither to use a "
                                "generated self-signed pair");
  }
  tls.finish();

  Section c2s(*this, "c2s", table("c2s"));
  const auto c2s_address = read_address(c2s, config.c2s.address);
  const Field c2s_port = c2s.read_integer("port", config.c2s.port, 1, 65535);
  static constexpr std::array<std::pair<std::string_view, C2sTls>, 3> c2s_tls = {
      {{"required", C2sTls::required},
       {"optional", C2sTls::optional},
       {"disabled", C2sTls::disabled}}};
  read_enum(c2s, "tls", c2s_tls, config.c2s.tls);
  const Field direct_tls_port = c2s.read_integer("direct_tls_port", config.c2s.direct_tls_port, 0,
                                                 65535, Section::Unit::count, "0 turns it off");
  c2s.read_integer("sm_resume_timeout_seconds", config.c2s.sm_resume_timeout_seconds, 0, 86400,
                   Section::Unit::count, "0 turns resumption off");
  c2s.read_integer("max_connections_per_ip", config.c2s.max_connections_per_ip, 1, 1'000'000);
  c2s.read_integer("max_auth_failures_per_ip", config.c2s.max_auth_failures_per_ip, 1, 1'000'000);
  c2s.read_bool("allow_registration", config.c2s.allow_registration);
  c2s.finish();

  Section http(*this, "http", table("http"));
  const auto http_address = read_address(http, config.http.address);
  const Field http_port = http.read_integer("port", config.http.port, 1, 65535);
  http.read_integer("max_body_bytes", config.http.max_body_bytes, kib, gib, Section::Unit::bytes);
  http.finish();

  Section admin(*this, "admin", table("admin"));
  const auto admin_address = read_address(admin, config.admin.address);
  const Field admin_port = admin.read_integer("port", config.admin.port, 0, 65535, Section::Unit::count,
                                              "0 serves the API on the [http] listener");
  const Field admin_url = admin.read_string("url", config.admin.url, Section::Empty::allowed);
  if (admin_url.usable() && !config.admin.url.empty() && !config.admin.url.starts_with("http://") &&
      !config.admin.url.starts_with("https://")) {
    admin.error(admin_url.value, "url", quote(config.admin.url) + " is not an http:// or https:// URL");
  }
  admin.read_string("token_file", config.admin.token_file, Section::Empty::allowed);
  admin.finish();

  std::vector<Listener> listeners;
  listeners.push_back({"[c2s] port", config.c2s.port, c2s_port, c2s_address});
  if (config.c2s.direct_tls_port != 0) {
    listeners.push_back(
        {"[c2s] direct_tls_port", config.c2s.direct_tls_port, direct_tls_port, c2s_address});
  }
  listeners.push_back({"[http] port", config.http.port, http_port, http_address});
  if (config.admin.port != 0) {
    listeners.push_back({"[admin] port", config.admin.port, admin_port, admin_address});
  }
  check_port_conflicts(*this, listeners);

  Section limits(*this, "limits", table("limits"));
  const Field max_stanza = limits.read_integer("max_stanza_bytes", config.limits.max_stanza_bytes,
                                               4 * kib, 64 * mib, Section::Unit::bytes);
  // The unauthenticated limit may not exceed the general one; with that one invalid, only
  // the absolute bound can be checked.
  const auto unauthenticated_max =
      max_stanza.usable() ? static_cast<std::int64_t>(config.limits.max_stanza_bytes) : 64 * mib;
  limits.read_integer("max_stanza_bytes_unauthenticated",
                      config.limits.max_stanza_bytes_unauthenticated, kib, unauthenticated_max,
                      Section::Unit::bytes,
                      max_stanza.usable() ? "at most [limits] max_stanza_bytes" : "");
  limits.read_integer("max_depth", config.limits.max_depth, 4, 1024);
  limits.read_integer("max_attributes", config.limits.max_attributes, 4, 1024);
  limits.read_integer("unauthenticated_timeout_seconds",
                      config.limits.unauthenticated_timeout_seconds, 1, 3600);
  limits.finish();

  Section storage(*this, "storage", table("storage"));
  static constexpr std::array<std::pair<std::string_view, StorageBackend>, 2> backends = {
      {{"sqlite", StorageBackend::sqlite}, {"postgres", StorageBackend::postgres}}};
  const Field backend = read_enum(storage, "backend", backends, config.storage.backend);
  storage.read_string("sqlite_path", config.storage.sqlite_path, Section::Empty::refused);
  const Field dsn =
      storage.read_string("postgres_dsn", config.storage.postgres_dsn, Section::Empty::allowed);
  storage.read_string("postgres_password_env", config.storage.postgres_password_env,
                      Section::Empty::allowed);
  storage.read_integer("postgres_connections", config.storage.postgres_connections, 1, 1000);
  if (backend.usable() && dsn.usable() && config.storage.backend == StorageBackend::postgres &&
      config.storage.postgres_dsn.empty()) {
    storage.error(dsn.present() ? dsn.value : backend.value, "postgres_dsn",
                  "is required with backend = \"postgres\" (for example "
                  "\"host=db.example.com dbname=parley user=parley\")");
  }
  storage.read_integer("workers", config.storage.workers, 1, 256);
  storage.read_integer("offline_quota", config.storage.offline_quota, 0, 10'000'000);
  storage.finish();

  Section auth(*this, "auth", table("auth"));
  static constexpr std::array<std::pair<std::string_view, AuthBackend>, 2> auth_backends = {
      {{"internal", AuthBackend::internal}, {"http", AuthBackend::http}}};
  const Field auth_backend = read_enum(auth, "backend", auth_backends, config.auth.backend);
  const Field auth_url = auth.read_string("url", config.auth.url, Section::Empty::allowed);
  if (auth_url.usable() && !config.auth.url.empty()) {
    if (!config.auth.url.starts_with("http://") && !config.auth.url.starts_with("https://")) {
      auth.error(auth_url.value, "url", quote(config.auth.url) + " is not an http:// or https:// URL");
    } else if (config.auth.url.find_first_of("?#") != std::string::npos) {
      auth.error(auth_url.value, "url",
                 quote(config.auth.url) + " has a query or fragment; give the base URL that "
                                          "/check_password and /user_exists are appended to");
    }
  }
  auth.read_integer("timeout_seconds", config.auth.timeout_seconds, 1, 60);
  auth.read_integer("cache_seconds", config.auth.cache_seconds, 0, 3600, Section::Unit::count,
                    "0 caches nothing");
  const Field auth_private = auth.read_bool("allow_private_addresses", config.auth.allow_private_addresses);
  if (auth_url.usable() && auth_private.usable() && !config.auth.allow_private_addresses &&
      url_names_loopback(config.auth.url)) {
    // The client's SSRF guard would refuse every call: say so now rather than at each login.
    auth.error(auth_url.value, "url",
               quote(config.auth.url) + " is on loopback; set allow_private_addresses = true to allow it");
  }
  auth.read_string("auth_token_env", config.auth.auth_token_env, Section::Empty::allowed);
  if (auth_backend.present() && auth_backend.usable() && config.auth.backend == AuthBackend::http) {
    if (auth_url.usable() && config.auth.url.empty()) {
      auth.error(auth_url.present() ? auth_url.value : auth_backend.value, "url",
                 "is required with backend = \"http\" (for example \"https://auth.example.com/xmpp\")");
    }
    if (config.c2s.allow_registration) {
      // The service owns the accounts: there is nothing Parley could register.
      auth.error(auth_backend.value, "backend",
                 "\"http\" cannot be combined with [c2s] allow_registration = true; accounts are "
                 "created in the authentication service");
    }
  }
  auth.finish();

  read_gateways(root, config);
  read_muc(table("muc"), config);
  read_archive(table("archive"), config);
  read_upload(table("upload"), config);

  report_unknown();

  LoadResult result;
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  result.errors = std::move(errors_);
  if (result.errors.empty()) {
    result.config = std::move(config);
  }
  return result;
}

// The sections other than `except` that have `key`, as "[c2s] or [http]".
std::string Loader::homes_of(std::string_view key, std::string_view except) const {
  std::vector<std::string_view> homes;
  for (const Known& section : sections_) {
    if (section.name != except &&
        std::find(section.keys.begin(), section.keys.end(), key) != section.keys.end()) {
      homes.push_back(section.name);
    }
  }
  std::string out;
  for (std::size_t i = 0; i < homes.size(); ++i) {
    if (i > 0) {
      out += i + 1 == homes.size() ? " or " : ", ";
    }
    out += "[" + std::string(homes[i]) + "]";
  }
  return out;
}

namespace {

/// A name usable as a JID localpart and in a URL path: lowercase letters, digits, '.', '_', '-'.
bool simple_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

} // namespace

void Loader::read_gateways(const toml::table& root, Config& config) {
  const auto* gateways = root.get_as<toml::array>("gateway");
  if (gateways == nullptr || !gateways->is_array_of_tables()) {
    return;
  }
  static constexpr std::array<std::pair<std::string_view, GatewayKind>, 3> kinds = {
      {{"webhook", GatewayKind::webhook}, {"sms", GatewayKind::sms}, {"email", GatewayKind::email}}};
  for (const toml::node& node : *gateways) {
    const toml::table& table = *node.as_table();
    Section section(*this, "gateway", &table);
    GatewayConfig gateway;
    const Field domain = section.read_string("domain", gateway.domain, Section::Empty::refused);
    if (!domain.present()) {
      error(position_of(table.source()), "[[gateway]]: 'domain' is required");
    } else if (domain.usable()) {
      if (const auto problem = host_problem(gateway.domain)) {
        section.error(domain.value, "domain", quote(gateway.domain) + " " + *problem);
      } else if (std::any_of(config.hosts.begin(), config.hosts.end(),
                             [&](const std::string& h) { return iequals(h, gateway.domain); })) {
        section.error(domain.value, "domain",
                      quote(gateway.domain) + " is also in [server] hosts; a gateway needs a domain of its own");
      } else if (std::any_of(config.gateways.begin(), config.gateways.end(),
                             [&](const GatewayConfig& g) { return iequals(g.domain, gateway.domain); })) {
        section.error(domain.value, "domain", quote(gateway.domain) + " has two [[gateway]] entries");
      }
    }
    const Field kind = read_enum(section, "kind", kinds, gateway.kind);
    if (!kind.present()) {
      error(position_of(table.source()), "[[gateway]]: 'kind' is required (one of: webhook, sms, email)");
    }
    section.read_string("name", gateway.name, Section::Empty::allowed);
    section.read_bool("allow_private_addresses", gateway.allow_private_addresses);
    section.read_integer("max_attempts", gateway.max_attempts, 1, 1000);
    section.read_integer("max_age_seconds", gateway.max_age_seconds, 1, 30 * 86400);
    section.read_integer("retry_base_ms", gateway.retry_base_ms, 10, 3'600'000);
    section.read_integer("retry_max_ms", gateway.retry_max_ms, 10, 86'400'000);
    section.read_integer("concurrency_per_destination", gateway.concurrency_per_destination, 1, 1000);
    section.read_integer("timeout_seconds", gateway.timeout_seconds, 1, 600);

    Field hooks_field;
    if (const toml::node* hooks = section.lookup("hook", hooks_field)) {
      if (!hooks->is_array_of_tables()) {
        section.error(hooks_field.value, "hook", "must be an array of tables ([[gateway.hook]])");
      } else {
        for (const toml::node& hook_node : *hooks->as_array()) {
          const toml::table& hook_table = *hook_node.as_table();
          Section hook(*this, "gateway.hook", &hook_table);
          WebhookConfig webhook;
          const Field name = hook.read_string("name", webhook.name, Section::Empty::refused);
          if (!name.present()) {
            error(position_of(hook_table.source()), "[[gateway.hook]]: 'name' is required");
          } else if (name.usable() && !simple_name(webhook.name)) {
            hook.error(name.value, "name",
                       quote(webhook.name) + " is not accepted; use lowercase letters, digits, '.', '_' and '-'");
          } else if (std::any_of(gateway.hooks.begin(), gateway.hooks.end(),
                                 [&](const WebhookConfig& w) { return w.name == webhook.name; })) {
            hook.error(name.value, "name", quote(webhook.name) + " is used by two hooks of this gateway");
          }
          const Field url = hook.read_string("url", webhook.url, Section::Empty::allowed);
          if (url.usable() && !webhook.url.empty() && !webhook.url.starts_with("http://") &&
              !webhook.url.starts_with("https://")) {
            hook.error(url.value, "url", quote(webhook.url) + " is not an http:// or https:// URL");
          }
          hook.read_string("secret", webhook.secret, Section::Empty::allowed);
          hook.read_string("secret_env", webhook.secret_env, Section::Empty::allowed);
          hook.read_bool("github_signature", webhook.github_signature);
          hook.read_string("inbound_secret", webhook.inbound_secret, Section::Empty::allowed);
          hook.read_string("inbound_secret_env", webhook.inbound_secret_env, Section::Empty::allowed);
          hook.read_string("recipient", webhook.recipient, Section::Empty::allowed);
          hook.read_string("nick", webhook.nick, Section::Empty::allowed);
          std::size_t chosen = 0;
          static constexpr std::array<std::string_view, 6> templates = {"auto", "github", "alertmanager",
                                                                        "grafana", "json", "text"};
          if (hook.read_choice("template", templates, chosen).present()) {
            webhook.template_name = std::string(templates[chosen]);
          }
          hook.finish();
          gateway.hooks.push_back(std::move(webhook));
        }
      }
    }
    const bool sms = kind.present() && kind.usable() && gateway.kind == GatewayKind::sms;
    if (hooks_field.present() && kind.present() && kind.usable() && gateway.kind != GatewayKind::webhook) {
      section.error(hooks_field.key, "hook", "[[gateway.hook]] belongs to gateways of kind = \"webhook\"");
    }
    if (sms) {
      read_sms(section, table, gateway);
    } else {
      for (const std::string_view key : {std::string_view("provider"), std::string_view("default_country"),
                                         std::string_view("public_url"), std::string_view("self_registration"),
                                         std::string_view("numbers"), std::string_view("rate_per_second"),
                                         std::string_view("number_rate_per_second"), std::string_view("failover"),
                                         std::string_view("keywords"), std::string_view("number"),
                                         std::string_view("twilio"),
                                         std::string_view("kannel"), std::string_view("smpp")}) {
        Field field;
        if (section.lookup(key, field) != nullptr && kind.present() && kind.usable()) {
          section.error(field.key, key, "only gateways of kind = \"sms\" have it");
        }
      }
    }
    const bool email = kind.present() && kind.usable() && gateway.kind == GatewayKind::email;
    if (email) {
      read_email(section, table, gateway, config);
    } else {
      for (const std::string_view key :
           {std::string_view("address_domain"), std::string_view("recipients"), std::string_view("user_host"),
            std::string_view("default_subject"), std::string_view("lmtp_address"), std::string_view("lmtp_port"),
            std::string_view("smtp_address"), std::string_view("smtp_port"), std::string_view("hostname"),
            std::string_view("max_message_bytes"), std::string_view("max_text_bytes"), std::string_view("smtp"),
            std::string_view("user")}) {
        Field field;
        if (section.lookup(key, field) != nullptr && kind.present() && kind.usable()) {
          section.error(field.key, key, "only gateways of kind = \"email\" have it");
        }
      }
    }
    section.finish();
    config.gateways.push_back(std::move(gateway));
  }
}

namespace {

/// What is wrong with a mail address ("local@domain", RFC 5321 §4.1.2 in the common form:
/// no spaces, quotes or angle brackets), if anything.
std::optional<std::string> mail_address_problem(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) {
    return quote(std::string(address)) + " is not a mail address such as \"alice@example.org\"";
  }
  if (address.size() > 254 ||
      std::any_of(address.begin(), address.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == '"' || c == '(' || c == ')' ||
               c == ',' || c == ';' || c == '\\' || c == 0x7f;
      })) {
    return quote(std::string(address)) + " is not a plain mail address (no spaces, quotes, brackets or commas)";
  }
  if (const auto problem = host_problem(address.substr(at + 1))) {
    return quote(std::string(address)) + ": the domain " + *problem;
  }
  return std::nullopt;
}

void one_of(Loader& loader, Section& keys, const toml::table& table, std::string_view section_name,
            const Field& value_field, const std::string& value, std::string_view value_key, const Field& env_field,
            const std::string& env, std::string_view env_key);

std::string lowercase_ascii(std::string text) {
  for (auto& c : text) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return text;
}

} // namespace

void Loader::read_email(Section& section, const toml::table& table, GatewayConfig& gateway, const Config& config) {
  EmailConfig& email = gateway.email;
  const Field domain = section.read_string("address_domain", email.address_domain, Section::Empty::refused);
  if (!domain.present()) {
    error(position_of(table.source()),
          "[[gateway]] of kind \"email\": 'address_domain' is required (the domain of the users' own addresses, "
          "USER@address_domain)");
  } else if (domain.usable()) {
    email.address_domain = lowercase_ascii(email.address_domain);
    if (const auto problem = host_problem(email.address_domain)) {
      section.error(domain.value, "address_domain", quote(email.address_domain) + " " + *problem);
    }
  }
  static constexpr std::array<std::pair<std::string_view, EmailRecipients>, 2> recipients = {
      {{"localpart", EmailRecipients::localpart}, {"address", EmailRecipients::address}}};
  read_enum(section, "recipients", recipients, email.recipients);
  const Field host = section.read_string("user_host", email.user_host, Section::Empty::allowed);
  if (host.usable() && !email.user_host.empty() &&
      std::none_of(config.hosts.begin(), config.hosts.end(),
                   [&](const std::string& h) { return iequals(h, email.user_host); })) {
    section.error(host.value, "user_host", quote(email.user_host) + " is not one of [server] hosts");
  }
  section.read_string("default_subject", email.default_subject, Section::Empty::refused);
  section.read_string("lmtp_address", email.lmtp_address, Section::Empty::refused);
  section.read_integer("lmtp_port", email.lmtp_port, 0, 65535);
  section.read_string("smtp_address", email.smtp_address, Section::Empty::refused);
  section.read_integer("smtp_port", email.smtp_port, 0, 65535);
  if (email.lmtp_port != 0 && email.lmtp_port == email.smtp_port) {
    error(position_of(table.source()), "[[gateway]] of kind \"email\": lmtp_port and smtp_port must differ");
  }
  section.read_string("hostname", email.hostname, Section::Empty::allowed);
  section.read_integer("max_message_bytes", email.max_message_bytes, 1024, 1024LL * 1024 * 1024, Section::Unit::bytes);
  section.read_integer("max_text_bytes", email.max_text_bytes, 64, 16 * 1024 * 1024, Section::Unit::bytes);

  Field smtp_field;
  if (const toml::node* node = section.lookup("smtp", smtp_field)) {
    if (!node->is_table()) {
      section.error(smtp_field.value, "smtp", "must be a table ([gateway.smtp])");
    } else {
      const toml::table& smtp_table = *node->as_table();
      Section keys(*this, "gateway.smtp", &smtp_table);
      SmtpOutConfig& smtp = email.smtp;
      const Field url = keys.read_string("url", smtp.url, Section::Empty::refused);
      if (!url.present()) {
        error(position_of(smtp_table.source()),
              "[gateway.smtp]: 'url' is required (the smarthost, for example \"smtp://mail.example.com:587\")");
      } else if (url.usable() && !smtp.url.starts_with("smtp://") && !smtp.url.starts_with("smtps://")) {
        keys.error(url.value, "url", quote(smtp.url) + " is not an smtp:// or smtps:// URL");
      } else if (url.usable() && smtp.url.find_first_of("?#") != std::string::npos) {
        keys.error(url.value, "url", quote(smtp.url) + " has a query or fragment");
      }
      static constexpr std::array<std::pair<std::string_view, SmtpTls>, 3> tls = {
          {{"none", SmtpTls::none}, {"opportunistic", SmtpTls::opportunistic}, {"required", SmtpTls::required}}};
      read_enum(keys, "tls", tls, smtp.tls);
      keys.read_string("username", smtp.username, Section::Empty::allowed);
      const Field password = keys.read_string("password", smtp.password, Section::Empty::allowed);
      const Field password_env = keys.read_string("password_env", smtp.password_env, Section::Empty::allowed);
      if (!smtp.username.empty()) {
        one_of(*this, keys, smtp_table, "gateway.smtp", password, smtp.password, "password", password_env,
               smtp.password_env, "password_env");
      } else if (!smtp.password.empty() || !smtp.password_env.empty()) {
        keys.error(password.present() ? password.key : password_env.key,
                   password.present() ? "password" : "password_env", "is set without a username");
      }
      keys.read_string("ca_file", smtp.ca_file, Section::Empty::allowed);
      keys.read_bool("verify_peer", smtp.verify_peer);
      keys.read_string("helo_name", smtp.helo_name, Section::Empty::allowed);
      keys.read_integer("connections", smtp.connections, 1, 256);
      keys.finish();
    }
  }

  Field users_field;
  const toml::node* users = section.lookup("user", users_field);
  if (users == nullptr) {
    return;
  }
  if (!users->is_array_of_tables()) {
    section.error(users_field.value, "user", "must be an array of tables ([[gateway.user]])");
    return;
  }
  for (const toml::node& user_node : *users->as_array()) {
    const toml::table& user_table = *user_node.as_table();
    Section keys(*this, "gateway.user", &user_table);
    EmailUserConfig user;
    const Field jid = keys.read_string("jid", user.jid, Section::Empty::refused);
    if (!jid.present()) {
      error(position_of(user_table.source()), "[[gateway.user]]: 'jid' is required (the user's bare JID)");
    } else if (jid.usable()) {
      const auto at = user.jid.find('@');
      if (at == std::string::npos || at == 0 || user.jid.find('/') != std::string::npos ||
          std::none_of(config.hosts.begin(), config.hosts.end(),
                       [&](const std::string& h) { return iequals(h, user.jid.substr(at + 1)); })) {
        keys.error(jid.value, "jid", quote(user.jid) + " is not the bare JID of a user of [server] hosts");
      } else if (std::any_of(email.users.begin(), email.users.end(),
                             [&](const auto& other) { return iequals(other.jid, user.jid); })) {
        keys.error(jid.value, "jid", quote(user.jid) + " has another [[gateway.user]] already");
      }
    }
    const Field address = keys.read_string("address", user.address, Section::Empty::refused);
    if (!address.present()) {
      error(position_of(user_table.source()), "[[gateway.user]]: 'address' is required (the user's mail address)");
    } else if (address.usable()) {
      if (const auto problem = mail_address_problem(user.address)) {
        keys.error(address.value, "address", *problem);
      } else if (std::any_of(email.users.begin(), email.users.end(),
                             [&](const auto& other) { return iequals(other.address, user.address); })) {
        keys.error(address.value, "address", quote(user.address) + " belongs to another [[gateway.user]]");
      }
    }
    const Field name = keys.read_string("name", user.name, Section::Empty::allowed);
    if (name.usable() && user.name.find_first_of("\r\n") != std::string::npos) {
      keys.error(name.value, "name", "must be one line");
    }
    keys.finish();
    email.users.push_back(std::move(user));
  }
}

namespace {

/// Checks an http(s) base URL (no query or fragment) and drops a trailing '/'. Returns what is
/// wrong, if anything.
std::optional<std::string> base_url_problem(std::string& url) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return quote(url) + " is not an http:// or https:// URL";
  }
  if (url.find_first_of("?#") != std::string::npos) {
    return quote(url) + " has a query or fragment; give the base URL that paths are appended to";
  }
  while (url.ends_with('/')) {
    url.pop_back();
  }
  return std::nullopt;
}

} // namespace

void Loader::read_sms(Section& section, const toml::table& table, GatewayConfig& gateway) {
  SmsConfig& sms = gateway.sms;
  static constexpr std::array<std::pair<std::string_view, SmsProvider>, 3> providers = {
      {{"twilio", SmsProvider::twilio}, {"kannel", SmsProvider::kannel}, {"smpp", SmsProvider::smpp}}};
  const Field provider = read_enum(section, "provider", providers, sms.provider);
  if (!provider.present()) {
    error(position_of(table.source()),
          "[[gateway]] of kind \"sms\": 'provider' is required (one of: twilio, kannel, smpp)");
  }
  const Field country = section.read_string("default_country", sms.default_country, Section::Empty::allowed);
  if (country.usable() && !sms.default_country.empty()) {
    const bool letters = sms.default_country.size() == 2 &&
                         std::all_of(sms.default_country.begin(), sms.default_country.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                         });
    if (!letters) {
      section.error(country.value, "default_country",
                    quote(sms.default_country) + " is not an ISO 3166-1 alpha-2 country code such as \"US\" or \"GB\"");
    } else {
      for (auto& c : sms.default_country) {
        c = static_cast<char>(c >= 'a' ? c - 'a' + 'A' : c);
      }
    }
  }
  section.read_bool("self_registration", sms.self_registration);
  read_numbers(section, sms.numbers);
  read_rate(section, "rate_per_second", sms.rate_per_second);
  read_rate(section, "number_rate_per_second", sms.number_rate_per_second);
  SmsProvider failover = SmsProvider::twilio;
  const Field failover_field = read_enum(section, "failover", providers, failover);
  if (failover_field.present() && failover_field.usable()) {
    if (provider.usable() && failover == sms.provider) {
      section.error(failover_field.value, "failover", "the failover provider must differ from 'provider'");
    } else {
      sms.failover = failover;
    }
  }
  read_sms_keywords(section, sms);
  const Field public_url = section.read_string("public_url", sms.public_url, Section::Empty::allowed);
  if (public_url.usable() && !sms.public_url.empty()) {
    if (const auto problem = base_url_problem(sms.public_url)) {
      section.error(public_url.value, "public_url", *problem);
    }
  }
  // Each provider's own table, which belongs to that provider only.
  struct ProviderTable {
    std::string_view name;
    SmsProvider provider;
    Field field;
    const toml::node* node = nullptr;
  };
  std::array<ProviderTable, 3> tables = {{{"twilio", SmsProvider::twilio, {}, nullptr},
                                          {"kannel", SmsProvider::kannel, {}, nullptr},
                                          {"smpp", SmsProvider::smpp, {}, nullptr}}};
  const bool chosen = provider.present() && provider.usable();
  const toml::table* mine = nullptr;
  const toml::table* failover_table = nullptr;
  const ProviderTable* chosen_table = nullptr;
  for (auto& t : tables) {
    t.node = section.lookup(t.name, t.field);
    if (chosen && t.provider == sms.provider) {
      chosen_table = &t;
    }
    if (t.node == nullptr) {
      continue;
    }
    if (!t.node->is_table()) {
      section.error(t.field.value, t.name, "must be a table ([gateway." + std::string(t.name) + "])");
    } else if (sms.failover && t.provider == *sms.failover) {
      failover_table = t.node->as_table();
    } else if (chosen && t.provider != sms.provider) {
      section.error(t.field.key, t.name,
                    "[gateway." + std::string(t.name) + "] belongs to provider = \"" + std::string(t.name) +
                        "\" (or failover = \"" + std::string(t.name) + "\")");
    } else if (chosen) {
      mine = t.node->as_table();
    }
  }
  if (sms.failover) {
    const auto& f = *std::find_if(tables.begin(), tables.end(), [&](const auto& t) { return t.provider == *sms.failover; });
    if (failover_table == nullptr && (f.node == nullptr || f.node->is_table())) {
      section.error(failover_field.value, "failover",
                    "[gateway." + std::string(f.name) + "] is required for failover = \"" + std::string(f.name) + "\"");
    } else if (failover_table != nullptr) {
      read_provider_table(*sms.failover, *failover_table, gateway);
    }
    if (*sms.failover != SmsProvider::smpp && public_url.usable() && sms.public_url.empty()) {
      section.error(failover_field.value, "failover",
                    "'public_url' is required: the failover provider calls this server back");
    }
  }
  if (!chosen || chosen_table == nullptr) {
    return;
  }
  const std::string name(chosen_table->name);
  // An SMSC sends over the bind itself; only the HTTP providers need callbacks.
  if (public_url.usable() && sms.public_url.empty() && sms.provider != SmsProvider::smpp) {
    error(public_url.present() ? public_url.value : position_of(table.source()),
          "[[gateway]] of provider \"" + name + "\": 'public_url' is required: the URL " +
              (sms.provider == SmsProvider::twilio ? "Twilio" : "Kannel") +
              " reaches this server's [http] listener at, for its callbacks (for example "
              "\"https://xmpp.example.com\")");
  }
  if (chosen_table->node != nullptr && !chosen_table->node->is_table()) {
    return; // reported above
  }
  if (mine == nullptr) {
    error(position_of(table.source()),
          "[[gateway]] of provider \"" + name + "\": [gateway." + name + "] is required (" +
              (sms.provider == SmsProvider::twilio  ? "account_sid and auth_token or auth_token_env"
               : sms.provider == SmsProvider::smpp ? "host, system_id, and password or password_env"
                                                   : "sendsms_url, username, password or password_env, and "
                                                     "inbound_secret or inbound_secret_env") +
              ")");
    return;
  }
  read_provider_table(sms.provider, *mine, gateway);
}

void Loader::read_provider_table(SmsProvider provider, const toml::table& table, GatewayConfig& gateway) {
  switch (provider) {
  case SmsProvider::twilio: read_twilio(table, gateway); break;
  case SmsProvider::kannel: read_kannel(table, gateway); break;
  case SmsProvider::smpp: read_smpp(table, gateway); break;
  }
}

/// [gateway.keywords] and [[gateway.number]] of an SMS gateway.
void Loader::read_sms_keywords(Section& section, SmsConfig& sms) {
  Field field;
  if (const toml::node* node = section.lookup("keywords", field)) {
    if (!node->is_table()) {
      section.error(field.value, "keywords", "must be a table ([gateway.keywords])");
    } else {
      Section keys(*this, "gateway.keywords", node->as_table());
      read_keywords(keys, sms.keywords);
      keys.finish();
    }
  }
  Field numbers_field;
  const toml::node* numbers = section.lookup("number", numbers_field);
  if (numbers == nullptr) {
    return;
  }
  if (!numbers->is_array_of_tables()) {
    section.error(numbers_field.value, "number", "must be an array of tables ([[gateway.number]])");
    return;
  }
  for (const toml::node& number_node : *numbers->as_array()) {
    const toml::table& number_table = *number_node.as_table();
    Section keys(*this, "gateway.number", &number_table);
    SmsNumberConfig number;
    number.keywords = sms.keywords; // what [gateway.keywords] says, unless this table says otherwise
    const Field n = keys.read_string("number", number.number, Section::Empty::refused);
    if (!n.present()) {
      error(position_of(number_table.source()), "[[gateway.number]]: 'number' is required");
    } else if (n.usable() && !is_e164(number.number)) {
      keys.error(n.value, "number", quote(number.number) + " is not an E.164 number such as \"+15551234567\"");
    } else if (n.usable() && std::any_of(sms.number_settings.begin(), sms.number_settings.end(),
                                         [&](const auto& other) { return other.number == number.number; })) {
      keys.error(n.value, "number", quote(number.number) + " has another [[gateway.number]] already");
    }
    read_keywords(keys, number.keywords);
    keys.finish();
    sms.number_settings.push_back(std::move(number));
  }
}

namespace {

/// Exactly one of `value` and `env` must be set (a secret given directly or through the
/// environment).
void one_of(Loader& loader, Section& keys, const toml::table& table, std::string_view section_name,
            const Field& value_field, const std::string& value, std::string_view value_key, const Field& env_field,
            const std::string& env, std::string_view env_key) {
  if (!value_field.usable() || !env_field.usable()) {
    return;
  }
  if (value.empty() && env.empty()) {
    loader.error(position_of(table.source()), "[" + std::string(section_name) + "]: '" + std::string(value_key) +
                                                  "' or '" + std::string(env_key) + "' is required");
  } else if (!value.empty() && !env.empty()) {
    keys.error(env_field.key, env_key, "set together with " + std::string(value_key) + "; give one of them");
  }
}

/// A base URL the gateway calls (an API): http(s), no query, and not on loopback unless
/// allow_private_addresses permits it.
void check_api_url(Section& keys, const Field& field, std::string_view key, std::string& url,
                   const GatewayConfig& gateway) {
  if (!field.usable() || url.empty()) {
    return;
  }
  if (const auto problem = base_url_problem(url)) {
    keys.error(field.value, key, *problem);
  } else if (!gateway.allow_private_addresses && url_names_loopback(url)) {
    keys.error(field.value, key,
               quote(url) + " is on loopback; set allow_private_addresses = true in [[gateway]] to allow it");
  }
}

} // namespace

void Loader::read_twilio(const toml::table& twilio_table, GatewayConfig& gateway) {
  Section keys(*this, "gateway.twilio", &twilio_table);
  TwilioConfig& t = gateway.sms.twilio;
  const Field sid = keys.read_string("account_sid", t.account_sid, Section::Empty::refused);
  if (!sid.present()) {
    error(position_of(twilio_table.source()), "[gateway.twilio]: 'account_sid' is required");
  }
  const Field token = keys.read_string("auth_token", t.auth_token, Section::Empty::allowed);
  const Field token_env = keys.read_string("auth_token_env", t.auth_token_env, Section::Empty::allowed);
  one_of(*this, keys, twilio_table, "gateway.twilio", token, t.auth_token, "auth_token", token_env,
         t.auth_token_env, "auth_token_env");
  const Field base = keys.read_string("base_url", t.base_url, Section::Empty::refused);
  check_api_url(keys, base, "base_url", t.base_url, gateway);
  keys.finish();
}

void Loader::read_kannel(const toml::table& kannel_table, GatewayConfig& gateway) {
  Section keys(*this, "gateway.kannel", &kannel_table);
  KannelConfig& k = gateway.sms.kannel;
  const Field url = keys.read_string("sendsms_url", k.sendsms_url, Section::Empty::refused);
  if (!url.present()) {
    error(position_of(kannel_table.source()),
          "[gateway.kannel]: 'sendsms_url' is required (smsbox's sendsms interface, for example "
          "\"http://127.0.0.1:13013/cgi-bin/sendsms\")");
  }
  check_api_url(keys, url, "sendsms_url", k.sendsms_url, gateway);
  const Field user = keys.read_string("username", k.username, Section::Empty::refused);
  if (!user.present()) {
    error(position_of(kannel_table.source()), "[gateway.kannel]: 'username' is required (a sendsms-user of smsbox)");
  }
  const Field password = keys.read_string("password", k.password, Section::Empty::allowed);
  const Field password_env = keys.read_string("password_env", k.password_env, Section::Empty::allowed);
  one_of(*this, keys, kannel_table, "gateway.kannel", password, k.password, "password", password_env,
         k.password_env, "password_env");
  const Field secret = keys.read_string("inbound_secret", k.inbound_secret, Section::Empty::allowed);
  const Field secret_env = keys.read_string("inbound_secret_env", k.inbound_secret_env, Section::Empty::allowed);
  one_of(*this, keys, kannel_table, "gateway.kannel", secret, k.inbound_secret, "inbound_secret", secret_env,
         k.inbound_secret_env, "inbound_secret_env");
  if (secret.usable() && !k.inbound_secret.empty() &&
      !std::all_of(k.inbound_secret.begin(), k.inbound_secret.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '~' || c == '-';
      })) {
    keys.error(secret.value, "inbound_secret",
               "use letters, digits, '.', '_', '~' and '-' only (it goes into URLs as it is)");
  }
  keys.read_string("smsc", k.smsc, Section::Empty::allowed);
  keys.finish();
}

void Loader::read_smpp(const toml::table& smpp_table, GatewayConfig& gateway) {
  Section keys(*this, "gateway.smpp", &smpp_table);
  SmppConfig& s = gateway.sms.smpp;
  if (!keys.read_string("host", s.host, Section::Empty::refused).present()) {
    error(position_of(smpp_table.source()), "[gateway.smpp]: 'host' is required (the SMSC's host name or address)");
  }
  keys.read_integer("port", s.port, 1, 65535);
  // SMPP 3.4 §4.1.5: the C-octet strings of a bind, their NUL included.
  const auto bounded = [&](std::string_view key, std::string& out, Section::Empty empty, std::size_t max) {
    const Field field = keys.read_string(key, out, empty);
    if (field.usable() && out.size() > max) {
      keys.error(field.value, key, "is " + std::to_string(out.size()) + " characters; SMPP 3.4 allows at most " +
                                       std::to_string(max));
    }
    return field;
  };
  if (!bounded("system_id", s.system_id, Section::Empty::refused, 15).present()) {
    error(position_of(smpp_table.source()), "[gateway.smpp]: 'system_id' is required (the bind's account)");
  }
  const Field password = bounded("password", s.password, Section::Empty::allowed, 8);
  const Field password_env = keys.read_string("password_env", s.password_env, Section::Empty::allowed);
  // Some SMSCs bind without a password, so neither is required; both at once is a mistake.
  if (password.usable() && password_env.usable() && !s.password.empty() && !s.password_env.empty()) {
    keys.error(password_env.key, "password_env", "set together with password; give one of them");
  }
  bounded("system_type", s.system_type, Section::Empty::allowed, 12);
  bounded("service_type", s.service_type, Section::Empty::allowed, 5);
  keys.read_integer("window", s.window, 1, 1000);
  keys.read_integer("enquire_link_seconds", s.enquire_link_seconds, 1, 3600);
  keys.read_integer("response_timeout_seconds", s.response_timeout_seconds, 1, 600);
  const Field reconnect_min = keys.read_integer("reconnect_min_ms", s.reconnect_min_ms, 10, 3'600'000);
  const Field reconnect_max = keys.read_integer("reconnect_max_ms", s.reconnect_max_ms, 10, 3'600'000);
  if (reconnect_min.usable() && reconnect_max.usable() && s.reconnect_max_ms < s.reconnect_min_ms) {
    keys.error(reconnect_max.present() ? reconnect_max.value : reconnect_min.value, "reconnect_max_ms",
               "is below reconnect_min_ms (" + std::to_string(s.reconnect_min_ms) + ")");
  }
  const Field throttle = keys.read_integer("throttle_backoff_ms", s.throttle_backoff_ms, 10, 3'600'000);
  const Field throttle_max = keys.read_integer("throttle_max_ms", s.throttle_max_ms, 10, 3'600'000);
  if (throttle.usable() && throttle_max.usable() && s.throttle_max_ms < s.throttle_backoff_ms) {
    keys.error(throttle_max.present() ? throttle_max.value : throttle.value, "throttle_max_ms",
               "is below throttle_backoff_ms (" + std::to_string(s.throttle_backoff_ms) + ")");
  }
  keys.read_integer("source_ton", s.source_ton, 0, 6);
  keys.read_integer("source_npi", s.source_npi, 0, 18);
  keys.read_integer("destination_ton", s.destination_ton, 0, 6);
  keys.read_integer("destination_npi", s.destination_npi, 0, 18);
  keys.read_bool("delivery_receipts", s.delivery_receipts);
  keys.read_integer("reassembly_timeout_seconds", s.reassembly_timeout_seconds, 1, 86400);
  keys.finish();
}

void Loader::read_muc(const toml::table* table, Config& config) {
  Section muc(*this, "muc", table);
  const Field enabled = muc.read_bool("enabled", config.muc.enabled);
  const Field domain = muc.read_string("domain", config.muc.domain, Section::Empty::allowed);
  muc.read_string("name", config.muc.name, Section::Empty::refused);
  muc.read_integer("max_occupants", config.muc.max_occupants, 1, 1'000'000);
  muc.read_integer("max_history", config.muc.max_history, 0, 10'000);
  muc.read_integer("max_rooms", config.muc.max_rooms, 1, 10'000'000);
  muc.finish();
  if (!enabled.usable() || !domain.usable() || !config.muc.enabled) {
    return;
  }
  // The service domains: the one given, or one per host. Each must be a domain of its own.
  std::vector<std::string> domains;
  if (!config.muc.domain.empty()) {
    if (const auto problem = host_problem(config.muc.domain)) {
      muc.error(domain.value, "domain", quote(config.muc.domain) + " " + *problem);
      return;
    }
    domains.push_back(config.muc.domain);
  } else {
    for (const auto& host : config.hosts) {
      domains.push_back("conference." + host);
    }
  }
  const Position where = domain.present() ? domain.value : table != nullptr ? position_of(table->source()) : Position{};
  for (const auto& service : domains) {
    const auto same = [&](const std::string& other) { return iequals(other, service); };
    if (std::any_of(config.hosts.begin(), config.hosts.end(), same)) {
      muc.error(where, "domain", quote(service) + " is also in [server] hosts; the chat service needs a domain of its own");
    } else if (std::any_of(config.gateways.begin(), config.gateways.end(),
                           [&](const GatewayConfig& g) { return same(g.domain); })) {
      muc.error(where, "domain",
                quote(service) + " is also a [[gateway]] domain; set [muc] domain to another one, or enabled = false");
    }
  }
}

void Loader::read_archive(const toml::table* table, Config& config) {
  Section archive(*this, "archive", table);
  archive.read_bool("enabled", config.archive.enabled);
  static constexpr std::array<std::pair<std::string_view, ArchiveDefault>, 3> modes = {
      {{"always", ArchiveDefault::always}, {"never", ArchiveDefault::never}, {"roster", ArchiveDefault::roster}}};
  read_enum(archive, "default", modes, config.archive.default_mode);
  archive.read_integer("retention_days", config.archive.retention_days, 0, 36'500);
  archive.read_integer("max_page", config.archive.max_page, 1, 10'000);
  archive.read_bool("rooms", config.archive.rooms);
  archive.finish();
}

namespace {

/// A MIME type token (RFC 9110 §5.6.2) in lower case.
bool mime_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || std::string_view("!#$&-^_.+").find(c) != std::string_view::npos;
  });
}

/// `allowed_types` of [upload]: "type/subtype" or "type/*", lower-cased, each once.
void read_mime_types(Section& section, std::string_view key, std::vector<std::string>& out) {
  Field field;
  const toml::node* node = section.lookup(key, field);
  if (node == nullptr) {
    return;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    section.wrong_type(field, key, *node, "an array of strings");
    return;
  }
  std::vector<std::string> types;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* value = element.as_string();
    const std::string element_key = std::string(key) + "[" + std::to_string(i) + "]";
    if (value == nullptr) {
      section.error(position_of(element.source()), element_key,
                    "expected a string, got " + std::string(describe(element.type())));
      continue;
    }
    std::string type = value->get();
    for (auto& c : type) {
      c = ascii_lower(c);
    }
    const auto slash = type.find('/');
    const std::string_view top = std::string_view(type).substr(0, slash);
    const std::string_view sub = slash == std::string::npos ? std::string_view() : std::string_view(type).substr(slash + 1);
    if (slash == std::string::npos || !mime_token(top) || (sub != "*" && !mime_token(sub))) {
      section.error(position_of(element.source()), element_key,
                    quote(value->get()) + " is not a MIME type; expected \"type/subtype\" or \"type/*\", such as \"image/*\"");
      continue;
    }
    if (std::find(types.begin(), types.end(), type) != types.end()) {
      section.error(position_of(element.source()), element_key, quote(value->get()) + " is listed twice");
      continue;
    }
    types.push_back(std::move(type));
  }
  out = std::move(types);
}

} // namespace

void Loader::read_upload(const toml::table* table, Config& config) {
  Section upload(*this, "upload", table);
  UploadConfig& u = config.upload;
  const Field enabled = upload.read_bool("enabled", u.enabled);
  const Field domain = upload.read_string("domain", u.domain, Section::Empty::allowed);
  upload.read_integer("max_file_size", u.max_file_size, 1, 64 * gib, Section::Unit::bytes);
  read_mime_types(upload, "allowed_types", u.allowed_types);
  upload.read_integer("expire_after_days", u.expire_after_days, 0, 36'500, Section::Unit::count, "0 keeps files for ever");
  const Field public_url = upload.read_string("public_url", u.public_url, Section::Empty::allowed);
  if (public_url.usable() && !u.public_url.empty()) {
    if (const auto problem = base_url_problem(u.public_url)) {
      upload.error(public_url.value, "public_url", *problem);
    }
  }
  upload.finish();
  if (!enabled.usable() || !domain.usable() || !u.enabled || u.domain.empty()) {
    // The default domain, upload.<first host>, is derived where the service starts.
    return;
  }
  if (const auto problem = host_problem(u.domain)) {
    upload.error(domain.value, "domain", quote(u.domain) + " " + *problem);
    return;
  }
  const auto same = [&](const std::string& other) { return iequals(other, u.domain); };
  if (std::any_of(config.hosts.begin(), config.hosts.end(), same)) {
    upload.error(domain.value, "domain", quote(u.domain) + " is also in [server] hosts; the upload service needs a domain of its own");
  } else if (std::any_of(config.gateways.begin(), config.gateways.end(),
                         [&](const GatewayConfig& g) { return same(g.domain); })) {
    upload.error(domain.value, "domain", quote(u.domain) + " is also a [[gateway]] domain; set [upload] domain to another one");
  } else if (config.muc.enabled &&
             (same(config.muc.domain) ||
              (config.muc.domain.empty() &&
               std::any_of(config.hosts.begin(), config.hosts.end(),
                           [&](const std::string& host) { return same("conference." + host); })))) {
    upload.error(domain.value, "domain", quote(u.domain) + " is also the [muc] domain; set [upload] domain to another one");
  }
}

void Loader::report_unknown() {
  std::vector<std::string_view> section_names;
  for (const Known& section : sections_) {
    section_names.push_back(section.name);
  }
  for (const Unknown& unknown : unknown_) {
    std::string message;
    if (unknown.section.empty() && unknown.is_table) {
      message = "unknown table [" + unknown.key + "]";
      if (const auto guess = nearest(unknown.key, section_names)) {
        message += "; did you mean [" + std::string(*guess) + "]?";
      }
    } else if (unknown.section.empty()) {
      message = "unknown top-level key " + quote(unknown.key);
      const std::string homes = homes_of(unknown.key, {});
      message += homes.empty() ? "; settings go inside a table such as [server]"
                               : "; it belongs in " + homes;
    } else {
      message = unknown.is_table
                    ? "unknown table [" + unknown.section + "." + unknown.key + "]"
                    : "unknown key " + quote(unknown.key) + " in [" + unknown.section + "]";
      const auto own = std::find_if(sections_.begin(), sections_.end(),
                                    [&](const Known& s) { return s.name == unknown.section; });
      std::optional<std::string_view> guess;
      if (own != sections_.end()) {
        guess = nearest(unknown.key, own->keys);
      }
      if (guess) {
        message += "; did you mean " + quote(*guess) + "?";
      } else if (const std::string homes = homes_of(unknown.key, unknown.section); !homes.empty()) {
        message += "; it belongs in " + homes;
      }
    }
    error(unknown.where, std::move(message));
  }
}

LoadResult failure(std::string_view source, Position where, std::string message) {
  LoadResult result;
  result.errors.push_back(
      ConfigError{std::string(source), where.line, where.column, std::move(message)});
  return result;
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// The whole file, or the reason it could not be read.
std::pair<std::string, std::string> read_file(const std::filesystem::path& path) {
  errno = 0;
  const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    return {{}, "cannot open file: " + std::generic_category().message(errno)};
  }
  std::string text;
  std::array<char, 64 * 1024> buffer{};
  for (;;) {
    const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
    text.append(buffer.data(), n);
    if (text.size() > max_file_bytes) {
      return {{},
              "cannot read file: larger than " +
                  format_bytes(static_cast<std::int64_t>(max_file_bytes))};
    }
    if (n < buffer.size()) {
      break;
    }
  }
  if (std::ferror(file.get())) {
    // Reading a directory fails here, with EISDIR.
    return {{}, "cannot read file: " + std::generic_category().message(errno)};
  }
  return {std::move(text), {}};
}

} // namespace

LoadResult load_string(std::string_view toml, std::string_view source_name) {
  try {
    toml::table root;
    try {
      root = toml::parse(toml, source_name);
    } catch (const toml::parse_error& e) {
      return failure(source_name, position_of(e.source()), std::string(e.description()));
    }
    Loader loader(source_name);
    return loader.load(root);
  } catch (const std::exception& e) {
    return failure(source_name, {}, std::string("cannot load configuration: ") + e.what());
  } catch (...) {
    return failure(source_name, {}, "cannot load configuration: unknown error");
  }
}

LoadResult load_file(const std::filesystem::path& path) {
  try {
    const std::string name = path.string();
    auto [text, problem] = read_file(path);
    if (!problem.empty()) {
      return failure(name, {}, std::move(problem));
    }
    return load_string(text, name);
  } catch (const std::exception& e) {
    return failure(path.native(), {}, std::string("cannot load configuration: ") + e.what());
  } catch (...) {
    return failure(path.native(), {}, "cannot load configuration: unknown error");
  }
}

const Config& embedded_default() {
  static const Config defaults{};
  return defaults;
}

} // namespace parley::config
