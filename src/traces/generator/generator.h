// The per-tenant metrics-generator (Tempo's generator `instance`, reference tempo.md §4.1): the
// `metrics_generator` block and the tenant's overrides turned into one Registry and the
// processors the tenant's `processors` list enables, behind one entry point.
//
//   auto g = TenantGenerator::Create("tenant-a", config.generator, config.generator_overrides);
//   (*g)->PushSpans(resource_spans, now);   // ingest: every enabled processor, once
//   (*g)->Collect(now, sink);               // collection loop: expire edges, collect series
//
// `processors` as Tempo reads it: `span-metrics` (count, latency, size), or only the listed
// `span-metrics-count|-latency|-size`; `service-graphs` (request, latency; connection info only
// when `service-graphs-connection-info` is listed too), or only the listed
// `service-graphs-request|-latency|-connection-info`. `local-blocks`, `host-info`: not
// implemented, ignored. Empty: the generator does nothing.
//
// Thread-safety: PushSpans from any number of threads, Collect from one collector thread; the
// getters from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "traces/config/generator_config.h"
#include "traces/generator/registry.h"
#include "traces/generator/service_graphs.h"
#include "traces/generator/span_metrics.h"

namespace sprout::traces::generator {

// Which processors and subprocessors a `processors` list enables (Tempo's updateSubprocessors).
struct EnabledProcessors {
  bool span_metrics = false;
  bool span_metrics_count = false;
  bool span_metrics_latency = false;
  bool span_metrics_size = false;
  // Only subprocessor names listed (no bare `span-metrics`): Tempo then uses the default latency
  // buckets, whatever histogram_buckets says.
  bool span_metrics_default_buckets = false;
  bool service_graphs = false;
  bool service_graphs_request = false;
  bool service_graphs_latency = false;
  bool service_graphs_connection_info = false;
};
EnabledProcessors ParseProcessors(const std::vector<std::string>& processors);

// The processor settings mapped from the config structs (per-tenant values already layered by
// the config into GeneratorOverrides).
absl::StatusOr<SpanMetricsConfig> MapSpanMetricsConfig(const traces::SpanMetricsConfig& in,
                                                       const EnabledProcessors& enabled);
absl::StatusOr<ServiceGraphConfig> MapServiceGraphConfig(const traces::ServiceGraphsConfig& in,
                                                         const EnabledProcessors& enabled);
// A filter policy's value as written in the YAML, typed as Tempo's loader (yaml.v2) types an
// untyped plain scalar: YAML 1.1 booleans (true/yes/on/y, false/no/off/n, three spellings each) →
// bool; an integer (sign, 0x / 0o / 0 / 0b prefixes, `_` ignored) → int64; a float
// ([-+]? digits [. digits] [e±digits], .inf, .nan) → double; anything else → string. A quoted
// scalar cannot be told apart (the config keeps the text only): "200" in quotes is an int here.
std::variant<std::string, int64_t, double, bool> TypePolicyValue(const std::string& text);

struct TenantGeneratorStats {
  uint64_t spans_received = 0;  // Tempo's metrics_generator_spans_received_total
  uint64_t spans_outside_slack =
      0;                        // spans_discarded_total{reason=outside_metrics_ingestion_slack}
  uint64_t series_limited = 0;  // registry_series_limited_total
  uint64_t active_series = 0;   // registry_active_series
  uint64_t series_removed = 0;  // registry_series_removed_total (stale)
  uint64_t collections = 0;     // Collect calls that appended samples
};

class TenantGenerator {
 public:
  // InvalidArgument for processor settings the processors refuse (filter policies, buckets,
  // dimension mappings) or an ingestion slack above 12 h.
  static absl::StatusOr<std::unique_ptr<TenantGenerator>> Create(
      std::string tenant, const traces::GeneratorConfig& config,
      const traces::GeneratorOverrides& overrides);
  ~TenantGenerator();

  // Drops the spans whose end time is outside now ± the ingestion slack (counted), then hands the
  // rest to every enabled processor once.
  void PushSpans(const opentelemetry::proto::trace::v1::ResourceSpans& resource_spans,
                 absl::Time now);

  // Expires the open service-graph edges (virtual-node edges recorded), then collects the
  // registry into `sink`. With disable_collection only stale series are removed.
  void Collect(absl::Time now, SeriesSink& sink);
  // Expires the open service-graph edges only (Tempo's 2 s ticker, between collections).
  void ExpireEdges(absl::Time now);

  bool enabled() const { return span_metrics_ != nullptr || service_graphs_ != nullptr; }
  const std::string& tenant() const { return tenant_; }
  const EnabledProcessors& processors() const { return enabled_; }
  absl::Duration collection_interval() const { return collection_interval_; }
  absl::Duration ingestion_slack() const { return slack_; }
  // The tenant's generate_native_histograms: the shape of every latency histogram.
  HistogramMode histogram_mode() const { return histogram_mode_; }

  TenantGeneratorStats stats() const;
  // Per-processor stats; nullptr / empty when the processor is off.
  const SpanMetricsProcessor* span_metrics() const { return span_metrics_.get(); }
  const ServiceGraphsProcessor* service_graphs() const { return service_graphs_.get(); }
  const Registry& registry() const { return *registry_; }

 private:
  TenantGenerator() = default;

  std::string tenant_;
  EnabledProcessors enabled_;
  absl::Duration collection_interval_;
  absl::Duration slack_;
  HistogramMode histogram_mode_ = HistogramMode::kClassic;
  bool disable_collection_ = false;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<SpanMetricsProcessor> span_metrics_;
  std::unique_ptr<ServiceGraphsProcessor> service_graphs_;

  mutable absl::Mutex mu_;
  uint64_t spans_received_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t spans_outside_slack_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t collections_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sprout::traces::generator
