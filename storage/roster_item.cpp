#include "storage/roster_item.hpp"

namespace parley::storage {

std::string_view to_string(Subscription subscription) noexcept {
  switch (subscription) {
  case Subscription::none: return "none";
  case Subscription::to: return "to";
  case Subscription::from: return "from";
  case Subscription::both: return "both";
  }
  return "none";
}

std::optional<Subscription> parse_subscription(std::string_view text) noexcept {
  for (auto candidate : {Subscription::none, Subscription::to, Subscription::from, Subscription::both}) {
    if (to_string(candidate) == text) {
      return candidate;
    }
  }
  return std::nullopt;
}

} // namespace parley::storage
