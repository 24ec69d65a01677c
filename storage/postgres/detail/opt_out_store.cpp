#include "storage/postgres/detail/stores.hpp"
#include "storage/storage_errc.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace parley::storage::postgres::detail {

boost::system::result<bool> OptOutStore::add(std::string_view domain, std::string_view address,
                                             std::string_view contact, std::string_view keyword, Timestamp now) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || contact.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(domain).text(address).text(contact).integer(micros(now)).text(keyword);
    // DO NOTHING: a repeated STOP keeps the time and keyword of the first.
    auto rows = connection.exec("INSERT INTO opt_outs(domain, address, contact, created_us, keyword) "
                                "VALUES($1, $2, $3, $4, $5) ON CONFLICT(domain, address, contact) DO NOTHING",
                                params);
    if (!rows) {
      return {boost::system::in_place_error, rows.error()};
    }
    return rows->affected() == 1;
  });
}

boost::system::result<bool> OptOutStore::remove(std::string_view domain, std::string_view address,
                                                std::string_view contact) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || contact.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(domain).text(address).text(contact);
    auto deleted = connection.exec("DELETE FROM opt_outs WHERE domain = $1 AND address = $2 AND contact = $3", params);
    if (!deleted) {
      return {boost::system::in_place_error, deleted.error()};
    }
    return deleted->affected() == 1;
  });
}

boost::system::result<bool> OptOutStore::contains(std::string_view domain, std::string_view address,
                                                  std::string_view contact) {
  assert(off_io_thread());
  if (domain.empty() || address.empty() || contact.empty()) {
    return storage_errc::invalid_argument;
  }
  return database_.with_connection([&](Connection& connection) -> boost::system::result<bool> {
    Params params;
    params.text(domain).text(address).text(contact);
    auto rows = connection.exec("SELECT 1 FROM opt_outs WHERE domain = $1 AND address = $2 AND contact = $3", params);
    if (!rows) {
      return {boost::system::in_place_error, rows.error()};
    }
    return rows->size() > 0;
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
    Params params;
    params.text(domain).text(after_address).text(after_contact).integer(page_size);
    // A row comparison: an index seek in the primary key, whatever the page.
    auto rows = connection.exec("SELECT domain, address, contact, created_us, keyword FROM opt_outs "
                                "WHERE domain = $1 AND (address, contact) > ($2, $3) "
                                "ORDER BY address, contact LIMIT $4",
                                params);
    if (!rows) {
      return rows.error();
    }
    std::vector<OptOut> opt_outs;
    opt_outs.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      OptOut opt_out;
      opt_out.domain = rows->text(i, 0);
      opt_out.address = rows->text(i, 1);
      opt_out.contact = rows->text(i, 2);
      opt_out.created = from_micros(rows->integer(i, 3));
      opt_out.keyword = rows->text(i, 4);
      opt_outs.push_back(std::move(opt_out));
    }
    return opt_outs;
  });
}

boost::system::result<std::vector<std::string>> OptOutStore::domains() {
  assert(off_io_thread());
  return database_.with_connection([&](Connection& connection) -> boost::system::result<std::vector<std::string>> {
    auto rows = connection.exec("SELECT DISTINCT domain FROM opt_outs ORDER BY domain");
    if (!rows) {
      return rows.error();
    }
    std::vector<std::string> domains;
    domains.reserve(static_cast<std::size_t>(rows->size()));
    for (int i = 0; i < rows->size(); ++i) {
      domains.push_back(rows->text(i, 0));
    }
    return domains;
  });
}

} // namespace parley::storage::postgres::detail
