#include "storage/sqlite/detail/opt_out_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

namespace parley::storage::sqlite::detail {

boost::system::result<bool> OptOutStore::add(std::string_view domain, std::string_view address,
                                             std::string_view contact, std::string_view keyword, Timestamp now) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || contact.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<bool> {
    // DO NOTHING: a repeated STOP keeps the time and keyword of the first.
    auto statement = connection.prepare("INSERT INTO opt_outs(domain, address, contact, created_us, keyword) "
                                        "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(domain, address, contact) DO NOTHING");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    auto inserted = statement->bind_text(1, domain)
                        .bind_text(2, address)
                        .bind_text(3, contact)
                        .bind_int(4, static_cast<std::int64_t>(now.time_since_epoch().count()))
                        .bind_text(5, keyword)
                        .run();
    if (!inserted) {
      return {boost::system::in_place_error, inserted.error()};
    }
    return connection.changes() == 1;
  });
}

boost::system::result<bool> OptOutStore::remove(std::string_view domain, std::string_view address,
                                                std::string_view contact) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || contact.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<bool> {
    auto statement = connection.prepare("DELETE FROM opt_outs WHERE domain = ?1 AND address = ?2 AND contact = ?3");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    if (auto deleted = statement->bind_text(1, domain).bind_text(2, address).bind_text(3, contact).run(); !deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    return connection.changes() == 1;
  });
}

boost::system::result<bool> OptOutStore::contains(std::string_view domain, std::string_view address,
                                                  std::string_view contact) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || contact.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    auto statement = connection.prepare("SELECT 1 FROM opt_outs WHERE domain = ?1 AND address = ?2 AND contact = ?3");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    return statement->bind_text(1, domain).bind_text(2, address).bind_text(3, contact).step();
  });
}

boost::system::result<std::vector<OptOut>> OptOutStore::list(std::string_view domain, std::string_view after_address,
                                                             std::string_view after_contact, std::size_t limit) {
  assert(off_io_thread());
  if (domain.empty() || limit == 0) {
    return storage_errc::invalid_argument;
  }
  const auto page_size = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<OptOut>> {
    // A row value comparison: a seek in the primary key, whatever the page.
    auto statement = connection.prepare("SELECT domain, address, contact, created_us, keyword FROM opt_outs "
                                        "WHERE domain = ?1 AND (address, contact) > (?2, ?3) "
                                        "ORDER BY address, contact LIMIT ?4");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, domain).bind_text(2, after_address).bind_text(3, after_contact).bind_int(4, page_size);
    std::vector<OptOut> opt_outs;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return opt_outs;
      }
      OptOut opt_out;
      opt_out.domain = statement->column_text(0);
      opt_out.address = statement->column_text(1);
      opt_out.contact = statement->column_text(2);
      opt_out.created = Timestamp(std::chrono::microseconds(statement->column_int(3)));
      opt_out.keyword = statement->column_text(4);
      opt_outs.push_back(std::move(opt_out));
    }
  });
}

boost::system::result<std::vector<std::string>> OptOutStore::domains() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto statement = connection.prepare("SELECT DISTINCT domain FROM opt_outs ORDER BY domain");
    if (!statement) {
      return statement.error();
    }
    std::vector<std::string> domains;
    for (;;) {
      auto row = statement->step();
      if (!row) {
        return row.error();
      }
      if (!*row) {
        return domains;
      }
      domains.push_back(statement->column_text(0));
    }
  });
}

} // namespace parley::storage::sqlite::detail
