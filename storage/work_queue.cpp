#include "storage/work_queue.hpp"

namespace parley::storage {

std::string_view to_string(WorkState state) noexcept {
  switch (state) {
  case WorkState::pending: return "pending";
  case WorkState::claimed: return "claimed";
  case WorkState::done: return "done";
  case WorkState::dead: return "dead";
  }
  return "pending";
}

std::optional<WorkState> parse_work_state(std::string_view text) noexcept {
  for (auto candidate : {WorkState::pending, WorkState::claimed, WorkState::done, WorkState::dead}) {
    if (to_string(candidate) == text) {
      return candidate;
    }
  }
  return std::nullopt;
}

} // namespace parley::storage
