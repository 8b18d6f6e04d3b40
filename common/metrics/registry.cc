#include "common/metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string_view>

namespace webrtc2sip::metrics {
namespace {

// ASCII only: std::isalpha would depend on the locale.
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

bool IsMetricName(std::string_view s) {
  auto head = [](char c) { return IsAlpha(c) || c == '_' || c == ':'; };
  auto tail = [&](char c) { return head(c) || IsDigit(c); };
  return !s.empty() && head(s[0]) && std::all_of(s.begin() + 1, s.end(), tail);
}

bool IsLabelName(std::string_view s) {
  auto head = [](char c) { return IsAlpha(c) || c == '_'; };
  auto tail = [&](char c) { return head(c) || IsDigit(c); };
  // Names starting with "__" are reserved for Prometheus itself.
  return !s.empty() && head(s[0]) && std::all_of(s.begin() + 1, s.end(), tail) &&
         !s.starts_with("__");
}

void ValidateNames(const std::string& name, const std::vector<std::string>& label_names) {
  if (!IsMetricName(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
  std::set<std::string_view> seen;
  for (const auto& label : label_names) {
    if (!IsLabelName(label)) {
      throw std::invalid_argument("metric " + name + ": invalid label name '" + label + "'");
    }
    if (!seen.insert(label).second) {
      throw std::invalid_argument("metric " + name + ": duplicate label name '" + label + "'");
    }
  }
}

// Bounds must be strictly increasing; a trailing +Inf is implicit and dropped.
std::vector<double> NormalizeBounds(const std::string& name, std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == INFINITY) bounds.pop_back();
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || bounds[i] == INFINITY || (i > 0 && bounds[i] <= bounds[i - 1])) {
      throw std::invalid_argument("histogram " + name + ": bucket bounds must be increasing");
    }
  }
  return bounds;
}

void AppendEscaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  std::string_view labels, std::string_view value) {
  out.append(name).append(suffix).append(labels).append(" ").append(value).append("\n");
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Exact in int64 for this range; avoids to_chars choosing "1e+06" for a byte counter.
  if (v == std::trunc(v) && v >= -0x1p63 && v < 0x1p63) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::Observe(double v) {
  // The first bucket whose bound is >= v (le is inclusive); NaN goes to +Inf.
  size_t i = std::isnan(v) ? bounds_.size()
                           : std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot snap;
  snap.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative.push_back(total);
  }
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

FamilyBase::FamilyBase(MetricType type, std::string name, std::string help,
                       std::vector<std::string> label_names)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)) {}

void FamilyBase::Render(std::string& out) const {
  out += "# HELP " + name_ + " ";
  AppendEscaped(out, help_, /*quote=*/false);
  out += "\n# TYPE " + name_ + " " + TypeName(type_) + "\n";
  std::lock_guard lock(mu_);
  RenderChildren(out);
}

std::string FamilyBase::LabelSet(const std::vector<std::string>& values, const char* le) const {
  if (values.empty() && le == nullptr) return {};
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += label_names_[i] + "=\"";
    AppendEscaped(out, values[i], /*quote=*/true);
    out += '"';
  }
  if (le != nullptr) out += std::string(values.empty() ? "" : ",") + "le=\"" + le + "\"";
  return out + "}";
}

void FamilyBase::CheckArity(const std::vector<std::string>& values) const {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + ": expected " +
                                std::to_string(label_names_.size()) + " label values, got " +
                                std::to_string(values.size()));
  }
}

template <typename Child>
void ScalarFamily<Child>::RenderChildren(std::string& out) const {
  for (const auto& [values, child] : this->children_) {
    AppendSample(out, this->name(), "", this->LabelSet(values), FormatMetricValue(child->Value()));
  }
}

template class ScalarFamily<Counter>;
template class ScalarFamily<Gauge>;

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : Family(MetricType::kHistogram, std::move(name), std::move(help), std::move(label_names)),
      bounds_(std::move(bounds)) {}

std::unique_ptr<Histogram> HistogramFamily::MakeChild() const {
  return std::make_unique<Histogram>(bounds_);
}

void HistogramFamily::RenderChildren(std::string& out) const {
  const std::string& n = name();
  for (const auto& [values, child] : children_) {
    Histogram::Snapshot snap = child->Collect();
    for (size_t i = 0; i < bounds_.size(); ++i) {
      AppendSample(out, n, "_bucket", LabelSet(values, FormatMetricValue(bounds_[i]).c_str()),
                   std::to_string(snap.cumulative[i]));
    }
    std::string count = std::to_string(snap.cumulative.back());
    AppendSample(out, n, "_bucket", LabelSet(values, "+Inf"), count);
    AppendSample(out, n, "_sum", LabelSet(values), FormatMetricValue(snap.sum));
    AppendSample(out, n, "_count", LabelSet(values), count);
  }
}

Registry& Registry::Global() {
  // Never destroyed: media threads may still update metrics while the process exits.
  static auto* const registry = new Registry();
  return *registry;
}

template <typename F, typename Make>
F& Registry::Add(MetricType type, const std::string& name,
                 const std::vector<std::string>& label_names, const Make& make) {
  ValidateNames(name, label_names);
  std::lock_guard lock(mu_);
  for (const auto& family : families_) {
    if (family->name() != name) continue;
    if (family->type() != type || family->label_names() != label_names) {
      throw std::invalid_argument("metric " + name +
                                  " is already registered with a different type or labels");
    }
    return static_cast<F&>(*family);
  }
  std::unique_ptr<F> family = make();
  F& ref = *family;
  // An unlabeled family always has its one sample, even before the first update.
  if (label_names.empty()) ref.WithLabels({});
  families_.push_back(std::move(family));
  return ref;
}

CounterFamily& Registry::AddCounter(const std::string& name, const std::string& help,
                                    const std::vector<std::string>& label_names) {
  return Add<CounterFamily>(MetricType::kCounter, name, label_names, [&] {
    return std::make_unique<CounterFamily>(MetricType::kCounter, name, help, label_names);
  });
}

GaugeFamily& Registry::AddGauge(const std::string& name, const std::string& help,
                                const std::vector<std::string>& label_names) {
  return Add<GaugeFamily>(MetricType::kGauge, name, label_names, [&] {
    return std::make_unique<GaugeFamily>(MetricType::kGauge, name, help, label_names);
  });
}

HistogramFamily& Registry::AddHistogram(const std::string& name, const std::string& help,
                                        const std::vector<std::string>& label_names,
                                        std::vector<double> bounds) {
  if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
    throw std::invalid_argument("histogram " + name + ": label name 'le' is reserved");
  }
  bounds = NormalizeBounds(name, std::move(bounds));
  auto& family = Add<HistogramFamily>(MetricType::kHistogram, name, label_names, [&] {
    return std::make_unique<HistogramFamily>(name, help, label_names, bounds);
  });
  if (family.bounds() != bounds) {
    throw std::invalid_argument("histogram " + name +
                                " is already registered with different buckets");
  }
  return family;
}

void Registry::AddCollectHook(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  hooks_.push_back(std::move(hook));
}

std::string Registry::Render() const {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mu_);
    hooks = hooks_;
  }
  // Outside the lock: a hook may create children or even register families.
  for (const auto& hook : hooks) hook();
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& family : families_) family->Render(out);
  return out;
}

}  // namespace webrtc2sip::metrics
