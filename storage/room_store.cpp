#include "storage/room_store.hpp"

namespace parley::storage {

std::string_view to_string(Affiliation affiliation) noexcept {
  switch (affiliation) {
  case Affiliation::outcast: return "outcast";
  case Affiliation::none: return "none";
  case Affiliation::member: return "member";
  case Affiliation::admin: return "admin";
  case Affiliation::owner: return "owner";
  }
  return "none";
}

std::string_view to_string(Whois whois) noexcept {
  return whois == Whois::anyone ? "anyone" : "moderators";
}

std::string_view to_string(AllowPm allow) noexcept {
  switch (allow) {
  case AllowPm::anyone: return "anyone";
  case AllowPm::participants: return "participants";
  case AllowPm::moderators: return "moderators";
  case AllowPm::none: return "none";
  }
  return "anyone";
}

std::optional<Affiliation> parse_affiliation(std::string_view name) noexcept {
  for (auto candidate :
       {Affiliation::outcast, Affiliation::none, Affiliation::member, Affiliation::admin, Affiliation::owner}) {
    if (to_string(candidate) == name) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::optional<Whois> parse_whois(std::string_view name) noexcept {
  for (auto candidate : {Whois::moderators, Whois::anyone}) {
    if (to_string(candidate) == name) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::optional<AllowPm> parse_allow_pm(std::string_view name) noexcept {
  for (auto candidate : {AllowPm::anyone, AllowPm::participants, AllowPm::moderators, AllowPm::none}) {
    if (to_string(candidate) == name) {
      return candidate;
    }
  }
  return std::nullopt;
}

} // namespace parley::storage
