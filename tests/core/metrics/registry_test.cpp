#include "core/metrics/registry.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace parley::core::metrics;

TEST_CASE("metrics: counters, gauges and histograms render in the text format 0.0.4") {
  Registry testling;
  auto& stanzas = testling.counter_family("parley_stanzas_in_total", "Stanzas received.", {"type"});
  stanzas.with({"message"}).inc(3);
  stanzas.with({"iq"}).inc();
  testling.gauge("parley_temperature", "A gauge.").set(-1.5);
  auto& latency =
      testling.histogram_family("parley_route_duration_seconds", "Routing time.", {"origin"}, {0.1, 0.5, 1});
  auto& client = latency.with({"client"});
  client.observe(0.05);
  client.observe(0.1); // a bound is inclusive (le)
  client.observe(0.25);
  client.observe(3);
  testling.counter("parley_untouched_total", "Shows as 0 before anything happens.");

  CHECK(testling.render() == R"(# HELP parley_route_duration_seconds Routing time.
# TYPE parley_route_duration_seconds histogram
parley_route_duration_seconds_bucket{origin="client",le="0.1"} 2
parley_route_duration_seconds_bucket{origin="client",le="0.5"} 3
parley_route_duration_seconds_bucket{origin="client",le="1"} 3
parley_route_duration_seconds_bucket{origin="client",le="+Inf"} 4
parley_route_duration_seconds_sum{origin="client"} 3.4
parley_route_duration_seconds_count{origin="client"} 4
# HELP parley_stanzas_in_total Stanzas received.
# TYPE parley_stanzas_in_total counter
parley_stanzas_in_total{type="iq"} 1
parley_stanzas_in_total{type="message"} 3
# HELP parley_temperature A gauge.
# TYPE parley_temperature gauge
parley_temperature -1.5
# HELP parley_untouched_total Shows as 0 before anything happens.
# TYPE parley_untouched_total counter
parley_untouched_total 0
)");
}

TEST_CASE("metrics: an unlabelled histogram, and one with labels but no series yet") {
  Registry testling;
  auto& h = testling.histogram("parley_wait_seconds", "Wait.", {0.001, 0.01});
  h.observe_duration(std::chrono::microseconds(500));
  h.observe(0.25);
  testling.counter_family("parley_http_requests_total", "HTTP requests.", {"route", "method", "status"});
  CHECK(testling.render() == R"(# HELP parley_http_requests_total HTTP requests.
# TYPE parley_http_requests_total counter
# HELP parley_wait_seconds Wait.
# TYPE parley_wait_seconds histogram
parley_wait_seconds_bucket{le="0.001"} 1
parley_wait_seconds_bucket{le="0.01"} 1
parley_wait_seconds_bucket{le="+Inf"} 2
parley_wait_seconds_sum 0.2505
parley_wait_seconds_count 2
)");
}

TEST_CASE("metrics: the latency buckets render as plain decimals") {
  Registry testling;
  testling.histogram("parley_l_seconds", "L.", latency_buckets()).observe(0.0003);
  const auto text = testling.render();
  CHECK(text.find("parley_l_seconds_bucket{le=\"0.0001\"} 0\n"
                  "parley_l_seconds_bucket{le=\"0.00025\"} 0\n"
                  "parley_l_seconds_bucket{le=\"0.0005\"} 1\n") != std::string::npos);
  CHECK(text.find("parley_l_seconds_bucket{le=\"10\"} 1\nparley_l_seconds_bucket{le=\"+Inf\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("parley_l_seconds_sum 0.0003\n") != std::string::npos);
}

TEST_CASE("metrics: label values and HELP text are escaped") {
  Registry testling;
  auto& family = testling.counter_family("parley_odd_total", "Back\\slash and\nnewline \"quoted\".", {"a", "b"});
  family.with({"quote\" backslash\\ newline\n", "ünïcode ✓"}).inc(2);
  CHECK(testling.render() == "# HELP parley_odd_total Back\\\\slash and\\nnewline \"quoted\".\n"
                             "# TYPE parley_odd_total counter\n"
                             "parley_odd_total{a=\"quote\\\" backslash\\\\ newline\\n\",b=\"ünïcode ✓\"} 2\n");
}

TEST_CASE("metrics: special gauge values") {
  Registry testling;
  auto& family = testling.gauge_family("parley_g", "G.", {"k"});
  family.with({"inf"}).set(std::numeric_limits<double>::infinity());
  family.with({"minf"}).set(-std::numeric_limits<double>::infinity());
  family.with({"nan"}).set(std::numeric_limits<double>::quiet_NaN());
  family.with({"small"}).set(1e-7);
  family.with({"bound"}).set(0.0005);
  family.with({"ten"}).set(10);
  family.with({"negative"}).set(-0.25);
  family.with({"huge"}).set(2e20);
  family.with({"big"}).set(123456789012.0);
  auto& counted = family.with({"counted"});
  counted.add(5);
  counted.sub(2);
  CHECK(testling.render() == R"(# HELP parley_g G.
# TYPE parley_g gauge
parley_g{k="big"} 123456789012
parley_g{k="bound"} 0.0005
parley_g{k="counted"} 3
parley_g{k="huge"} 2e+20
parley_g{k="inf"} +Inf
parley_g{k="minf"} -Inf
parley_g{k="nan"} NaN
parley_g{k="negative"} -0.25
parley_g{k="small"} 1e-07
parley_g{k="ten"} 10
)");
}

TEST_CASE("metrics: callback gauges are evaluated at render time and merged by name") {
  Registry testling;
  int sessions = 2;
  auto first = testling.gauge_callback("parley_outbox_items", "Outbox items.", {"gateway", "state"}, [] {
    return std::vector<Sample>{{{"sms.example", "pending"}, 4}, {{"sms.example", "dead"}, 1}};
  });
  auto second = testling.gauge_callback("parley_outbox_items", "Outbox items.", {"gateway", "state"}, [] {
    return std::vector<Sample>{{{"hooks.example", "pending"}, 0}, {{"wrong arity"}, 9}};
  });
  auto third = testling.gauge_callback("parley_sessions", "Sessions.", {}, [&sessions] {
    return std::vector<Sample>{{{}, double(sessions)}};
  });
  auto failing = testling.gauge_callback("parley_broken", "Throws.", {},
                                         []() -> std::vector<Sample> { throw std::runtime_error("storage is down"); });
  sessions = 7;
  CHECK(testling.render() == R"(# HELP parley_broken Throws.
# TYPE parley_broken gauge
# HELP parley_outbox_items Outbox items.
# TYPE parley_outbox_items gauge
parley_outbox_items{gateway="hooks.example",state="pending"} 0
parley_outbox_items{gateway="sms.example",state="dead"} 1
parley_outbox_items{gateway="sms.example",state="pending"} 4
# HELP parley_sessions Sessions.
# TYPE parley_sessions gauge
parley_sessions 7
)");

  first.reset();
  {
    auto moved = std::move(second);
    CHECK(testling.render().find("hooks.example") != std::string::npos);
  }
  third = CallbackRegistration{};
  CHECK(testling.render() == R"(# HELP parley_broken Throws.
# TYPE parley_broken gauge
# HELP parley_outbox_items Outbox items.
# TYPE parley_outbox_items gauge
# HELP parley_sessions Sessions.
# TYPE parley_sessions gauge
)");
}

TEST_CASE("metrics: registering a name again returns the same family; conflicts throw") {
  Registry testling;
  auto& a = testling.counter_family("parley_x_total", "X.", {"type"});
  auto& b = testling.counter_family("parley_x_total", "X.", {"type"});
  CHECK(&a == &b);
  CHECK(&a.with({"message"}) == &b.with({"message"}));
  CHECK_THROWS_AS(testling.counter_family("parley_x_total", "X.", {"kind"}), std::invalid_argument);
  CHECK_THROWS_AS(testling.gauge_family("parley_x_total", "X.", {"type"}), std::invalid_argument);
  CHECK_THROWS_AS((void)testling.gauge_callback("parley_x_total", "X.", {"type"}, [] { return std::vector<Sample>{}; }),
                  std::invalid_argument);

  auto& h = testling.histogram("parley_h_seconds", "H.", {1, 2});
  CHECK(&h == &testling.histogram("parley_h_seconds", "H.", {1, 2}));
  CHECK(&h == &testling.histogram("parley_h_seconds", "H.", {1, 2, std::numeric_limits<double>::infinity()}));
  CHECK_THROWS_AS(testling.histogram("parley_h_seconds", "H.", {1, 3}), std::invalid_argument);

  CHECK_THROWS_AS(testling.counter("0starts_with_a_digit", "."), std::invalid_argument);
  CHECK_THROWS_AS(testling.counter("has-dash", "."), std::invalid_argument);
  CHECK_NOTHROW(testling.counter("colons:are_fine", "."));
  CHECK_THROWS_AS(testling.counter_family("parley_y_total", ".", {"__reserved"}), std::invalid_argument);
  CHECK_THROWS_AS(testling.counter_family("parley_y_total", ".", {"bad label"}), std::invalid_argument);
  CHECK_THROWS_AS(testling.histogram_family("parley_z_seconds", ".", {"le"}, {1}), std::invalid_argument);
  CHECK_THROWS_AS(testling.histogram("parley_z_seconds", ".", {2, 1}), std::invalid_argument);
  CHECK_THROWS_AS(testling.histogram("parley_z_seconds", ".", {1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(testling.histogram("parley_z_seconds", ".", {std::nan("")}), std::invalid_argument);

  CHECK_THROWS_AS(a.with({}), std::invalid_argument);
  CHECK_THROWS_AS(a.with({"message", "extra"}), std::invalid_argument);
}

TEST_CASE("metrics: the process-wide registry is one object") {
  CHECK(&registry() == &registry());
}

TEST_CASE("metrics: updates from many threads are all counted, while series are added and rendered") {
  Registry testling;
  auto& family = testling.counter_family("parley_c_total", "C.", {"thread"});
  auto& shared = testling.counter("parley_shared_total", "Shared.");
  auto& gauge = testling.gauge("parley_level", "Level.");
  auto& histogram = testling.histogram("parley_d_seconds", "D.", {0.5, 1.5});
  constexpr int threads = 4;
  constexpr int rounds = 50000;
  std::atomic<bool> done{false};
  std::atomic<int> renders{0};
  std::thread scraper([&] {
    while (!done.load()) {
      const auto text = testling.render();
      CHECK(text.find("# TYPE parley_d_seconds histogram") != std::string::npos);
      renders.fetch_add(1);
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::string mine = "t" + std::to_string(t);
      auto& own = family.with({mine});
      for (int i = 0; i < rounds; ++i) {
        own.inc();
        shared.inc();
        gauge.add(1);
        histogram.observe(i % 2 == 0 ? 1.0 : 2.0);
        if (i % 1000 == 0) {
          // Lookups and insertions of other series race with the increments and the scraper.
          family.with({"t" + std::to_string(t) + "-" + std::to_string(i)}).inc();
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  done = true;
  scraper.join();
  CHECK(renders.load() >= 1);
  CHECK(shared.value() == std::uint64_t{threads} * rounds);
  CHECK(gauge.value() == double(threads) * rounds);
  for (int t = 0; t < threads; ++t) {
    const std::string mine = "t" + std::to_string(t);
    CHECK(family.with({mine}).value() == std::uint64_t{rounds});
  }
  const auto snapshot = histogram.snapshot();
  CHECK(snapshot.count == std::uint64_t{threads} * rounds);
  CHECK(snapshot.cumulative ==
        std::vector<std::uint64_t>{0, std::uint64_t{threads} * rounds / 2, std::uint64_t{threads} * rounds});
  CHECK(snapshot.sum == doctest::Approx(threads * rounds * 1.5));
  const auto text = testling.render();
  CHECK(text.find("parley_shared_total 200000\n") != std::string::npos);
  CHECK(text.find("parley_c_total{thread=\"t3-49000\"} 1\n") != std::string::npos);
}

TEST_CASE("metrics: a callback registration being destroyed waits for a render that is calling it") {
  Registry testling;
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::atomic<bool> returned{false};
  auto registration = std::make_unique<CallbackRegistration>(testling.gauge_callback("parley_slow", "Slow.", {}, [&] {
    entered = true;
    while (!release.load()) {
      std::this_thread::yield();
    }
    returned = true;
    return std::vector<Sample>{{{}, 1}};
  }));
  std::thread scraper([&] { (void)testling.render(); });
  while (!entered.load()) {
    std::this_thread::yield();
  }
  std::thread remover([&] {
    registration.reset();
    CHECK(returned.load()); // the callback had finished before the registration was gone
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release = true;
  remover.join();
  scraper.join();
  CHECK(testling.render() == "# HELP parley_slow Slow.\n# TYPE parley_slow gauge\n");
}
