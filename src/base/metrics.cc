#include "base/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sprout {

MetricsRegistry::MetricsRegistry(MetricLabels constant_labels)
    : constant_labels_(std::move(constant_labels)) {}

MetricsRegistry::Family& MetricsRegistry::FamilyLocked(const std::string& name,
                                                       const std::string& help, const char* type) {
  Family& family = families_[name];
  if (family.type.empty()) {
    family.help = help;
    family.type = type;
  }
  return family;
}

MetricsRegistry::Series* MetricsRegistry::FindLocked(Family& family, const MetricLabels& labels) {
  for (Series& s : family.series) {
    if (s.labels == labels) return &s;
  }
  return nullptr;
}

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     MetricLabels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyLocked(name, help, "counter");
  if (Series* s = FindLocked(family, labels); s != nullptr && s->counter) return s->counter.get();
  family.series.push_back(Series{std::move(labels), std::make_unique<Counter>(), nullptr, {}, 0});
  return family.series.back().counter.get();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 MetricLabels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyLocked(name, help, "gauge");
  if (Series* s = FindLocked(family, labels); s != nullptr && s->gauge) return s->gauge.get();
  family.series.push_back(Series{std::move(labels), nullptr, std::make_unique<Gauge>(), {}, 0});
  return family.series.back().gauge.get();
}

int MetricsRegistry::AddGaugeCallback(const std::string& name, const std::string& help,
                                      MetricLabels labels, std::function<double()> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyLocked(name, help, "gauge");
  const int id = next_callback_id_++;
  family.series.push_back(Series{std::move(labels), nullptr, nullptr, std::move(callback), id});
  return id;
}

int MetricsRegistry::AddCounterCallback(const std::string& name, const std::string& help,
                                        MetricLabels labels, std::function<double()> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyLocked(name, help, "counter");
  const int id = next_callback_id_++;
  family.series.push_back(Series{std::move(labels), nullptr, nullptr, std::move(callback), id});
  return id;
}

void MetricsRegistry::RemoveCallback(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, family] : families_) {
    std::erase_if(family.series, [id](const Series& s) { return s.callback_id == id; });
  }
}

std::string FormatPrometheusValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  // Shortest representation that round-trips.
  for (int precision = 1; precision <= 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof(shorter), "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // The first bucket whose upper bound is >= v (Prometheus's `le`); NaN goes to +Inf.
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

Histogram* MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> bounds, MetricLabels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyLocked(name, help, "histogram");
  if (Series* s = FindLocked(family, labels); s != nullptr && s->histogram) {
    return s->histogram.get();
  }
  Series series{std::move(labels), nullptr, nullptr, {}, 0};
  series.histogram = std::make_unique<Histogram>(std::move(bounds));
  family.series.push_back(std::move(series));
  return family.series.back().histogram.get();
}

void MetricsRegistry::SamplesLocked(const std::string& name, const Family& family,
                                    std::vector<Sample>* out) const {
  for (const Series& s : family.series) {
    MetricLabels labels = s.labels;
    labels.insert(labels.end(), constant_labels_.begin(), constant_labels_.end());
    if (s.histogram) {
      const std::vector<uint64_t> cumulative = s.histogram->CumulativeCounts();
      const std::vector<double>& bounds = s.histogram->bounds();
      for (size_t i = 0; i < cumulative.size(); ++i) {
        MetricLabels bucket = labels;
        bucket.emplace_back("le", i < bounds.size() ? FormatPrometheusValue(bounds[i]) : "+Inf");
        out->push_back({name + "_bucket", std::move(bucket), static_cast<double>(cumulative[i])});
      }
      out->push_back({name + "_sum", labels, s.histogram->sum()});
      out->push_back({name + "_count", std::move(labels), static_cast<double>(cumulative.back())});
      continue;
    }
    double value = 0;
    if (s.counter) {
      value = s.counter->value();
    } else if (s.gauge) {
      value = s.gauge->value();
    } else if (s.callback) {
      value = s.callback();
    }
    out->push_back({name, std::move(labels), value});
  }
}

std::vector<MetricsRegistry::FamilySnapshot> MetricsRegistry::Snapshot() const {
  std::vector<FamilySnapshot> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.reserve(families_.size());
  for (const auto& [name, family] : families_) {
    if (family.series.empty()) continue;
    FamilySnapshot& f = out.emplace_back();
    f.name = name;
    f.help = family.help;
    f.type = family.type;
    SamplesLocked(name, family, &f.samples);
  }
  return out;
}

std::string MetricsRegistry::RenderText() const {
  std::string out;
  std::vector<Sample> samples;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) {
    if (family.series.empty()) continue;
    out.append("# HELP ").append(name).append(" ").append(family.help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(family.type).append("\n");
    samples.clear();
    SamplesLocked(name, family, &samples);
    for (const Sample& sample : samples) {
      out.append(sample.name);
      bool first = true;
      for (const auto& [k, v] : sample.labels) {
        out.append(first ? "{" : ",")
            .append(k)
            .append("=\"")
            .append(EscapeLabelValue(v))
            .append("\"");
        first = false;
      }
      if (!first) out.append("}");
      out.append(" ").append(FormatPrometheusValue(sample.value)).append("\n");
    }
  }
  return out;
}

}  // namespace sprout
