#include "storage/sqlite/detail/hook_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <cassert>
#include <cstdint>

namespace parley::storage::sqlite::detail {

namespace {

// Every query that returns whole hooks selects the columns in this order, for hooks_from:
// domain, name, url, secret, github_signature, inbound_secret, recipient, template_name,
// created_us, updated_us.

std::int64_t micros(Timestamp time) noexcept {
  return static_cast<std::int64_t>(time.time_since_epoch().count());
}

Timestamp from_micros(std::int64_t value) noexcept {
  return Timestamp(std::chrono::microseconds(value));
}

boost::system::result<std::vector<StoredHook>> hooks_from(Statement& statement) {
  std::vector<StoredHook> hooks;
  for (;;) {
    auto row = statement.step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return hooks;
    }
    StoredHook hook;
    hook.domain = statement.column_text(0);
    hook.name = statement.column_text(1);
    hook.url = statement.column_text(2);
    hook.secret = statement.column_text(3);
    hook.github_signature = statement.column_int(4) != 0;
    hook.inbound_secret = statement.column_text(5);
    hook.recipient = statement.column_text(6);
    hook.template_name = statement.column_text(7);
    hook.created = from_micros(statement.column_int(8));
    hook.updated = from_micros(statement.column_int(9));
    hooks.push_back(std::move(hook));
  }
}

} // namespace

boost::system::result<void> HookStore::create(const StoredHook& hook) {
  assert(off_io_thread());
  if (hook.domain.empty() || hook.name.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    // A taken (domain, name) violates the primary key: conflict.
    auto statement = connection.prepare(
        "INSERT INTO webhooks(domain, name, url, secret, github_signature, inbound_secret, recipient, template_name, "
        "created_us, updated_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!statement) {
      return statement.error();
    }
    return statement->bind_text(1, hook.domain)
        .bind_text(2, hook.name)
        .bind_text(3, hook.url)
        .bind_text(4, hook.secret)
        .bind_int(5, hook.github_signature ? 1 : 0)
        .bind_text(6, hook.inbound_secret)
        .bind_text(7, hook.recipient)
        .bind_text(8, hook.template_name)
        .bind_int(9, micros(hook.created))
        .bind_int(10, micros(hook.updated))
        .run();
  });
}

boost::system::result<void> HookStore::update(const StoredHook& hook) {
  assert(off_io_thread());
  if (hook.domain.empty() || hook.name.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto statement = connection.prepare(
        "UPDATE webhooks SET url = ?3, secret = ?4, github_signature = ?5, inbound_secret = ?6, recipient = ?7, "
        "template_name = ?8, updated_us = ?9 WHERE domain = ?1 AND name = ?2");
    if (!statement) {
      return statement.error();
    }
    auto updated = statement->bind_text(1, hook.domain)
                       .bind_text(2, hook.name)
                       .bind_text(3, hook.url)
                       .bind_text(4, hook.secret)
                       .bind_int(5, hook.github_signature ? 1 : 0)
                       .bind_text(6, hook.inbound_secret)
                       .bind_text(7, hook.recipient)
                       .bind_text(8, hook.template_name)
                       .bind_int(9, micros(hook.updated))
                       .run();
    if (!updated) {
      return updated;
    }
    if (connection.changes() == 0) {
      return storage_errc::not_found;
    }
    return {};
  });
}

boost::system::result<StoredHook> HookStore::get(std::string_view domain, std::string_view name) {
  assert(off_io_thread());
  if (domain.empty() || name.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<StoredHook> {
    auto statement = connection.prepare("SELECT domain, name, url, secret, github_signature, inbound_secret, "
                                        "recipient, template_name, created_us, updated_us FROM webhooks "
                                        "WHERE domain = ?1 AND name = ?2");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, domain).bind_text(2, name);
    auto hooks = hooks_from(*statement);
    if (!hooks) {
      return hooks.error();
    }
    if (hooks->empty()) {
      return storage_errc::not_found;
    }
    return std::move(hooks->front());
  });
}

boost::system::result<std::vector<StoredHook>> HookStore::list(std::string_view domain) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<StoredHook>> {
    if (domain.empty()) {
      auto statement = connection.prepare("SELECT domain, name, url, secret, github_signature, inbound_secret, "
                                          "recipient, template_name, created_us, updated_us FROM webhooks "
                                          "ORDER BY domain, name");
      if (!statement) {
        return statement.error();
      }
      return hooks_from(*statement);
    }
    auto statement = connection.prepare("SELECT domain, name, url, secret, github_signature, inbound_secret, "
                                        "recipient, template_name, created_us, updated_us FROM webhooks "
                                        "WHERE domain = ?1 ORDER BY name");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, domain);
    return hooks_from(*statement);
  });
}

boost::system::result<void> HookStore::remove(std::string_view domain, std::string_view name) {
  assert(off_io_thread());
  if (domain.empty() || name.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto statement = connection.prepare("DELETE FROM webhooks WHERE domain = ?1 AND name = ?2");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, domain).bind_text(2, name).run(); !deleted) {
      return deleted;
    }
    if (connection.changes() == 0) {
      return storage_errc::not_found;
    }
    return {};
  });
}

} // namespace parley::storage::sqlite::detail
