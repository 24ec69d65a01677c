#include "core/metrics/registry.hpp"

#include "core/metrics/detail/text_format.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <stdexcept>
#include <utility>

namespace parley::core::metrics {

namespace detail {

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}

FamilyBase::~FamilyBase() = default;

namespace {

void render_series(std::string& out, const FamilyBase& family, const std::vector<std::string>& values,
                   const Counter& counter) {
  out += family.name();
  append_labels(out, family.label_names(), values);
  out += ' ';
  append_value(out, counter.value());
  out += '\n';
}

void render_series(std::string& out, const FamilyBase& family, const std::vector<std::string>& values,
                   const Gauge& gauge) {
  out += family.name();
  append_labels(out, family.label_names(), values);
  out += ' ';
  append_value(out, gauge.value());
  out += '\n';
}

void render_series(std::string& out, const FamilyBase& family, const std::vector<std::string>& values,
                   const Histogram& histogram) {
  const auto snapshot = histogram.snapshot();
  const auto& bounds = histogram.bounds();
  std::string le;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    le.clear();
    if (i < bounds.size()) {
      append_value(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    out += family.name();
    out += "_bucket";
    append_labels(out, family.label_names(), values, "le", le);
    out += ' ';
    append_value(out, snapshot.cumulative[i]);
    out += '\n';
  }
  out += family.name();
  out += "_sum";
  append_labels(out, family.label_names(), values);
  out += ' ';
  append_value(out, snapshot.sum);
  out += '\n';
  out += family.name();
  out += "_count";
  append_labels(out, family.label_names(), values);
  out += ' ';
  append_value(out, snapshot.count);
  out += '\n';
}

std::string_view type_name(MetricType type) {
  switch (type) {
  case MetricType::counter: return "counter";
  case MetricType::gauge: return "gauge";
  case MetricType::histogram: return "histogram";
  }
  return "untyped";
}

} // namespace

/// The gauges of Registry::gauge_callback: no series of their own, only callbacks.
class CallbackFamily final : public FamilyBase {
public:
  using FamilyBase::FamilyBase;

  std::uint64_t add(GaugeCallback callback) {
    std::lock_guard lock(mutex_);
    const auto id = ++last_id_;
    callbacks_.emplace(id, std::move(callback));
    return id;
  }

  void remove(std::uint64_t id) noexcept {
    std::lock_guard lock(mutex_);
    callbacks_.erase(id);
  }

  void render_samples(std::string& out) const override {
    std::vector<Sample> samples;
    {
      // Held while the callbacks run, so that a registration being destroyed waits for them.
      std::lock_guard lock(mutex_);
      for (const auto& [id, callback] : callbacks_) {
        try {
          auto produced = callback();
          for (auto& sample : produced) {
            if (sample.labels.size() == label_names().size()) {
              samples.push_back(std::move(sample));
            }
          }
        } catch (const std::exception& e) {
          spdlog::warn("metrics: the callback of {} failed: {}", name(), e.what());
        } catch (...) {
          spdlog::warn("metrics: the callback of {} failed", name());
        }
      }
    }
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample& a, const Sample& b) { return LabelLess{}(a.labels, b.labels); });
    for (const auto& sample : samples) {
      out += name();
      append_labels(out, label_names(), sample.labels);
      out += ' ';
      append_value(out, sample.value);
      out += '\n';
    }
  }

private:
  mutable std::mutex mutex_;
  std::uint64_t last_id_ = 0;
  std::map<std::uint64_t, GaugeCallback> callbacks_;
};

} // namespace detail

// ---- Family -------------------------------------------------------------------------------

template <class Metric>
Family<Metric>::Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                       typename Metric::Config config)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)), config_(std::move(config)) {
  if (this->label_names().empty()) {
    // The one series exists from the start, so that it shows as 0 before anything happens.
    series_.emplace(std::vector<std::string>{}, std::make_unique<Metric>(config_));
  }
}

template <class Metric> Metric& Family<Metric>::with(std::span<const std::string_view> values) {
  if (values.size() != label_names().size()) {
    throw std::invalid_argument("metric " + name() + ": " + std::to_string(label_names().size()) +
                                " label values expected, got " + std::to_string(values.size()));
  }
  {
    std::shared_lock lock(mutex_);
    if (auto found = series_.find(values); found != series_.end()) {
      return *found->second;
    }
  }
  std::unique_lock lock(mutex_);
  if (auto found = series_.find(values); found != series_.end()) {
    return *found->second; // someone else made it meanwhile
  }
  std::vector<std::string> key(values.begin(), values.end());
  auto [it, inserted] = series_.emplace(std::move(key), std::make_unique<Metric>(config_));
  return *it->second;
}

template <class Metric> void Family<Metric>::render_samples(std::string& out) const {
  std::shared_lock lock(mutex_);
  for (const auto& [values, series] : series_) {
    detail::render_series(out, *this, values, *series);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- CallbackRegistration -----------------------------------------------------------------

CallbackRegistration::CallbackRegistration(CallbackRegistration&& other) noexcept
    : family_(std::exchange(other.family_, nullptr)), id_(std::exchange(other.id_, 0)) {}

CallbackRegistration& CallbackRegistration::operator=(CallbackRegistration&& other) noexcept {
  if (this != &other) {
    reset();
    family_ = std::exchange(other.family_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

CallbackRegistration::~CallbackRegistration() {
  reset();
}

void CallbackRegistration::reset() noexcept {
  if (family_ != nullptr) {
    family_->remove(id_);
    family_ = nullptr;
  }
}

// ---- Registry -----------------------------------------------------------------------------

Registry::Registry() = default;
Registry::~Registry() = default;

detail::FamilyBase& Registry::find_or_add(std::string_view name, MetricType type,
                                          const std::vector<std::string>& label_names,
                                          const std::function<std::unique_ptr<detail::FamilyBase>()>& make,
                                          const std::function<bool(const detail::FamilyBase&)>& same) {
  if (!detail::valid_metric_name(name)) {
    throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
  }
  for (const auto& label : label_names) {
    if (!detail::valid_label_name(label)) {
      throw std::invalid_argument("metric " + std::string(name) + ": invalid label name '" + label + "'");
    }
    if (type == MetricType::histogram && label == "le") {
      throw std::invalid_argument("metric " + std::string(name) + ": the label name 'le' is reserved");
    }
  }
  std::lock_guard lock(mutex_);
  if (auto found = families_.find(name); found != families_.end()) {
    const auto& existing = *found->second;
    if (existing.type() != type || existing.label_names() != label_names || !same(existing)) {
      throw std::invalid_argument("metric " + std::string(name) +
                                  " is already registered with another type, other labels or other buckets");
    }
    return *found->second;
  }
  auto [it, inserted] = families_.emplace(std::string(name), make());
  return *it->second;
}

CounterFamily& Registry::counter_family(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names) {
  auto make = [&]() -> std::unique_ptr<detail::FamilyBase> {
    return std::make_unique<CounterFamily>(std::string(name), std::string(help), MetricType::counter, label_names,
                                           Counter::Config{});
  };
  auto same = [](const detail::FamilyBase& f) { return dynamic_cast<const CounterFamily*>(&f) != nullptr; };
  return static_cast<CounterFamily&>(find_or_add(name, MetricType::counter, label_names, make, same));
}

GaugeFamily& Registry::gauge_family(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names) {
  auto make = [&]() -> std::unique_ptr<detail::FamilyBase> {
    return std::make_unique<GaugeFamily>(std::string(name), std::string(help), MetricType::gauge, label_names,
                                         Gauge::Config{});
  };
  auto same = [](const detail::FamilyBase& f) { return dynamic_cast<const GaugeFamily*>(&f) != nullptr; };
  return static_cast<GaugeFamily&>(find_or_add(name, MetricType::gauge, label_names, make, same));
}

HistogramFamily& Registry::histogram_family(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names, std::vector<double> bounds) {
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) {
    bounds.pop_back();
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      throw std::invalid_argument("metric " + std::string(name) +
                                  ": bucket bounds must be finite and strictly increasing");
    }
  }
  auto shared = std::make_shared<const std::vector<double>>(std::move(bounds));
  auto make = [&]() -> std::unique_ptr<detail::FamilyBase> {
    return std::make_unique<HistogramFamily>(std::string(name), std::string(help), MetricType::histogram, label_names,
                                             Histogram::Config{shared});
  };
  auto same = [&](const detail::FamilyBase& f) {
    const auto* h = dynamic_cast<const HistogramFamily*>(&f);
    return h != nullptr && *h->config().bounds == *shared;
  };
  return static_cast<HistogramFamily&>(find_or_add(name, MetricType::histogram, label_names, make, same));
}

Counter& Registry::counter(std::string_view name, std::string_view help) {
  return counter_family(name, help, {}).with({});
}

Gauge& Registry::gauge(std::string_view name, std::string_view help) {
  return gauge_family(name, help, {}).with({});
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, std::vector<double> bounds) {
  return histogram_family(name, help, {}, std::move(bounds)).with({});
}

CallbackRegistration Registry::gauge_callback(std::string_view name, std::string_view help,
                                              std::vector<std::string> label_names, GaugeCallback callback) {
  auto make = [&]() -> std::unique_ptr<detail::FamilyBase> {
    return std::make_unique<detail::CallbackFamily>(std::string(name), std::string(help), MetricType::gauge,
                                                    label_names);
  };
  auto same = [](const detail::FamilyBase& f) { return dynamic_cast<const detail::CallbackFamily*>(&f) != nullptr; };
  auto& family = static_cast<detail::CallbackFamily&>(find_or_add(name, MetricType::gauge, label_names, make, same));
  const auto id = family.add(std::move(callback));
  return CallbackRegistration(&family, id);
}

std::string Registry::render() const {
  std::vector<const detail::FamilyBase*> families;
  {
    std::lock_guard lock(mutex_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) {
      families.push_back(family.get());
    }
  }
  // Families are never removed, so they can be rendered without the registry's lock: a
  // callback that blocks does not hold up registrations.
  std::string out;
  for (const auto* family : families) {
    out += "# HELP ";
    out += family->name();
    out += ' ';
    detail::append_help(out, family->help());
    out += "\n# TYPE ";
    out += family->name();
    out += ' ';
    out += detail::type_name(family->type());
    out += '\n';
    family->render_samples(out);
  }
  return out;
}

Registry& registry() {
  static Registry* const instance = new Registry();
  return *instance;
}

} // namespace parley::core::metrics
