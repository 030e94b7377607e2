// A process-internal metrics registry rendered in the Prometheus text exposition format
// (version 0.0.4), for the `/metrics` endpoints of the collector and the stores.
//
// Counters, gauges and histograms are identified by (name, label set); Get* returns the same
// instrument for the same identity, so components may look instruments up once and keep the
// pointer, which stays valid for the registry's lifetime. Updates are lock-free atomics; rendering
// takes a mutex that only registration also takes.
//
// Thread-safety: everything is safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sprout {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Increment() { Add(1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A classic Prometheus histogram: upper bounds (sorted, +Inf implied), per-bucket counts and the
// sum. Observations are lock-free; a reader may see an observation in the count before the sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts for each bound, then +Inf (= the count).
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 buckets
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  // Labels added to every series (e.g. service_name, service_instance_id).
  explicit MetricsRegistry(MetricLabels constant_labels = {});

  Counter* GetCounter(const std::string& name, const std::string& help, MetricLabels labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help, MetricLabels labels = {});
  // `bounds`: the buckets' upper bounds, ascending (+Inf is added). The first call for an
  // identity decides the bounds.
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, MetricLabels labels = {});
  // A gauge whose value is computed at render time. Returns an id for RemoveCallback().
  int AddGaugeCallback(const std::string& name, const std::string& help, MetricLabels labels,
                       std::function<double()> callback);
  // A counter whose value is computed at render time (e.g. CPU seconds from /proc).
  int AddCounterCallback(const std::string& name, const std::string& help, MetricLabels labels,
                         std::function<double()> callback);
  void RemoveCallback(int id);

  // `# HELP`, `# TYPE` and one line per series, families sorted by name.
  std::string RenderText() const;

  // What RenderText shows, as values: one entry per family with series, sorted by name; each
  // sample as a line of the text: its name (a histogram's `<name>_bucket` with `le` last,
  // `<name>_sum`, `<name>_count`), its labels followed by the constant labels, and its value now
  // (callbacks are called). For storing the registry's own telemetry without text in between.
  struct Sample {
    std::string name;
    MetricLabels labels;
    double value = 0;
  };
  struct FamilySnapshot {
    std::string name;
    std::string help;
    std::string type;  // "counter", "gauge" or "histogram"
    std::vector<Sample> samples;
  };
  std::vector<FamilySnapshot> Snapshot() const;

 private:
  struct Series {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::function<double()> callback;
    int callback_id = 0;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string help;
    std::string type;  // "counter", "gauge" or "histogram"
    std::vector<Series> series;
  };
  Family& FamilyLocked(const std::string& name, const std::string& help, const char* type);
  Series* FindLocked(Family& family, const MetricLabels& labels);
  // Every sample of `family` as rendered (see Snapshot).
  void SamplesLocked(const std::string& name, const Family& family, std::vector<Sample>* out) const;

  MetricLabels constant_labels_;
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  int next_callback_id_ = 1;
};

// Formats a sample value as Prometheus does ("1", "0.5", "NaN", "+Inf", "1e+06").
std::string FormatPrometheusValue(double v);
// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& v);

}  // namespace sprout
