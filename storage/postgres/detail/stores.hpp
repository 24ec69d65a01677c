#pragma once
// The stores of the PostgreSQL backend; see the interfaces for their contracts.

#include "storage/postgres/detail/database.hpp"
#include "storage/storage.hpp"

#include <boost/system/result.hpp>

#include <condition_variable>
#include <mutex>
#include <vector>

#include <string_view>

namespace parley::storage::postgres::detail {

/// invalid_argument for an empty username; not_found unless `username` is a user. With
/// `lock`, also takes the user's row lock until the transaction ends (serializing the writes
/// of one user that must follow each other, like offline pushes and roster versions).
boost::system::result<void> require_user(Connection& connection, std::string_view username, bool lock = false);

class UserStore final : public storage::UserStore {
public:
  explicit UserStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> create_user(std::string_view username,
                                          const std::vector<ScramCredentials>& credentials) override;
  boost::system::result<void> set_credentials(std::string_view username,
                                              const std::vector<ScramCredentials>& credentials) override;
  boost::system::result<ScramCredentials> get_credentials(std::string_view username,
                                                          std::string_view mechanism) override;
  boost::system::result<std::vector<ScramCredentials>> list_credentials(std::string_view username) override;
  boost::system::result<bool> user_exists(std::string_view username) override;
  boost::system::result<void> delete_user(std::string_view username) override;
  boost::system::result<std::vector<std::string>> list_users(std::string_view after, std::size_t limit) override;
  boost::system::result<std::uint64_t> count_users() override;

private:
  Database& database_;
};

class RosterStore final : public storage::RosterStore {
public:
  explicit RosterStore(Database& database) noexcept : database_(database) {}

  boost::system::result<Roster> get_roster(std::string_view username) override;
  boost::system::result<RosterVersion> get_version(std::string_view username) override;
  boost::system::result<RosterItem> get_item(std::string_view username, std::string_view jid) override;
  boost::system::result<RosterVersion> upsert_item(std::string_view username, const RosterItem& item) override;
  boost::system::result<RosterVersion> remove_item(std::string_view username, std::string_view jid) override;
  boost::system::result<void> replace_roster(std::string_view username, const Roster& roster) override;
  boost::system::result<std::vector<std::string>> subscribers(std::string_view username) override;
  boost::system::result<std::vector<std::string>> subscriptions(std::string_view username) override;
  boost::system::result<std::vector<std::string>> pending_in(std::string_view username) override;

private:
  boost::system::result<std::vector<std::string>> jids_where(std::string_view username, std::string_view sql);
  Database& database_;
};

class OfflineStore final : public storage::OfflineStore {
public:
  explicit OfflineStore(Database& database) noexcept : database_(database) {}

  /// One push waiting for its commit.
  struct PushRequest {
    std::string_view username;
    std::string_view stanza;
    Timestamp timestamp;
    std::size_t quota = 0;
    const DeliveryKey* once = nullptr;
    boost::system::result<OfflineMessageId> outcome{boost::system::in_place_error, boost::system::error_code{}};
    bool done = false;
  };

  boost::system::result<OfflineMessageId> push(std::string_view username, std::string_view stanza,
                                               Timestamp timestamp, std::size_t quota,
                                               const DeliveryKey* once = nullptr) override;
  boost::system::result<std::vector<OfflineMessage>> list(std::string_view username) override;
  boost::system::result<std::size_t> remove(std::string_view username, OfflineMessageId up_to) override;
  boost::system::result<std::size_t> count(std::string_view username) override;
  boost::system::result<std::size_t> purge(std::string_view username) override;

private:
  /// Commits `batch` in one pipeline (one round trip, one WAL flush) and fills in each outcome.
  void push_batch(std::vector<PushRequest*>& batch);
  void push_one(PushRequest& request);

  Database& database_;
  // Group commit: pushes that arrive while another thread commits wait, and go together in the
  // next commit. Each returns only once the commit holding its message is acknowledged.
  std::mutex mutex_;
  std::condition_variable committed_;
  std::vector<PushRequest*> waiting_; // guarded by mutex_
  bool committing_ = false;           // guarded by mutex_
};

class WorkQueue final : public storage::WorkQueue {
public:
  explicit WorkQueue(Database& database) noexcept : database_(database) {}

  boost::system::result<Enqueued> enqueue(std::string_view queue, std::string_view key, std::string_view payload,
                                          Timestamp now, Timestamp due) override;
  boost::system::result<std::vector<WorkItem>> claim(std::string_view queue, std::string_view owner, Timestamp now,
                                                     std::chrono::microseconds lease, std::size_t limit) override;
  boost::system::result<void> complete(WorkItemId id, std::string_view owner, Timestamp now) override;
  boost::system::result<void> retry(WorkItemId id, std::string_view owner, Timestamp now, Timestamp due,
                                    std::string_view error) override;
  boost::system::result<void> bury(WorkItemId id, std::string_view owner, Timestamp now,
                                   std::string_view error) override;
  boost::system::result<void> revive(WorkItemId id, Timestamp now) override;
  boost::system::result<WorkItem> get(WorkItemId id) override;
  boost::system::result<std::vector<WorkItem>> list(std::string_view queue, WorkState state, WorkItemId after,
                                                    std::size_t limit) override;
  boost::system::result<std::uint64_t> count(std::string_view queue, WorkState state) override;
  boost::system::result<std::size_t> purge(std::string_view queue, WorkState state, Timestamp before) override;
  boost::system::result<std::vector<std::string>> queues() override;
  boost::system::result<void> add_event(WorkItemId id, Timestamp at, std::string_view event,
                                        std::string_view detail) override;
  boost::system::result<std::vector<WorkEvent>> events(WorkItemId id) override;
  boost::system::result<void> restore(const WorkItem& item) override;

private:
  /// claimed -> `to` for complete, retry and bury, recording `event` (detail: `error`).
  boost::system::result<void> finish(WorkItemId id, std::string_view owner, Timestamp now, WorkState to, Timestamp due,
                                     std::string_view error, std::string_view event);
  Database& database_;
};

class SeenStore final : public storage::SeenStore {
public:
  explicit SeenStore(Database& database) noexcept : database_(database) {}

  boost::system::result<bool> remember(std::string_view scope, std::string_view key, std::string_view value,
                                       Timestamp now) override;
  boost::system::result<std::string> lookup(std::string_view scope, std::string_view key) override;
  boost::system::result<std::size_t> forget_before(Timestamp before) override;

private:
  Database& database_;
};

class TokenStore final : public storage::TokenStore {
public:
  explicit TokenStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> create(const ApiToken& token) override;
  boost::system::result<ApiToken> get(std::string_view id) override;
  boost::system::result<std::vector<ApiToken>> list() override;
  boost::system::result<void> revoke(std::string_view id) override;

private:
  Database& database_;
};

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

class HookStore final : public storage::HookStore {
public:
  explicit HookStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> create(const StoredHook& hook) override;
  boost::system::result<void> update(const StoredHook& hook) override;
  boost::system::result<StoredHook> get(std::string_view domain, std::string_view name) override;
  boost::system::result<std::vector<StoredHook>> list(std::string_view domain) override;
  boost::system::result<void> remove(std::string_view domain, std::string_view name) override;

private:
  Database& database_;
};

class RoomStore final : public storage::RoomStore {
public:
  explicit RoomStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> put(const StoredRoom& room) override;
  boost::system::result<StoredRoom> get(std::string_view service, std::string_view room) override;
  boost::system::result<std::vector<StoredRoom>> list(std::string_view service) override;
  boost::system::result<void> remove(std::string_view service, std::string_view room) override;

private:
  /// The rooms of `service` (every room when empty), or the one room (service, room).
  boost::system::result<std::vector<StoredRoom>> select(std::string_view service, std::string_view room);
  Database& database_;
};

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

class BlockStore final : public storage::BlockStore {
public:
  explicit BlockStore(Database& database) noexcept : database_(database) {}

  boost::system::result<bool> block(std::string_view user, std::string_view jid, Timestamp now) override;
  boost::system::result<bool> unblock(std::string_view user, std::string_view jid) override;
  boost::system::result<std::size_t> unblock_all(std::string_view user) override;
  boost::system::result<std::vector<std::string>> blocked(std::string_view user) override;
  boost::system::result<std::vector<std::string>> users(std::string_view after, std::size_t limit) override;

private:
  Database& database_;
};

class ArchiveStore final : public storage::ArchiveStore {
public:
  explicit ArchiveStore(Database& database) noexcept : database_(database) {}

  boost::system::result<void> append(std::span<const ArchiveEntry> entries) override;
  boost::system::result<ArchivePage> query(const ArchiveQuery& query) override;
  boost::system::result<std::size_t> count(std::string_view owner) override;
  boost::system::result<std::size_t> remove_before(Timestamp before) override;
  boost::system::result<std::size_t> remove_owner(std::string_view owner) override;
  boost::system::result<ArchivePrefs> prefs(std::string_view owner) override;
  boost::system::result<void> set_prefs(std::string_view owner, const ArchivePrefs& prefs) override;
  boost::system::result<std::vector<std::string>> owners(std::string_view after, std::size_t limit) override;

private:
  Database& database_;
};

class PrivateStore final : public storage::PrivateStore {
public:
  explicit PrivateStore(Database& database) noexcept : database_(database) {}

  boost::system::result<std::string> get(std::string_view user, std::string_view key) override;
  boost::system::result<void> put(std::string_view user, std::string_view key, std::string_view xml,
                                  Timestamp now) override;
  boost::system::result<bool> remove(std::string_view user, std::string_view key) override;
  boost::system::result<std::size_t> remove_user(std::string_view user) override;
  boost::system::result<std::vector<std::string>> keys(std::string_view user) override;
  boost::system::result<std::vector<std::string>> users(std::string_view after, std::size_t limit) override;

private:
  Database& database_;
};

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

class PostgresStorage final : public Storage {
public:
  explicit PostgresStorage(Options options)
      : database_(std::move(options)), users_(database_), roster_(database_), offline_(database_), work_(database_),
        seen_(database_), tokens_(database_), registrations_(database_), hooks_(database_), rooms_(database_),
        opt_outs_(database_), blocks_(database_), archive_(database_), private_xml_(database_), pep_(database_) {}

  Database& database() noexcept { return database_; }

  storage::UserStore& users() override { return users_; }
  storage::RosterStore& roster() override { return roster_; }
  storage::OfflineStore& offline() override { return offline_; }
  storage::WorkQueue& work() override { return work_; }
  storage::SeenStore& seen() override { return seen_; }
  storage::TokenStore& tokens() override { return tokens_; }
  storage::RegistrationStore& registrations() override { return registrations_; }
  storage::HookStore& hooks() override { return hooks_; }
  storage::RoomStore& rooms() override { return rooms_; }
  storage::OptOutStore& opt_outs() override { return opt_outs_; }
  storage::BlockStore& blocks() override { return blocks_; }
  storage::ArchiveStore& archive() override { return archive_; }
  storage::PrivateStore& private_xml() override { return private_xml_; }
  storage::PepStore& pep() override { return pep_; }
  std::string_view backend_name() const noexcept override { return "postgres"; }
  boost::system::result<void> ping() override {
    return database_.with_connection([](Connection& connection) -> boost::system::result<void> {
      auto rows = connection.exec("SELECT 1");
      if (!rows) {
        return rows.error();
      }
      return {};
    });
  }

private:
  Database database_;
  UserStore users_;
  RosterStore roster_;
  OfflineStore offline_;
  WorkQueue work_;
  SeenStore seen_;
  TokenStore tokens_;
  RegistrationStore registrations_;
  HookStore hooks_;
  RoomStore rooms_;
  OptOutStore opt_outs_;
  BlockStore blocks_;
  ArchiveStore archive_;
  PrivateStore private_xml_;
  PepStore pep_;
};

inline std::int64_t micros(Timestamp t) noexcept {
  return static_cast<std::int64_t>(t.time_since_epoch().count());
}

inline Timestamp from_micros(std::int64_t us) noexcept {
  return Timestamp(std::chrono::microseconds(us));
}

} // namespace parley::storage::postgres::detail
