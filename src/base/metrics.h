// A process-internal metrics registry rendered in the Prometheus text exposition format
// (version 0.0.4), for the `/metrics` endpoints of the collector and the stores.
//
// Counters and gauges are identified by (name, label set); Get* returns the same instrument for
// the same identity, so components may look instruments up once and keep the pointer, which
// stays valid for the registry's lifetime. Updates are lock-free atomics; rendering takes a
// mutex that only registration also takes.
//
// Thread-safety: everything is safe to call from any thread.
#pragma once

#include <atomic>
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

class MetricsRegistry {
 public:
  // Labels added to every series (e.g. service_name, service_instance_id).
  explicit MetricsRegistry(MetricLabels constant_labels = {});

  Counter* GetCounter(const std::string& name, const std::string& help, MetricLabels labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help, MetricLabels labels = {});
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
  // series with its labels followed by the constant labels (as rendered) and its value now
  // (callbacks are called). For storing the registry's own telemetry without text in between.
  struct FamilySnapshot {
    std::string name;
    std::string help;
    std::string type;  // "counter" or "gauge"
    std::vector<std::pair<MetricLabels, double>> series;
  };
  std::vector<FamilySnapshot> Snapshot() const;

 private:
  struct Series {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::function<double()> callback;
    int callback_id = 0;
  };
  struct Family {
    std::string help;
    std::string type;  // "counter" or "gauge"
    std::vector<Series> series;
  };
  Family& FamilyLocked(const std::string& name, const std::string& help, const char* type);
  Series* FindLocked(Family& family, const MetricLabels& labels);

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
