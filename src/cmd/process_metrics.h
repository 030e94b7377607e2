// The process metrics every sprout server exports on /metrics (process_cpu_seconds_total,
// process_resident_memory_bytes, process_start_time_seconds, sprout_build_info{version,
// application}), registered once per command.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/clock.h"
#include "base/metrics.h"
#include "base/process_stats.h"

namespace sprout::cmd {

inline void RegisterProcessMetrics(MetricsRegistry& registry, std::string_view version,
                                   std::string_view application) {
  const absl::Time start = absl::Now();
  registry.AddCounterCallback("process_cpu_seconds_total",
                              "Total user and system CPU time spent in seconds.", {},
                              [] { return ProcessCpuSeconds(); });
  registry.AddGaugeCallback("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                            [] { return static_cast<double>(ProcessRssBytes()); });
  registry.AddGaugeCallback("process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.", {},
                            [start] { return absl::ToDoubleSeconds(start - absl::UnixEpoch()); });
  registry
      .GetGauge("sprout_build_info", "A metric with a constant '1' value.",
                {{"version", std::string(version)}, {"application", std::string(application)}})
      ->Set(1);
}

}  // namespace sprout::cmd
