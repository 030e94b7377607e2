// Self-monitoring of `sprout all` (issue 14): what `/metrics` shows — the process's registry
// (both stores, the generator, the process) and the collector's (`otelcol_*`) — stored in the
// process's own metrics store every interval, as a Prometheus scrape of job "sprout" would store
// it, so the process can be graphed from Grafana (`rate(otelcol_receiver_accepted_spans_total
// [1m])`, `sprout_*`, `cortex_*`).
//
// The samples are built from the registries' values (MetricsRegistry::Snapshot), not from the
// rendered text: every series of every family under its name as /metrics shows it (counters
// keep their `_total`), its labels plus `job="sprout"` and `instance="<host:port of the HTTP
// API>"` (a series' own `job`/`instance` become `exported_job`/`exported_instance`, as a scrape
// without honor_labels renames them), one timestamp per collection; `up` = 1 with the same two
// labels; histograms as `<name>_bucket` (with `le`), `_sum` and `_count`; one metadata entry per
// family (TYPE counter/gauge/histogram, HELP).
//
// The write is MetricsStore::PushWriteRequest into one tenant (`sprout all`'s default tenant,
// with multi-tenancy on too): the store's validation, limits and counters apply, and a refused
// collection is logged, never retried (the next carries the counters' new totals).
//
// Thread-safety: BuildScrape is a pure function of the registries' state; SelfMonitor's Start,
// CollectOnce and Stop are called by one thread (the command), the periodic writes run on the
// monitor's own thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/logging.h"
#include "base/metrics.h"

namespace prometheus {
class WriteRequest;
}  // namespace prometheus

namespace sprout::metrics {
class MetricsStore;
struct PushResult;
}  // namespace sprout::metrics

namespace sprout::cmd {

inline constexpr char kSelfMonitoringJob[] = "sprout";

// The remote-write request a scrape of `registries` at `timestamp_ms` stores: see above. Series
// labels sorted by name; families in the registries' order (each registry's sorted by name).
void BuildScrape(const std::vector<const MetricsRegistry*>& registries, const std::string& instance,
                 int64_t timestamp_ms, prometheus::WriteRequest* out);

struct SelfMonitorOptions {
  metrics::MetricsStore* store = nullptr;  // must outlive the monitor; started before Start()
  std::string tenant;
  std::string instance;  // host:port of the HTTP API
  absl::Duration interval = absl::Seconds(15);
  std::vector<const MetricsRegistry*> registries;
  // Called before each collection (e.g. TracesRole::RefreshMetrics, as /metrics does).
  std::function<void()> refresh;
  std::function<int64_t()> now_ms;  // default: the wall clock
  log::Logger logger;
};

class SelfMonitor {
 public:
  explicit SelfMonitor(SelfMonitorOptions options);
  ~SelfMonitor();  // Stop()
  SelfMonitor(const SelfMonitor&) = delete;
  SelfMonitor& operator=(const SelfMonitor&) = delete;

  // One collection now, on the calling thread; failures are logged and returned.
  metrics::PushResult CollectOnce();
  // The first collection at once, then one every interval on the monitor's thread.
  void Start();
  // Stops the thread (a collection in progress finishes first). Idempotent.
  void Stop();

  int64_t collections() const;
  int64_t failures() const;

 private:
  void Loop();

  const SelfMonitorOptions options_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t collections_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace sprout::cmd
