#include "gateways/sms/reassembly.hpp"

#include <algorithm>

namespace parley::gateways::sms {

Reassembler::Reassembler(Limits limits) : limits_(limits) {
  limits_.max_pending_sets = std::max<std::size_t>(limits_.max_pending_sets, 1);
}

boost::system::result<Reassembler::Outcome> Reassembler::add(std::string_view source, const ConcatInfo& concat,
                                                             std::string_view payload, Clock::time_point now) {
  if (!is_valid(concat)) {
    return sms_errc::invalid_concat;
  }
  if (payload.size() + source.size() > limits_.max_pending_bytes) {
    return sms_errc::part_too_large;
  }
  if (concat.total == 1) {
    return Outcome{Status::complete, std::string(payload)};
  }
  Key key{std::string(source), concat.reference, concat.total};
  forget_completed(now);
  if (completed_.contains(key)) {
    return Outcome{Status::duplicate, {}};
  }
  auto it = sets_.find(key);
  const std::size_t index = concat.sequence - 1u;
  if (it != sets_.end() && it->second.parts[index]) {
    return Outcome{Status::duplicate, {}};
  }

  // Make room, oldest set first. That may be this very set, which then starts again with
  // this part: a sender this slow under this much load loses its earlier parts.
  std::size_t needed = payload.size() + (it == sets_.end() ? source.size() : 0);
  while (!sets_.empty() && (bytes_ + needed > limits_.max_pending_bytes ||
                            (it == sets_.end() && sets_.size() >= limits_.max_pending_sets))) {
    const auto oldest = by_age_.begin()->second;
    if (oldest == it) {
      it = sets_.end();
      needed = payload.size() + source.size();
    }
    erase(oldest);
    ++evicted_;
  }

  if (it == sets_.end()) {
    Set fresh;
    fresh.first_seen = now;
    fresh.serial = next_serial_++;
    fresh.parts.resize(concat.total);
    fresh.bytes = source.size();
    it = sets_.emplace(std::move(key), std::move(fresh)).first;
    by_age_.emplace(it->second.serial, it);
    bytes_ += source.size();
  }
  Set& set = it->second;
  set.parts[index] = std::string(payload);
  ++set.received;
  set.bytes += payload.size();
  bytes_ += payload.size();
  if (set.received < set.parts.size()) {
    return Outcome{Status::pending, {}};
  }

  Outcome done{Status::complete, {}};
  done.payload.reserve(set.bytes);
  for (const auto& part : set.parts) {
    done.payload += *part;
  }
  remember_completed(it->first, now);
  erase(it);
  return done;
}

std::vector<Reassembler::Incomplete> Reassembler::expire(Clock::time_point now) {
  forget_completed(now);
  std::vector<Incomplete> expired;
  while (!by_age_.empty()) {
    const auto it = by_age_.begin()->second;
    if (now - it->second.first_seen < limits_.timeout) {
      break;
    }
    Incomplete& incomplete = expired.emplace_back();
    incomplete.source = it->first.source;
    incomplete.reference = it->first.reference;
    incomplete.total = it->first.total;
    for (std::size_t i = 0; i < it->second.parts.size(); ++i) {
      if (auto& part = it->second.parts[i]) {
        incomplete.parts.emplace_back(static_cast<std::uint8_t>(i + 1), std::move(*part));
      }
    }
    erase(it);
  }
  return expired;
}

bool Reassembler::release(std::string_view source, std::uint16_t reference, std::uint8_t total) {
  // The queue entry stays and is skipped as stale when it comes up (its time no longer matches).
  return completed_.erase(Key{std::string(source), reference, total}) > 0;
}

void Reassembler::remember_completed(const Key& key, Clock::time_point now) {
  if (limits_.duplicate_window <= Clock::duration::zero()) {
    return;
  }
  completed_.insert_or_assign(key, now);
  completed_order_.emplace_back(now, key);
  // Bounding the queue bounds the map too: each remembered key has an entry in it.
  while (completed_order_.size() > limits_.max_pending_sets) {
    // Oldest first; an entry whose key completed again later is stale and just goes.
    const auto& [when, old] = completed_order_.front();
    if (const auto found = completed_.find(old); found != completed_.end() && found->second == when) {
      completed_.erase(found);
    }
    completed_order_.pop_front();
  }
}

void Reassembler::forget_completed(Clock::time_point now) {
  while (!completed_order_.empty() && now - completed_order_.front().first >= limits_.duplicate_window) {
    const auto& [when, old] = completed_order_.front();
    if (const auto found = completed_.find(old); found != completed_.end() && found->second == when) {
      completed_.erase(found);
    }
    completed_order_.pop_front();
  }
}

void Reassembler::erase(Sets::iterator it) {
  bytes_ -= it->second.bytes;
  by_age_.erase(it->second.serial);
  sets_.erase(it);
}

} // namespace parley::gateways::sms
