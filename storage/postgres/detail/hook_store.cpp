#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <cassert>

namespace parley::storage::postgres::detail {

namespace {

// Every query that returns whole hooks selects the columns in this order, for hooks_from:
// domain, name, url, secret, github_signature, inbound_secret, recipient, template_name,
// created_us, updated_us.

std::vector<StoredHook> hooks_from(const Rows& rows) {
  std::vector<StoredHook> hooks;
  hooks.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    StoredHook hook;
    hook.domain = rows.text(i, 0);
    hook.name = rows.text(i, 1);
    hook.url = rows.text(i, 2);
    hook.secret = rows.text(i, 3);
    hook.github_signature = rows.boolean(i, 4);
    hook.inbound_secret = rows.text(i, 5);
    hook.recipient = rows.text(i, 6);
    hook.template_name = rows.text(i, 7);
    hook.created = from_micros(rows.integer(i, 8));
    hook.updated = from_micros(rows.integer(i, 9));
    hooks.push_back(std::move(hook));
  }
  return hooks;
}

} // namespace

boost::system::result<void> HookStore::create(const StoredHook& hook) {
  assert(off_io_thread());
  if (hook.domain.empty() || hook.name.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(hook.domain)
        .text(hook.name)
        .text(hook.url)
        .text(hook.secret)
        .boolean(hook.github_signature)
        .text(hook.inbound_secret)
        .text(hook.recipient)
        .text(hook.template_name)
        .integer(micros(hook.created))
        .integer(micros(hook.updated));
    // A taken (domain, name) violates the primary key: conflict.
    auto inserted = connection.exec(
        "INSERT INTO webhooks(domain, name, url, secret, github_signature, inbound_secret, recipient, template_name, "
        "created_us, updated_us) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        params);
    if (!inserted) {
      return inserted.error();
    }
    return {};
  });
}

boost::system::result<void> HookStore::update(const StoredHook& hook) {
  assert(off_io_thread());
  if (hook.domain.empty() || hook.name.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(hook.domain)
        .text(hook.name)
        .text(hook.url)
        .text(hook.secret)
        .boolean(hook.github_signature)
        .text(hook.inbound_secret)
        .text(hook.recipient)
        .text(hook.template_name)
        .integer(micros(hook.updated));
    auto updated = connection.exec(
        "UPDATE webhooks SET url = $3, secret = $4, github_signature = $5, inbound_secret = $6, recipient = $7, "
        "template_name = $8, updated_us = $9 WHERE domain = $1 AND name = $2",
        params);
    if (!updated) {
      return updated.error();
    }
    if (updated->affected() == 0) {
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
    Params params;
    params.text(domain).text(name);
    auto rows = connection.exec("SELECT domain, name, url, secret, github_signature, inbound_secret, recipient, "
                                "template_name, created_us, updated_us FROM webhooks WHERE domain = $1 AND name = $2",
                                params);
    if (!rows) {
      return rows.error();
    }
    if (rows->size() == 0) {
      return storage_errc::not_found;
    }
    auto hooks = hooks_from(*rows);
    return std::move(hooks.front());
  });
}

boost::system::result<std::vector<StoredHook>> HookStore::list(std::string_view domain) {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<StoredHook>> {
    // Two statements rather than "$1 = '' OR domain = $1", which a generic plan could not
    // answer from the primary key.
    if (domain.empty()) {
      auto rows = connection.exec("SELECT domain, name, url, secret, github_signature, inbound_secret, recipient, "
                                  "template_name, created_us, updated_us FROM webhooks ORDER BY domain, name");
      if (!rows) {
        return rows.error();
      }
      return hooks_from(*rows);
    }
    Params params;
    params.text(domain);
    auto rows = connection.exec("SELECT domain, name, url, secret, github_signature, inbound_secret, recipient, "
                                "template_name, created_us, updated_us FROM webhooks WHERE domain = $1 ORDER BY name",
                                params);
    if (!rows) {
      return rows.error();
    }
    return hooks_from(*rows);
  });
}

boost::system::result<void> HookStore::remove(std::string_view domain, std::string_view name) {
  assert(off_io_thread());
  if (domain.empty() || name.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(domain).text(name);
    auto deleted = connection.exec("DELETE FROM webhooks WHERE domain = $1 AND name = $2", params);
    if (!deleted) {
      return deleted.error();
    }
    if (deleted->affected() == 0) {
      return storage_errc::not_found;
    }
    return {};
  });
}

} // namespace parley::storage::postgres::detail
