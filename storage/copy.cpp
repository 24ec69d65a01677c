#include "storage/copy.hpp"

#include "storage/storage_errc.hpp"

#include <limits>

namespace parley::storage {

namespace {

constexpr std::size_t page = 500;

boost::system::result<void> copy_user(Storage& from, Storage& to, const std::string& name, CopyCounts& counts) {
  auto credentials = from.users().list_credentials(name);
  if (!credentials) {
    return credentials.error();
  }
  if (auto created = to.users().create_user(name, *credentials); !created) {
    return created;
  }
  counts.credentials += credentials->size();

  auto roster = from.roster().get_roster(name);
  if (!roster) {
    return roster.error();
  }
  if (auto replaced = to.roster().replace_roster(name, *roster); !replaced) {
    return replaced;
  }
  counts.roster_items += roster->items.size();

  auto messages = from.offline().list(name);
  if (!messages) {
    return messages.error();
  }
  for (const auto& message : *messages) {
    // No quota here: what the source held, the target holds.
    auto pushed = to.offline().push(name, message.stanza, message.timestamp, std::numeric_limits<std::size_t>::max());
    if (!pushed) {
      return pushed.error();
    }
  }
  counts.offline_messages += messages->size();
  return {};
}

boost::system::result<void> copy_work(Storage& from, Storage& to, CopyCounts& counts) {
  auto queues = from.work().queues();
  if (!queues) {
    return queues.error();
  }
  for (const auto& queue : *queues) {
    for (const WorkState state : {WorkState::pending, WorkState::claimed, WorkState::done, WorkState::dead}) {
      WorkItemId after = 0;
      for (;;) {
        auto items = from.work().list(queue, state, after, page);
        if (!items) {
          return items.error();
        }
        for (const auto& item : *items) {
          if (auto restored = to.work().restore(item); !restored) {
            return restored;
          }
          after = item.id;
        }
        counts.work_items += items->size();
        if (items->size() < page) {
          break;
        }
      }
    }
  }
  return {};
}

} // namespace

boost::system::result<CopyCounts> copy_all(Storage& from, Storage& to,
                                           const std::function<void(std::string_view)>& progress) {
  auto existing_users = to.users().count_users();
  if (!existing_users) {
    return existing_users.error();
  }
  auto existing_queues = to.work().queues();
  if (!existing_queues) {
    return existing_queues.error();
  }
  if (*existing_users != 0 || !existing_queues->empty()) {
    return storage_errc::conflict;
  }
  CopyCounts counts;
  std::string after;
  for (;;) {
    auto names = from.users().list_users(after, page);
    if (!names) {
      return names.error();
    }
    for (const auto& name : *names) {
      if (auto copied = copy_user(from, to, name, counts); !copied) {
        return copied.error();
      }
      ++counts.users;
      if (progress) {
        progress(name);
      }
    }
    if (names->size() < page) {
      break;
    }
    after = names->back();
  }
  if (auto copied = copy_work(from, to, counts); !copied) {
    return copied.error();
  }
  return counts;
}

} // namespace parley::storage
