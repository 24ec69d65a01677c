#pragma once

#include "storage/pep_store.hpp"

namespace parley::storage::sqlite::detail {

class Database;

/// storage::PepStore over SQLite; see the interface for the contract.
class PepStore final : public storage::PepStore {
public:
  explicit PepStore(Database& database) noexcept : database_(database) {}

  boost::system::result<std::vector<PepNode>> nodes(std::string_view owner) override;
  boost::system::result<PepNode> node(std::string_view owner, std::string_view node) override;
  boost::system::result<void> create_node(std::string_view owner, std::string_view node, std::string_view config,
                                          Timestamp now) override;
  boost::system::result<void> configure_node(std::string_view owner, std::string_view node,
                                             std::string_view config) override;
  boost::system::result<bool> delete_node(std::string_view owner, std::string_view node) override;
  boost::system::result<bool> publish(std::string_view owner, std::string_view node, std::string_view config_if_new,
                                      const PepItem& item, std::size_t max_items) override;
  boost::system::result<bool> retract(std::string_view owner, std::string_view node, std::string_view item_id) override;
  boost::system::result<std::size_t> purge(std::string_view owner, std::string_view node) override;
  boost::system::result<std::vector<PepItem>> items(std::string_view owner, std::string_view node,
                                                    std::size_t max) override;
  boost::system::result<std::vector<PepItem>> items_by_id(std::string_view owner, std::string_view node,
                                                          std::span<const std::string> ids) override;
  boost::system::result<std::vector<PepLastItem>> last_items(std::span<const std::string> owners) override;
  boost::system::result<std::size_t> remove_user(std::string_view owner) override;
  boost::system::result<std::vector<std::string>> users(std::string_view after, std::size_t limit) override;

private:
  Database& database_;
};

} // namespace parley::storage::sqlite::detail
