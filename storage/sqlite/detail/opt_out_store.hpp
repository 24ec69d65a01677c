#pragma once

#include "storage/opt_out_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::OptOutStore over SQLite; see the interface for the contract.
class OptOutStore final : public storage::OptOutStore {
public:
  explicit OptOutStore(Database& database) noexcept : database_(database) {}

  boost::system::result<bool> add(std::string_view domain, std::string_view address, std::string_view contact,
                                  std::string_view keyword, Timestamp now) override;
  boost::system::result<bool> remove(std::string_view domain, std::string_view address,
                                     std::string_view contact) override;
  boost::system::result<bool> contains(std::string_view domain, std::string_view address,
                                       std::string_view contact) override;
  boost::system::result<std::vector<OptOut>> list(std::string_view domain, std::string_view after_address,
                                                  std::string_view after_contact, std::size_t limit) override;
  boost::system::result<std::vector<std::string>> domains() override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
