#include "collector/receiver_obs.h"

namespace sprout::collector {

ReceiverObs::ReceiverObs(MetricsRegistry* metrics, const ComponentID& receiver,
                         std::string transport)
    : metrics_(metrics),
      labels_{{"receiver", receiver.String()}, {"transport", std::move(transport)}} {}

Counter* ReceiverObs::Get(Signal signal, bool accepted) {
  std::atomic<Counter*>& slot = counters_[static_cast<int>(signal)][accepted ? 0 : 1];
  Counter* counter = slot.load(std::memory_order_acquire);
  if (counter != nullptr) return counter;
  static const char* kItems[3] = {"spans", "metric_points", "log_records"};
  const std::string item = kItems[static_cast<int>(signal)];
  // GetCounter returns the same instrument for the same identity, so a race here is harmless.
  counter =
      accepted ? metrics_->GetCounter(
                     "otelcol_receiver_accepted_" + item + "_total",
                     "Number of " + item + " successfully pushed into the pipeline.", labels_)
               : metrics_->GetCounter(
                     "otelcol_receiver_refused_" + item + "_total",
                     "Number of " + item + " that could not be pushed into the pipeline.", labels_);
  slot.store(counter, std::memory_order_release);
  return counter;
}

void ReceiverObs::Record(Signal signal, int64_t items, const absl::Status& status) {
  if (metrics_ == nullptr) return;
  Get(signal, status.ok())->Add(static_cast<double>(items));
}

}  // namespace sprout::collector
