#include "gateways/sms/smpp_provider.hpp"

#include "gateways/gateway.hpp"
#include "gateways/sms/smpp_pdu.hpp"
#include "gateways/sms/udh.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

// Every PDU is named before it is awaited on: GCC 12 destroys a braced temporary in a co_await
// expression twice.
//
// The provider against a scripted SMSC on loopback, in one io_context: the session logic
// that the end-to-end test (tests/e2e/sms_smpp_test.py) cannot steer, such as a gateway whose
// storage is down.

using namespace parley::gateways::sms;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

/// All the provider may call: io() (the rest is never used by the smpp provider).
class FakeHost final : public parley::gateways::GatewayHost {
public:
  explicit FakeHost(asio::io_context& io) : io_(io) {}
  asio::awaitable<parley::router::Disposition> deliver(parley::core::xml::Element,
                                                       std::optional<parley::storage::DeliveryKey>) override {
    co_return parley::router::Disposition::handled;
  }
  asio::io_context& io() override { return io_; }
  parley::core::async::WorkerPool& workers() override { std::abort(); }
  parley::storage::Storage& storage() override { std::abort(); }
  parley::core::http::Server& http() override { std::abort(); }
  const parley::config::Config& config() const override { return config_; }

private:
  asio::io_context& io_;
  parley::config::Config config_;
};

/// Takes inbound SMS slowly (as storage would) and answers as scripted.
class FakeSink final : public ProviderSink {
public:
  explicit FakeSink(asio::io_context& io) : io_(io) {}
  asio::awaitable<InboundOutcome> inbound(InboundSms sms) override {
    asio::steady_timer slow(io_, 200ms);
    co_await slow.async_wait(tuple_awaitable);
    received.push_back(std::move(sms));
    finished.push_back(std::chrono::steady_clock::now());
    co_return outcome;
  }
  asio::awaitable<ReportOutcome> report(DeliveryReport report) override {
    reports.push_back(std::move(report));
    co_return ReportOutcome::handled;
  }
  InboundOutcome outcome = InboundOutcome::delivered;
  std::vector<InboundSms> received;
  std::vector<std::chrono::steady_clock::time_point> finished;
  std::vector<DeliveryReport> reports;

private:
  asio::io_context& io_;
};

/// The SMSC's end of the connection: whole PDUs in and out.
struct SmscEnd {
  explicit SmscEnd(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::string buffer;

  asio::awaitable<std::optional<Pdu>> read() {
    for (;;) {
      auto decoded = decode(buffer);
      if (auto* pdu = std::get_if<Decoded>(&decoded)) {
        Pdu out = std::move(pdu->pdu);
        buffer.erase(0, pdu->length);
        co_return out;
      }
      if (std::holds_alternative<DecodeError>(decoded)) {
        co_return std::nullopt;
      }
      std::array<char, 4096> chunk{};
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), tuple_awaitable);
      if (ec) {
        co_return std::nullopt;
      }
      buffer.append(chunk.data(), n);
    }
  }

  asio::awaitable<void> write(const Pdu& pdu) {
    auto bytes = encode(pdu);
    REQUIRE(bytes.has_value());
    co_await write_raw(*bytes);
  }

  asio::awaitable<void> write_raw(std::string bytes) {
    co_await asio::async_write(socket, asio::buffer(bytes), tuple_awaitable);
  }
};

parley::config::GatewayConfig settings_for(std::uint16_t port) {
  parley::config::GatewayConfig settings;
  settings.domain = "sms.example.com";
  settings.kind = parley::config::GatewayKind::sms;
  settings.timeout_seconds = 2;
  settings.sms.provider = parley::config::SmsProvider::smpp;
  auto& smpp = settings.sms.smpp;
  smpp.host = "127.0.0.1";
  smpp.port = port;
  smpp.system_id = "tester";
  smpp.password = "pw";
  smpp.window = 2;
  smpp.enquire_link_seconds = 60;
  smpp.response_timeout_seconds = 2;
  smpp.throttle_backoff_ms = 300;
  smpp.throttle_max_ms = 1000;
  return settings;
}

DeliverSm text_from_far(std::string text) {
  DeliverSm deliver;
  deliver.source = Address{ton::international, npi::isdn, "15557654321"};
  deliver.destination = Address{ton::international, npi::isdn, "15550100001"};
  deliver.short_message = std::move(text);
  return deliver;
}

/// Runs `script` as the SMSC against a started provider; fails the test if it does not end.
template <typename Script> void with_provider(Script script) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = acceptor.local_endpoint().port();
  auto provider = make_smpp_provider(settings_for(port));
  REQUIRE(provider.has_value());
  FakeHost host(io);
  auto sink = std::make_shared<FakeSink>(io);
  (*provider)->start(host, sink);
  bool finished = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto [ec, socket] = co_await acceptor.async_accept(tuple_awaitable);
        REQUIRE_FALSE(ec);
        SmscEnd smsc(std::move(socket));
        auto bind = co_await smsc.read();
        REQUIRE(bind.has_value());
        CHECK(bind->command_id == CommandId::bind_transceiver);
        const auto& body = std::get<Bind>(bind->body);
        CHECK(body.system_id == "tester");
        CHECK(body.password == "pw");
        CHECK(body.interface_version == interface_version_34);
        {
          const Pdu reply{CommandId::bind_transceiver_resp, 0, bind->sequence_number, BindResp{"smsc", {}}};
          co_await smsc.write(reply);
        }
        co_await script(smsc, **provider, *sink, io);
        (*provider)->stop();
        // The provider unbinds on stop.
        auto unbind = co_await smsc.read();
        REQUIRE(unbind.has_value());
        CHECK(unbind->command_id == CommandId::unbind);
        {
          const Pdu reply = make_empty_response(CommandId::unbind, unbind->sequence_number);
          co_await smsc.write(reply);
        }
        finished = true;
      },
      asio::detached);
  io.run_for(20s);
  CHECK(finished);
}

} // namespace

TEST_CASE("smpp provider: deliver_sm is answered only after the gateway took it, by its outcome") {
  for (const auto& [outcome, status] : {std::pair{InboundOutcome::delivered, command_status::esme_rok},
                                        std::pair{InboundOutcome::not_stored, command_status::esme_rx_t_appn},
                                        std::pair{InboundOutcome::unknown_number, command_status::esme_rx_r_appn}}) {
    CAPTURE(status);
    with_provider([outcome = outcome, status = status](SmscEnd& smsc, Provider&, FakeSink& sink,
                                                       asio::io_context&) -> asio::awaitable<void> {
      sink.outcome = outcome;
      const Pdu deliver{CommandId::deliver_sm, 0, 41, text_from_far("hello")};
      co_await smsc.write(deliver);
      auto resp = co_await smsc.read();
      const auto answered = std::chrono::steady_clock::now();
      REQUIRE(resp.has_value());
      CHECK(resp->command_id == CommandId::deliver_sm_resp);
      CHECK(resp->sequence_number == 41);
      CHECK(resp->command_status == status);
      REQUIRE(sink.received.size() == 1);
      CHECK(sink.received[0].from == "+15557654321");
      CHECK(sink.received[0].to == "+15550100001");
      CHECK(sink.received[0].body == "hello");
      CHECK(sink.finished[0] <= answered);
    });
  }
}

TEST_CASE("smpp provider: parts are answered together once the whole text is delivered") {
  with_provider([](SmscEnd& smsc, Provider&, FakeSink& sink, asio::io_context&) -> asio::awaitable<void> {
    DeliverSm second = text_from_far(concat_udh(7, 2, 2) + "world");
    second.esm_class = esm_class::udhi;
    DeliverSm first = text_from_far(concat_udh(7, 2, 1) + "hello ");
    first.esm_class = esm_class::udhi;
    {
      const Pdu reply{CommandId::deliver_sm, 0, 10, second};
      co_await smsc.write(reply);
    }
    {
      const Pdu reply{CommandId::deliver_sm, 0, 11, first};
      co_await smsc.write(reply);
    }
    auto a = co_await smsc.read();
    auto b = co_await smsc.read();
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    CHECK(a->sequence_number + b->sequence_number == 21);
    CHECK(a->command_status == command_status::esme_rok);
    CHECK(b->command_status == command_status::esme_rok);
    REQUIRE(sink.received.size() == 1);
    CHECK(sink.received[0].body == "hello world");
  });
}

TEST_CASE("smpp provider: ESME_RTHROTTLED makes a transient result with a retry time, then it goes") {
  with_provider([](SmscEnd& smsc, Provider& provider, FakeSink&, asio::io_context& io) -> asio::awaitable<void> {
    std::optional<SendResult> first;
    OutboundSms sms{"key-1", "+15550100001", "+15557654321", "hi there", {}};
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { first = co_await provider.send(sms); }, asio::detached);
    auto submit = co_await smsc.read();
    REQUIRE(submit.has_value());
    REQUIRE(submit->command_id == CommandId::submit_sm);
    const auto& fields = std::get<SubmitSm>(submit->body);
    CHECK(fields.source == Address{ton::international, npi::isdn, "15550100001"});
    CHECK(fields.destination == Address{ton::international, npi::isdn, "15557654321"});
    CHECK(fields.short_message == "hi there");
    CHECK(fields.registered_delivery == registered_delivery::on_final_outcome);
    const auto refused_at = std::chrono::system_clock::now();
    {
      const Pdu reply{CommandId::submit_sm_resp, command_status::esme_rthrottled, submit->sequence_number,
                      SubmitSmResp{}};
      co_await smsc.write(reply);
    }
    asio::steady_timer settle(io, 100ms);
    co_await settle.async_wait(tuple_awaitable);
    REQUIRE(first.has_value());
    CHECK(first->outcome == SendResult::Outcome::transient);
    REQUIRE(first->retry_at.has_value());
    CHECK(*first->retry_at >= refused_at + 250ms);
    CHECK(*first->retry_at <= refused_at + 1s);
    CHECK(first->reason.find("ESME_RTHROTTLED") != std::string::npos);

    // A send during the pause waits for it, then goes.
    std::optional<SendResult> second;
    const auto started = std::chrono::steady_clock::now();
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { second = co_await provider.send(sms); }, asio::detached);
    submit = co_await smsc.read();
    REQUIRE(submit.has_value());
    CHECK(std::chrono::steady_clock::now() - started >= 100ms); // what remained of the 300 ms
    {
      const Pdu reply{CommandId::submit_sm_resp, 0, submit->sequence_number, SubmitSmResp{"abc"}};
      co_await smsc.write(reply);
    }
    co_await settle.async_wait(tuple_awaitable);
    settle.expires_after(100ms);
    co_await settle.async_wait(tuple_awaitable);
    REQUIRE(second.has_value());
    CHECK(second->outcome == SendResult::Outcome::accepted);
    CHECK(second->provider_id == "abc");
  });
}

TEST_CASE("smpp provider: a permanent refusal, enquire_link and an unknown command") {
  with_provider([](SmscEnd& smsc, Provider& provider, FakeSink&, asio::io_context& io) -> asio::awaitable<void> {
    std::optional<SendResult> result;
    OutboundSms sms{"key-2", "+15550100001", "+15557654321", "to nowhere", {}};
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { result = co_await provider.send(sms); }, asio::detached);
    auto submit = co_await smsc.read();
    REQUIRE(submit.has_value());
    {
      const Pdu reply{CommandId::submit_sm_resp, command_status::esme_rinvdstadr, submit->sequence_number,
                      SubmitSmResp{}};
      co_await smsc.write(reply);
    }

    {
      const Pdu reply = make_enquire_link(77);
      co_await smsc.write(reply);
    }
    auto resp = co_await smsc.read();
    REQUIRE(resp.has_value());
    CHECK(resp->command_id == CommandId::enquire_link_resp);
    CHECK(resp->sequence_number == 77);

    const std::string unknown("\x00\x00\x00\x10\x00\x00\x01\x11\x00\x00\x00\x00\x00\x00\x00\x63", 16);
    co_await smsc.write_raw(unknown);
    auto nack = co_await smsc.read();
    REQUIRE(nack.has_value());
    CHECK(nack->command_id == CommandId::generic_nack);
    CHECK(nack->sequence_number == 0x63);
    CHECK(nack->command_status == command_status::esme_rinvcmdid);

    REQUIRE(result.has_value());
    CHECK(result->outcome == SendResult::Outcome::permanent);
    CHECK(result->reason.find("ESME_RINVDSTADR") != std::string::npos);
  });
}
