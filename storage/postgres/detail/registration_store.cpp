#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace parley::storage::postgres::detail {

namespace {

// Reads the columns domain, address, owner, created_us, in that order.
std::vector<Registration> registrations_from(const Rows& rows) {
  std::vector<Registration> registrations;
  registrations.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    Registration registration;
    registration.domain = rows.text(i, 0);
    registration.address = rows.text(i, 1);
    registration.owner = rows.text(i, 2);
    registration.created = from_micros(rows.integer(i, 3));
    registrations.push_back(std::move(registration));
  }
  return registrations;
}

std::vector<std::string> texts_from(const Rows& rows) {
  std::vector<std::string> texts;
  texts.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    texts.push_back(rows.text(i, 0));
  }
  return texts;
}

} // namespace

boost::system::result<bool> RegistrationStore::assign(std::string_view domain, std::string_view address,
                                                      std::string_view owner, Timestamp now) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(domain).text(address).text(owner).integer(micros(now));
    auto rows = connection.exec("INSERT INTO registrations(domain, address, owner, created_us) "
                                "VALUES($1, $2, $3, $4) ON CONFLICT(domain, address, owner) DO NOTHING",
                                params);
    if (!rows) {
      return {boost::system::in_place_error, rows.error()};
    }
    return rows->affected() == 1;
  });
}

boost::system::result<void> RegistrationStore::unassign(std::string_view domain, std::string_view address,
                                                        std::string_view owner) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<void> {
    Params params;
    params.text(domain).text(address).text(owner);
    auto deleted =
        connection.exec("DELETE FROM registrations WHERE domain = $1 AND address = $2 AND owner = $3", params);
    if (!deleted) {
      return deleted.error();
    }
    if (deleted->affected() == 0) {
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
    Params params;
    params.text(domain).text(address);
    auto rows =
        connection.exec("SELECT owner FROM registrations WHERE domain = $1 AND address = $2 ORDER BY owner", params);
    if (!rows) {
      return rows.error();
    }
    return texts_from(*rows);
  });
}

boost::system::result<std::vector<Registration>> RegistrationStore::of_owner(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<Registration>> {
    Params params;
    params.text(owner);
    auto rows = connection.exec("SELECT domain, address, owner, created_us FROM registrations "
                                "WHERE owner = $1 ORDER BY domain, address",
                                params);
    if (!rows) {
      return rows.error();
    }
    return registrations_from(*rows);
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
    Params params;
    params.text(domain).text(after_address).text(after_owner).integer(page_size);
    // A row comparison: an index seek in the primary key, whatever the page.
    auto rows = connection.exec("SELECT domain, address, owner, created_us FROM registrations "
                                "WHERE domain = $1 AND (address, owner) > ($2, $3) "
                                "ORDER BY address, owner LIMIT $4",
                                params);
    if (!rows) {
      return rows.error();
    }
    return registrations_from(*rows);
  });
}

boost::system::result<std::size_t> RegistrationStore::remove_owner(std::string_view owner) {
  assert(off_io_thread());
  if (owner.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::size_t> {
    Params params;
    params.text(owner);
    auto deleted = connection.exec("DELETE FROM registrations WHERE owner = $1", params);
    if (!deleted) {
      return deleted.error();
    }
    return static_cast<std::size_t>(deleted->affected());
  });
}

boost::system::result<std::vector<std::string>> RegistrationStore::domains() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto rows = connection.exec("SELECT DISTINCT domain FROM registrations ORDER BY domain");
    if (!rows) {
      return rows.error();
    }
    return texts_from(*rows);
  });
}

} // namespace parley::storage::postgres::detail
