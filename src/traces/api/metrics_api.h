// TraceQL metrics over HTTP (issue 16): Tempo's `/api/metrics/query_range` and
// `/api/metrics/query` parameters, validation, alignment and response encodings. The routes
// themselves are registered by TracesApi::Register (traces_api.h); this file holds the parts
// that have no HTTP plumbing, so they are unit-tested directly.
//
// Parameters (Tempo's pkg/api and query frontend):
//   q (or `query`; `q` wins)  the metrics query
//   start, end                unix seconds (≤ 10 digits), unix nanoseconds (more digits), float
//                             seconds (`1700000000.5`, millisecond precision) or RFC3339
//                             (`2026-12-07T06:00:00.5Z`); end defaults to now, start to
//                             min(end, now) − since
//   since                     Prometheus duration (`1h`, `1h30m`, `2d`), default 1h
//   step                      float seconds (`30`, `0.5`) or Go duration (`30s`, `1m`); default
//                             DefaultQueryRangeStep(start, end); range queries only
//   exemplars                 at most this many exemplars (capped at max_exemplars; absent:
//                             max_exemplars; not a number: ignored); range queries only
//
// Validation, in Tempo's order, InvalidArgument with Tempo's texts:
//   could not parse 'since' parameter: not a valid duration string: "x"
//   could not parse 'end' parameter: strconv.ParseInt: parsing "x": invalid syntax
//   could not parse 'start' parameter: ...
//   cannot parse "x" to a valid duration                 (step)
//   end must be greater than start                       (start > end)
//   metrics query time range exceeds the maximum allowed duration of 24h0m0s
//   step of 1s is too small, minimum step for given range is 8.64s   (> max_intervals points)
// (Tempo ignores unparseable start/end and queries a default range; sprout answers 400.)
//
// Alignment (range queries, Tempo's traceql.AlignRequest): start rounded down to the step, end
// rounded up to it, then start moved one step earlier (when start > step) so the first bucket is
// whole. Instant queries are not aligned: step = end − start.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/http_message.h"
#include "traces/traceql/metrics.h"

namespace sprout::traces {

// query_frontend.metrics.* (current Tempo's defaults).
struct MetricsQueryLimits {
  // max_duration: the longest end − start accepted (checked before alignment); 0 = none.
  absl::Duration max_duration = absl::Hours(24);
  // max_intervals: the most steps a range may hold ((end − start) / step); 0 = none.
  uint64_t max_intervals = 10000;
  // max_exemplars: the most exemplars a query returns.
  uint32_t max_exemplars = 100;
  // max_response_series: the most series an answer holds (0 = none): past it the answer is
  // cut and marked partial (status PARTIAL with Tempo's message).
  uint32_t max_series = 0;
};

struct MetricsQueryRequest {
  std::string query;
  traceql::MetricsRange range;  // resolved, validated and (range queries) aligned
};

// The default step of a range query (reference/tempo.md §3): about 240 points — (end − start) /
// 240 floored to a multiple of the first of 1 h, 5 m, 1 m, 15 s, 5 s, 1 s strictly below it
// (at least 1 s); windows under a minute use multiples of 50 ms (at least 50 ms). Nanoseconds.
uint64_t DefaultQueryRangeStep(uint64_t start_ns, uint64_t end_ns);

// Tempo's traceql.AlignRequest on a range (not instant) grid.
void AlignMetricsRange(traceql::MetricsRange* range);

// Prometheus's model.ParseDuration (`1y2w3d4h5m6s7ms`, each unit at most once, in that order;
// `0`). InvalidArgument `not a valid duration string: "x"` / `empty duration string`.
absl::StatusOr<absl::Duration> ParsePrometheusDuration(std::string_view text);

// The request's parameters (see the file comment); `instant` for /api/metrics/query.
absl::StatusOr<MetricsQueryRequest> ParseMetricsParams(const net::QueryParams& form, bool instant,
                                                       absl::Time now,
                                                       const MetricsQueryLimits& limits);

// The query frontend's last pass over a result (Tempo's combiner): series sorted by their
// promLabels text, samples and exemplars by time, and an exemplar whose value is NaN (the
// placeholder of rate(), count_over_time(), histogram_over_time()) given the value of its
// series' sample in the same step ([sample time, sample time + step)); none there: left NaN.
void FinalizeMetricsResult(const traceql::MetricsRange& range, traceql::MetricsResult* result);

// Tempo's QueryRangeResponse as gogo jsonpb writes it: series[].labels typed OTLP KeyValues,
// samples[].timestampMs strings, values numbers ("NaN", "Infinity", "-Infinity" as strings),
// exemplars, promLabels, metrics with int64 fields as strings (zero fields left out; no
// `series` key when there is none). One departure: a sample value 0 is written. A result cut at
// `max_series` (max_series_reached) carries `"status": "PARTIAL"` and Tempo's message.
std::string MetricsRangeJson(const traceql::MetricsResult& result, uint32_t max_series = 0);
// QueryInstantResponse: series[] of {labels, promLabels, value} (each series' last sample).
std::string MetricsInstantJson(const traceql::MetricsResult& result);
// The same messages in protobuf (tempopb field numbers). Not served over HTTP (Tempo's metrics
// routes answer JSON whatever the Accept header); kept for a gRPC streaming API.
std::string MetricsRangeProto(const traceql::MetricsResult& result, uint32_t max_series = 0);
std::string MetricsInstantProto(const traceql::MetricsResult& result);

// Tempo's Labels.String(): the Prometheus text of a series' labels, sorted by name —
// `{resource.service.name="shop", p="0.9"}`-style with nil as `<nil>`, "" as `<empty>`, ints as
// `int(5)`.
std::string PromLabelsText(const std::vector<traceql::MetricsLabel>& labels);

}  // namespace sprout::traces
