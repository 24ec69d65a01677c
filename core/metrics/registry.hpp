#pragma once
// Prometheus metrics: a registry of counters, gauges and histograms, rendered in the text
// exposition format 0.0.4. Light to include: no Asio, no I/O.

#include "core/metrics/family.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace parley::core::metrics {

namespace detail {
class CallbackFamily;
}

/// One sample a gauge callback reports: label values in the order of the family's label names.
struct Sample {
  std::vector<std::string> labels;
  double value = 0;
};

/// Produces the samples of a callback gauge when scraped. Called by Registry::render(), on the
/// thread that renders, while the registration cannot go away.
using GaugeCallback = std::function<std::vector<Sample>()>;

/// Keeps a gauge callback registered; destroying it (or reset()) unregisters it, waiting for a
/// render that is calling it right now. Must not outlive its Registry.
class CallbackRegistration {
public:
  CallbackRegistration() = default;
  CallbackRegistration(CallbackRegistration&& other) noexcept;
  CallbackRegistration& operator=(CallbackRegistration&& other) noexcept;
  CallbackRegistration(const CallbackRegistration&) = delete;
  CallbackRegistration& operator=(const CallbackRegistration&) = delete;
  ~CallbackRegistration();

  void reset() noexcept;

private:
  friend class Registry;
  CallbackRegistration(detail::CallbackFamily* family, std::uint64_t id) noexcept : family_(family), id_(id) {}
  detail::CallbackFamily* family_ = nullptr;
  std::uint64_t id_ = 0;
};

/// The metrics of a process, by name. Registration is for start-up (it locks and may throw);
/// updating a series is lock-free. Families are never removed, so the references handed out
/// stay valid as long as the registry.
///
/// Registering a name again with the same type, label names (and buckets) returns the family
/// registered first, so that several instances of a component can share one. Anything else
/// that is wrong (an invalid name, a name registered with another type or other labels) throws
/// std::invalid_argument: that is a programming error.
class Registry {
public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& counter_family(std::string_view name, std::string_view help, std::vector<std::string> label_names);
  GaugeFamily& gauge_family(std::string_view name, std::string_view help, std::vector<std::string> label_names);
  /// `bounds`: upper bounds, strictly increasing and finite (a trailing +Inf is dropped; the
  /// +Inf bucket is always there). The label name `le` is reserved.
  HistogramFamily& histogram_family(std::string_view name, std::string_view help, std::vector<std::string> label_names,
                                    std::vector<double> bounds);

  /// The one series of a family without labels; it shows as 0 from the start.
  Counter& counter(std::string_view name, std::string_view help);
  Gauge& gauge(std::string_view name, std::string_view help);
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds);

  /// A gauge whose samples `callback` produces at scrape time. Several callbacks may share a
  /// name (same label names): their samples are merged under one HELP and TYPE. The callback
  /// runs inside render(): if it blocks (a storage query), render() must be called where
  /// blocking is allowed (the worker pool), never on an I/O thread. A sample with the wrong
  /// number of labels is dropped; an exception from the callback drops its samples.
  [[nodiscard]] CallbackRegistration gauge_callback(std::string_view name, std::string_view help,
                                                    std::vector<std::string> label_names, GaugeCallback callback);

  /// Every family, sorted by name, in the text exposition format 0.0.4. Safe from any thread,
  /// concurrently with updates and registrations; calls the gauge callbacks (see there).
  std::string render() const;

private:
  detail::FamilyBase& find_or_add(std::string_view name, MetricType type, const std::vector<std::string>& label_names,
                                  const std::function<std::unique_ptr<detail::FamilyBase>()>& make,
                                  const std::function<bool(const detail::FamilyBase&)>& same);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families_;
};

/// The process-wide registry that parleyd's components register with and /metrics renders.
/// Never destroyed, so that threads still running at exit may keep updating it.
Registry& registry();

/// The text/plain content type of the format render() produces.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

} // namespace parley::core::metrics
