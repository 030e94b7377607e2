// The runtime configuration of `sprout metrics`, as Mimir's (`runtime_config.file`): a YAML file
// of per-tenant limit overrides, re-read every `runtime_config.period` without a restart.
//
//   overrides:
//     tenant-a:
//       ingestion_rate: 50000
//       max_global_series_per_metric: 1000
//
// A tenant's limits are the `limits:` block of the configuration with its overrides on top; a
// tenant without an entry gets the `limits:` block. Keys are TenantLimitKeys() (metrics_config.h);
// another real Mimir limit is ignored (a warning), anything else refuses the file. Mimir's other
// runtime sections (multi_kv_config, ingester_limits, distributor_limits, ...) are ignored.
//
// Reloading: the file is read at Start() (an error there fails the start, as Mimir's runtime
// config manager does) and then every period; a file that cannot be read or decoded keeps the
// previous overrides in force, calls on_error (a log line) and sets
// cortex_runtime_config_last_reload_successful to 0 (1 after a good load);
// cortex_runtime_config_hash{sha256="..."} is 1 for the file in force.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/metrics.h"
#include "metrics/config/metrics_config.h"

namespace sprout::metrics {

struct RuntimeConfig {
  std::string raw;  // the file's text
  // Each tenant's effective limits (the defaults with its overrides applied).
  std::map<std::string, TenantLimits> overrides;
  std::vector<std::string> warnings;  // keys ignored
};

// Decodes a runtime configuration file's text over `defaults`. An empty file (or one with no
// `overrides`) overrides nothing. Errors (InvalidArgument, all of them joined by "\n"): YAML
// syntax, wrong types ("'overrides::t1::ingestion_rate' expected type 'float64', ..."), unknown
// keys ("'overrides::t1' has invalid keys: x", "runtime configuration has invalid keys: y"),
// negative limits.
absl::StatusOr<RuntimeConfig> ParseRuntimeConfig(std::string_view text,
                                                 const TenantLimits& defaults);

// What /runtime_config answers: the overrides in force, each tenant with every limit
// (mode=""), or only the limits that differ from `defaults` (mode="diff", Mimir's
// `?mode=diff`), as YAML under `overrides:`.
std::string RuntimeConfigYaml(const RuntimeConfig& config, const TenantLimits& defaults, bool diff);

struct RuntimeConfigOptions {
  std::string file;  // empty: no runtime configuration (every tenant gets the defaults)
  absl::Duration period = absl::Seconds(10);
  TenantLimits defaults;
  MetricsRegistry* registry = nullptr;  // optional: the reload metrics
  // Every failed reload (the previous overrides stay), with its error.
  std::function<void(const absl::Status&)> on_error;
  // Every successful load that changed the file, with the ignored keys.
  std::function<void(const std::vector<std::string>& warnings)> on_reload;
};

class RuntimeConfigManager {
 public:
  explicit RuntimeConfigManager(RuntimeConfigOptions options);
  ~RuntimeConfigManager();
  RuntimeConfigManager(const RuntimeConfigManager&) = delete;
  RuntimeConfigManager& operator=(const RuntimeConfigManager&) = delete;

  // Loads the file (when one is configured) and starts the reload thread. The load's error.
  absl::Status Start();
  void Stop();
  // Reads and decodes the file once; on success the new overrides are in force.
  absl::Status Reload();

  // The limits of `tenant` in force now.
  TenantLimits LimitsFor(std::string_view tenant) const;
  // Bumped by every load that changed the overrides (starts at 1): a cache of LimitsFor is
  // stale when it was taken at another generation.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const RuntimeConfig> current() const;
  const TenantLimits& defaults() const { return options_.defaults; }
  const RuntimeConfigOptions& options() const { return options_; }

 private:
  void Loop();

  const RuntimeConfigOptions options_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const RuntimeConfig> current_ ABSL_GUARDED_BY(mu_);
  std::string hash_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{1};
  Gauge* last_reload_ok_ = nullptr;
  absl::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;
};

}  // namespace sprout::metrics
