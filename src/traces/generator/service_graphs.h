// The service-graphs processor (Tempo's `modules/generator/processor/servicegraphs`, reference
// tempo.md §4.2): a ServiceGraphStore pairs the spans into edges (service_graph_store.h), and
// every completed edge, and every edge that expires as a virtual node, becomes under its label
// set {client, server, connection_type, <dimensions>, virtual_node}:
//   traces_service_graph_request_total         += multiplier          (subprocessor request)
//   traces_service_graph_request_failed_total  += multiplier, failed   (subprocessor request)
//   traces_service_graph_request_server_seconds  observes the server side's seconds  (latency)
//   traces_service_graph_request_client_seconds  observes the client side's seconds  (latency)
//   traces_service_graph_request_messaging_system_seconds  consumer start − producer end, for
//       messaging_system edges with enable_messaging_system_latency_histogram     (latency)
//   traces_service_graph_connection_info       = 1                    (connection-info, opt-in)
// The histograms carry the edge's trace ID (hex) as exemplar, as Tempo's do.
//
// Labels as Tempo builds them: a label whose value is "" is left out (Prometheus' label builder:
// setting "" deletes), so a plain client/server edge has no connection_type label; a later label
// of the same name replaces an earlier one.
//
//   auto p = ServiceGraphsProcessor::Create(config, &registry);
//   (*p)->PushSpans(resource_spans, now);   // ingest
//   (*p)->Expire(now);                      // collection loop, before registry.Collect(now, sink)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "traces/generator/registry.h"
#include "traces/generator/service_graph_store.h"
#include "traces/generator/span_metrics.h"

namespace sprout::traces::generator {

inline constexpr char kServiceGraphRequestTotal[] = "traces_service_graph_request_total";
inline constexpr char kServiceGraphRequestFailedTotal[] =
    "traces_service_graph_request_failed_total";
inline constexpr char kServiceGraphRequestServerSeconds[] =
    "traces_service_graph_request_server_seconds";
inline constexpr char kServiceGraphRequestClientSeconds[] =
    "traces_service_graph_request_client_seconds";
inline constexpr char kServiceGraphRequestMessagingSystemSeconds[] =
    "traces_service_graph_request_messaging_system_seconds";
inline constexpr char kServiceGraphConnectionInfo[] = "traces_service_graph_connection_info";

struct ServiceGraphsStats {
  uint64_t edges_recorded = 0;      // completed and virtual-node edges turned into series
  uint64_t virtual_node_edges = 0;  // of which expired into a virtual node
  uint64_t edges_invalid_utf8 = 0;  // a label value not valid UTF-8: the edge is skipped (Tempo)
  uint64_t edges_refused = 0;       // a series refused by max_active_series
  uint64_t messaging_latency_skipped = 0;  // messaging edge with producer end ≥ consumer start
  uint64_t spans_filtered = 0;  // edge spans refused by filter_policies (Tempo's filtered spans)
};

class ServiceGraphsProcessor {
 public:
  // InvalidArgument when histogram_buckets are empty or not strictly increasing, or a filter
  // policy is invalid (span metrics' rules).
  static absl::StatusOr<std::unique_ptr<ServiceGraphsProcessor>> Create(ServiceGraphConfig config,
                                                                        Registry* registry);

  // Pairs the spans of `resource_spans` and records the edges they complete.
  void PushSpans(const opentelemetry::proto::trace::v1::ResourceSpans& resource_spans,
                 absl::Time now);

  // Expires the edges open since `wait` (Tempo's ticker; here the collection loop calls it
  // before Registry::Collect) and records those that become virtual-node edges.
  void Expire(absl::Time now);

  // The label set an edge is recorded under (before the registry's truncation and sorting).
  Labels EdgeLabels(const Edge& edge) const;

  ServiceGraphsStats stats() const;
  // The pairing store (Tempo's tempo_metrics_generator_processor_service_graphs_* counters).
  const ServiceGraphStore& store() const { return store_; }

 private:
  ServiceGraphsProcessor(ServiceGraphConfig config, Registry* registry, SpanFilter filter);
  void Record(const Edge& edge, absl::Time now, ServiceGraphsStats* delta);

  struct DimensionLabel {
    std::string label;         // sanitize(dim)
    std::string client_label;  // sanitize("client_" + dim)
    std::string server_label;  // sanitize("server_" + dim)
  };

  const ServiceGraphConfig config_;
  Registry* registry_;
  ServiceGraphStore store_;
  const SpanFilter filter_;
  std::vector<DimensionLabel> dimension_labels_;
  Counter* request_total_ = nullptr;
  Counter* request_failed_total_ = nullptr;
  Histogram* server_seconds_ = nullptr;
  Histogram* client_seconds_ = nullptr;
  Histogram* messaging_system_seconds_ = nullptr;
  Gauge* connection_info_ = nullptr;

  mutable absl::Mutex mu_;
  ServiceGraphsStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sprout::traces::generator
