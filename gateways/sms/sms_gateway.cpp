#include "gateways/sms/sms_gateway.hpp"

#include "core/async/worker_pool.hpp"
#include "core/jid/jid.hpp"
#include "core/sasl/crypto.hpp"
#include "core/xml/namespaces.hpp"
#include "core/xml/parse.hpp"
#include "gateways/shared_owner.hpp"
#include "gateways/sms/kannel_provider.hpp"
#include "gateways/sms/mms_media.hpp"
#include "gateways/sms/phone_number.hpp"
#include "gateways/sms/provider.hpp"
#include "gateways/sms/smpp_provider.hpp"
#include "gateways/sms/sms_stanzas.hpp"
#include "gateways/sms/twilio_provider.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace parley::gateways::sms {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::jid::Jid;
using core::stanza::stanza_errc;
using core::xml::Element;
using storage::storage_errc;

namespace {

constexpr std::size_t registration_page = 500;
constexpr auto reload_every = std::chrono::seconds(30);

storage::Timestamp now_stamp() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

/// What the gateway notes about a message it sent, to find it again when a report comes.
struct Correlation {
  storage::WorkItemId item = 0;
  std::string stanza_id;
  /// The JID that sent it, as it sent it (the full JID of a resource).
  std::string sender;
  /// +E164@domain.
  std::string contact;

  std::string encode() const { return std::to_string(item) + '\n' + stanza_id + '\n' + sender + '\n' + contact; }

  /// JIDs cannot hold a newline; a stanza id might (escaped in XML), so it is what lies
  /// between the first line and the last two.
  static std::optional<Correlation> decode(std::string_view text) {
    const auto first = text.find('\n');
    const auto last = text.rfind('\n');
    if (first == std::string_view::npos || last == first) {
      return std::nullopt;
    }
    const auto before_last = text.rfind('\n', last - 1);
    if (before_last == std::string_view::npos || before_last < first) {
      return std::nullopt;
    }
    Correlation c;
    const auto id_text = text.substr(0, first);
    const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), c.item);
    if (ec != std::errc() || end != id_text.data() + id_text.size()) {
      return std::nullopt;
    }
    c.stanza_id = std::string(text.substr(first + 1, before_last > first ? before_last - first - 1 : 0));
    c.sender = std::string(text.substr(before_last + 1, last - before_last - 1));
    c.contact = std::string(text.substr(last + 1));
    return c;
  }
};

/// Hands out send times `1/rate` apart (rate 0: no limit): a leaky bucket without a burst,
/// which is how carriers meter a number (one message per second for a US long code).
class Pacer {
public:
  explicit Pacer(double rate) : interval_(rate > 0 ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(1.0 / rate))
                                                    : std::chrono::steady_clock::duration::zero()) {}
  /// The time at which the caller may send; reserves that turn.
  std::chrono::steady_clock::time_point reserve() {
    const auto now = std::chrono::steady_clock::now();
    if (interval_ == std::chrono::steady_clock::duration::zero()) {
      return now;
    }
    std::lock_guard lock(mutex_);
    const auto at = std::max(now, next_);
    next_ = at + interval_;
    return at;
  }

private:
  const std::chrono::steady_clock::duration interval_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point next_{};
};

class SmsGateway final : public Gateway, public ProviderSink, public std::enable_shared_from_this<SmsGateway> {
public:
  SmsGateway(config::GatewayConfig settings, const Country* country, std::shared_ptr<Provider> carrier,
             std::shared_ptr<Provider> failover)
      : settings_(std::move(settings)), country_(country), provider_(std::move(carrier)),
        failover_(std::move(failover)), provider_rate_(settings_.sms.rate_per_second),
        out_scope_("sms-out:" + settings_.domain), sid_scope_("sms-sid:" + settings_.domain),
        in_scope_("sms-in:" + settings_.domain), status_scope_("sms-status:" + settings_.domain) {}

  const config::GatewayConfig& settings() const override { return settings_; }
  std::string_view identity_type() const override { return "sms"; }
  std::string_view default_name() const override { return "SMS"; }
  std::string_view provider() const override { return provider_->name(); }

  std::string prompt_description() const override {
    std::string text = "Enter a phone number in international form (+15551234567)";
    if (country_ != nullptr) {
      text += ", or as dialled in " + std::string(country_->iso);
    }
    return text + ".";
  }
  std::string prompt_label() const override { return "Phone number"; }

  boost::system::result<std::string, Refusal> translate(std::string_view input) const override {
    auto number = PhoneNumber::parse(input, country_);
    if (!number) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::jid_malformed, "not a phone number: " + number.error().message()}};
    }
    return number->jid_localpart();
  }

  std::optional<RegistrationForm> registration_form() const override {
    if (!settings_.sms.self_registration) {
      return std::nullopt;
    }
    std::string text = "Enter the number you send SMS from, in international form (+15551234567)";
    if (country_ != nullptr) {
      text += " or as dialled in " + std::string(country_->iso);
    }
    return RegistrationForm{"phone", text + "."};
  }

  boost::system::result<std::string, Refusal> registration_address(std::string_view input) const override {
    auto number = PhoneNumber::parse(input, country_);
    if (!number) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::not_acceptable, "not a phone number: " + number.error().message()}};
    }
    std::string e164 = number->jid_localpart();
    const auto& allowed = settings_.sms.numbers;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), e164) == allowed.end()) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::not_acceptable, e164 + " is not one of the numbers of " + settings_.domain}};
    }
    return e164;
  }

  boost::system::result<std::string, Refusal> accept(const Element& message) const override {
    const auto to = Jid::parse(message.attribute("to").value_or(""));
    if (!to || !is_e164(to->local())) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::jid_malformed,
                      "write to a number in international form, such as +15551234567@" + settings_.domain +
                          " (the gateway's jabber:iq:gateway service translates what you type)"}};
    }
    const auto from = Jid::parse(message.attribute("from").value_or(""));
    if (!from || !has_number(from->bare_string())) {
      const std::string who = from ? std::string(from->bare_string()) : std::string("you");
      return {boost::system::in_place_error,
              Refusal{stanza_errc::registration_required,
                      "register a number first: " + who + " has no number on " + settings_.domain +
                          " to send SMS from (register one with the gateway, XEP-0077, or an administrator assigns one: "
                          "parleyctl registrations add USER " +
                          settings_.domain + " NUMBER)"}};
    }
    return std::string(to->local());
  }

  asio::awaitable<Attempt> deliver(Element message, const storage::WorkItem& item) override {
    auto self = shared_from_this();
    Attempt attempt;
    const auto to = Jid::parse(message.attribute("to").value_or(""));
    const auto from = Jid::parse(message.attribute("from").value_or(""));
    if (!to || !from || !is_e164(to->local())) {
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason = "the stored message has no usable sender or number";
      co_return attempt;
    }
    OutboundContent content = outbound_content(message);
    if (content.body.empty() && content.media_urls.empty()) {
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason = "nothing to send: the message has neither text nor a media URL";
      co_return attempt;
    }
    Correlation correlation{item.id, std::string(message.attribute("id").value_or("")), from->full(), to->full()};

    // One trip to storage: the sender's number, whether an earlier attempt got the message
    // accepted already (then it is not sent twice), and the key the status callback carries.
    struct Prepared {
      boost::system::error_code error;
      std::string number;
      /// The destination sent STOP to that number.
      bool opted_out = false;
      /// What an earlier attempt noted when the provider accepted the message.
      std::optional<std::string> earlier;
    };
    auto prepare = [self, owner = std::string(from->bare_string()), contact = std::string(to->local()), id = item.id,
                    retried = item.attempts > 1,
                    key = item.key, value = correlation.encode()]() -> Prepared {
      Prepared out;
      auto& storage = self->host_->storage();
      auto mine = storage.registrations().of_owner(owner);
      if (!mine) {
        out.error = mine.error();
        return out;
      }
      // By (domain, address): the first of this domain is the sender's lowest number.
      for (const auto& registration : *mine) {
        if (registration.domain == self->settings_.domain) {
          out.number = registration.address;
          break;
        }
      }
      if (out.number.empty()) {
        return out;
      }
      auto stopped = storage.opt_outs().contains(self->settings_.domain, out.number, contact);
      if (!stopped) {
        out.error = stopped.error();
        return out;
      }
      if (*stopped) {
        out.opted_out = true;
        return out;
      }
      if (retried) {
        auto events = storage.work().events(id);
        if (!events && events.error() != storage_errc::not_found) {
          out.error = events.error();
          return out;
        }
        if (events) {
          for (const auto& event : *events) {
            if (event.event == "provider-id" || event.event == "accepted") {
              out.earlier = event.detail;
            }
          }
        }
      }
      if (auto remembered = storage.seen().remember(self->out_scope_, key, value, now_stamp()); !remembered) {
        out.error = remembered.error();
      }
      return out;
    };
    Prepared prepared = co_await host_->workers().run(std::move(prepare));
    if (prepared.error) {
      attempt.outcome = Attempt::Outcome::transient;
      attempt.reason = "storage is unavailable: " + prepared.error.message();
      co_return attempt;
    }
    if (prepared.number.empty()) {
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason = "register a number first: " + std::string(from->bare_string()) + " has no number on " +
                       settings_.domain + " any more";
      co_return attempt;
    }
    if (prepared.opted_out) {
      // Honoured before sending: the phone asked for no more messages from this number.
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason = std::string(to->local()) + " opted out (STOP) of messages from " + prepared.number +
                       "; nothing is sent until it replies START";
      co_return attempt;
    }
    if (prepared.earlier) {
      attempt.outcome = Attempt::Outcome::delivered;
      attempt.receipt_later = true;
      attempt.reason =
          "accepted by " + std::string(provider_->name()) + " in an earlier attempt (" + *prepared.earlier + ")";
      co_return attempt;
    }

    OutboundSms sms;
    sms.key = item.key;
    sms.from = prepared.number;
    sms.to = std::string(to->local());
    sms.body = std::move(content.body);
    sms.media_urls = std::move(content.media_urls);
    co_await pace(sms.from);
    SendResult sent;
    if (failover_) {
      OutboundSms copy = sms;
      sent = co_await provider_->send(std::move(sms));
      if (sent.outcome == SendResult::Outcome::transient) {
        // Failover at once: the first provider may work again later, the second may now.
        spdlog::info("sms gateway {}: message {} failed on {} ({}); trying {}", settings_.domain, item.id,
                     provider_->name(), sent.reason, failover_->name());
        const std::string first = std::string(provider_->name()) + ": " + sent.reason;
        sent = co_await failover_->send(std::move(copy));
        sent.reason = first + "; " + std::string(failover_->name()) + ": " + sent.reason;
      }
    } else {
      sent = co_await provider_->send(std::move(sms));
    }
    attempt.reason = sent.reason;
    attempt.retry_at = sent.retry_at;
    switch (sent.outcome) {
    case SendResult::Outcome::transient: attempt.outcome = Attempt::Outcome::transient; co_return attempt;
    case SendResult::Outcome::permanent: attempt.outcome = Attempt::Outcome::permanent; co_return attempt;
    case SendResult::Outcome::accepted: break;
    }
    {
      // For the admin API's timeline, for a retry after a crash (the message is not sent
      // twice), and for status callbacks that come without our key. Providers without ids
      // (Kannel) get an "accepted" event instead of "provider-id".
      auto note = [self, id = item.id, sid = sent.provider_id, reason = sent.reason, value = correlation.encode()] {
        auto& storage = self->host_->storage();
        const auto now = now_stamp();
        if (sid.empty()) {
          auto event = storage.work().add_event(id, now, "accepted", reason);
          return event ? boost::system::error_code() : event.error();
        }
        if (auto event = storage.work().add_event(id, now, "provider-id", sid); !event) {
          return event.error();
        }
        auto remembered = storage.seen().remember(self->sid_scope_, sid, value, now);
        return remembered ? boost::system::error_code() : remembered.error();
      };
      if (const auto noted = co_await host_->workers().run(std::move(note)); noted) {
        spdlog::warn("sms gateway {}: message {} was accepted ({}), but that cannot be noted: {}", settings_.domain,
                     item.id, sent.reason, noted.message());
      }
    }
    attempt.outcome = Attempt::Outcome::delivered;
    attempt.receipt_later = true; // XEP-0184 says "received": that is the delivery report's to say
    co_return attempt;
  }

  void start(GatewayHost& host) override {
    host_ = &host;
    // Start-up, before the I/O threads run: blocking on storage is fine here.
    if (auto loaded = load_senders(); !loaded) {
      spdlog::warn("sms gateway {}: cannot read the registered numbers yet: {}", settings_.domain,
                   loaded.error().message());
    }
    reload_timer_ = std::make_unique<asio::steady_timer>(host.io());
    asio::co_spawn(host.io(), reload_periodically(), asio::detached);
    provider_->start(host, std::weak_ptr<ProviderSink>(shared_from_this()));
    if (failover_) {
      failover_->start(host, std::weak_ptr<ProviderSink>(shared_from_this()));
    }
    if (country_ == nullptr) {
      spdlog::info("sms gateway {}: {} provider; no default_country, so users type numbers with their country code",
                   settings_.domain, provider_->name());
    }
  }

  void stop() override {
    stopped_ = true;
    if (reload_timer_) {
      asio::post(reload_timer_->get_executor(), [self = shared_from_this()] { self->reload_timer_->cancel(); });
    }
    provider_->stop();
    if (failover_) {
      failover_->stop();
    }
  }

  asio::awaitable<void> reload() override {
    auto self = shared_from_this();
    if (host_ == nullptr) {
      co_return;
    }
    auto job = [self] { return self->load_senders(); };
    if (auto loaded = co_await host_->workers().run(std::move(job)); !loaded) {
      spdlog::warn("sms gateway {}: cannot read the registered numbers: {}", settings_.domain,
                   loaded.error().message());
    }
  }

  // ---- what the provider receives ---------------------------------------------------------

  /// MMS media moved to the HTTP upload service: each medium fetched from the provider (at
  /// most [upload] max_file_size, max_inbound_media of them) and stored under a key made of
  /// the message id and its index, so that a repeat gets the same URLs. The message then
  /// points at our URLs only. A medium that cannot be fetched or stored is not retried here:
  /// the message is delivered with a note in its body naming it, since an error answer would
  /// not be retried by Twilio's default webhook policy and the text would be lost. Without an
  /// upload service (or from a provider that fetches no media), the provider's URLs stay.
  asio::awaitable<InboundSms> rehost_media(InboundSms sms) {
    auto self = shared_from_this();
    const std::uint64_t limit = host_->media_limit();
    std::shared_ptr<Provider> via = provider_;
    if (failover_ && !sms.via.empty() && sms.via == failover_->name()) {
      via = failover_;
    }
    if (limit == 0 || sms.media_urls.empty()) {
      co_return sms;
    }
    const std::size_t total = sms.media_urls.size();
    std::vector<std::string> urls;
    std::vector<std::string> notes;
    for (std::size_t i = 0; i < total; ++i) {
      const std::string url = sms.media_urls[i];
      const std::string declared = i < sms.media_types.size() ? sms.media_types[i] : std::string();
      if (i >= max_inbound_media) {
        notes.push_back(missing_media_note(i, total, declared,
                                           "more than " + std::to_string(max_inbound_media) + " attachments"));
        continue;
      }
      auto fetched = co_await via->fetch_media(url, static_cast<std::size_t>(limit));
      if (!fetched) {
        spdlog::warn("sms gateway {}: cannot fetch medium {} of {} ({}): {}", settings_.domain, i + 1,
                     sms.provider_id, url, fetched.error());
        notes.push_back(missing_media_note(i, total, declared, fetched.error()));
        continue;
      }
      const std::string type = media_content_type(declared, fetched->content_type);
      const std::string name = media_filename(url, i, type);
      const std::string key = settings_.domain + '\n' + sms.provider_id + '\n' + std::to_string(i);
      auto stored = co_await host_->store_media(std::move(fetched->bytes), name, type, key);
      if (!stored) {
        spdlog::warn("sms gateway {}: cannot store medium {} of {} ({}): {}", settings_.domain, i + 1,
                     sms.provider_id, url, stored.error());
        notes.push_back(missing_media_note(i, total, type, "not stored"));
        continue;
      }
      spdlog::info("sms gateway {}: medium {} of {} ({}) is now {}", settings_.domain, i + 1, sms.provider_id, type,
                   *stored);
      urls.push_back(std::move(*stored));
    }
    sms.media_urls = std::move(urls);
    sms.media_types.clear();
    for (const auto& note : notes) {
      sms.body += sms.body.empty() ? note : "\n" + note;
    }
    co_return sms;
  }

  asio::awaitable<InboundOutcome> inbound(InboundSms sms) override {
    auto self = shared_from_this();
    auto to = PhoneNumber::parse(sms.to, country_);
    if (!to) {
      spdlog::warn("sms gateway {}: refused an SMS ({}) from {} to '{}': not a phone number of ours", settings_.domain,
                   sms.provider_id, sms.from, sms.to);
      co_return InboundOutcome::unknown_number;
    }
    const auto from = sender_jid(sms.from);
    if (!from) {
      spdlog::warn("sms gateway {}: refused an SMS ({}) to {}: the sender '{}' makes no JID", settings_.domain,
                   sms.provider_id, to->e164(), sms.from);
      co_return InboundOutcome::invalid;
    }
    struct Owners {
      boost::system::error_code error;
      std::size_t total = 0;
      std::vector<std::string> pending; // those who do not have it yet
    };
    auto find = [self, number = to->e164(), sid = sms.provider_id]() -> Owners {
      Owners out;
      auto& storage = self->host_->storage();
      auto owners = storage.registrations().owners(self->settings_.domain, number);
      if (!owners) {
        out.error = owners.error();
        return out;
      }
      out.total = owners->size();
      for (auto& owner : *owners) {
        auto seen = storage.seen().lookup(self->in_scope_, sid + '\n' + owner);
        if (seen) {
          continue;
        }
        if (seen.error() != storage_errc::not_found) {
          out.error = seen.error();
          return out;
        }
        out.pending.push_back(std::move(owner));
      }
      return out;
    };
    Owners owners = co_await host_->workers().run(std::move(find));
    if (owners.error) {
      spdlog::warn("sms gateway {}: an SMS ({}) to {} waits: storage is unavailable: {}", settings_.domain,
                   sms.provider_id, to->e164(), owners.error.message());
      co_return InboundOutcome::not_stored;
    }
    if (owners.total == 0) {
      spdlog::warn("sms gateway {}: refused an SMS ({}) from {} to {}: nobody owns {} (assign it: parleyctl "
                   "registrations add USER {} {})",
                   settings_.domain, sms.provider_id, from->full(), to->e164(), to->e164(), settings_.domain,
                   to->e164());
      co_return InboundOutcome::unknown_number;
    }
    if (!owners.pending.empty() && !sms.media_urls.empty()) {
      // Before anyone gets it, and only for those who do not have it yet: a repeat that every
      // owner has downloads nothing.
      sms = co_await rehost_media(sms);
    }
    const std::string id = "sms-" + sms.provider_id;
    const auto& keywords = keywords_of(to->e164());
    const Keyword keyword = keyword_of(keywords, sms.body);
    if (keyword != Keyword::none && !owners.pending.empty()) {
      // STOP and START change the opt-out list first (a repeat changes nothing); the owners
      // still get the message, so that they know. Only the first delivery answers it.
      const std::string contact(from->local());
      auto change = [self, number = to->e164(), contact, keyword, word = sms.body]() -> boost::system::error_code {
        auto& store = self->host_->storage().opt_outs();
        if (keyword == Keyword::stop) {
          auto added = store.add(self->settings_.domain, number, contact, word, now_stamp());
          return added ? boost::system::error_code() : added.error();
        }
        if (keyword == Keyword::start) {
          auto removed = store.remove(self->settings_.domain, number, contact);
          return removed ? boost::system::error_code() : removed.error();
        }
        return {};
      };
      if (const auto failed = co_await host_->workers().run(std::move(change)); failed) {
        spdlog::warn("sms gateway {}: a keyword SMS ({}) to {} waits: storage is unavailable: {}", settings_.domain,
                     sms.provider_id, to->e164(), failed.message());
        co_return InboundOutcome::not_stored;
      }
      spdlog::info("sms gateway {}: {} sent {} to {}", settings_.domain, contact,
                   keyword == Keyword::stop ? "STOP" : keyword == Keyword::start ? "START" : "HELP", to->e164());
      if (owners.pending.size() == owners.total) {
        auto_reply(to->e164(), contact,
                   keyword == Keyword::stop    ? keywords.stop_reply
                   : keyword == Keyword::start ? keywords.start_reply
                                               : keywords.help_reply,
                   "auto-" + sms.provider_id);
      }
    }
    std::vector<std::string> delivered;
    std::size_t refused = 0;
    bool not_stored = false;
    for (const auto& owner : owners.pending) {
      // Offline, the provider's id is recorded with the message: a retry after a crash in
      // between stores no second copy.
      std::optional<storage::DeliveryKey> once;
      if (!sms.provider_id.empty()) {
        once = storage::DeliveryKey{in_scope_, sms.provider_id + '\n' + owner, id};
      }
      Element message = inbound_message(sms, from->full(), owner, id);
      const auto disposition = co_await host_->deliver(std::move(message), std::move(once));
      switch (disposition) {
      case router::Disposition::handled: delivered.push_back(owner); break;
      case router::Disposition::not_stored: not_stored = true; break;
      case router::Disposition::refused:
        ++refused;
        spdlog::warn("sms gateway {}: {} refused the SMS ({}) from {} to {} (no such user, or offline storage full)",
                     settings_.domain, owner, sms.provider_id, from->full(), to->e164());
        break;
      }
    }
    if (!delivered.empty()) {
      // After the delivery, for what went to a session (offline storage recorded it already): a
      // crash in between delivers such a repeat twice, never zero times.
      auto remember = [self, sid = sms.provider_id, id, delivered] {
        auto& seen = self->host_->storage().seen();
        const auto now = now_stamp();
        for (const auto& owner : delivered) {
          if (auto remembered = seen.remember(self->in_scope_, sid + '\n' + owner, id, now); !remembered) {
            return remembered.error();
          }
        }
        return boost::system::error_code();
      };
      if (const auto failed = co_await host_->workers().run(std::move(remember)); failed) {
        spdlog::warn("sms gateway {}: delivered the SMS {}, but cannot remember it: {}", settings_.domain,
                     sms.provider_id, failed.message());
      }
    }
    if (not_stored) {
      co_return InboundOutcome::not_stored;
    }
    if (owners.pending.size() == owners.total && refused == owners.total) {
      co_return InboundOutcome::refused;
    }
    co_return InboundOutcome::delivered;
  }

  asio::awaitable<ReportOutcome> report(DeliveryReport report) override {
    auto self = shared_from_this();
    const std::string dedupe =
        (report.provider_id.empty() ? "key:" + report.key : report.provider_id) + '\n' + report.status;
    struct Found {
      boost::system::error_code error;
      bool duplicate = false;
      std::optional<Correlation> correlation;
      std::string payload; // of the outbox item: "destination\n<message/>"
    };
    auto find = [self, key = report.key, sid = report.provider_id, dedupe,
                 wants_message = report.kind != DeliveryReport::Kind::progress]() -> Found {
      Found out;
      auto& storage = self->host_->storage();
      auto seen = storage.seen().lookup(self->status_scope_, dedupe);
      if (seen) {
        out.duplicate = true;
        return out;
      }
      if (seen.error() != storage_errc::not_found) {
        out.error = seen.error();
        return out;
      }
      std::optional<std::string> value;
      for (const auto& [scope, name] : {std::pair(&self->out_scope_, &key), std::pair(&self->sid_scope_, &sid)}) {
        if (value || name->empty()) {
          continue;
        }
        auto found = storage.seen().lookup(*scope, *name);
        if (found) {
          value = std::move(*found);
        } else if (found.error() != storage_errc::not_found) {
          out.error = found.error();
          return out;
        }
      }
      if (!value) {
        return out;
      }
      out.correlation = Correlation::decode(*value);
      if (out.correlation && wants_message) {
        if (auto item = storage.work().get(out.correlation->item)) {
          out.payload = std::move(item->payload);
        }
      }
      return out;
    };
    Found found = co_await host_->workers().run(std::move(find));
    if (found.error) {
      spdlog::warn("sms gateway {}: a status callback ({} {}) waits: storage is unavailable: {}", settings_.domain,
                   report.provider_id, report.status, found.error.message());
      co_return ReportOutcome::not_stored;
    }
    if (found.duplicate) {
      co_return ReportOutcome::handled;
    }
    if (!found.correlation) {
      spdlog::warn("sms gateway {}: a status callback ({}, {}) names no message sent through this gateway",
                   settings_.domain, report.provider_id.empty() ? report.key : report.provider_id, report.status);
      co_return ReportOutcome::unknown_message;
    }
    const Correlation& correlation = *found.correlation;
    std::string detail = report.status;
    if (!report.error_code.empty() || !report.error_text.empty()) {
      detail += " (error " + report.error_code + (report.error_text.empty() ? "" : ": " + report.error_text) + ")";
    }
    auto note = [self, item = correlation.item, detail] {
      return self->host_->storage().work().add_event(item, now_stamp(), "status", detail);
    };
    if (auto noted = co_await host_->workers().run(std::move(note));
        !noted && noted.error() != storage_errc::not_found) {
      spdlog::warn("sms gateway {}: cannot note status {} of message {}: {}", settings_.domain, detail,
                   correlation.item, noted.error().message());
    }

    std::optional<Element> original;
    if (const auto newline = found.payload.find('\n'); newline != std::string::npos) {
      if (auto parsed = core::xml::parse_element(std::string_view(found.payload).substr(newline + 1), ns::client)) {
        original = std::move(*parsed);
      }
    }
    std::optional<Element> answer;
    if (report.kind == DeliveryReport::Kind::delivered) {
      // XEP-0184: only to a sender who asked (unless the message itself is gone by now).
      const bool asked = !original || original->child("request", ns::receipts) != nullptr;
      if (asked && !correlation.stanza_id.empty()) {
        answer =
            receipt_message(correlation.contact, correlation.sender,
                            core::sasl::crypto::hex_encode(core::sasl::crypto::random_bytes(8)), correlation.stanza_id);
      }
    } else if (report.kind == DeliveryReport::Kind::failed) {
      if (!original) {
        Element stub("message", std::string(ns::client));
        if (!correlation.stanza_id.empty()) {
          stub.set_attribute("id", correlation.stanza_id);
        }
        stub.set_attribute("from", correlation.sender);
        stub.set_attribute("to", correlation.contact);
        original = std::move(stub);
      }
      answer = failure_message(*original, provider_->name(), report);
      spdlog::info("sms gateway {}: message {} to {} failed: {}", settings_.domain, correlation.item,
                   correlation.contact, detail);
    }
    if (answer) {
      if (co_await host_->deliver(std::move(*answer)) == router::Disposition::not_stored) {
        co_return ReportOutcome::not_stored;
      }
    }
    auto remember = [self, dedupe, detail] {
      return self->host_->storage().seen().remember(self->status_scope_, dedupe, detail, now_stamp());
    };
    if (auto remembered = co_await host_->workers().run(std::move(remember)); !remembered) {
      spdlog::warn("sms gateway {}: handled status {} of message {}, but cannot remember it: {}", settings_.domain,
                   detail, correlation.item, remembered.error().message());
    }
    co_return ReportOutcome::handled;
  }

private:
  /// The JID an SMS from `from` comes from: +E164@domain, or a short code or alphanumeric
  /// sender id as it is ("12345@domain"), if that makes a JID.
  std::optional<Jid> sender_jid(std::string_view from) const {
    if (auto number = PhoneNumber::parse(from, country_)) {
      if (auto jid = Jid::make(number->jid_localpart(), settings_.domain)) {
        return *jid;
      }
      return std::nullopt;
    }
    if (from.empty() || from.size() > 32 || from.find_first_of("@/ \"&'<>:") != std::string_view::npos) {
      return std::nullopt;
    }
    if (auto jid = Jid::make(from, settings_.domain)) {
      return *jid;
    }
    return std::nullopt;
  }

  bool has_number(std::string_view owner) const {
    std::lock_guard lock(senders_mutex_);
    return senders_->find(owner) != senders_->end();
  }

  /// Who owns a number on this domain. Blocks on storage: worker pool (or start-up) only.
  boost::system::result<void> load_senders() {
    auto next = std::make_shared<std::set<std::string, std::less<>>>();
    std::string after_address;
    std::string after_owner;
    for (;;) {
      auto page =
          host_->storage().registrations().list(settings_.domain, after_address, after_owner, registration_page);
      if (!page) {
        return page.error();
      }
      for (const auto& registration : *page) {
        next->insert(registration.owner);
      }
      if (page->size() < registration_page) {
        break;
      }
      after_address = page->back().address;
      after_owner = page->back().owner;
    }
    std::lock_guard lock(senders_mutex_);
    senders_ = std::move(next);
    return {};
  }

  /// Other nodes (and parleyctl) change registrations too: re-read them now and then.
  asio::awaitable<void> reload_periodically() {
    auto self = shared_from_this();
    while (!stopped_) {
      reload_timer_->expires_after(reload_every);
      auto [ec] = co_await reload_timer_->async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || stopped_) {
        co_return;
      }
      co_await reload();
    }
  }

  /// Waits for the turn of a message from `number` under the provider's and the number's
  /// rates (rate_per_second, number_rate_per_second). Turns are handed out in order, so
  /// concurrent deliveries queue rather than burst.
  asio::awaitable<void> pace(const std::string& number) {
    auto at = provider_rate_.reserve();
    if (settings_.sms.number_rate_per_second > 0) {
      std::lock_guard lock(number_rates_mutex_);
      auto [it, added] = number_rates_.try_emplace(number, settings_.sms.number_rate_per_second);
      at = std::max(at, it->second.reserve());
    }
    if (at > std::chrono::steady_clock::now()) {
      asio::steady_timer timer(co_await asio::this_coro::executor, at);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  enum class Keyword { none, stop, start, help };

  /// The keyword settings of `number`: its [[gateway.number]], else [gateway.keywords].
  const config::SmsKeywords& keywords_of(std::string_view number) const {
    for (const auto& n : settings_.sms.number_settings) {
      if (n.number == number) {
        return n.keywords;
      }
    }
    return settings_.sms.keywords;
  }

  /// Whether `body` is one of the number's keywords: the whole text, trimmed, any case.
  static Keyword keyword_of(const config::SmsKeywords& keywords, std::string_view body) {
    if (!keywords.enabled) {
      return Keyword::none;
    }
    const auto first = body.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
      return Keyword::none;
    }
    body = body.substr(first, body.find_last_not_of(" \t\r\n") - first + 1);
    std::string word(body);
    for (auto& c : word) {
      c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    auto in = [&word](const std::vector<std::string>& list) {
      return std::find(list.begin(), list.end(), word) != list.end();
    };
    if (in(keywords.stop)) {
      return Keyword::stop;
    }
    if (in(keywords.start)) {
      return Keyword::start;
    }
    if (in(keywords.help)) {
      return Keyword::help;
    }
    return Keyword::none;
  }

  /// The automatic answer to a keyword, straight through the provider (not the outbox: it is
  /// not anybody's message, and the phone may just have opted out). Best effort, logged.
  void auto_reply(std::string number, std::string contact, std::string text, std::string key) {
    if (text.empty()) {
      return;
    }
    asio::co_spawn(host_->io(), send_auto_reply(shared_from_this(), std::move(number), std::move(contact),
                                                std::move(text), std::move(key)),
                   asio::detached);
  }

  /// A member coroutine with its arguments by value: a lambda's captures would die with it.
  static asio::awaitable<void> send_auto_reply(std::shared_ptr<SmsGateway> self, std::string number,
                                               std::string contact, std::string text, std::string key) {
    co_await self->pace(number);
    OutboundSms sms;
    sms.key = std::move(key);
    sms.from = number;
    sms.to = contact;
    sms.body = std::move(text);
    const SendResult sent = co_await self->provider_->send(std::move(sms));
    if (sent.outcome != SendResult::Outcome::accepted) {
      spdlog::warn("sms gateway {}: the automatic answer from {} to {} was not sent: {}", self->settings_.domain,
                   number, contact, sent.reason);
    }
  }

  const config::GatewayConfig settings_;
  const Country* const country_;
  const std::shared_ptr<Provider> provider_;
  /// Tried at once when provider_ fails transiently; may be null.
  const std::shared_ptr<Provider> failover_;
  /// Messages per second through the provider, and from each of our numbers.
  Pacer provider_rate_;
  std::mutex number_rates_mutex_;
  std::map<std::string, Pacer, std::less<>> number_rates_;
  const std::string out_scope_;
  const std::string sid_scope_;
  const std::string in_scope_;
  const std::string status_scope_;
  GatewayHost* host_ = nullptr;
  mutable std::mutex senders_mutex_;
  std::shared_ptr<const std::set<std::string, std::less<>>> senders_ =
      std::make_shared<const std::set<std::string, std::less<>>>();
  std::unique_ptr<asio::steady_timer> reload_timer_;
  std::atomic<bool> stopped_{false};
};

} // namespace

boost::system::result<std::unique_ptr<Gateway>, std::string> make_sms_gateway(const config::GatewayConfig& settings) {
  const Country* country = nullptr;
  if (!settings.sms.default_country.empty()) {
    country = find_country(settings.sms.default_country);
    if (country == nullptr) {
      std::string known;
      for (const auto& c : known_countries()) {
        known += (known.empty() ? "" : " ") + std::string(c.iso);
      }
      return {boost::system::in_place_error, "default_country " + settings.sms.default_country +
                                                 " is not a country this build knows; known: " + known};
    }
  }
  auto make = [&settings](config::SmsProvider kind) -> boost::system::result<std::shared_ptr<Provider>, std::string> {
    switch (kind) {
    case config::SmsProvider::twilio: return make_twilio_provider(settings);
    case config::SmsProvider::kannel: return make_kannel_provider(settings);
    case config::SmsProvider::smpp: return make_smpp_provider(settings);
    }
    return {boost::system::in_place_error, "unknown SMS provider"};
  };
  auto provider = make(settings.sms.provider);
  if (!provider) {
    return {boost::system::in_place_error, provider.error()};
  }
  std::shared_ptr<Provider> failover;
  if (settings.sms.failover) {
    auto second = make(*settings.sms.failover);
    if (!second) {
      return {boost::system::in_place_error, "failover: " + second.error()};
    }
    failover = std::move(*second);
  }
  auto gateway = std::make_shared<SmsGateway>(settings, country, std::move(*provider), std::move(failover));
  return own_shared(std::move(gateway));
}

} // namespace parley::gateways::sms
