#include "base/metrics.h"

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

namespace {

double ValueOf(const Counter* counter, const Gauge* gauge,
               const std::function<double()>& callback) {
  if (counter != nullptr) return counter->value();
  if (gauge != nullptr) return gauge->value();
  if (callback) return callback();
  return 0;
}

}  // namespace

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
    f.series.reserve(family.series.size());
    for (const Series& s : family.series) {
      MetricLabels labels = s.labels;
      labels.insert(labels.end(), constant_labels_.begin(), constant_labels_.end());
      f.series.emplace_back(std::move(labels), ValueOf(s.counter.get(), s.gauge.get(), s.callback));
    }
  }
  return out;
}

std::string MetricsRegistry::RenderText() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) {
    if (family.series.empty()) continue;
    out.append("# HELP ").append(name).append(" ").append(family.help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(family.type).append("\n");
    for (const Series& s : family.series) {
      out.append(name);
      bool first = true;
      auto append = [&](const MetricLabels& labels) {
        for (const auto& [k, v] : labels) {
          out.append(first ? "{" : ",")
              .append(k)
              .append("=\"")
              .append(EscapeLabelValue(v))
              .append("\"");
          first = false;
        }
      };
      append(s.labels);
      append(constant_labels_);
      if (!first) out.append("}");
      const double value = ValueOf(s.counter.get(), s.gauge.get(), s.callback);
      out.append(" ").append(FormatPrometheusValue(value)).append("\n");
    }
  }
  return out;
}

}  // namespace sprout
