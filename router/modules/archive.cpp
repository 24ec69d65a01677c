#include "router/modules/archive.hpp"

#include "core/async/worker_pool.hpp"
#include "core/stanza/stanza_error.hpp"
#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "core/xml/serializer.hpp"
#include "router/modules/data_form.hpp"
#include "router/modules/time_format.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace parley::router::modules {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::jid::Jid;
using core::stanza::stanza_errc;
using core::xml::Element;

namespace {

constexpr std::string_view rsm_ns = "http://jabber.org/protocol/rsm";
/// Most entries one transaction writes.
constexpr std::size_t max_batch = 512;
/// The page size when the client names none.
constexpr std::size_t default_page = 50;

storage::Timestamp now() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

std::string_view mode_name(config::ArchiveDefault mode) {
  switch (mode) {
  case config::ArchiveDefault::never:
    return "never";
  case config::ArchiveDefault::roster:
    return "roster";
  case config::ArchiveDefault::always:
    break;
  }
  return "always";
}

Element error(const Element& iq, stanza_errc condition, std::string_view text = {}) {
  return core::stanza::make_error(iq, condition, text);
}

std::optional<std::size_t> parse_count(std::string_view text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

/// The JIDs of an <always/> or <never/> list, as bare JIDs, sorted and unique; nullopt when one
/// is not a JID.
std::optional<std::vector<std::string>> jid_list(const Element* list) {
  std::vector<std::string> out;
  if (list == nullptr) {
    return out;
  }
  for (const Element& item : list->children("jid", ns::mam)) {
    auto jid = Jid::parse(item.text());
    if (!jid) {
      return std::nullopt;
    }
    out.emplace_back(jid->bare_string());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Element prefs_element(const storage::ArchivePrefs& prefs) {
  Element out("prefs", std::string(ns::mam));
  out.set_attribute("default", prefs.default_mode);
  auto& always = out.add_child(Element("always", std::string(ns::mam)));
  for (const auto& jid : prefs.always) {
    always.add_child(Element("jid", std::string(ns::mam))).add_text(jid);
  }
  auto& never = out.add_child(Element("never", std::string(ns::mam)));
  for (const auto& jid : prefs.never) {
    never.add_child(Element("jid", std::string(ns::mam))).add_text(jid);
  }
  return out;
}

stanza_errc condition_of(const boost::system::error_code& ec) {
  if (ec == storage::storage_errc::not_found) {
    return stanza_errc::item_not_found;
  }
  if (ec == storage::storage_errc::invalid_argument) {
    return stanza_errc::bad_request;
  }
  return stanza_errc::internal_server_error;
}

} // namespace

// ---- the group commit -------------------------------------------------------------------

/// Entries are numbered as they are recorded; `committed` counts those whose batch has been
/// written (or has failed). A waiter waits for the number recorded when it arrived.
struct MessageArchive::Writer : std::enable_shared_from_this<Writer> {
  Writer(storage::Storage& db, core::async::WorkerPool& pool) : storage(db), workers(pool) {}

  struct Waiter {
    std::uint64_t target;
    std::function<void(bool)> done;
  };

  storage::Storage& storage;
  core::async::WorkerPool& workers;
  std::mutex mutex;
  std::vector<storage::ArchiveEntry> queue;
  std::vector<Waiter> waiters;
  std::uint64_t recorded = 0;
  std::uint64_t committed = 0;
  bool running = false;

  void record(storage::ArchiveEntry entry) {
    std::unique_lock lock(mutex);
    queue.push_back(std::move(entry));
    ++recorded;
    start(lock);
  }

  void wait(std::function<void(bool)> done) {
    std::unique_lock lock(mutex);
    if (recorded == committed) {
      lock.unlock();
      done(true);
      return;
    }
    waiters.push_back(Waiter{recorded, std::move(done)});
    start(lock);
  }

  void start(std::unique_lock<std::mutex>& lock) {
    if (running) {
      return;
    }
    running = true;
    lock.unlock();
    workers.post([self = shared_from_this()] { self->drain(); });
  }

  /// On a worker thread, one at a time: writes batches until the queue is empty.
  void drain() {
    for (;;) {
      std::vector<storage::ArchiveEntry> batch;
      {
        std::lock_guard lock(mutex);
        if (queue.empty()) {
          running = false;
          return;
        }
        if (queue.size() <= max_batch) {
          batch.swap(queue);
        } else {
          batch.assign(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.begin() + max_batch));
          queue.erase(queue.begin(), queue.begin() + max_batch);
        }
      }
      const auto written = storage.archive().append(batch);
      if (!written) {
        spdlog::warn("archive: cannot store {} message(s): {}", batch.size(), written.error().message());
      }
      std::vector<Waiter> done;
      {
        std::lock_guard lock(mutex);
        committed += batch.size();
        auto split = std::partition(waiters.begin(), waiters.end(),
                                    [&](const Waiter& w) { return w.target > committed; });
        done.assign(std::make_move_iterator(split), std::make_move_iterator(waiters.end()));
        waiters.erase(split, waiters.end());
      }
      for (auto& waiter : done) {
        waiter.done(written.has_value());
      }
    }
  }
};

struct MessageArchive::PrefsCache {
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<const storage::ArchivePrefs>> entries;
};

MessageArchive::MessageArchive(const config::ArchiveConfig& config, storage::Storage& storage,
                               core::async::WorkerPool& workers)
    : config_(config), storage_(storage), workers_(workers), writer_(std::make_shared<Writer>(storage, workers)),
      prefs_(std::make_unique<PrefsCache>()) {}

MessageArchive::~MessageArchive() = default;

void MessageArchive::record(std::string owner, std::string id, std::string with, const Element& stanza) {
  storage::ArchiveEntry entry;
  entry.owner = std::move(owner);
  entry.message.id = std::move(id);
  entry.message.timestamp = now();
  entry.message.with = std::move(with);
  entry.message.stanza = core::xml::serialize(stanza, ns::client);
  writer_->record(std::move(entry));
}

asio::awaitable<bool> MessageArchive::flush() {
  auto writer = writer_;
  auto initiate = [writer](auto handler) {
    auto ex = asio::get_associated_executor(handler);
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    writer->wait([shared, ex](bool ok) { asio::post(ex, [shared, ok]() mutable { std::move (*shared)(ok); }); });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(bool)>(initiate, asio::use_awaitable);
}

asio::awaitable<storage::ArchivePrefs> MessageArchive::prefs_of(std::string owner) {
  {
    std::lock_guard lock(prefs_->mutex);
    if (auto it = prefs_->entries.find(owner); it != prefs_->entries.end()) {
      co_return *it->second;
    }
  }
  auto job = [this, owner] { return storage_.archive().prefs(owner); };
  auto loaded = co_await workers_.run(std::move(job));
  storage::ArchivePrefs prefs;
  prefs.default_mode = std::string(mode_name(config_.default_mode));
  if (loaded) {
    prefs = std::move(*loaded);
  } else if (loaded.error() != storage::storage_errc::not_found) {
    // Not cached: the next message asks again.
    spdlog::warn("archive: cannot read the preferences of {}: {}", owner, loaded.error().message());
    co_return prefs;
  }
  // try_emplace: a preferences set that landed while this read ran wins.
  std::lock_guard lock(prefs_->mutex);
  co_return *prefs_->entries.try_emplace(owner, std::make_shared<const storage::ArchivePrefs>(prefs)).first->second;
}

asio::awaitable<bool> MessageArchive::wanted(Jid owner, Jid with) {
  const std::string bare(with.bare_string());
  const storage::ArchivePrefs prefs = co_await prefs_of(std::string(owner.bare_string()));
  // XEP-0313 §6.1: the never list wins over the always list, which wins over the default.
  if (std::binary_search(prefs.never.begin(), prefs.never.end(), bare)) {
    co_return false;
  }
  if (std::binary_search(prefs.always.begin(), prefs.always.end(), bare)) {
    co_return true;
  }
  if (prefs.default_mode == "never") {
    co_return false;
  }
  if (prefs.default_mode != "roster") {
    co_return true;
  }
  const std::string user(owner.local());
  auto job = [this, user, bare] { return storage_.roster().get_item(user, bare); };
  auto item = co_await workers_.run(std::move(job));
  co_return item && (item->subscription != storage::Subscription::none || item->ask_subscribe || !item->pending_in);
}

asio::awaitable<std::vector<Element>> MessageArchive::answer(Element iq, std::string owner, std::string results_from,
                                                            bool room) {
  std::vector<Element> out;
  const std::string_view type = iq.attribute("type").value_or("");
  const Element* payload = iq.first_child();
  if (type != "get" && type != "set") {
    co_return out; // results and errors are nobody's business here
  }
  if (payload == nullptr || payload->ns() != ns::mam) {
    out.push_back(error(iq, stanza_errc::bad_request));
    co_return out;
  }
  if (payload->name() == "query" && type == "set") {
    co_return co_await answer_query(iq, *payload, std::move(owner), std::move(results_from), room);
  }
  if (payload->name() == "query" && type == "get") {
    // XEP-0313 §5.1.1: the fields this archive understands.
    auto result = core::stanza::make_result(iq);
    auto& query = result.add_child(Element("query", std::string(ns::mam)));
    Element form = make_form("form");
    add_field(form, "FORM_TYPE", "hidden", {}, {std::string(ns::mam)});
    add_field(form, "with", "jid-single", {});
    add_field(form, "start", "text-single", {});
    add_field(form, "end", "text-single", {});
    add_field(form, "before-id", "text-single", {});
    add_field(form, "after-id", "text-single", {});
    add_field(form, "ids", "text-multi", {});
    query.add_child(std::move(form));
    out.push_back(std::move(result));
    co_return out;
  }
  if (payload->name() == "prefs" && !room) {
    co_return co_await answer_prefs(iq, *payload, std::move(owner));
  }
  if (payload->name() == "metadata" && type == "get") {
    co_return co_await answer_metadata(iq, std::move(owner));
  }
  out.push_back(error(iq, stanza_errc::feature_not_implemented));
  co_return out;
}

asio::awaitable<std::vector<Element>> MessageArchive::answer_query(const Element& iq, const Element& payload,
                                                                  std::string owner, std::string results_from,
                                                                  bool room) {
  std::vector<Element> out;
  const std::string queryid(payload.attribute("queryid").value_or(""));
  storage::ArchiveQuery query;
  query.owner = owner;
  query.max = std::min<std::size_t>(default_page, config_.max_page);
  bool filtered = false;
  if (const Element* x = payload.child("x", ns::data_forms)) {
    const DataForm form = DataForm::parse(*x);
    if (!form.type().empty() && form.type() != "submit") {
      out.push_back(error(iq, stanza_errc::bad_request, "the query form must be of type submit"));
      co_return out;
    }
    if (const std::string form_type = form.form_type(); !form_type.empty() && form_type != ns::mam) {
      out.push_back(error(iq, stanza_errc::bad_request, "unsupported FORM_TYPE " + form_type));
      co_return out;
    }
    for (const std::string& var : form.vars()) {
      const auto value = form.value(var).value_or("");
      if (var == "FORM_TYPE") {
        continue;
      }
      filtered = true;
      if (var == "with") {
        auto jid = Jid::parse(value);
        if (!jid) {
          out.push_back(error(iq, stanza_errc::jid_malformed, "'with' is not a JID"));
          co_return out;
        }
        // A user's archive keeps the other party's bare JID; a room's, the occupant JID.
        query.with = room ? jid->full() : std::string(jid->bare_string());
      } else if (var == "start" || var == "end") {
        const auto at = parse_datetime(value);
        if (!at) {
          out.push_back(error(iq, stanza_errc::bad_request, "'" + var + "' is not an XEP-0082 date and time"));
          co_return out;
        }
        (var == "start" ? query.start : query.end) = *at;
      } else if (var == "after-id" || var == "before-id") {
        if (!value.empty()) {
          (var == "after-id" ? query.after_ids : query.before_ids).push_back(value);
        }
      } else if (var == "ids") {
        query.ids = form.values(var);
        if (query.ids.empty()) {
          out.push_back(error(iq, stanza_errc::bad_request, "'ids' needs at least one id"));
          co_return out;
        }
      } else {
        out.push_back(error(iq, stanza_errc::bad_request, "unsupported field " + var));
        co_return out;
      }
    }
  }
  // XEP-0059 paging.
  if (const Element* set = payload.child("set", rsm_ns)) {
    if (const Element* max = set->child("max", rsm_ns)) {
      const auto wanted = parse_count(max->text());
      if (!wanted) {
        out.push_back(error(iq, stanza_errc::bad_request, "<max/> must be a number"));
        co_return out;
      }
      query.max = std::min<std::size_t>(*wanted, config_.max_page);
    }
    if (const Element* after = set->child("after", rsm_ns)) {
      if (const std::string id = after->text(); !id.empty()) {
        query.after_ids.push_back(id);
      }
    }
    if (const Element* before = set->child("before", rsm_ns)) {
      // <before/> empty: the last page; <before>ID</before>: the page before that message.
      query.from_end = true;
      if (const std::string id = before->text(); !id.empty()) {
        query.before_ids.push_back(id);
      }
    }
    if (set->child("index", rsm_ns) != nullptr) {
      out.push_back(error(iq, stanza_errc::feature_not_implemented, "paging by index is not supported"));
      co_return out;
    }
  }
  const bool flip = payload.child("flip-page", ns::mam) != nullptr;
  // Read-your-writes: what was recorded before this query is in the archive first.
  co_await flush();
  auto job = [this, query, filtered]() -> boost::system::result<std::pair<storage::ArchivePage, std::size_t>> {
    auto page = storage_.archive().query(query);
    if (!page) {
      return page.error();
    }
    std::size_t total = 0;
    if (!filtered) {
      // RSM <count/>: cheap only for a whole archive; filtered queries leave it out.
      auto counted = storage_.archive().count(query.owner);
      if (!counted) {
        return counted.error();
      }
      total = *counted;
    }
    return std::pair(std::move(*page), total);
  };
  auto answered = co_await workers_.run(std::move(job));
  if (!answered) {
    out.push_back(error(iq, condition_of(answered.error()),
                        answered.error() == storage::storage_errc::not_found ? "no such message in the archive"
                                                                             : "the archive is unavailable"));
    co_return out;
  }
  auto& [page, total] = *answered;
  if (flip) {
    std::reverse(page.messages.begin(), page.messages.end());
  }
  const std::string requester(iq.attribute("from").value_or(""));
  for (const auto& m : page.messages) {
    auto stanza = core::xml::parse_element(m.stanza, ns::client);
    if (!stanza) {
      spdlog::error("archive: message {} of {} cannot be parsed; left out", m.id, owner);
      continue;
    }
    Element msg("message", std::string(ns::client));
    if (!results_from.empty()) {
      msg.set_attribute("from", results_from);
    }
    msg.set_attribute("to", requester);
    auto& result = msg.add_child(Element("result", std::string(ns::mam)));
    if (!queryid.empty()) {
      result.set_attribute("queryid", queryid);
    }
    result.set_attribute("id", m.id);
    auto& forwarded = result.add_child(Element("forwarded", std::string(ns::forward)));
    forwarded.add_child(Element("delay", std::string(ns::delay))).set_attribute("stamp", format_timestamp(m.timestamp));
    forwarded.add_child(std::move(*stanza));
    out.push_back(std::move(msg));
  }
  auto result = core::stanza::make_result(iq);
  auto& fin = result.add_child(Element("fin", std::string(ns::mam)));
  if (page.complete) {
    fin.set_attribute("complete", "true");
  }
  auto& set = fin.add_child(Element("set", std::string(rsm_ns)));
  if (!page.messages.empty()) {
    set.add_child(Element("first", std::string(rsm_ns))).add_text(page.messages.front().id);
    set.add_child(Element("last", std::string(rsm_ns))).add_text(page.messages.back().id);
  }
  if (!filtered) {
    set.add_child(Element("count", std::string(rsm_ns))).add_text(std::to_string(total));
  }
  out.push_back(std::move(result));
  co_return out;
}

asio::awaitable<std::vector<Element>> MessageArchive::answer_prefs(const Element& iq, const Element& payload,
                                                                  std::string owner) {
  std::vector<Element> out;
  if (iq.attribute("type").value_or("") == "get") {
    const auto prefs = co_await prefs_of(owner);
    auto result = core::stanza::make_result(iq);
    result.add_child(prefs_element(prefs));
    out.push_back(std::move(result));
    co_return out;
  }
  storage::ArchivePrefs prefs;
  prefs.default_mode = std::string(payload.attribute("default").value_or(""));
  if (prefs.default_mode != "always" && prefs.default_mode != "never" && prefs.default_mode != "roster") {
    out.push_back(error(iq, stanza_errc::bad_request, "default must be always, never or roster"));
    co_return out;
  }
  auto always = jid_list(payload.child("always", ns::mam));
  auto never = jid_list(payload.child("never", ns::mam));
  if (!always || !never) {
    out.push_back(error(iq, stanza_errc::jid_malformed, "a <jid/> of the preferences is not a JID"));
    co_return out;
  }
  prefs.always = std::move(*always);
  prefs.never = std::move(*never);
  auto job = [this, owner, prefs] { return storage_.archive().set_prefs(owner, prefs); };
  auto stored = co_await workers_.run(std::move(job));
  if (!stored) {
    out.push_back(error(iq, condition_of(stored.error()), "the preferences could not be stored"));
    co_return out;
  }
  {
    std::lock_guard lock(prefs_->mutex);
    prefs_->entries[owner] = std::make_shared<const storage::ArchivePrefs>(prefs);
  }
  // §6.1: the answer holds the preferences now in force.
  auto result = core::stanza::make_result(iq);
  result.add_child(prefs_element(prefs));
  out.push_back(std::move(result));
  co_return out;
}

asio::awaitable<std::vector<Element>> MessageArchive::answer_metadata(const Element& iq, std::string owner) {
  std::vector<Element> out;
  co_await flush();
  auto job = [this, owner]() -> boost::system::result<std::pair<storage::ArchivePage, storage::ArchivePage>> {
    storage::ArchiveQuery query;
    query.owner = owner;
    query.max = 1;
    auto first = storage_.archive().query(query);
    if (!first) {
      return first.error();
    }
    query.from_end = true;
    auto last = storage_.archive().query(query);
    if (!last) {
      return last.error();
    }
    return std::pair(std::move(*first), std::move(*last));
  };
  auto ends = co_await workers_.run(std::move(job));
  if (!ends) {
    out.push_back(error(iq, condition_of(ends.error()), "the archive is unavailable"));
    co_return out;
  }
  // XEP-0313 §6.2 (urn:xmpp:mam:2#extended): the first and last message of the archive.
  auto result = core::stanza::make_result(iq);
  auto& metadata = result.add_child(Element("metadata", std::string(ns::mam)));
  const auto add = [&](std::string_view name, const storage::ArchivePage& page) {
    if (!page.messages.empty()) {
      auto& end = metadata.add_child(Element(std::string(name), std::string(ns::mam)));
      end.set_attribute("id", page.messages.front().id);
      end.set_attribute("timestamp", format_timestamp(page.messages.front().timestamp));
    }
  };
  add("start", ends->first);
  add("end", ends->second);
  out.push_back(std::move(result));
  co_return out;
}

asio::awaitable<bool> MessageArchive::remove_owner(std::string owner) {
  co_await flush();
  auto job = [this, owner] { return storage_.archive().remove_owner(owner); };
  auto removed = co_await workers_.run(std::move(job));
  {
    std::lock_guard lock(prefs_->mutex);
    prefs_->entries.erase(owner);
  }
  if (!removed) {
    spdlog::warn("archive: cannot delete the archive of {}: {}", owner, removed.error().message());
    co_return false;
  }
  co_return true;
}

void MessageArchive::forget_cached(const std::string& owner) {
  std::lock_guard lock(prefs_->mutex);
  prefs_->entries.erase(owner);
}

std::size_t MessageArchive::expire_now() {
  if (config_.retention_days == 0) {
    return 0;
  }
  const auto before = now() - std::chrono::days(config_.retention_days);
  auto removed = storage_.archive().remove_before(before);
  if (!removed) {
    spdlog::warn("archive: cannot delete expired messages: {}", removed.error().message());
    return 0;
  }
  if (*removed > 0) {
    spdlog::info("archive: deleted {} message(s) older than {} days", *removed, config_.retention_days);
  }
  return *removed;
}

} // namespace parley::router::modules
