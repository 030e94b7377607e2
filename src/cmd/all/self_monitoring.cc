#include "cmd/all/self_monitoring.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "metrics/store/store.h"
#include "prometheus/remote.pb.h"

namespace sprout::cmd {
namespace {

void AddSeries(const std::string& name, MetricLabels labels, const std::string& instance,
               double value, int64_t timestamp_ms, prometheus::WriteRequest* out) {
  // A scrape without honor_labels keeps the target's labels and renames the series' own.
  for (auto& [k, v] : labels) {
    if (k == "job" || k == "instance") k = "exported_" + k;
  }
  labels.emplace_back("__name__", name);
  labels.emplace_back("job", kSelfMonitoringJob);
  labels.emplace_back("instance", instance);
  std::sort(labels.begin(), labels.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  prometheus::TimeSeries* series = out->add_timeseries();
  for (auto& [k, v] : labels) {
    prometheus::Label* label = series->add_labels();
    label->set_name(std::move(k));
    label->set_value(std::move(v));
  }
  prometheus::Sample* sample = series->add_samples();
  sample->set_value(value);
  sample->set_timestamp(timestamp_ms);
}

}  // namespace

void BuildScrape(const std::vector<const MetricsRegistry*>& registries, const std::string& instance,
                 int64_t timestamp_ms, prometheus::WriteRequest* out) {
  AddSeries("up", {}, instance, 1, timestamp_ms, out);
  for (const MetricsRegistry* registry : registries) {
    for (MetricsRegistry::FamilySnapshot& family : registry->Snapshot()) {
      prometheus::MetricMetadata* metadata = out->add_metadata();
      metadata->set_type(family.type == "counter"     ? prometheus::MetricMetadata::COUNTER
                         : family.type == "histogram" ? prometheus::MetricMetadata::HISTOGRAM
                                                      : prometheus::MetricMetadata::GAUGE);
      metadata->set_metric_family_name(family.name);
      metadata->set_help(family.help);
      for (MetricsRegistry::Sample& sample : family.samples) {
        AddSeries(sample.name, std::move(sample.labels), instance, sample.value, timestamp_ms, out);
      }
    }
  }
}

SelfMonitor::SelfMonitor(SelfMonitorOptions options) : options_(std::move(options)) {}

SelfMonitor::~SelfMonitor() { Stop(); }

metrics::PushResult SelfMonitor::CollectOnce() {
  if (options_.refresh) options_.refresh();
  const int64_t now_ms = options_.now_ms ? options_.now_ms() : absl::ToUnixMillis(absl::Now());
  prometheus::WriteRequest request;
  BuildScrape(options_.registries, options_.instance, now_ms, &request);
  metrics::PushResult result = options_.store->PushWriteRequest(options_.tenant, request);
  {
    absl::MutexLock lock(&mu_);
    ++collections_;
    if (!result.ok()) ++failures_;
  }
  if (!result.ok()) {
    options_.logger.Warn("self-monitoring: the metrics store refused the process's own telemetry",
                         {{"tenant", options_.tenant},
                          {"status", std::to_string(result.http_status)},
                          {"error", result.message}});
  }
  return result;
}

void SelfMonitor::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void SelfMonitor::Loop() {
  while (true) {
    CollectOnce();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.interval);
    if (stop_) return;
  }
}

void SelfMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int64_t SelfMonitor::collections() const {
  absl::MutexLock lock(&mu_);
  return collections_;
}

int64_t SelfMonitor::failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

}  // namespace sprout::cmd
