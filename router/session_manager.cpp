#include "router/session_manager.hpp"

namespace parley::router {

std::shared_ptr<Session> SessionManager::bind(const std::shared_ptr<Session>& session) {
  const auto& jid = session->jid();
  std::lock_guard lock(mutex_);
  auto& list = by_bare_[std::string(jid.bare_string())];
  for (auto& entry : list) {
    if (entry.resource == jid.resource()) {
      auto old = entry.session.lock();
      entry = ResourceState{};
      entry.resource = std::string(jid.resource());
      entry.session = session;
      return old;
    }
  }
  ResourceState state;
  state.resource = std::string(jid.resource());
  state.session = session;
  list.push_back(std::move(state));
  ++count_;
  return nullptr;
}

bool SessionManager::replace(const Session& old, const std::shared_ptr<Session>& now) {
  const auto& jid = now->jid();
  std::lock_guard lock(mutex_);
  auto it = by_bare_.find(std::string(jid.bare_string()));
  if (it == by_bare_.end()) {
    return false;
  }
  for (auto& e : it->second) {
    if (e.resource == jid.resource()) {
      auto current = e.session.lock();
      if (current && current.get() != &old) {
        return false;
      }
      e.session = now;
      return true;
    }
  }
  return false;
}

std::optional<ResourceState> SessionManager::unbind(const Session& session) {
  const auto& jid = session.jid();
  std::lock_guard lock(mutex_);
  auto it = by_bare_.find(std::string(jid.bare_string()));
  if (it == by_bare_.end()) {
    return std::nullopt;
  }
  auto& list = it->second;
  for (auto e = list.begin(); e != list.end(); ++e) {
    if (e->resource == jid.resource()) {
      auto locked = e->session.lock();
      // A replaced session must not remove its successor.
      if (locked && locked.get() != &session) {
        return std::nullopt;
      }
      ResourceState out = std::move(*e);
      list.erase(e);
      --count_;
      if (list.empty()) {
        by_bare_.erase(it);
      }
      return out;
    }
  }
  return std::nullopt;
}

std::vector<ResourceState> SessionManager::resources(const core::jid::Jid& bare) const {
  std::lock_guard lock(mutex_);
  auto it = by_bare_.find(std::string(bare.bare_string()));
  if (it == by_bare_.end()) {
    return {};
  }
  return it->second;
}

std::shared_ptr<Session> SessionManager::find(const core::jid::Jid& full) const {
  std::lock_guard lock(mutex_);
  auto it = by_bare_.find(std::string(full.bare_string()));
  if (it == by_bare_.end()) {
    return nullptr;
  }
  for (const auto& e : it->second) {
    if (e.resource == full.resource()) {
      return e.session.lock();
    }
  }
  return nullptr;
}

bool SessionManager::has_resources(const core::jid::Jid& bare) const {
  std::lock_guard lock(mutex_);
  return by_bare_.contains(std::string(bare.bare_string()));
}

bool SessionManager::set_presence(const Session& session, std::optional<core::xml::Element> available_presence,
                                  std::int8_t priority) {
  const auto& jid = session.jid();
  std::lock_guard lock(mutex_);
  auto it = by_bare_.find(std::string(jid.bare_string()));
  if (it == by_bare_.end()) {
    return false;
  }
  for (auto& e : it->second) {
    if (e.resource == jid.resource() && e.session.lock().get() == &session) {
      e.available = available_presence.has_value();
      e.priority = priority;
      e.presence = std::move(available_presence);
      return true;
    }
  }
  return false;
}

bool SessionManager::set_interested(const Session& session) {
  const auto& jid = session.jid();
  std::lock_guard lock(mutex_);
  auto it = by_bare_.find(std::string(jid.bare_string()));
  if (it == by_bare_.end()) {
    return false;
  }
  for (auto& e : it->second) {
    if (e.resource == jid.resource() && e.session.lock().get() == &session) {
      e.interested = true;
      return true;
    }
  }
  return false;
}

bool SessionManager::set_carbons(const Session& session, bool enabled) {
  const auto& jid = session.jid();
  std::lock_guard lock(mutex_);
  auto it = by_bare_.find(std::string(jid.bare_string()));
  if (it == by_bare_.end()) {
    return false;
  }
  for (auto& e : it->second) {
    if (e.resource == jid.resource() && e.session.lock().get() == &session) {
      e.carbons = enabled;
      return true;
    }
  }
  return false;
}

void SessionManager::note_directed(const Session& session, const std::string& jid, bool add) {
  const auto& me = session.jid();
  std::lock_guard lock(mutex_);
  auto it = by_bare_.find(std::string(me.bare_string()));
  if (it == by_bare_.end()) {
    return;
  }
  for (auto& e : it->second) {
    if (e.resource == me.resource() && e.session.lock().get() == &session) {
      std::erase(e.directed, jid);
      if (add && e.directed.size() < 1000) {
        e.directed.push_back(jid);
      }
      return;
    }
  }
}

std::vector<std::string> SessionManager::take_directed(const Session& session) {
  const auto& me = session.jid();
  std::lock_guard lock(mutex_);
  auto it = by_bare_.find(std::string(me.bare_string()));
  if (it == by_bare_.end()) {
    return {};
  }
  for (auto& e : it->second) {
    if (e.resource == me.resource() && e.session.lock().get() == &session) {
      return std::exchange(e.directed, {});
    }
  }
  return {};
}

std::vector<std::shared_ptr<Session>> SessionManager::all() const {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard lock(mutex_);
  out.reserve(count_);
  for (const auto& [bare, list] : by_bare_) {
    for (const auto& e : list) {
      if (auto s = e.session.lock()) {
        out.push_back(std::move(s));
      }
    }
  }
  return out;
}

std::size_t SessionManager::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

} // namespace parley::router
