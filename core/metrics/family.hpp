#pragma once

#include "core/metrics/counter.hpp"
#include "core/metrics/gauge.hpp"
#include "core/metrics/histogram.hpp"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::core::metrics {

/// The Prometheus metric types we produce.
enum class MetricType { counter, gauge, histogram };

namespace detail {

/// Orders lists of label values. Transparent, so that looking up an existing series with
/// string_views does not allocate.
struct LabelLess {
  using is_transparent = void;
  template <class A, class B> bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

/// One metric name as the Registry keeps it: HELP, TYPE, label names, and its samples.
class FamilyBase {
public:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names);
  virtual ~FamilyBase();
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  MetricType type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }

  /// Appends the sample lines in the text exposition format (not the HELP and TYPE lines).
  virtual void render_samples(std::string& out) const = 0;

private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

} // namespace detail

/// All series of one metric name, one per combination of label values. Made by Registry.
///
/// The label names are fixed when the family is registered. with() returns the series for a
/// combination of values and creates it on first use; finding an existing one takes a shared
/// lock and allocates nothing, and a series is never removed, so hot paths look it up once and
/// keep the reference. Label values must come from a small, bounded set (a route pattern, a
/// configured domain): every distinct value is a series kept forever, so never use values
/// that a peer chooses.
template <class Metric> class Family final : public detail::FamilyBase {
public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         typename Metric::Config config);

  /// The series for these values, in the order of the label names. Safe from any thread.
  /// Throws std::invalid_argument when the number of values differs from that of the names
  /// (a programming error, never caused by input).
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& with(std::span<const std::string_view> values);

  const typename Metric::Config& config() const noexcept { return config_; }
  void render_samples(std::string& out) const override;

private:
  typename Metric::Config config_;
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, detail::LabelLess> series_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

} // namespace parley::core::metrics
