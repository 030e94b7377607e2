// The pairing half of Tempo's `service-graphs` processor (reference tempo.md §4.2), as pure
// logic with no metrics registry: spans go in, completed edges come out.
//
//   ServiceGraphStore store(config);
//   std::vector<Edge> done = store.AddSpans(resource_spans, now);  // edges completed by these
//   spans std::vector<Edge> late = store.Expire(now);                    // virtual-node edges
//   after `wait`
//
// Rules (Tempo's):
// - the service is the resource's `service.name` (any value type, stringified); a ResourceSpans
//   without that key is skipped;
// - CLIENT and PRODUCER spans are the client side, keyed by trace ID + span ID; SERVER and
//   CONSUMER spans the server side, keyed by trace ID + parent span ID; other kinds are ignored;
//   a PRODUCER or CONSUMER side sets connection_type "messaging_system", a CLIENT or SERVER side
//   sets "" (the side written last wins, as in Tempo);
// - an edge completes when both services are known; failed when either side has status ERROR;
// - a client span with any of `database_name_attributes` (span first, then resource) is a
//   "database" edge at once: server latency = the client span's duration, server name =
//   peer.service > server.address > network.peer.address[:network.peer.port] > the first
//   database attribute's value (each looked up on the span first, then on the resource);
// - an edge still open `wait` after its first span is expired by Expire(now): an open server
//   side whose key has no parent (a root SERVER/CONSUMER span) becomes a "virtual_node" edge
//   from the root span's first `peer_attributes` value, else from "user"; an open client side
//   with a `peer_attributes` value on its span becomes a "virtual_node" edge to that value;
//   anything else is dropped and counted in expired_edges;
// - a new open edge when `max_items` edges are open: the span is dropped (dropped_spans);
//   spans that complete an edge at once (database) are never dropped;
// - AddDroppedSpan(span) records the side of a span the processor's filter refused: a waiting
//   counterpart is removed and later counterparts are refused, each counted in dropped_edges
//   (Tempo 3.x, with filter_policies).
//
// Attribute values are stringified as Tempo's StringifyAnyValue does
// (traces/generator/stringify.h). Thread-safety: every method may be called from any thread (one
// mutex).
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "traces/generator/filter_policy.h"
#include "traces/generator/histogram_mode.h"
#include "traces/generator/stringify.h"

namespace sprout::traces::generator {

// metrics_generator.processor.service_graphs.* (Tempo's names and defaults).
struct ServiceGraphConfig {
  absl::Duration wait = absl::Seconds(10);
  int max_items = 10000;
  std::vector<std::string> peer_attributes = {"peer.service", "db.name", "db.system",
                                              "db.system.name"};
  std::vector<std::string> database_name_attributes = {"db.namespace", "db.name", "db.system",
                                                       "db.system.name"};
  // Attribute names (unsanitised); values looked up on the span first, then on the resource.
  std::vector<std::string> dimensions;
  // Kept for the processor (label naming / extra histogram); the store fills every field anyway.
  bool enable_client_server_prefix = false;
  bool enable_virtual_node_label = false;
  bool enable_messaging_system_latency_histogram = false;
  // A double attribute (span first, then resource) holding a sampling ratio r > 0: the edge
  // counts 1/r. Empty: every edge counts 1.
  std::string span_multiplier_key;
  // For the processor (service_graphs.h): the latency histograms' bounds (seconds; Tempo's
  // ExponentialBuckets(0.1, 2, 8)) and the subprocessors service-graphs-request (request_total,
  // request_failed_total), -latency (the seconds histograms) and -connection-info
  // (connection_info; opt-in: Tempo enables it only when `processors` names it).
  std::vector<double> histogram_buckets = {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8};
  // For the processor: the three seconds histograms' shape (generate_native_histograms).
  HistogramMode histogram_mode = HistogramMode::kClassic;
  bool request = true;
  bool latency = true;
  bool connection_info = false;
  // For the processor: CLIENT/PRODUCER/SERVER/CONSUMER spans refused by these (span metrics'
  // rules) are not paired; their side is recorded with AddDroppedSpan (Tempo 3.x).
  std::vector<FilterPolicy> filter_policies;
};

inline constexpr std::string_view kConnectionMessagingSystem = "messaging_system";
inline constexpr std::string_view kConnectionDatabase = "database";
inline constexpr std::string_view kConnectionVirtualNode = "virtual_node";

// One completed request between two services.
struct Edge {
  std::string trace_id;  // lowercase hex of the trace ID (the exemplar's traceID)
  std::string client_service;
  std::string server_service;
  std::string connection_type;  // "" | messaging_system | database | virtual_node
  // "" for a paired or database edge; "client" when the client was inferred (root server span),
  // "server" when the server was inferred (client span's peer attribute). The value of Tempo's
  // `virtual_node` label with enable_virtual_node_label.
  std::string virtual_node;
  double client_seconds = 0;  // client span duration (0 if it ends before it starts)
  double server_seconds = 0;  // server span duration; the client span's for a database edge
  uint64_t client_end_unix_nano = 0;
  uint64_t server_start_unix_nano = 0;
  // Consumer start − producer end; 0 when the producer ends after the consumer starts (Tempo
  // then observes nothing and logs a warning). Meaningful for messaging_system edges.
  double messaging_system_seconds = 0;
  bool failed = false;
  // Per configured dimension (same order as ServiceGraphConfig::dimensions), the value on each
  // side ("" when absent): the `client_<dim>` / `server_<dim>` labels with
  // enable_client_server_prefix.
  std::vector<std::string> client_dimensions;
  std::vector<std::string> server_dimensions;
  // Without the prefix Tempo keeps one value per dimension: that of the side written last among
  // the sides that had the attribute, "" when neither had it.
  std::vector<std::string> dimensions;
  // The first peer_attributes value on each side's span ("" when none).
  std::string client_peer;
  std::string server_peer;
  double span_multiplier = 1;  // of the side written last
};

class ServiceGraphStore {
 public:
  explicit ServiceGraphStore(ServiceGraphConfig config);
  ServiceGraphStore(const ServiceGraphStore&) = delete;
  ServiceGraphStore& operator=(const ServiceGraphStore&) = delete;

  // Pairs every span of `rs`; returns the edges these spans completed, in span order.
  std::vector<Edge> AddSpans(const opentelemetry::proto::trace::v1::ResourceSpans& rs,
                             absl::Time now);

  // Evicts every open edge first seen at or before now − wait (oldest first); returns those
  // that became virtual-node edges. Also forgets dropped-span sides older than `wait`.
  std::vector<Edge> Expire(absl::Time now);

  // A span refused by the processor's filter (Tempo's dropped span side); see the rules above.
  void AddDroppedSpan(const opentelemetry::proto::trace::v1::Span& span, absl::Time now);

  // Tempo's tempo_metrics_generator_processor_service_graphs_* counters.
  uint64_t edges() const;          // _edges: new edges (opened, or completed at once)
  uint64_t expired_edges() const;  // _expired_edges: expired without becoming a virtual node
  uint64_t dropped_spans() const;  // _dropped_spans: refused because max_items were open
  uint64_t dropped_edges() const;  // _dropped_edges_total: matched a dropped span side
  // _dropped_span_side_cache_overflow_total: dropped sides not remembered (cache full).
  uint64_t dropped_span_side_overflows() const;
  size_t open_edges() const;  // edges waiting for their other side

  const ServiceGraphConfig& config() const { return config_; }

 private:
  struct Open {
    std::string key;
    absl::Time expires;
    bool root = false;  // the key has an empty second ID (no parent / no span ID)
    Edge edge;
  };
  enum class Side { kClient, kServer };

  void UpdateClient(Open* o, const opentelemetry::proto::resource::v1::Resource& res,
                    const opentelemetry::proto::trace::v1::Span& span, std::string_view service,
                    bool producer);
  void UpdateServer(Open* o, const opentelemetry::proto::resource::v1::Resource& res,
                    const opentelemetry::proto::trace::v1::Span& span, std::string_view service,
                    bool consumer);
  void UpdateDimensions(Open* o, const opentelemetry::proto::resource::v1::Resource& res,
                        const opentelemetry::proto::trace::v1::Span& span, Side side);
  std::string PeerValue(const opentelemetry::proto::trace::v1::Span& span) const;
  static Edge Finish(Open* o);

  const ServiceGraphConfig config_;

  mutable absl::Mutex mu_;
  std::list<Open> order_ ABSL_GUARDED_BY(mu_);  // open edges, oldest first
  absl::flat_hash_map<std::string, std::list<Open>::iterator> open_ ABSL_GUARDED_BY(mu_);
  // Dropped span sides: key + side byte → when it is forgotten.
  absl::flat_hash_map<std::string, absl::Time> dropped_sides_ ABSL_GUARDED_BY(mu_);
  uint64_t edges_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t expired_edges_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_spans_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_edges_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_side_overflows_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sprout::traces::generator
