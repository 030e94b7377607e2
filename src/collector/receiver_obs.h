// Receiver-side internal telemetry with the Collector's metric names:
//   otelcol_receiver_accepted_<items>_total{receiver, transport}
//   otelcol_receiver_refused_<items>_total{receiver, transport}
// where <items> is spans, metric_points or log_records. Series appear on first use, so a
// traces-only receiver shows no metric_points series.
//
// Thread-safety: Record() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "base/metrics.h"
#include "collector/component.h"

namespace sprout::collector {

class ReceiverObs {
 public:
  ReceiverObs(MetricsRegistry* metrics, const ComponentID& receiver, std::string transport);
  void Record(Signal signal, int64_t items, const absl::Status& status);

 private:
  Counter* Get(Signal signal, bool accepted);

  MetricsRegistry* metrics_;
  MetricLabels labels_;
  std::atomic<Counter*> counters_[3][2] = {};
};

}  // namespace sprout::collector
