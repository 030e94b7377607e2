// The metrics-generator of a trace store (Tempo's generator module, reference tempo.md §4.1): one
// TenantGenerator per tenant, created on the tenant's first spans from the `metrics_generator`
// block and the `overrides.defaults.metrics_generator` overrides, fed on the store's write path,
// collected on a loop into a GeneratorOutput.
//
//   auto service = GeneratorService::Create(options);   // config errors here, at startup
//   (*service)->Start();                                 // the loop thread
//   (*service)->PushSpans(tenant, request, now);        // ingest, after the store took the spans
//   (*service)->Stop(deadline);                          // a last collection, then output Close
//
// The loop: every `expire_interval` (Tempo's 2 s ticker) the open service-graph edges older than
// `wait` are expired (virtual-node edges recorded); every tenant's registry is collected every
// `collection_interval` (Tempo's default 15 s) into one WriteRequest per tenant, handed to the
// output. A failed Write is told to `on_error` and counted; the collection is not retried (the
// next one carries the counters' new totals, as Tempo's remote-write storage drops nothing it
// accepted, but cannot re-send a collection that its WAL refused).
//
// Thread-safety: PushSpans and Stats from any number of threads (Stats does not wait for a
// collection in progress, so a slow output does not hold up a /metrics scrape); RunOnce is
// serialised; Start and Stop from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "traces/config/generator_config.h"
#include "traces/generator/generator.h"
#include "traces/generator/output.h"

namespace sprout::traces::generator {

struct GeneratorServiceOptions {
  traces::GeneratorConfig config;
  traces::GeneratorOverrides overrides;  // every tenant's (overrides.defaults)
  GeneratorOutput* output = nullptr;     // not owned; nullptr: collections are dropped
  std::function<absl::Time()> clock;     // default absl::Now
  absl::Duration expire_interval = absl::Seconds(2);
  // Told of every failed Write and of a tenant whose generator could not be created.
  std::function<void(std::string_view tenant, const absl::Status&)> on_error;
};

struct GeneratorServiceTenantStats {
  TenantGeneratorStats generator;
  SpanMetricsStats span_metrics;      // zero when span metrics are off
  ServiceGraphsStats service_graphs;  // zero when service graphs are off
  uint64_t edges = 0;                 // the pairing store's counters
  uint64_t expired_edges = 0;
  uint64_t dropped_spans = 0;
  uint64_t dropped_edges = 0;
  uint64_t samples_written = 0;  // samples handed to the output and taken
  uint64_t exemplars_written = 0;
  uint64_t histograms_written = 0;  // native histogram samples
  uint64_t write_failures = 0;      // collections the output refused
};

class GeneratorService {
 public:
  // InvalidArgument when the processors' settings are invalid (a probe tenant's generator is
  // built); the service is then not created.
  static absl::StatusOr<std::unique_ptr<GeneratorService>> Create(GeneratorServiceOptions options);
  ~GeneratorService();

  // False when the overrides enable no processor: PushSpans does nothing, no thread runs.
  bool enabled() const { return enabled_; }

  // Hands every resource's spans to the tenant's generator (created on first use).
  void PushSpans(
      std::string_view tenant,
      const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request);

  // Starts the loop thread (when enabled).
  void Start();
  // Stops the loop, collects every tenant once more, then closes the output by `deadline`.
  void Stop(absl::Time deadline);

  // One step of the loop at `now` (tests, and the loop itself): expire the edges of every
  // tenant, and collect those whose collection is due (`force`: every tenant).
  void RunOnce(absl::Time now, bool force = false);

  std::map<std::string, GeneratorServiceTenantStats> Stats() const;

 private:
  explicit GeneratorService(GeneratorServiceOptions options) : options_(std::move(options)) {}
  struct Tenant {
    std::unique_ptr<TenantGenerator> generator;
    absl::Time next_collect;  // guarded by run_mu_
    // Written by RunOnce, read by Stats without waiting for a collection.
    std::atomic<uint64_t> samples_written{0};
    std::atomic<uint64_t> exemplars_written{0};
    std::atomic<uint64_t> histograms_written{0};
    std::atomic<uint64_t> write_failures{0};
  };
  Tenant* FindOrCreate(std::string_view tenant);
  absl::Time Now() const { return options_.clock ? options_.clock() : absl::Now(); }
  void Loop();

  const GeneratorServiceOptions options_;
  bool enabled_ = false;
  absl::Duration collection_interval_ = absl::Seconds(15);

  mutable std::mutex mu_;  // guards tenants_ (the map; a Tenant lives until the service does)
  std::map<std::string, std::unique_ptr<Tenant>, std::less<>> tenants_;

  std::mutex run_mu_;  // serializes RunOnce
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;  // guarded by loop_mu_
  std::thread loop_;
};

}  // namespace sprout::traces::generator
