#include "gateways/sms/delivery_receipt.hpp"

#include <array>
#include <charconv>

namespace parley::gateways::sms {
namespace {

enum class Field { id, sub, dlvrd, submit_date, done_date, stat, err, text };

struct Key {
  std::string_view name; // without the colon
  Field field;
};

// Matched with the colon that follows, so "sub" never matches the start of "submit date".
constexpr std::array<Key, 10> keys = {{
    {"id", Field::id},
    {"sub", Field::sub},
    {"dlvrd", Field::dlvrd},
    {"submit date", Field::submit_date},
    {"submit_date", Field::submit_date},
    {"done date", Field::done_date},
    {"done_date", Field::done_date},
    {"stat", Field::stat},
    {"err", Field::err},
    {"text", Field::text},
}};

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

// The key that starts at `at` followed by ':', if any.
const Key* key_at(std::string_view text, std::size_t at) noexcept {
  for (const Key& key : keys) {
    if (text.size() - at > key.name.size() && text[at + key.name.size()] == ':' &&
        iequals(text.substr(at, key.name.size()), key.name)) {
      return &key;
    }
  }
  return nullptr;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<std::uint32_t> number(std::string_view s) noexcept {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return value;
}

} // namespace

std::optional<MessageState> message_state_from_stat(std::string_view stat) noexcept {
  static constexpr std::array<std::pair<std::string_view, MessageState>, 8> states = {{
      {"ENROUTE", MessageState::enroute},
      {"DELIVRD", MessageState::delivered},
      {"EXPIRED", MessageState::expired},
      {"DELETED", MessageState::deleted},
      {"UNDELIV", MessageState::undeliverable},
      {"ACCEPTD", MessageState::accepted},
      {"UNKNOWN", MessageState::unknown},
      {"REJECTD", MessageState::rejected},
  }};
  for (const auto& [name, state] : states) {
    if (iequals(stat, name)) {
      return state;
    }
  }
  return std::nullopt;
}

boost::system::result<DeliveryReceipt> parse_delivery_receipt(std::string_view text) {
  // Find every key that starts the text or follows whitespace; each value runs up to the
  // next key. text: ends the scan, since the message text may contain "id:" itself.
  struct Found {
    const Key* key;
    std::size_t key_start;
    std::size_t value_start;
  };
  std::array<Found, 16> found{};
  std::size_t count = 0;
  for (std::size_t at = 0; at < text.size() && count < found.size(); ++at) {
    if (at > 0 && text[at - 1] != ' ' && text[at - 1] != '\t' && text[at - 1] != '\n' && text[at - 1] != '\r') {
      continue;
    }
    const Key* key = key_at(text, at);
    if (key == nullptr) {
      continue;
    }
    found[count++] = Found{key, at, at + key->name.size() + 1};
    if (key->field == Field::text) {
      break;
    }
    at += key->name.size();
  }

  DeliveryReceipt receipt;
  bool have_id = false;
  bool have_stat = false;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t end = i + 1 < count ? found[i + 1].key_start : text.size();
    const std::string_view raw = text.substr(found[i].value_start, end - found[i].value_start);
    const std::string_view value = trim(raw);
    switch (found[i].key->field) {
    case Field::id:
      receipt.id = value;
      have_id = !value.empty();
      break;
    case Field::sub: receipt.submitted = number(value); break;
    case Field::dlvrd: receipt.delivered = number(value); break;
    case Field::submit_date: receipt.submit_date = value; break;
    case Field::done_date: receipt.done_date = value; break;
    case Field::stat:
      receipt.stat = value;
      receipt.state = message_state_from_stat(value);
      have_stat = !value.empty();
      break;
    case Field::err: receipt.err = value; break;
    case Field::text:
      // Only the separator after the colon goes; the message's own spacing stays.
      receipt.text = !raw.empty() && raw.front() == ' ' ? raw.substr(1) : raw;
      break;
    }
  }
  if (!have_id || !have_stat) {
    return smpp_errc::malformed_receipt;
  }
  return receipt;
}

} // namespace parley::gateways::sms
