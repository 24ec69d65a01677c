#pragma once

#include "storage/registration_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::RegistrationStore over SQLite; see the interface for the contract.
class RegistrationStore final : public storage::RegistrationStore {
public:
  explicit RegistrationStore(Database& database) noexcept : database_(database) {}

  boost::system::result<bool> assign(std::string_view domain, std::string_view address, std::string_view owner,
                                     Timestamp now) override;
  boost::system::result<void> unassign(std::string_view domain, std::string_view address,
                                       std::string_view owner) override;
  boost::system::result<std::vector<std::string>> owners(std::string_view domain, std::string_view address) override;
  boost::system::result<std::vector<Registration>> of_owner(std::string_view owner) override;
  boost::system::result<std::vector<Registration>> list(std::string_view domain, std::string_view after_address,
                                                        std::string_view after_owner, std::size_t limit) override;
  boost::system::result<std::size_t> remove_owner(std::string_view owner) override;
  boost::system::result<std::vector<std::string>> domains() override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
