#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace webrtc2sip::metrics {

// Content-Type of Registry::Render() output (Prometheus text exposition format 0.0.4).
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Metric children are updated from media threads per packet: updates are lock-free atomics
// with relaxed ordering (a scrape needs no ordering with other memory).
static_assert(std::atomic<double>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

class Counter {
 public:
  // Negative and NaN increments are ignored: a counter only goes up.
  void Inc(double v = 1) {
    if (v > 0) value_.fetch_add(v, std::memory_order_relaxed);
  }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Dec(double v = 1) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds` (validated and owned by the family) are strictly increasing, without +Inf.
  explicit Histogram(std::span<const double> bounds);

  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // One per bound, then +Inf (== count).
    double sum = 0;
  };
  Snapshot Collect() const;

 private:
  const std::span<const double> bounds_;
  // Non-cumulative per-bucket counts; the last bucket is +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// Common part of a metric family: name, help, label names and rendering.
class FamilyBase {
 public:
  FamilyBase(MetricType type, std::string name, std::string help,
             std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  MetricType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  void Render(std::string& out) const;

 protected:
  // Appends the samples of every child, in creation order; called under mu_.
  virtual void RenderChildren(std::string& out) const = 0;
  // Renders `{l1="v1",...}` with an optional trailing `le` label; empty when there are none.
  std::string LabelSet(const std::vector<std::string>& values, const char* le = nullptr) const;
  void CheckArity(const std::vector<std::string>& values) const;

  mutable std::mutex mu_;  // Guards child creation and rendering, never updates.

 private:
  const MetricType type_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
};

// Children live as long as the family (hence the registry): callers keep the reference.
template <typename Child>
class Family : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;

  Child& WithLabels(const std::vector<std::string>& values) {
    CheckArity(values);
    std::lock_guard lock(mu_);
    auto it = index_.find(values);
    if (it != index_.end()) return *it->second;
    auto& child = children_.emplace_back(values, MakeChild());
    index_.emplace(values, child.second.get());
    return *child.second;
  }

 protected:
  virtual std::unique_ptr<Child> MakeChild() const = 0;

  std::vector<std::pair<std::vector<std::string>, std::unique_ptr<Child>>> children_;
  std::map<std::vector<std::string>, Child*> index_;
};

// A family whose children render as a single sample each.
template <typename Child>
class ScalarFamily final : public Family<Child> {
 public:
  using Family<Child>::Family;

 protected:
  std::unique_ptr<Child> MakeChild() const override { return std::make_unique<Child>(); }
  void RenderChildren(std::string& out) const override;
};
extern template class ScalarFamily<Counter>;
extern template class ScalarFamily<Gauge>;

using CounterFamily = ScalarFamily<Counter>;
using GaugeFamily = ScalarFamily<Gauge>;

class HistogramFamily final : public Family<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  const std::vector<double>& bounds() const { return bounds_; }

 protected:
  std::unique_ptr<Histogram> MakeChild() const override;
  void RenderChildren(std::string& out) const override;

 private:
  const std::vector<double> bounds_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry served on /metrics.
  static Registry& Global();

  // Registering an existing name with the same type and labels (and buckets) returns the
  // existing family, so modules can share one; anything else conflicting throws
  // std::invalid_argument, as do invalid metric or label names.
  CounterFamily& AddCounter(const std::string& name, const std::string& help,
                            const std::vector<std::string>& label_names = {});
  GaugeFamily& AddGauge(const std::string& name, const std::string& help,
                        const std::vector<std::string>& label_names = {});
  HistogramFamily& AddHistogram(const std::string& name, const std::string& help,
                                const std::vector<std::string>& label_names,
                                std::vector<double> bounds);

  // Hooks run (outside any registry lock) before each Render(), e.g. to refresh gauges.
  void AddCollectHook(std::function<void()> hook);

  std::string Render() const;

 private:
  template <typename F, typename Make>
  F& Add(MetricType type, const std::string& name, const std::vector<std::string>& label_names,
         const Make& make);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;  // Registration order.
  std::vector<std::function<void()>> hooks_;
};

// Formats a sample value: integral values without a decimal point, otherwise the shortest
// representation that round-trips; +Inf, -Inf and NaN as Prometheus spells them.
std::string FormatMetricValue(double v);

}  // namespace webrtc2sip::metrics
