#include "gateways/sms/smpp_provider.hpp"

#include "core/sasl/crypto.hpp"
#include "gateways/gateway.hpp"
#include "gateways/sms/backoff.hpp"
#include "gateways/sms/reassembly.hpp"
#include "gateways/sms/smpp_messages.hpp"
#include "gateways/sms/smpp_pdu.hpp"
#include "gateways/sms/smpp_window.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <random>

namespace parley::gateways::sms {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

/// Submitted message ids remembered to map a later part's receipt to the message's id.
constexpr std::size_t remembered_ids = 8192;
/// A receipt for an id we submitted this recently may have overtaken the gateway's note of
/// that id: it is answered with a transient error so that the SMSC delivers it again.
constexpr auto receipt_grace = std::chrono::seconds(60);
/// Reports of such a receipt before that transient error.
constexpr int receipt_tries = 5;
/// How long stop() waits for unbind_resp (the daemon ends the loop soon after).
constexpr auto unbind_wait = std::chrono::milliseconds(250);

/// One request waiting for its response: completed by the reader (done), or by the loss of
/// the connection (lost); its timer is cancelled either way.
struct Waiter {
  explicit Waiter(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  bool done = false;
  bool lost = false;
  Pdu response;
};

/// An answer owed to the SMSC for one part of a concatenated SMS, on one connection.
struct HeldAck {
  std::uint64_t generation = 0;
  std::uint32_t sequence = 0;
};

/// The parts of one concatenated SMS that wait for the rest.
struct HeldSet {
  std::string from;
  std::string to;
  std::uint8_t data_coding = 0;
  std::vector<HeldAck> acks;
  Clock::time_point first_seen;
};

/// A message id we submitted: the message's own id (its first part's), and when.
struct Submitted {
  std::string message_id;
  Clock::time_point when;
};

using Answer = boost::system::result<Pdu, std::string>;

class SmppProvider final : public Provider, public std::enable_shared_from_this<SmppProvider> {
public:
  SmppProvider(config::GatewayConfig settings, std::string password)
      : settings_(std::move(settings)), smpp_(settings_.sms.smpp), password_(std::move(password)),
        window_(smpp_.window), reconnect_backoff_(std::chrono::milliseconds(smpp_.reconnect_min_ms),
                                                  std::chrono::milliseconds(smpp_.reconnect_max_ms)),
        throttle_backoff_(std::chrono::milliseconds(smpp_.throttle_backoff_ms),
                          std::chrono::milliseconds(smpp_.throttle_max_ms)),
        reassembler_(reassembly_limits(smpp_)), random_(std::random_device{}()) {
    submit_options_.service_type = smpp_.service_type;
    submit_options_.source_ton = smpp_.source_ton;
    submit_options_.source_npi = smpp_.source_npi;
    submit_options_.destination_ton = smpp_.destination_ton;
    submit_options_.destination_npi = smpp_.destination_npi;
    submit_options_.delivery_receipts = smpp_.delivery_receipts;
  }

  std::string_view name() const override { return "smpp"; }

  void start(GatewayHost& host, std::weak_ptr<ProviderSink> sink) override {
    sink_ = std::move(sink);
    strand_.emplace(asio::make_strand(host.io()));
    link_timer_ = std::make_unique<asio::steady_timer>(*strand_);
    sweep_timer_ = std::make_unique<asio::steady_timer>(*strand_);
    asio::co_spawn(*strand_, run(), asio::detached);
    asio::co_spawn(*strand_, sweep(), asio::detached);
  }

  asio::awaitable<SendResult> send(OutboundSms sms) override {
    if (stopped_ || !strand_) {
      SendResult result;
      result.outcome = SendResult::Outcome::transient;
      result.reason = "the gateway is stopping";
      co_return result;
    }
    co_return co_await asio::co_spawn(*strand_, submit(std::move(sms)), asio::use_awaitable);
  }

  void stop() override {
    if (stopped_.exchange(true) || !strand_) {
      return;
    }
    asio::co_spawn(*strand_, shut_down(), asio::detached);
  }

private:
  enum class State { disconnected, binding, bound, unbinding };
  /// What a request needs before it goes out: the bound session and no throttling (submits),
  /// or only the current connection (bind, enquire_link, unbind).
  enum class Need { bound_session, connection };

  static Reassembler::Limits reassembly_limits(const config::SmppConfig& smpp) {
    Reassembler::Limits limits;
    limits.timeout = std::chrono::seconds(smpp.reassembly_timeout_seconds);
    limits.duplicate_window = std::chrono::seconds(smpp.reassembly_timeout_seconds);
    return limits;
  }

  std::string peer() const { return smpp_.host + ":" + std::to_string(smpp_.port); }

  std::chrono::seconds response_timeout() const { return std::chrono::seconds(smpp_.response_timeout_seconds); }

  // ---- waiting on the strand -------------------------------------------------------------

  /// Sleeps until `until` or the next `notify()`, whichever comes first; callers re-check
  /// what they wait for.
  asio::awaitable<void> sleep_until(Clock::time_point until) {
    asio::steady_timer timer(*strand_);
    timer.expires_at(until);
    sleepers_.push_back(&timer);
    const auto me = std::prev(sleepers_.end());
    co_await timer.async_wait(tuple_awaitable);
    sleepers_.erase(me);
  }

  /// Wakes every sleeper: the state changed (bound, lost, a window slot freed, stopping).
  void notify() {
    for (auto* timer : sleepers_) {
      timer->cancel();
    }
  }

  // ---- the connection ----------------------------------------------------------------------

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    while (!stopped_) {
      co_await connect_and_serve();
      if (stopped_) {
        break;
      }
      std::uniform_real_distribution<double> jitter(0.0, 1.0);
      const auto delay = reconnect_backoff_.next(jitter(random_));
      spdlog::info("sms gateway {}: connecting to the SMSC at {} again in {} ms", settings_.domain, peer(),
                   delay.count());
      co_await sleep_until(Clock::now() + delay);
    }
  }

  asio::awaitable<void> connect_and_serve() {
    tcp::resolver resolver(*strand_);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(smpp_.host, std::to_string(smpp_.port), tuple_awaitable);
    if (resolve_error) {
      spdlog::warn("sms gateway {}: cannot resolve the SMSC's host {}: {}", settings_.domain, smpp_.host,
                   resolve_error.message());
      co_return;
    }
    auto socket = std::make_shared<tcp::socket>(*strand_);
    asio::steady_timer watchdog(*strand_);
    watchdog.expires_after(response_timeout());
    watchdog.async_wait([socket](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        socket->close(ignored);
      }
    });
    auto [connect_error, endpoint] = co_await asio::async_connect(*socket, endpoints, tuple_awaitable);
    watchdog.cancel();
    if (connect_error) {
      spdlog::warn("sms gateway {}: cannot connect to the SMSC at {}: {}", settings_.domain, peer(),
                   connect_error.message());
      co_return;
    }
    if (stopped_) {
      boost::system::error_code ignored;
      socket->close(ignored);
      co_return;
    }
    boost::system::error_code ignored;
    socket->set_option(tcp::no_delay(true), ignored);
    const std::uint64_t generation = ++generation_;
    socket_ = socket;
    state_ = State::binding;
    last_heard_ = Clock::now();
    close_after_writes_ = false;
    asio::co_spawn(*strand_, read_loop(socket, generation), asio::detached);

    Bind bind;
    bind.system_id = smpp_.system_id;
    bind.password = password_;
    bind.system_type = smpp_.system_type;
    // Requests are named before they are awaited: GCC 12 destroys a braced temporary in a
    // co_await expression twice.
    Pdu bind_pdu{CommandId::bind_transceiver, command_status::esme_rok, 0, std::move(bind)};
    auto answer =
        co_await request(std::move(bind_pdu), Need::connection, Clock::now() + response_timeout(), response_timeout());
    if (generation != generation_) {
      co_return;
    }
    if (!answer) {
      lose(generation, "bind_transceiver: " + answer.error());
      co_return;
    }
    if (answer->command_status != command_status::esme_rok) {
      spdlog::error("sms gateway {}: the SMSC at {} refused bind_transceiver as '{}': {}", settings_.domain, peer(),
                    smpp_.system_id, smpp::describe_status(answer->command_status));
      lose(generation, "bind refused");
      co_return;
    }
    std::string smsc_id;
    if (const auto* resp = std::get_if<BindResp>(&answer->body)) {
      smsc_id = resp->system_id;
    }
    state_ = State::bound;
    reconnect_backoff_.reset();
    spdlog::info("sms gateway {}: bound to the SMSC at {} as '{}' (its system_id '{}')", settings_.domain, peer(),
                 smpp_.system_id, smsc_id);
    notify();
    co_await keep_alive(generation);
  }

  /// §4.11: an enquire_link whenever the SMSC has been quiet for enquire_link_seconds; no
  /// answer in time means the link is dead. Returns when the connection is gone.
  asio::awaitable<void> keep_alive(std::uint64_t generation) {
    const auto idle = std::chrono::seconds(smpp_.enquire_link_seconds);
    while (generation == generation_ && socket_ && !stopped_) {
      const auto due = last_heard_ + idle;
      if (Clock::now() < due) {
        link_timer_->expires_at(due);
        co_await link_timer_->async_wait(tuple_awaitable);
        continue;
      }
      Pdu enquire = make_enquire_link(0);
      auto answer =
          co_await request(std::move(enquire), Need::connection, Clock::now() + response_timeout(), response_timeout());
      if (generation != generation_) {
        break;
      }
      if (!answer) {
        lose(generation, "enquire_link: " + answer.error());
        break;
      }
    }
  }

  asio::awaitable<void> read_loop(std::shared_ptr<tcp::socket> socket, std::uint64_t generation) {
    auto self = shared_from_this();
    std::string buffer;
    std::array<char, 16384> chunk{};
    for (;;) {
      auto [ec, n] = co_await socket->async_read_some(asio::buffer(chunk), tuple_awaitable);
      if (generation != generation_) {
        co_return;
      }
      if (ec) {
        lose(generation, ec == asio::error::eof ? "the SMSC closed the connection" : ec.message());
        co_return;
      }
      buffer.append(chunk.data(), n);
      last_heard_ = Clock::now();
      for (;;) {
        auto decoded = decode(buffer);
        if (std::holds_alternative<NeedMore>(decoded)) {
          break;
        }
        if (auto* pdu = std::get_if<Decoded>(&decoded)) {
          buffer.erase(0, pdu->length);
          on_pdu(std::move(pdu->pdu), generation);
        } else {
          const auto& error = std::get<DecodeError>(decoded);
          on_bad_pdu(error, generation);
          if (error.skip == 0) {
            lose(generation, "lost the PDU framing: " + error.error.message());
            co_return;
          }
          buffer.erase(0, std::min(error.skip, buffer.size()));
        }
        if (generation != generation_) {
          co_return;
        }
      }
    }
  }

  void on_pdu(Pdu pdu, std::uint64_t generation) {
    const auto command = static_cast<std::uint32_t>(pdu.command_id);
    if (is_response(pdu.command_id)) {
      complete(std::move(pdu));
      return;
    }
    switch (pdu.command_id) {
    case CommandId::enquire_link:
      send_pdu(generation, make_empty_response(CommandId::enquire_link, pdu.sequence_number));
      break;
    case CommandId::unbind:
      // §4.2: answer, then the SMSC closes; we close once the answer is out, and bind again.
      spdlog::info("sms gateway {}: the SMSC at {} unbinds", settings_.domain, peer());
      state_ = State::unbinding;
      send_pdu(generation, make_empty_response(CommandId::unbind, pdu.sequence_number));
      close_after_writes_ = true;
      break;
    case CommandId::deliver_sm: asio::co_spawn(*strand_, on_deliver(std::move(pdu), generation), asio::detached); break;
    default:
      // An ESME is not bound to, nor submitted to: §4.3 generic_nack.
      spdlog::warn("sms gateway {}: the SMSC at {} sent {}, which an ESME does not serve", settings_.domain, peer(),
                   command_name(command));
      send_pdu(generation, make_generic_nack(pdu.sequence_number, command_status::esme_rinvcmdid));
      break;
    }
  }

  void on_bad_pdu(const DecodeError& error, std::uint64_t generation) {
    const std::uint32_t status = command_status_for(error.error);
    if (!error.header) {
      send_pdu(generation, make_generic_nack(0, status));
      return;
    }
    const Header& header = *error.header;
    spdlog::warn("sms gateway {}: the SMSC at {} sent an unreadable PDU (command_id 0x{:08X}, sequence {}): {}",
                 settings_.domain, peer(), header.command_id, header.sequence_number, error.error.message());
    if ((header.command_id & response_bit) != 0) {
      // A response we cannot read still ends its request, as a failure.
      Pdu failed;
      failed.command_id = static_cast<CommandId>(header.command_id);
      failed.sequence_number = header.sequence_number;
      failed.command_status = header.command_status != 0 ? header.command_status : command_status::esme_rsyserr;
      complete(std::move(failed));
      return;
    }
    send_pdu(generation, make_generic_nack(header.sequence_number, status));
  }

  /// Hands a response to the request it answers.
  void complete(Pdu pdu) {
    const auto command = static_cast<std::uint32_t>(pdu.command_id);
    auto closed = window_.close(pdu.sequence_number, command);
    if (!closed) {
      spdlog::warn("sms gateway {}: the SMSC at {} sent {} (sequence {}, {}) that answers no request of ours",
                   settings_.domain, peer(), command_name(command), pdu.sequence_number,
                   smpp::describe_status(pdu.command_status));
      return;
    }
    if (pdu.command_id == CommandId::generic_nack) {
      spdlog::warn("sms gateway {}: the SMSC at {} answered {} with generic_nack: {}", settings_.domain, peer(),
                   command_name(static_cast<std::uint32_t>(closed->command)),
                   smpp::describe_status(pdu.command_status));
      if (pdu.command_status == command_status::esme_rok) {
        pdu.command_status = command_status::esme_rsyserr;
      }
    }
    auto& waiter = closed->value;
    waiter->response = std::move(pdu);
    waiter->done = true;
    waiter->timer.cancel();
    notify();
  }

  /// Ends connection `generation` (if it is still the current one): every request waiting on
  /// it fails, and answers owed on it are dropped (the SMSC delivers those PDUs again).
  void lose(std::uint64_t generation, std::string_view reason) {
    if (generation != generation_ || !socket_) {
      return;
    }
    if (state_ == State::unbinding || stopped_) {
      spdlog::info("sms gateway {}: connection to the SMSC at {} closed ({})", settings_.domain, peer(), reason);
    } else {
      spdlog::warn("sms gateway {}: connection to the SMSC at {} lost: {}", settings_.domain, peer(), reason);
    }
    boost::system::error_code ignored;
    socket_->shutdown(tcp::socket::shutdown_both, ignored);
    socket_->close(ignored);
    socket_.reset();
    ++generation_; // late completions of the old connection's operations find nothing to do
    state_ = State::disconnected;
    writes_.clear();
    writing_ = false;
    close_after_writes_ = false;
    for (auto& waiter : window_.clear()) {
      waiter->lost = true;
      waiter->timer.cancel();
    }
    if (link_timer_) {
      link_timer_->cancel();
    }
    notify();
  }

  // ---- writing -----------------------------------------------------------------------------

  void send_pdu(std::uint64_t generation, const Pdu& pdu) {
    auto bytes = encode(pdu);
    if (!bytes) {
      spdlog::error("sms gateway {}: cannot encode {}: {}", settings_.domain,
                    command_name(static_cast<std::uint32_t>(pdu.command_id)), bytes.error().message());
      return;
    }
    write(generation, std::move(*bytes));
  }

  void write(std::uint64_t generation, std::string bytes) {
    if (generation != generation_ || !socket_) {
      return;
    }
    writes_.push_back(std::move(bytes));
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(*strand_, write_loop(socket_, generation), asio::detached);
    }
  }

  asio::awaitable<void> write_loop(std::shared_ptr<tcp::socket> socket, std::uint64_t generation) {
    auto self = shared_from_this();
    while (generation == generation_ && !writes_.empty()) {
      // Whatever queued up meanwhile goes in one write.
      std::string bytes;
      while (!writes_.empty()) {
        bytes += writes_.front();
        writes_.pop_front();
      }
      auto [ec, n] = co_await asio::async_write(*socket, asio::buffer(bytes), tuple_awaitable);
      if (generation != generation_) {
        co_return;
      }
      if (ec) {
        lose(generation, "write: " + ec.message());
        co_return;
      }
    }
    writing_ = false;
    if (close_after_writes_) {
      lose(generation, "unbound by the SMSC");
    }
  }

  // ---- requests ----------------------------------------------------------------------------

  /// Sends `pdu` as a request (its sequence number from the window) and waits for the
  /// response: at most `deadline` for the connection (and a window slot) to be there, then
  /// `timeout` for the answer. The error says why there is none.
  asio::awaitable<Answer> request(Pdu pdu, Need need, Clock::time_point deadline, Clock::duration timeout) {
    const std::string_view what = command_name(static_cast<std::uint32_t>(pdu.command_id));
    for (;;) {
      const auto now = Clock::now();
      if (stopped_ && need == Need::bound_session) {
        co_return Answer(boost::system::in_place_error, "the gateway is stopping");
      }
      const bool connected = socket_ && (need == Need::connection || state_ == State::bound);
      const bool throttled = need == Need::bound_session && now < throttled_until_;
      if (connected && !throttled && !window_.full()) {
        break;
      }
      if (need == Need::connection && !socket_) {
        co_return Answer(boost::system::in_place_error, "the connection is gone");
      }
      if (now >= deadline) {
        std::string why = !connected  ? "not bound to the SMSC at " + peer()
                          : throttled ? "the SMSC is throttling us"
                                      : "all " + std::to_string(window_.capacity()) + " window slots are in use";
        co_return Answer(boost::system::in_place_error, std::move(why));
      }
      co_await sleep_until(throttled ? std::min(deadline, throttled_until_) : deadline);
    }
    auto waiter = std::make_shared<Waiter>(*strand_);
    const auto command = pdu.command_id;
    const std::uint32_t sequence = *window_.open(command, waiter);
    pdu.sequence_number = sequence;
    auto bytes = encode(pdu);
    if (!bytes) {
      window_.abandon(sequence);
      notify();
      co_return Answer(boost::system::in_place_error,
                       "cannot encode " + std::string(what) + ": " + bytes.error().message());
    }
    write(generation_, std::move(*bytes));
    waiter->timer.expires_after(timeout);
    if (!waiter->done && !waiter->lost) {
      co_await waiter->timer.async_wait(tuple_awaitable);
    }
    if (waiter->done) {
      co_return Answer(boost::system::in_place_value, std::move(waiter->response));
    }
    if (waiter->lost) {
      co_return Answer(boost::system::in_place_error,
                       "the connection to the SMSC was lost before " + std::string(what) + "_resp came");
    }
    window_.abandon(sequence);
    notify();
    co_return Answer(boost::system::in_place_error,
                     "no " + std::string(what) + "_resp within " +
                         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s");
  }

  // ---- out ---------------------------------------------------------------------------------

  asio::awaitable<SendResult> submit(OutboundSms sms) {
    auto self = shared_from_this();
    SendResult result;
    // SMPP carries text only: media go as their URLs.
    for (const auto& url : sms.media_urls) {
      sms.body += (sms.body.empty() ? "" : "\n") + url;
    }
    auto submits = smpp::make_submits(sms, submit_options_);
    if (!submits) {
      result.outcome = SendResult::Outcome::permanent;
      result.reason = "the text cannot be sent as SMS: " + submits.error().message();
      co_return result;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(settings_.timeout_seconds);
    const std::size_t parts = submits->size();
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < parts; ++i) {
      const std::string part =
          parts > 1 ? " (part " + std::to_string(i + 1) + " of " + std::to_string(parts) + ")" : std::string();
      Pdu submit_pdu{CommandId::submit_sm, command_status::esme_rok, 0, std::move((*submits)[i])};
      auto answer = co_await request(std::move(submit_pdu), Need::bound_session, deadline, response_timeout());
      if (!answer) {
        result.outcome = SendResult::Outcome::transient;
        result.reason = "submit_sm" + part + ": " + answer.error();
        co_return result;
      }
      const std::uint32_t status = answer->command_status;
      if (status == command_status::esme_rok) {
        const auto* resp = std::get_if<SubmitSmResp>(&answer->body);
        ids.push_back(resp != nullptr ? resp->message_id : std::string());
        throttle_backoff_.reset();
        continue;
      }
      result.reason = "the SMSC refused submit_sm" + part + ": " + smpp::describe_status(status);
      if (smpp::is_throttling(status)) {
        const auto delay = throttle_backoff_.next();
        throttled_until_ = std::max(throttled_until_, Clock::now() + delay);
        result.outcome = SendResult::Outcome::transient;
        result.retry_at = std::chrono::system_clock::now() + delay;
        result.reason += "; submits pause for " + std::to_string(delay.count()) + " ms";
        spdlog::info("sms gateway {}: {}", settings_.domain, result.reason);
      } else {
        result.outcome = is_transient(status) ? SendResult::Outcome::transient : SendResult::Outcome::permanent;
      }
      co_return result;
    }
    const auto now = Clock::now();
    for (const auto& id : ids) {
      if (!id.empty()) {
        remember_submitted(id, ids.front(), now);
      }
    }
    result.outcome = SendResult::Outcome::accepted;
    result.provider_id = ids.front();
    result.reason = "submit_sm accepted, message_id " + ids.front();
    for (std::size_t i = 1; i < ids.size(); ++i) {
      result.reason += (i == 1 ? " (further parts: " : ", ") + ids[i] + (i + 1 == ids.size() ? ")" : "");
    }
    co_return result;
  }

  void remember_submitted(const std::string& id, const std::string& message_id, Clock::time_point now) {
    submitted_.insert_or_assign(id, Submitted{message_id, now});
    submitted_order_.push_back(id);
    while (submitted_order_.size() > remembered_ids) {
      submitted_.erase(submitted_order_.front());
      submitted_order_.pop_front();
    }
  }

  // ---- in ----------------------------------------------------------------------------------

  /// Answers one deliver_sm on connection `generation`, unless that connection is gone (the
  /// SMSC then delivers it again).
  void answer_deliver(std::uint64_t generation, std::uint32_t sequence, std::uint32_t status) {
    if (generation != generation_) {
      spdlog::debug("sms gateway {}: the deliver_sm answer ({}) is dropped with its connection", settings_.domain,
                    sequence);
      return;
    }
    send_pdu(generation, Pdu{CommandId::deliver_sm_resp, status, sequence, DeliverSmResp{}});
  }

  asio::awaitable<void> on_deliver(Pdu pdu, std::uint64_t generation) {
    auto self = shared_from_this();
    const std::uint32_t sequence = pdu.sequence_number;
    const auto* deliver = std::get_if<DeliverSm>(&pdu.body);
    if (deliver == nullptr) {
      answer_deliver(generation, sequence, command_status::esme_rsyserr);
      co_return;
    }
    auto meaning = smpp::read_deliver_sm(*deliver);
    if (auto* unusable = std::get_if<smpp::UnusablePdu>(&meaning)) {
      if (unusable->status != command_status::esme_rok) {
        spdlog::warn("sms gateway {}: refused {} from the SMSC with {}", settings_.domain, unusable->reason,
                     smpp::describe_status(unusable->status));
      } else {
        spdlog::info("sms gateway {}: ignored {}", settings_.domain, unusable->reason);
      }
      answer_deliver(generation, sequence, unusable->status);
      co_return;
    }
    if (auto* receipt = std::get_if<smpp::ReceiptPdu>(&meaning)) {
      const auto status = co_await on_receipt(std::move(receipt->report));
      answer_deliver(generation, sequence, status);
      co_return;
    }
    auto& text = std::get<smpp::TextPdu>(meaning);
    if (!text.concat) {
      const auto status = co_await deliver_text(text.from, text.to, text.data_coding, text.payload);
      answer_deliver(generation, sequence, status);
      co_return;
    }
    // One part: answered with the whole message, so that nothing is acknowledged before the
    // text is delivered or stored.
    const auto& concat = *text.concat;
    const std::string source = text.from + '\n' + text.to;
    const std::string set_key = source + '\n' + std::to_string(concat.reference) + '\n' + std::to_string(concat.total);
    auto added = reassembler_.add(source, concat, text.payload, Clock::now());
    if (!added) {
      spdlog::warn("sms gateway {}: refused a part of an SMS from {}: {}", settings_.domain, text.from,
                   added.error().message());
      answer_deliver(generation, sequence, command_status::esme_rx_p_appn);
      co_return;
    }
    switch (added->status) {
    case Reassembler::Status::pending: {
      auto [it, fresh] = held_.try_emplace(set_key);
      auto& held = it->second;
      if (fresh) {
        held.first_seen = Clock::now();
      }
      held.from = text.from;
      held.to = text.to;
      held.data_coding = text.data_coding;
      held.acks.push_back({generation, sequence});
      co_return;
    }
    case Reassembler::Status::duplicate:
      if (auto it = held_.find(set_key); it != held_.end()) {
        it->second.acks.push_back({generation, sequence}); // the SMSC sent a part again: answer the latest
      } else {
        answer_deliver(generation, sequence, command_status::esme_rok); // of a message delivered already
      }
      co_return;
    case Reassembler::Status::complete: break;
    }
    std::vector<HeldAck> acks;
    if (auto it = held_.find(set_key); it != held_.end()) {
      acks = std::move(it->second.acks);
      held_.erase(it);
    }
    acks.push_back({generation, sequence});
    const auto status = co_await deliver_text(text.from, text.to, text.data_coding, added->payload);
    if (status != command_status::esme_rok) {
      // Refused: the SMSC sends the parts again, and they must make a new message then.
      reassembler_.release(source, concat.reference, concat.total);
    }
    for (const auto& ack : acks) {
      answer_deliver(ack.generation, ack.sequence, status);
    }
  }

  asio::awaitable<std::uint32_t> deliver_text(const std::string& from, const std::string& to, std::uint8_t data_coding,
                                              std::string_view payload) {
    auto body = smpp::payload_text(data_coding, payload);
    if (!body) {
      spdlog::warn("sms gateway {}: refused an SMS from {} to {}: data_coding {}: {}", settings_.domain, from, to,
                   data_coding, body.error().message());
      co_return command_status::esme_rx_p_appn;
    }
    co_return co_await deliver_body(from, to, std::move(*body));
  }

  asio::awaitable<std::uint32_t> deliver_body(const std::string& from, const std::string& to, std::string body) {
    auto sink = sink_.lock();
    if (!sink) {
      co_return command_status::esme_rx_t_appn;
    }
    InboundSms sms;
    // deliver_sm carries no message id; repeats after a lost answer arrive as new messages
    // (at least once).
    sms.provider_id = "smpp-" + core::sasl::crypto::hex_encode(core::sasl::crypto::random_bytes(8));
    sms.from = from;
    sms.to = to;
    sms.body = std::move(body);
    const std::string id = sms.provider_id;
    const auto outcome = co_await sink->inbound(std::move(sms));
    const auto status = smpp::deliver_sm_status(outcome);
    if (status != command_status::esme_rok) {
      spdlog::info("sms gateway {}: answered the SMS {} from {} to {} with {}", settings_.domain, id, from, to,
                   smpp::describe_status(status));
    }
    co_return status;
  }

  asio::awaitable<std::uint32_t> on_receipt(DeliveryReport report) {
    auto self = shared_from_this();
    const std::string receipted = report.provider_id;
    // A later part's receipt speaks for the message, known by its first part's id. Looked up
    // again after each try: a receipt can overtake the submit_sm_resp's own bookkeeping.
    const auto known = [this, &receipted]() -> const Submitted* {
      const auto it = submitted_.find(receipted);
      return it == submitted_.end() ? nullptr : &it->second;
    };
    for (int attempt = 1;; ++attempt) {
      if (const auto* submitted = known()) {
        report.provider_id = submitted->message_id;
      }
      auto sink = sink_.lock();
      if (!sink) {
        co_return command_status::esme_rx_t_appn;
      }
      const auto outcome = co_await sink->report(report);
      if (outcome == ReportOutcome::handled) {
        co_return command_status::esme_rok;
      }
      if (outcome == ReportOutcome::not_stored) {
        co_return command_status::esme_rx_t_appn;
      }
      // Unknown: if we submitted it just now, the gateway's note of the id is still on its way
      // to storage. Try again shortly, and in the end let the SMSC deliver it again later.
      const auto* submitted = known();
      const bool recent = submitted != nullptr && Clock::now() - submitted->when < receipt_grace;
      if (!recent) {
        co_return command_status::esme_rok; // logged by the gateway; a retry would not help
      }
      if (attempt == receipt_tries) {
        co_return command_status::esme_rx_t_appn;
      }
      asio::steady_timer pause(*strand_);
      pause.expires_after(std::chrono::milliseconds(100 * attempt));
      co_await pause.async_wait(tuple_awaitable);
    }
  }

  /// Parts whose siblings never came: what arrived is delivered, with a marker per gap.
  asio::awaitable<void> sweep() {
    auto self = shared_from_this();
    const auto every =
        std::max<Clock::duration>(std::chrono::seconds(1), std::chrono::seconds(smpp_.reassembly_timeout_seconds) / 4);
    while (!stopped_) {
      sweep_timer_->expires_after(every);
      auto [ec] = co_await sweep_timer_->async_wait(tuple_awaitable);
      if (ec || stopped_) {
        co_return;
      }
      for (auto& incomplete : reassembler_.expire(Clock::now())) {
        co_await give_up(std::move(incomplete));
      }
      // Sets the reassembler dropped to stay within its limits leave their answers owed; the
      // SMSC has long given up waiting for them.
      const auto stale = Clock::now() - 2 * std::chrono::seconds(smpp_.reassembly_timeout_seconds);
      std::erase_if(held_, [stale](const auto& entry) { return entry.second.first_seen < stale; });
    }
  }

  asio::awaitable<void> give_up(Reassembler::Incomplete incomplete) {
    const std::string set_key =
        incomplete.source + '\n' + std::to_string(incomplete.reference) + '\n' + std::to_string(incomplete.total);
    auto it = held_.find(set_key);
    if (it == held_.end()) {
      co_return;
    }
    HeldSet held = std::move(it->second);
    held_.erase(it);
    std::string body;
    std::size_t next = 1;
    for (const auto& [sequence, payload] : incomplete.parts) {
      if (sequence != next) {
        body += "[…]";
      }
      auto text = smpp::payload_text(held.data_coding, payload);
      body += text ? *text : std::string("[…]");
      next = sequence + 1u;
    }
    if (next <= incomplete.total) {
      body += "[…]";
    }
    spdlog::warn("sms gateway {}: an SMS from {} in {} parts is incomplete after {} s ({} arrived); delivering "
                 "what came",
                 settings_.domain, held.from, incomplete.total, smpp_.reassembly_timeout_seconds,
                 incomplete.parts.size());
    const auto status = co_await deliver_body(held.from, held.to, std::move(body));
    for (const auto& ack : held.acks) {
      answer_deliver(ack.generation, ack.sequence, status);
    }
  }

  // ---- stopping ----------------------------------------------------------------------------

  asio::awaitable<void> shut_down() {
    auto self = shared_from_this();
    if (socket_ && state_ == State::bound) {
      state_ = State::unbinding;
      const auto generation = generation_;
      Pdu unbind{CommandId::unbind, command_status::esme_rok, 0, std::monostate{}};
      auto answer = co_await request(std::move(unbind), Need::connection, Clock::now() + unbind_wait, unbind_wait);
      lose(generation, answer ? "unbound" : "unbind: " + answer.error());
    } else if (socket_) {
      state_ = State::unbinding;
      lose(generation_, "stopping");
    }
    // The timers go now, while the io_context is certainly alive: the gateway may outlive it.
    // Whoever waits on them wakes with operation_aborted and, seeing stopped_, ends.
    link_timer_.reset();
    sweep_timer_.reset();
    notify();
  }

  const config::GatewayConfig settings_;
  const config::SmppConfig& smpp_;
  const std::string password_;
  smpp::SubmitOptions submit_options_;
  std::weak_ptr<ProviderSink> sink_;
  std::optional<asio::strand<asio::io_context::executor_type>> strand_;
  std::atomic<bool> stopped_{false};

  // Everything below is touched on the strand only.
  State state_ = State::disconnected;
  std::shared_ptr<tcp::socket> socket_;
  /// Counts connections; bumped again when one is lost, so that its stragglers do nothing.
  std::uint64_t generation_ = 0;
  SmppWindow<std::shared_ptr<Waiter>> window_;
  std::deque<std::string> writes_;
  bool writing_ = false;
  bool close_after_writes_ = false;
  std::list<asio::steady_timer*> sleepers_;
  std::unique_ptr<asio::steady_timer> link_timer_;
  std::unique_ptr<asio::steady_timer> sweep_timer_;
  Clock::time_point last_heard_{};
  Backoff reconnect_backoff_;
  Backoff throttle_backoff_;
  Clock::time_point throttled_until_{};
  Reassembler reassembler_;
  std::map<std::string, HeldSet> held_;
  std::map<std::string, Submitted> submitted_;
  std::deque<std::string> submitted_order_;
  std::mt19937 random_;
};

} // namespace

boost::system::result<std::shared_ptr<Provider>, std::string>
make_smpp_provider(const config::GatewayConfig& settings) {
  const auto& s = settings.sms.smpp;
  std::string password = s.password;
  if (!s.password_env.empty()) {
    const char* from_env = std::getenv(s.password_env.c_str());
    if (from_env == nullptr) {
      return {boost::system::in_place_error,
              "[gateway.smpp] password_env names " + s.password_env + ", which is not set"};
    }
    password = from_env;
  }
  if (password.size() >= field_max::password) {
    return {boost::system::in_place_error, "[gateway.smpp] the password is longer than SMPP 3.4's 8 characters"};
  }
  return std::shared_ptr<Provider>(std::make_shared<SmppProvider>(settings, std::move(password)));
}

} // namespace parley::gateways::sms
