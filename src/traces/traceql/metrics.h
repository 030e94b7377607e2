// TraceQL metrics (issue 16, reference tempo.md §3): the contract between the metrics engine
// (`metrics.cc`: a metrics query compiled against a time grid, spans aggregated per step) and its
// callers (the trace store's scan over live traces, WAL and blocks; the HTTP API's
// /api/metrics/query_range and /api/metrics/query).
//
// Flow: the API resolves the request's grid (MetricsRange), compiles the query
// (MetricsProgram::Compile), the store scans the traces that may hold spans in the grid — reading
// only what plan() names — and hands each (whole or projected) trace to an accumulator; one
// accumulator per scanning thread; Finish merges them into the series the API encodes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "traces/traceql/ast.h"
#include "traces/traceql/engine.h"

namespace sprout::traces::traceql {

// The time grid of a query as the API resolved it (Tempo's alignment of start/end to the step).
struct MetricsRange {
  uint64_t start_ns = 0;  // inclusive
  uint64_t end_ns = 0;    // exclusive
  uint64_t step_ns = 0;   // > 0
  // /api/metrics/query: one value per series over [start_ns, end_ns) (step_ns = end - start;
  // the engine uses end - start whatever step_ns holds), stamped at end_ns.
  bool instant = false;
  uint32_t max_exemplars = 0;  // 0: none
  // Tempo's query_frontend.metrics.max_response_series (0: no limit): past it, accumulators
  // start no new series and Finish keeps the first max_series (label order), with
  // MetricsResult::max_series_reached.
  uint32_t max_series = 0;
};

// A series label as Tempo returns it: a typed OTLP value (Static's kString, kInt, kFloat, kBool,
// kNil, ...), e.g. {resource.service.name: "shop"}, {p: 0.9}, {__bucket: 0.004194304},
// {__meta_type: "baseline"}.
struct MetricsLabel {
  std::string key;
  Static value;
};

struct MetricsSample {
  int64_t timestamp_ms = 0;
  double value = 0;
};

struct MetricsExemplar {
  std::vector<MetricsLabel> labels;  // trace:id and span:id (hex) among them
  double value = 0;
  int64_t timestamp_ms = 0;
};

struct MetricsSeries {
  std::vector<MetricsLabel> labels;
  std::vector<MetricsSample> samples;  // ascending time; steps without a value are left out
  std::vector<MetricsExemplar> exemplars;
};

// Tempo's SearchMetrics of a metrics response.
struct MetricsStats {
  uint64_t inspected_traces = 0;
  uint64_t inspected_spans = 0;
  uint64_t inspected_bytes = 0;
  uint64_t total_blocks = 0;
  uint64_t total_block_bytes = 0;
  uint64_t completed_jobs = 0;
  uint64_t total_jobs = 0;
};

struct MetricsResult {
  std::vector<MetricsSeries> series;
  MetricsStats stats;
  // More series than MetricsRange::max_series: a partial answer (Tempo's status "partial",
  // with MaxSeriesMessage as its message).
  bool max_series_reached = false;
};

// Tempo's message for a response cut at max_response_series.
std::string MaxSeriesMessage(uint32_t max_series);

// Per-thread aggregation state of one query.
class MetricsAccumulator {
 public:
  virtual ~MetricsAccumulator() = default;
  // One trace (whole, or projected to what plan() reads). Spans outside the grid are ignored;
  // a trace split over several sources may be observed once per part.
  virtual void Observe(const TraceView& trace) = 0;
};

class MetricsProgram {
 public:
  // The query must be a metrics query (`{...} | rate() by (...)`, reference §3); InvalidArgument
  // with Tempo's text otherwise, or when the grid is refused.
  static absl::StatusOr<std::unique_ptr<MetricsProgram>> Compile(std::string_view query,
                                                                 const MetricsRange& range);
  virtual ~MetricsProgram() = default;

  // What a scan must read (projection) and the pre-filter conditions of the span filter.
  virtual const Plan& plan() const = 0;
  virtual const MetricsRange& range() const = 0;
  virtual std::unique_ptr<MetricsAccumulator> NewAccumulator() const = 0;
  // Merges the accumulators (second stage: topk/bottomk) into the answer; `stats` as the scan
  // counted them.
  virtual MetricsResult Finish(std::vector<std::unique_ptr<MetricsAccumulator>> parts,
                               const MetricsStats& stats) const = 0;
};

}  // namespace sprout::traces::traceql
