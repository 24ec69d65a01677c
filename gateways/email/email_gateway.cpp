#include "gateways/email/email_gateway.hpp"

#include "core/async/worker_pool.hpp"
#include "core/jid/jid.hpp"
#include "core/sasl/crypto.hpp"
#include "core/sasl/scram_credentials.hpp"
#include "core/xml/namespaces.hpp"
#include "gateways/email/compose.hpp"
#include "gateways/email/email_stanzas.hpp"
#include "gateways/email/mail_parse.hpp"
#include "gateways/email/smtp_client.hpp"
#include "gateways/email/smtp_server.hpp"
#include "gateways/shared_owner.hpp"
#include "storage/storage.hpp"
#include "storage/storage_errc.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>

namespace parley::gateways::email {

namespace asio = boost::asio;
namespace ns = core::xml::ns;
using core::jid::Jid;
using core::stanza::stanza_errc;
using core::xml::Element;
using storage::storage_errc;

namespace {

/// RFC 5321 §6.3 suggests rejecting mail that has passed through too many relays (a loop).
constexpr std::size_t max_received_headers = 50;

storage::Timestamp now_stamp() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return text;
}

/// What the gateway notes about a mail it sent, to find the sender again when it bounces.
struct Sent {
  std::string item;
  std::string stanza_id;
  std::string sender;
  std::string contact;

  std::string encode() const { return item + '\n' + stanza_id + '\n' + sender + '\n' + contact; }

  /// JIDs hold no newline; a stanza id might, so it is what lies between the first line and
  /// the last two.
  static std::optional<Sent> decode(std::string_view text) {
    const auto first = text.find('\n');
    const auto last = text.rfind('\n');
    if (first == std::string_view::npos || last == first) {
      return std::nullopt;
    }
    const auto before_last = text.rfind('\n', last - 1);
    if (before_last == std::string_view::npos || before_last < first) {
      return std::nullopt;
    }
    Sent s;
    s.item = std::string(text.substr(0, first));
    s.stanza_id = std::string(text.substr(first + 1, before_last > first ? before_last - first - 1 : 0));
    s.sender = std::string(text.substr(before_last + 1, last - before_last - 1));
    s.contact = std::string(text.substr(last + 1));
    return s;
  }
};

SmtpReply reply(int code, std::string enhanced, std::string text) {
  SmtpReply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.text = std::move(text);
  return r;
}

class EmailGateway;

/// What the listeners call: holds the gateway weakly (the listeners outlive nothing).
class Inbound final : public MailHandler {
public:
  explicit Inbound(std::weak_ptr<EmailGateway> gateway) : gateway_(std::move(gateway)) {}
  asio::awaitable<SmtpReply> check_recipient(std::string address) override;
  asio::awaitable<std::vector<SmtpReply>> deliver(MailEnvelope envelope, std::string data) override;

private:
  std::weak_ptr<EmailGateway> gateway_;
};

class EmailGateway final : public Gateway, public std::enable_shared_from_this<EmailGateway> {
public:
  EmailGateway(config::GatewayConfig settings, std::string password)
      : settings_(std::move(settings)), sent_scope_("email-sent:" + settings_.domain),
        thread_scope_("email-thread:" + settings_.domain), root_scope_("email-root:" + settings_.domain),
        in_scope_("email-in:" + settings_.domain) {
    const auto& smtp = settings_.email.smtp;
    client_.url = smtp.url;
    client_.tls = smtp.tls == config::SmtpTls::none            ? SmtpClientSettings::Tls::none
                  : smtp.tls == config::SmtpTls::opportunistic ? SmtpClientSettings::Tls::opportunistic
                                                               : SmtpClientSettings::Tls::required;
    client_.username = smtp.username;
    client_.password = std::move(password);
    client_.ca_file = smtp.ca_file;
    client_.verify_peer = smtp.verify_peer;
    client_.helo_name = smtp.helo_name.empty() ? settings_.domain : smtp.helo_name;
    client_.timeout_seconds = static_cast<long>(settings_.timeout_seconds);
    for (const auto& user : settings_.email.users) {
      by_jid_.emplace(lower(user.jid), user);
      by_address_.emplace(lower(user.address), user);
    }
  }

  const config::GatewayConfig& settings() const override { return settings_; }
  std::string_view identity_type() const override { return "smtp"; }
  std::string_view default_name() const override { return "Email"; }
  std::string_view provider() const override { return "email"; }

  std::string prompt_description() const override { return "Enter an email address (bob@example.org)."; }
  std::string prompt_label() const override { return "Email address"; }

  boost::system::result<std::string, Refusal> translate(std::string_view input) const override {
    const auto address = address_from_input(input);
    if (!address) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::jid_malformed, "not an email address: " + std::string(input)}};
    }
    return localpart_of_address(*address);
  }

  boost::system::result<std::string, Refusal> accept(const Element& message) const override {
    const auto to = Jid::parse(message.attribute("to").value_or(""));
    const auto address = to ? address_of_localpart(to->local()) : std::nullopt;
    if (!address) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::jid_malformed,
                      "write to an email address escaped as XEP-0106 says, such as bob\\40example.org@" +
                          settings_.domain + " (the gateway's jabber:iq:gateway service translates what you type)"}};
    }
    if (settings_.email.smtp.url.empty()) {
      return {boost::system::in_place_error,
              Refusal{stanza_errc::service_unavailable, settings_.domain + " receives mail only; it sends none"}};
    }
    return *address;
  }

  asio::awaitable<Attempt> deliver(Element message, const storage::WorkItem& item) override {
    auto self = shared_from_this();
    Attempt attempt;
    const auto to = Jid::parse(message.attribute("to").value_or(""));
    const auto from = Jid::parse(message.attribute("from").value_or(""));
    const auto address = to ? address_of_localpart(to->local()) : std::nullopt;
    const Element* body = message.child("body", ns::client);
    if (!from || !address || body == nullptr) {
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason = "the stored message has no usable sender, address or body";
      co_return attempt;
    }
    const std::string stanza_id(message.attribute("id").value_or(""));
    const Element* subject_element = message.child("subject", ns::client);
    const Element* thread_element = message.child("thread", ns::client);
    OutboundMail mail;
    mail.to_address = *address;
    mail.message_id = message_id_for(stanza_id, item.key, settings_.domain);
    mail.body = body->text();
    mail.date = std::chrono::system_clock::now();
    mail.subject = subject_element != nullptr ? subject_element->text() : std::string();
    // RFC 6121 §5.2.2: a headline is sent by an automated service; RFC 3834 §5 marks such mail.
    if (message.attribute("type").value_or("") == "headline") {
      mail.auto_submitted = "auto-generated";
    }
    mail.extra_headers.emplace_back("X-Mailer", "Parley");
    const std::string thread = thread_element != nullptr ? thread_element->text() : std::string();

    struct Prepared {
      boost::system::error_code error;
      std::string address;
      std::string name;
      std::string root;
      std::string root_subject;
    };
    const Sent sent{std::to_string(item.id), stanza_id, from->full(), to->full()};
    auto prepare = [self, owner = std::string(from->bare_string()), local = std::string(from->local()),
                    domain = std::string(from->domain()), thread, message_id = mail.message_id,
                    subject = mail.subject, value = sent.encode()]() -> Prepared {
      Prepared out;
      auto& storage = self->host_->storage();
      if (auto it = self->by_jid_.find(lower(owner)); it != self->by_jid_.end()) {
        out.address = it->second.address;
        out.name = it->second.name;
      } else {
        auto mine = storage.registrations().of_owner(owner);
        if (!mine) {
          out.error = mine.error();
          return out;
        }
        for (const auto& registration : *mine) {
          if (registration.domain == self->settings_.domain) {
            out.address = registration.address;
            break;
          }
        }
        if (out.address.empty() && self->settings_.email.recipients == config::EmailRecipients::localpart &&
            lower(domain) == lower(self->user_host_)) {
          out.address = local + '@' + self->settings_.email.address_domain;
        }
      }
      if (out.address.empty()) {
        return out;
      }
      auto& seen = storage.seen();
      const auto now = now_stamp();
      if (!thread.empty()) {
        auto root = seen.lookup(self->root_scope_, thread);
        if (root) {
          const auto newline = root->find('\n');
          out.root = root->substr(0, newline);
          out.root_subject = newline == std::string::npos ? std::string() : root->substr(newline + 1);
        } else if (root.error() != storage_errc::not_found) {
          out.error = root.error();
          return out;
        }
      }
      const std::string root_key = thread.empty() ? message_id : thread;
      for (const auto& [scope, key, text] :
           {std::tuple(&self->sent_scope_, message_id, value), std::tuple(&self->thread_scope_, message_id, root_key),
            std::tuple(&self->root_scope_, root_key,
                       message_id + '\n' + (subject.empty() ? self->settings_.email.default_subject : subject))}) {
        if (auto remembered = seen.remember(*scope, key, text, now); !remembered) {
          out.error = remembered.error();
          return out;
        }
      }
      return out;
    };
    Prepared prepared = co_await host_->workers().run(std::move(prepare));
    if (prepared.error) {
      attempt.outcome = Attempt::Outcome::transient;
      attempt.reason = "storage is unavailable: " + prepared.error.message();
      co_return attempt;
    }
    if (prepared.address.empty()) {
      attempt.outcome = Attempt::Outcome::permanent;
      attempt.reason = std::string(from->bare_string()) + " has no email address on " + settings_.domain +
                       " (an administrator assigns one: parleyctl registrations add USER " + settings_.domain +
                       " ADDRESS)";
      co_return attempt;
    }
    mail.from_address = prepared.address;
    mail.from_name = prepared.name;
    if (!prepared.root.empty() && prepared.root != mail.message_id) {
      // RFC 5322 §3.6.4: In-Reply-To names the parent, References the thread. The gateway
      // keeps the thread's first mail, which is what mail clients thread on.
      mail.in_reply_to = prepared.root;
      mail.references.push_back(prepared.root);
      if (mail.subject.empty() && !prepared.root_subject.empty()) {
        mail.subject = lower(prepared.root_subject.substr(0, 3)) == "re:" ? prepared.root_subject
                                                                          : "Re: " + prepared.root_subject;
      }
    }
    if (mail.subject.empty()) {
      mail.subject = settings_.email.default_subject;
    }
    std::string data = compose_mail(mail);
    auto send = [settings = client_, envelope_from = mail.from_address, rcpt = mail.to_address,
                 data = std::move(data)] { return smtp_send(settings, envelope_from, rcpt, data); };
    const SmtpSendResult result = co_await smtp_pool_->run(std::move(send));
    attempt.reason = result.reply;
    switch (result.outcome) {
    case SmtpSendResult::Outcome::sent:
      attempt.outcome = Attempt::Outcome::delivered;
      attempt.reason = "sent as <" + mail.message_id + ">: " + result.reply;
      break;
    case SmtpSendResult::Outcome::transient: attempt.outcome = Attempt::Outcome::transient; break;
    case SmtpSendResult::Outcome::permanent: attempt.outcome = Attempt::Outcome::permanent; break;
    }
    co_return attempt;
  }

  void start(GatewayHost& host) override {
    host_ = &host;
    user_host_ = settings_.email.user_host.empty() ? host.config().hosts.front() : settings_.email.user_host;
    smtp_pool_ = std::make_unique<core::async::WorkerPool>(settings_.email.smtp.connections);
    auto handler = std::make_shared<Inbound>(weak_from_this());
    const std::string hostname = settings_.email.hostname.empty() ? settings_.domain : settings_.email.hostname;
    auto open = [&](MailDialect dialect, const std::string& address, std::uint16_t port) {
      if (port == 0) {
        return;
      }
      MailListenerOptions options;
      options.dialect = dialect;
      options.address = address;
      options.port = port;
      options.hostname = hostname;
      options.max_message_bytes = settings_.email.max_message_bytes;
      auto listener = MailListener::create(host.io(), std::move(options), handler);
      if (auto listening = listener->listen(); !listening) {
        spdlog::error("email gateway {}: {}", settings_.domain, listening.error());
        return;
      }
      spdlog::info("email gateway {}: {} listener on {}:{}", settings_.domain,
                   dialect == MailDialect::lmtp ? "LMTP" : "SMTP", address, listener->port());
      listeners_.push_back(std::move(listener));
    };
    open(MailDialect::lmtp, settings_.email.lmtp_address, settings_.email.lmtp_port);
    open(MailDialect::smtp, settings_.email.smtp_address, settings_.email.smtp_port);
    if (settings_.email.smtp.url.empty()) {
      spdlog::info("email gateway {}: no [gateway.smtp] url, so it sends no mail", settings_.domain);
    }
  }

  void stop() override {
    for (auto& listener : listeners_) {
      listener->stop();
    }
  }

  // ---- what the listeners receive ---------------------------------------------------------

  /// The users an address reaches: a [[gateway.user]], the owners of an assigned address,
  /// or (recipients = "localpart") USER of user_host for USER@address_domain. Blocks on
  /// storage: worker pool only.
  boost::system::result<std::vector<std::string>> owners_of(const std::string& address) {
    std::vector<std::string> owners;
    if (auto it = by_address_.find(lower(address)); it != by_address_.end()) {
      owners.push_back(it->second.jid);
      return owners;
    }
    auto& storage = host_->storage();
    auto assigned = storage.registrations().owners(settings_.domain, address);
    if (!assigned) {
      return assigned.error();
    }
    if (!assigned->empty() || settings_.email.recipients != config::EmailRecipients::localpart) {
      return std::move(*assigned);
    }
    const auto at = address.rfind('@');
    if (lower(address.substr(at + 1)) != settings_.email.address_domain) {
      return owners;
    }
    const auto jid = Jid::make(address.substr(0, at), user_host_);
    if (!jid) {
      return owners;
    }
    auto exists = storage.users().user_exists(jid->local());
    if (!exists) {
      return exists.error();
    }
    if (*exists) {
      owners.emplace_back(jid->bare_string());
    }
    return owners;
  }

  asio::awaitable<SmtpReply> check_recipient(std::string address) {
    auto self = shared_from_this();
    const auto normal = normalize_address(address);
    if (!normal) {
      co_return reply(550, "5.1.3", "<" + address + ">: not a mail address this server takes");
    }
    auto find = [self, a = *normal] { return self->owners_of(a); };
    auto owners = co_await host_->workers().run(std::move(find));
    if (!owners) {
      spdlog::warn("email gateway {}: mail to {} waits: storage is unavailable: {}", settings_.domain, *normal,
                   owners.error().message());
      co_return reply(452, "4.3.0", "storage is unavailable; try again later");
    }
    if (owners->empty()) {
      co_return reply(550, "5.1.1", "<" + *normal + ">: no such user here");
    }
    co_return reply(250, "2.1.5", "<" + *normal + "> ok");
  }

  asio::awaitable<std::vector<SmtpReply>> receive(MailEnvelope envelope, std::string data) {
    auto self = shared_from_this();
    const std::size_t count = envelope.recipients.size();
    auto all = [count](SmtpReply r) { return std::vector<SmtpReply>(count, r); };
    ParseLimits limits;
    limits.max_text_bytes = settings_.email.max_text_bytes;
    auto parse = [data = std::move(data), limits] { return parse_mail(data, limits); };
    auto parsed = co_await host_->workers().run(std::move(parse));
    if (!parsed) {
      spdlog::info("email gateway {}: refused a mail from <{}>: {}", settings_.domain, envelope.mail_from,
                   parsed.error());
      co_return all(reply(554, "5.6.0", "the message cannot be read: " + parsed.error()));
    }
    ParsedMail& mail = *parsed;
    if (mail.received_count > max_received_headers) {
      co_return all(reply(554, "5.4.6", "mail loop: too many Received headers"));
    }
    if (mail.is_dsn) {
      co_return all(co_await bounce(std::move(mail)));
    }
    // The sender's JID: From, else Reply-To, else the envelope's.
    std::string sender_address = mail.from.address;
    if (sender_address.empty()) {
      sender_address = !mail.reply_to.address.empty() ? mail.reply_to.address : envelope.mail_from;
    }
    std::optional<Jid> sender_jid;
    if (const auto sender = normalize_address(sender_address)) {
      if (auto jid = Jid::make(localpart_of_address(*sender), settings_.domain)) {
        sender_jid = std::move(*jid);
      }
    }
    if (!sender_jid) {
      co_return all(reply(550, "5.1.7", "the sender <" + sender_address + "> makes no contact address"));
    }
    if (mail.message_id.empty()) {
      // Without one, a repeat cannot be recognised; a digest of the message stands in.
      mail.message_id = core::sasl::crypto::hex_encode(core::sasl::crypto::hash(
                            core::sasl::ScramHash::sha256, mail.from.address + '\n' + mail.subject + '\n' + mail.text))
                            .substr(0, 32) +
                        "@" + settings_.domain;
    }

    struct Plan {
      boost::system::error_code error;
      bool loop = false;
      std::string thread;
      /// Per recipient: the owners that do not have it yet, and whether any owner exists.
      std::vector<std::vector<std::string>> pending;
      std::vector<bool> known;
    };
    auto plan = [self, recipients = envelope.recipients, message_id = mail.message_id,
                 in_reply_to = mail.in_reply_to, references = mail.references, subject = mail.subject]() -> Plan {
      Plan out;
      auto& seen = self->host_->storage().seen();
      // Our own Message-ID coming back in is a loop (an alias that points back at us).
      if (auto ours = seen.lookup(self->sent_scope_, message_id); ours) {
        out.loop = true;
        return out;
      } else if (ours.error() != storage_errc::not_found) {
        out.error = ours.error();
        return out;
      }
      // The thread: that of the closest earlier mail known, else the conversation's first.
      std::vector<std::string> earlier;
      if (!in_reply_to.empty()) {
        earlier.push_back(in_reply_to);
      }
      earlier.insert(earlier.end(), references.rbegin(), references.rend());
      for (const auto& id : earlier) {
        auto thread = seen.lookup(self->thread_scope_, id);
        if (thread) {
          out.thread = std::move(*thread);
          break;
        }
        if (thread.error() != storage_errc::not_found) {
          out.error = thread.error();
          return out;
        }
      }
      if (out.thread.empty()) {
        out.thread = !references.empty() ? references.front() : !in_reply_to.empty() ? in_reply_to : message_id;
      }
      const auto now = now_stamp();
      if (auto r = seen.remember(self->thread_scope_, message_id, out.thread, now); !r) {
        out.error = r.error();
        return out;
      }
      if (auto r = seen.remember(self->root_scope_, out.thread, out.thread + '\n' + subject, now); !r) {
        out.error = r.error();
        return out;
      }
      for (const auto& recipient : recipients) {
        std::vector<std::string> pending;
        const auto normal = normalize_address(recipient);
        auto owners = normal ? self->owners_of(*normal) : boost::system::result<std::vector<std::string>>();
        if (!owners) {
          out.error = owners.error();
          return out;
        }
        out.known.push_back(!owners->empty());
        for (auto& owner : *owners) {
          auto had = seen.lookup(self->in_scope_, message_id + '\n' + owner);
          if (had) {
            continue;
          }
          if (had.error() != storage_errc::not_found) {
            out.error = had.error();
            return out;
          }
          pending.push_back(std::move(owner));
        }
        out.pending.push_back(std::move(pending));
      }
      return out;
    };
    Plan planned = co_await host_->workers().run(std::move(plan));
    if (planned.error) {
      spdlog::warn("email gateway {}: mail <{}> waits: storage is unavailable: {}", settings_.domain,
                   mail.message_id, planned.error.message());
      co_return all(reply(452, "4.3.0", "storage is unavailable; try again later"));
    }
    if (planned.loop) {
      spdlog::warn("email gateway {}: refused mail <{}> from <{}>: it is one this gateway sent (a mail loop)",
                   settings_.domain, mail.message_id, sender_address);
      co_return all(reply(554, "5.4.6", "mail loop: this message was sent by this gateway"));
    }
    const std::string id =
        "mail-" + core::sasl::crypto::hex_encode(core::sasl::crypto::hash(core::sasl::ScramHash::sha256, mail.message_id))
                      .substr(0, 24);
    std::vector<SmtpReply> replies;
    std::vector<std::string> delivered;
    for (std::size_t i = 0; i < count; ++i) {
      if (!planned.known[i]) {
        replies.push_back(reply(550, "5.1.1", "<" + envelope.recipients[i] + ">: no such user here"));
        continue;
      }
      SmtpReply answer = reply(250, "2.0.0", "<" + envelope.recipients[i] + "> delivered");
      for (const auto& owner : planned.pending[i]) {
        Element stanza = inbound_message(mail, sender_jid->full(), owner, id, planned.thread);
        // Offline, the Message-ID is recorded with the message itself: a retry after a crash
        // between the two finds it and stores no second copy.
        std::optional<storage::DeliveryKey> once(storage::DeliveryKey{in_scope_, mail.message_id + '\n' + owner, id});
        const auto disposition = co_await host_->deliver(std::move(stanza), std::move(once));
        if (disposition == router::Disposition::handled) {
          delivered.push_back(owner);
        } else if (disposition == router::Disposition::not_stored) {
          answer = reply(452, "4.3.0", "storage is unavailable; try again later");
        } else if (answer.code == 250) {
          answer = reply(550, "5.2.0", "<" + envelope.recipients[i] +
                                           ">: the user cannot take messages (offline storage full or account gone)");
        }
      }
      replies.push_back(std::move(answer));
    }
    if (!delivered.empty()) {
      // After the delivery, for messages that went to a session (offline storage recorded the
      // key already): a crash in between delivers such a repeat twice, never zero times.
      auto remember = [self, message_id = mail.message_id, id, delivered] {
        auto& seen = self->host_->storage().seen();
        const auto now = now_stamp();
        for (const auto& owner : delivered) {
          if (auto r = seen.remember(self->in_scope_, message_id + '\n' + owner, id, now); !r) {
            return r.error();
          }
        }
        return boost::system::error_code();
      };
      if (const auto failed = co_await host_->workers().run(std::move(remember)); failed) {
        spdlog::warn("email gateway {}: delivered mail <{}>, but cannot remember it: {}", settings_.domain,
                     mail.message_id, failed.message());
      }
    }
    co_return replies;
  }

private:
  /// A delivery status notification: each failed recipient becomes an error to whoever sent
  /// the message; a notice about mail the gateway did not send is delivered like any mail.
  asio::awaitable<SmtpReply> bounce(ParsedMail mail) {
    auto self = shared_from_this();
    auto find = [self, original = mail.dsn_original_message_id]() -> boost::system::result<std::optional<Sent>> {
      if (original.empty()) {
        return std::optional<Sent>();
      }
      auto found = self->host_->storage().seen().lookup(self->sent_scope_, original);
      if (!found) {
        if (found.error() == storage_errc::not_found) {
          return std::optional<Sent>();
        }
        return found.error();
      }
      return Sent::decode(*found);
    };
    auto found = co_await host_->workers().run(std::move(find));
    if (!found) {
      co_return reply(452, "4.3.0", "storage is unavailable; try again later");
    }
    if (!*found) {
      spdlog::info("email gateway {}: a delivery status notification about <{}>, which this gateway did not send; "
                   "dropped",
                   settings_.domain, mail.dsn_original_message_id);
      co_return reply(250, "2.0.0", "notification taken (no message of ours)");
    }
    const Sent& sent = **found;
    for (const auto& status : mail.dsn) {
      if (status.action != "failed") {
        spdlog::info("email gateway {}: mail <{}> to {}: {} ({})", settings_.domain, mail.dsn_original_message_id,
                     status.recipient, status.action, status.status);
        continue;
      }
      spdlog::info("email gateway {}: mail <{}> from {} to {} bounced: {} {}", settings_.domain,
                   mail.dsn_original_message_id, sent.sender, status.recipient, status.status, status.diagnostic);
      Element error = bounce_message(sent.contact, sent.sender, sent.stanza_id, status);
      if (co_await host_->deliver(std::move(error)) == router::Disposition::not_stored) {
        co_return reply(452, "4.3.0", "storage is unavailable; try again later");
      }
    }
    co_return reply(250, "2.0.0", "notification taken");
  }

  const config::GatewayConfig settings_;
  SmtpClientSettings client_;
  const std::string sent_scope_;
  const std::string thread_scope_;
  const std::string root_scope_;
  const std::string in_scope_;
  std::map<std::string, config::EmailUserConfig, std::less<>> by_jid_;
  std::map<std::string, config::EmailUserConfig, std::less<>> by_address_;
  GatewayHost* host_ = nullptr;
  std::string user_host_;
  /// Submissions block (libcurl's easy interface): they get threads of their own, so that a
  /// slow smarthost never holds up storage.
  std::unique_ptr<core::async::WorkerPool> smtp_pool_;
  std::vector<std::shared_ptr<MailListener>> listeners_;
};

asio::awaitable<SmtpReply> Inbound::check_recipient(std::string address) {
  auto gateway = gateway_.lock();
  if (!gateway) {
    co_return reply(421, "4.3.2", "shutting down");
  }
  co_return co_await gateway->check_recipient(std::move(address));
}

asio::awaitable<std::vector<SmtpReply>> Inbound::deliver(MailEnvelope envelope, std::string data) {
  auto gateway = gateway_.lock();
  if (!gateway) {
    co_return std::vector<SmtpReply>(envelope.recipients.size(), reply(421, "4.3.2", "shutting down"));
  }
  co_return co_await gateway->receive(std::move(envelope), std::move(data));
}

} // namespace

boost::system::result<std::unique_ptr<Gateway>, std::string> make_email_gateway(const config::GatewayConfig& settings) {
  std::string password = settings.email.smtp.password;
  if (!settings.email.smtp.password_env.empty()) {
    const char* value = std::getenv(settings.email.smtp.password_env.c_str());
    if (value == nullptr || *value == '\0') {
      return {boost::system::in_place_error,
              "the environment variable " + settings.email.smtp.password_env + " ([gateway.smtp] password_env) is not set"};
    }
    password = value;
  }
  auto gateway = std::make_shared<EmailGateway>(settings, std::move(password));
  return own_shared(std::move(gateway));
}

} // namespace parley::gateways::email
