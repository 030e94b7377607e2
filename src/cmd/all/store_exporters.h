// The stores as collector exporters (issue 14): `sprout/traces` feeds a TraceStore,
// `sprout/metrics` a MetricsStore. The collector knows no store: the command that owns the stores
// registers NewStoreExporterFactory(...) in the collector's factory set, so a user's collector
// section (processors, filters) runs in front of the stores like in front of any exporter.
//
// The component type is `sprout`; the two accepted IDs are `sprout/traces` (traces pipelines
// only) and `sprout/metrics` (metrics pipelines only). Any other name, or a store ID in a pipeline
// of the other signal, fails when the pipelines are built (logs have no store). The entries take
// no keys: there is no queue, retry or timeout — an export is answered when the store answered.
//
// The answer to a client is the store's: the exporters call the store on the receiver's thread
// and return only after the WAL append (synced per the store's policy), so an acknowledgement
// means the data is in a store's WAL. The stores group concurrent writes themselves; a `batch`
// processor in front is not needed. Errors are consumer errors (otlp/consumer_error.h):
//  - traces: the ingestion rate limit → ResourceExhausted (retryable; receivers answer 429 /
//    RESOURCE_EXHAUSTED); InvalidArgument (an invalid tenant ID, undecodable data) → permanent;
//    anything else (WAL failure, store closed) as the store returned it (retryable).
//  - metrics: MetricsStore::IngestOtlp's result: 429 → ResourceExhausted, 5xx → Unavailable
//    (retryable: nothing was stored); 400 or translation errors → InvalidArgument marked
//    permanent (the good part was stored), as the Collector's remote-write exporter reports a
//    4xx.
// The tenant (TenantSelector): with multitenancy, the request's `X-Scope-OrgID` (client metadata,
// so the otlp receiver needs `include_metadata: true`); missing → Unauthenticated "no org id"
// (401). Without, the configured single tenant.
//
// Thread-safety: every consumer and exporter is thread-safe (Consume runs on receiver threads).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/metrics.h"
#include "cmd/all/store_ids.h"
#include "collector/factory.h"
#include "otlp/consumer.h"
#include "otlp/prometheus.h"

namespace sprout::traces::store {
class TraceStore;
}  // namespace sprout::traces::store
namespace sprout::metrics {
class MetricsStore;
}  // namespace sprout::metrics

namespace sprout::cmd {

// Which tenant a request's data goes to.
struct TenantSelector {
  bool multitenancy = false;
  std::string single_tenant;  // without multitenancy

  // With multitenancy: the context's tenant when a receiver set one, else the last
  // `x-scope-orgid` of the client metadata (keys compared case-insensitively); none or empty →
  // Unauthenticated "no org id". Without: single_tenant.
  absl::StatusOr<std::string> TenantOf(const otlp::Context& context) const;
};

// Traces → TraceStore::Push for the request's tenant. With a registry, Tempo's distributor
// counters: tempo_distributor_spans_received_total{tenant} (accepted spans) and
// tempo_discarded_spans_total{reason,tenant} (the store's discards and `rate_limited`).
class TraceStoreConsumer : public otlp::TracesConsumer {
 public:
  // `store` must outlive the consumer; `registry` may be null.
  TraceStoreConsumer(traces::store::TraceStore* store, TenantSelector tenants,
                     MetricsRegistry* registry);
  absl::Status Consume(const otlp::Context& context,
                       otlp::Batch<otlp::Signal::kTraces> batch) override;

 private:
  traces::store::TraceStore* const store_;
  const TenantSelector tenants_;
  MetricsRegistry* const registry_;
};

// The OTLP → Prometheus naming of `sprout all` for OTLP metrics, wherever they arrive (the
// `sprout/metrics` exporter and POST /otlp/v1/metrics on the API port): the Collector's
// remote-write exporter's defaults, the names the seed's users got through
// `prometheusremotewrite` (unit and type suffixes, target_info, scope labels, no metadata).
inline otlp::PromTranslationSettings StoreExporterTranslation() { return {}; }

// Metrics → MetricsStore::IngestOtlp for the request's tenant with `translation` (the OTLP →
// Prometheus naming; the defaults are the Collector's remote-write exporter's: unit and type
// suffixes, target_info, scope labels, no metadata). The store counts what it takes in its
// own registry (cortex_*).
class MetricsStoreConsumer : public otlp::MetricsConsumer {
 public:
  // `store` must outlive the consumer.
  MetricsStoreConsumer(metrics::MetricsStore* store, TenantSelector tenants,
                       otlp::PromTranslationSettings translation = {});
  absl::Status Consume(const otlp::Context& context,
                       otlp::Batch<otlp::Signal::kMetrics> batch) override;

 private:
  metrics::MetricsStore* const store_;
  const TenantSelector tenants_;
  const otlp::PromTranslationSettings translation_;
};

// What the `sprout` exporters deliver to; a null consumer makes its ID fail at build time
// ("... is not available"), e.g. a command without a metrics store.
struct StoreExporterTargets {
  std::shared_ptr<otlp::TracesConsumer> traces;    // sprout/traces
  std::shared_ptr<otlp::MetricsConsumer> metrics;  // sprout/metrics
};

// The factory of type `sprout`. Each exporter built from it hands every batch to its target and
// returns the target's answer; it counts otelcol_exporter_sent_{spans,metric_points}_total and
// otelcol_exporter_send_failed_{spans,metric_points}_total{exporter} in the service's registry.
std::unique_ptr<collector::ExporterFactory> NewStoreExporterFactory(StoreExporterTargets targets);

}  // namespace sprout::cmd
