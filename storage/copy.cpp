#include "storage/copy.hpp"

#include "storage/storage_errc.hpp"

#include <chrono>
#include <limits>
#include <string>
#include <vector>

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
          // restore records no event; the timeline follows its item, in its order.
          auto events = from.work().events(item.id);
          if (!events) {
            return events.error();
          }
          for (const auto& event : *events) {
            if (auto added = to.work().add_event(item.id, event.at, event.event, event.detail); !added) {
              return added;
            }
          }
          counts.work_events += events->size();
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

boost::system::result<void> copy_tokens(Storage& from, Storage& to, CopyCounts& counts) {
  auto tokens = from.tokens().list();
  if (!tokens) {
    return tokens.error();
  }
  for (const auto& token : *tokens) {
    if (auto created = to.tokens().create(token); !created) {
      return created;
    }
  }
  counts.tokens += tokens->size();
  return {};
}

boost::system::result<void> copy_registrations(Storage& from, Storage& to, CopyCounts& counts) {
  auto domains = from.registrations().domains();
  if (!domains) {
    return domains.error();
  }
  for (const auto& domain : *domains) {
    std::string after_address;
    std::string after_owner;
    for (;;) {
      auto registrations = from.registrations().list(domain, after_address, after_owner, page);
      if (!registrations) {
        return registrations.error();
      }
      for (const auto& registration : *registrations) {
        auto assigned = to.registrations().assign(registration.domain, registration.address, registration.owner,
                                                  registration.created);
        if (!assigned) {
          return assigned.error();
        }
      }
      counts.registrations += registrations->size();
      if (registrations->size() < page) {
        break;
      }
      after_address = registrations->back().address;
      after_owner = registrations->back().owner;
    }
  }
  return {};
}

boost::system::result<void> copy_hooks(Storage& from, Storage& to, CopyCounts& counts) {
  auto hooks = from.hooks().list({});
  if (!hooks) {
    return hooks.error();
  }
  for (const auto& hook : *hooks) {
    if (auto created = to.hooks().create(hook); !created) {
      return created;
    }
  }
  counts.hooks += hooks->size();
  return {};
}

boost::system::result<void> copy_rooms(Storage& from, Storage& to, CopyCounts& counts) {
  auto rooms = from.rooms().list({});
  if (!rooms) {
    return rooms.error();
  }
  for (const auto& room : *rooms) {
    if (auto stored = to.rooms().put(room); !stored) {
      return stored;
    }
  }
  counts.rooms += rooms->size();
  return {};
}

boost::system::result<void> copy_opt_outs(Storage& from, Storage& to, CopyCounts& counts) {
  auto domains = from.opt_outs().domains();
  if (!domains) {
    return domains.error();
  }
  for (const auto& domain : *domains) {
    std::string after_address;
    std::string after_contact;
    for (;;) {
      auto opt_outs = from.opt_outs().list(domain, after_address, after_contact, page);
      if (!opt_outs) {
        return opt_outs.error();
      }
      for (const auto& opt_out : *opt_outs) {
        auto added =
            to.opt_outs().add(opt_out.domain, opt_out.address, opt_out.contact, opt_out.keyword, opt_out.created);
        if (!added) {
          return added.error();
        }
      }
      counts.opt_outs += opt_outs->size();
      if (opt_outs->size() < page) {
        break;
      }
      after_address = opt_outs->back().address;
      after_contact = opt_outs->back().contact;
    }
  }
  return {};
}

boost::system::result<void> copy_blocks(Storage& from, Storage& to, CopyCounts& counts) {
  // BlockStore reads back no times: every entry gets the time of the copy.
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  std::string after;
  for (;;) {
    auto users = from.blocks().users(after, page);
    if (!users) {
      return users.error();
    }
    for (const auto& user : *users) {
      auto jids = from.blocks().blocked(user);
      if (!jids) {
        return jids.error();
      }
      for (const auto& jid : *jids) {
        if (auto blocked = to.blocks().block(user, jid, now); !blocked) {
          return blocked.error();
        }
      }
      counts.blocks += jids->size();
    }
    if (users->size() < page) {
      break;
    }
    after = users->back();
  }
  return {};
}

boost::system::result<void> copy_archives(Storage& from, Storage& to, CopyCounts& counts) {
  std::string after;
  for (;;) {
    auto owners = from.archive().owners(after, page);
    if (!owners) {
      return owners.error();
    }
    for (const auto& owner : *owners) {
      // Page by page in archive order, each page one append: the target's order is the source's.
      ArchiveQuery query;
      query.owner = owner;
      query.max = page;
      for (;;) {
        auto found = from.archive().query(query);
        if (!found) {
          return found.error();
        }
        std::vector<ArchiveEntry> entries;
        entries.reserve(found->messages.size());
        for (auto& message : found->messages) {
          entries.push_back(ArchiveEntry{owner, std::move(message)});
        }
        if (auto appended = to.archive().append(entries); !appended) {
          return appended;
        }
        counts.archived += entries.size();
        if (found->complete || entries.empty()) {
          break;
        }
        query.after_ids = {entries.back().message.id};
      }
      auto prefs = from.archive().prefs(owner);
      if (prefs) {
        if (auto stored = to.archive().set_prefs(owner, *prefs); !stored) {
          return stored;
        }
        ++counts.archive_prefs;
      } else if (prefs.error() != storage_errc::not_found) {
        return prefs.error();
      }
    }
    if (owners->size() < page) {
      break;
    }
    after = owners->back();
  }
  return {};
}

boost::system::result<void> copy_private_xml(Storage& from, Storage& to, CopyCounts& counts) {
  // PrivateStore reads back no times: every fragment gets the time of the copy.
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  std::string after;
  for (;;) {
    auto users = from.private_xml().users(after, page);
    if (!users) {
      return users.error();
    }
    for (const auto& user : *users) {
      auto keys = from.private_xml().keys(user);
      if (!keys) {
        return keys.error();
      }
      for (const auto& key : *keys) {
        auto xml = from.private_xml().get(user, key);
        if (!xml) {
          return xml.error();
        }
        if (auto put = to.private_xml().put(user, key, *xml, now); !put) {
          return put;
        }
      }
      counts.private_xml += keys->size();
    }
    if (users->size() < page) {
      break;
    }
    after = users->back();
  }
  return {};
}

boost::system::result<void> copy_pep(Storage& from, Storage& to, CopyCounts& counts) {
  // PepStore reads back no node creation times: a node without items gets the time of the copy.
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  std::string after;
  for (;;) {
    auto owners = from.pep().users(after, page);
    if (!owners) {
      return owners.error();
    }
    for (const auto& owner : *owners) {
      auto nodes = from.pep().nodes(owner);
      if (!nodes) {
        return nodes.error();
      }
      for (const auto& node : *nodes) {
        auto items = from.pep().items(owner, node.name, 0);
        if (!items) {
          return items.error();
        }
        if (items->empty()) {
          if (auto created = to.pep().create_node(owner, node.name, node.config, now); !created) {
            return created;
          }
        }
        // Oldest first, each to the newest end: the target's order is the source's. max_items
        // is the whole node, so that none is trimmed on the way; the first creates the node with
        // its configuration.
        for (auto item = items->rbegin(); item != items->rend(); ++item) {
          if (auto published = to.pep().publish(owner, node.name, node.config, *item, items->size()); !published) {
            return published.error();
          }
        }
        counts.pep_items += items->size();
      }
      counts.pep_nodes += nodes->size();
    }
    if (owners->size() < page) {
      break;
    }
    after = owners->back();
  }
  return {};
}

// conflict unless `to` holds nothing that a copy could merge with.
boost::system::result<void> require_empty(Storage& to) {
  auto users = to.users().count_users();
  if (!users) {
    return users.error();
  }
  auto queues = to.work().queues();
  if (!queues) {
    return queues.error();
  }
  auto tokens = to.tokens().list();
  if (!tokens) {
    return tokens.error();
  }
  auto domains = to.registrations().domains();
  if (!domains) {
    return domains.error();
  }
  auto hooks = to.hooks().list({});
  if (!hooks) {
    return hooks.error();
  }
  auto rooms = to.rooms().list({});
  if (!rooms) {
    return rooms.error();
  }
  auto opt_out_domains = to.opt_outs().domains();
  if (!opt_out_domains) {
    return opt_out_domains.error();
  }
  auto blocking = to.blocks().users("", 1);
  if (!blocking) {
    return blocking.error();
  }
  auto archives = to.archive().owners("", 1);
  if (!archives) {
    return archives.error();
  }
  auto private_users = to.private_xml().users("", 1);
  if (!private_users) {
    return private_users.error();
  }
  auto pep_users = to.pep().users("", 1);
  if (!pep_users) {
    return pep_users.error();
  }
  if (*users != 0 || !queues->empty() || !tokens->empty() || !domains->empty() || !hooks->empty() || !rooms->empty() ||
      !opt_out_domains->empty() || !blocking->empty() || !archives->empty() || !private_users->empty() ||
      !pep_users->empty()) {
    return storage_errc::conflict;
  }
  return {};
}

} // namespace

boost::system::result<CopyCounts> copy_all(Storage& from, Storage& to,
                                           const std::function<void(std::string_view)>& progress) {
  if (auto empty = require_empty(to); !empty) {
    return empty.error();
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
  for (auto* copy_concern : {&copy_work, &copy_tokens, &copy_registrations, &copy_hooks, &copy_rooms, &copy_opt_outs,
                             &copy_blocks, &copy_archives, &copy_private_xml, &copy_pep}) {
    if (auto copied = copy_concern(from, to, counts); !copied) {
      return copied.error();
    }
  }
  return counts;
}

} // namespace parley::storage
