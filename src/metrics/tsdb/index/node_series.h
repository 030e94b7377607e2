// Tests and benchmarks only: a node_exporter-like series set for the index.
//
// Each instance ("i0", "i1", ...) has 2000 series of 8 labels:
//   __name__, cluster (c0..c3 by instance % 4), env (staging when instance % 5 == 0, else prod),
//   instance, job (node/api/db by instance % 3), region (eu/us by instance % 2), and either
//   - node_cpu_seconds_total with cpu "0".."15" × mode (8 modes): 128 series, or
//   - node_metric_<k> (k < 468) with device "dev0".."dev3" and fstype (ext4 for even devices,
//     xfs for odd): 1872 series.
// So 469 metric names; 100 instances give 200k series. Series are produced instance by
// instance, cpu series first.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "metrics/tsdb/index/labels.h"

namespace sprout::metrics::tsdb::testing {

inline constexpr size_t kNodeSeriesPerInstance = 2000;
inline constexpr size_t kNodeMetricNames = 468;  // plus node_cpu_seconds_total
inline constexpr std::array<const char*, 8> kNodeModes = {"idle",    "iowait", "irq",    "nice",
                                                          "softirq", "steal",  "system", "user"};
inline constexpr std::array<const char*, 3> kNodeJobs = {"node", "api", "db"};

inline std::vector<Labels> NodeExporterSeries(size_t instances) {
  std::vector<Labels> out;
  out.reserve(instances * kNodeSeriesPerInstance);
  for (size_t i = 0; i < instances; ++i) {
    const std::string instance = absl::StrCat("i", i);
    const std::string cluster = absl::StrCat("c", i % 4);
    const char* env = i % 5 == 0 ? "staging" : "prod";
    const char* job = kNodeJobs[i % 3];
    const char* region = i % 2 == 0 ? "eu" : "us";
    for (int cpu = 0; cpu < 16; ++cpu) {
      for (const char* mode : kNodeModes) {
        const std::string cpu_s = std::to_string(cpu);
        out.push_back(Labels::FromSorted(std::vector<Label>{{"__name__", "node_cpu_seconds_total"},
                                                            {"cluster", cluster},
                                                            {"cpu", cpu_s},
                                                            {"env", env},
                                                            {"instance", instance},
                                                            {"job", job},
                                                            {"mode", mode},
                                                            {"region", region}}));
      }
    }
    for (size_t k = 0; k < kNodeMetricNames; ++k) {
      const std::string name = absl::StrCat("node_metric_", k);
      for (int d = 0; d < 4; ++d) {
        const std::string device = absl::StrCat("dev", d);
        out.push_back(Labels::FromSorted(std::vector<Label>{{"__name__", name},
                                                            {"cluster", cluster},
                                                            {"device", device},
                                                            {"env", env},
                                                            {"fstype", d % 2 == 0 ? "ext4" : "xfs"},
                                                            {"instance", instance},
                                                            {"job", job},
                                                            {"region", region}}));
      }
    }
  }
  return out;
}

}  // namespace sprout::metrics::tsdb::testing
