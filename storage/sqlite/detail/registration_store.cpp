#include "storage/sqlite/detail/registration_store.hpp"

#include "storage/sqlite/detail/database.hpp"
#include "storage/sqlite/detail/thread_check.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

namespace parley::storage::sqlite::detail {

namespace {

// Reads the columns domain, address, owner, created_us, in that order, up to the last row.
boost::system::result<std::vector<Registration>> registrations_from(Statement& statement) {
  std::vector<Registration> registrations;
  for (;;) {
    auto row = statement.step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return registrations;
    }
    Registration registration;
    registration.domain = statement.column_text(0);
    registration.address = statement.column_text(1);
    registration.owner = statement.column_text(2);
    registration.created = Timestamp(std::chrono::microseconds(statement.column_int(3)));
    registrations.push_back(std::move(registration));
  }
}

// The first column of every row.
boost::system::result<std::vector<std::string>> texts_from(Statement& statement) {
  std::vector<std::string> texts;
  for (;;) {
    auto row = statement.step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return texts;
    }
    texts.push_back(statement.column_text(0));
  }
}

} // namespace

boost::system::result<bool> RegistrationStore::assign(std::string_view domain, std::string_view address,
                                                      std::string_view owner, Timestamp now) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<bool> {
    auto statement = connection.prepare("INSERT INTO registrations(domain, address, owner, created_us) "
                                        "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(domain, address, owner) DO NOTHING");
    if (!statement) {
      return {boost::system::in_place_error, statement.error()};
    }
    auto inserted = statement->bind_text(1, domain)
                        .bind_text(2, address)
                        .bind_text(3, owner)
                        .bind_int(4, static_cast<std::int64_t>(now.time_since_epoch().count()))
                        .run();
    if (!inserted) {
      return {boost::system::in_place_error, inserted.error()};
    }
    return connection.changes() == 1;
  });
}

boost::system::result<void> RegistrationStore::unassign(std::string_view domain, std::string_view address,
                                                        std::string_view owner) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<void> {
    auto statement = connection.prepare("DELETE FROM registrations WHERE domain = ?1 AND address = ?2 AND owner = ?3");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, domain).bind_text(2, address).bind_text(3, owner).run(); !deleted) {
      return deleted;
    }
    if (connection.changes() == 0) {
      return storage_errc::not_found;
    }
    return {};
  });
}

boost::system::result<std::vector<std::string>> RegistrationStore::owners(std::string_view domain,
                                                                          std::string_view address) {
  assert(off_io_thread());
  if (domain.empty() || address.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto statement =
        connection.prepare("SELECT owner FROM registrations WHERE domain = ?1 AND address = ?2 ORDER BY owner");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, domain).bind_text(2, address);
    return texts_from(*statement);
  });
}

boost::system::result<std::vector<Registration>> RegistrationStore::of_owner(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<Registration>> {
    auto statement = connection.prepare("SELECT domain, address, owner, created_us FROM registrations "
                                        "WHERE owner = ?1 ORDER BY domain, address");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, owner);
    return registrations_from(*statement);
  });
}

boost::system::result<std::vector<Registration>> RegistrationStore::list(std::string_view domain,
                                                                         std::string_view after_address,
                                                                         std::string_view after_owner,
                                                                         std::size_t limit) {
  assert(off_io_thread());
  if (domain.empty() || limit == 0) {
    return storage_errc::invalid_argument;
  }
  const auto page_size = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<Registration>> {
    // A row value comparison: a seek in the primary key, whatever the page.
    auto statement = connection.prepare("SELECT domain, address, owner, created_us FROM registrations "
                                        "WHERE domain = ?1 AND (address, owner) > (?2, ?3) "
                                        "ORDER BY address, owner LIMIT ?4");
    if (!statement) {
      return statement.error();
    }
    statement->bind_text(1, domain).bind_text(2, after_address).bind_text(3, after_owner).bind_int(4, page_size);
    return registrations_from(*statement);
  });
}

boost::system::result<std::size_t> RegistrationStore::remove_owner(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.write([&](Connection& connection) -> boost::system::result<std::size_t> {
    auto statement = connection.prepare("DELETE FROM registrations WHERE owner = ?1");
    if (!statement) {
      return statement.error();
    }
    if (auto deleted = statement->bind_text(1, owner).run(); !deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(connection.changes());
  });
}

boost::system::result<std::vector<std::string>> RegistrationStore::domains() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto statement = connection.prepare("SELECT DISTINCT domain FROM registrations ORDER BY domain");
    if (!statement) {
      return statement.error();
    }
    return texts_from(*statement);
  });
}

} // namespace parley::storage::sqlite::detail
