// The seam between the metrics store's read API and its storage: what the Prometheus metadata
// endpoints (/api/v1/labels, /api/v1/label/<name>/values, /api/v1/series, /api/v1/metadata),
// /api/v1/query_exemplars and the PromQL engine (PromQueryable) ask of the TSDB. The TSDB
// (head + blocks) implements it; tests implement it with a vector.
//
// Label sets and matchers are the index's types (tsdb::Labels, tsdb::Matcher); the API parses
// `match[]` into MatcherSpec (params.h) and converts once (ToMatcherSets).
//
// Contracts for implementations:
//  - `tenant` is a single, validated tenant ID; tenants never see each other's data.
//  - `matcher_sets` is the union of the selectors of `match[]` (a series matches when it
//    matches every matcher of at least one set); empty means every series.
//  - [mint_ms, maxt_ms] is inclusive and approximate, as in Prometheus: a series with no
//    sample in the range may be returned.
//  - `limit` 0 means no limit; otherwise at most `limit` results (the API asks for one more
//    than the user's limit to know whether to warn that the result was truncated).
//  - Results are sorted (names and values lexically, series by label set) and unique.
//  - Errors are returned as they are to the client as `internal` (500) unless they are
//    InvalidArgument (`bad_data`, 400), ResourceExhausted/Unavailable (`unavailable`, 503) or
//    Cancelled/DeadlineExceeded (`canceled`/`timeout`, 503).
//
// Thread-safety: implementations must allow concurrent calls (one per HTTP request).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "metrics/promql/engine.h"
#include "metrics/tsdb/index/labels.h"
#include "metrics/tsdb/index/matcher.h"

namespace sprout::metrics::api {

// One series selector: a series matches when it matches every matcher (tsdb::Matcher: RE2,
// anchored as Prometheus).
using MatcherSet = std::vector<tsdb::Matcher>;

// Prometheus's metric metadata entry.
struct MetricMetadata {
  std::string type;  // counter, gauge, histogram, gaugehistogram, summary, info, stateset, unknown
  std::string help;
  std::string unit;
};

// One exemplar (Prometheus's exemplar.Exemplar): its labels (e.g. trace_id), value and time.
struct ExemplarPoint {
  tsdb::Labels labels;
  double value = 0;
  int64_t t_ms = 0;
};

// The exemplars of one series (Prometheus's exemplar.QueryResult), oldest first.
struct SeriesExemplars {
  tsdb::Labels series;
  std::vector<ExemplarPoint> exemplars;
};

// Cardinality of a tenant's head (Prometheus's /api/v1/status/tsdb, Mimir's cardinality API):
// per label name, the series per value.
struct LabelValueSeries {
  std::string value;
  uint64_t series = 0;
};
struct LabelNameCardinality {
  std::string name;
  std::vector<LabelValueSeries> values;  // in no particular order; only values with series
};
struct CardinalityResult {
  uint64_t head_series = 0;                  // every series of the tenant's head (activity applied)
  uint64_t selected_series = 0;              // the series counted (selector and activity applied)
  std::vector<LabelNameCardinality> labels;  // sorted by name; names without a value left out
};

// The head's figures of Prometheus's headStats.
struct HeadStatus {
  uint64_t num_series = 0;
  uint64_t chunk_count = 0;
  int64_t min_time = INT64_MAX;  // Prometheus's values for an empty head
  int64_t max_time = INT64_MIN;
};

// Mimir's user_stats: samples per second (an EWMA, Mimir's 15 s update period) and series.
struct UserStats {
  double api_ingestion_rate = 0;
  double rule_ingestion_rate = 0;
  uint64_t num_series = 0;
};

class Queryable {
 public:
  virtual ~Queryable() = default;

  virtual absl::StatusOr<std::vector<std::string>> LabelNames(
      std::string_view tenant, const std::vector<MatcherSet>& matcher_sets, int64_t mint_ms,
      int64_t maxt_ms, int64_t limit) = 0;

  virtual absl::StatusOr<std::vector<std::string>> LabelValues(
      std::string_view tenant, std::string_view label_name,
      const std::vector<MatcherSet>& matcher_sets, int64_t mint_ms, int64_t maxt_ms,
      int64_t limit) = 0;

  virtual absl::StatusOr<std::vector<tsdb::Labels>> Series(
      std::string_view tenant, const std::vector<MatcherSet>& matcher_sets, int64_t mint_ms,
      int64_t maxt_ms, int64_t limit) = 0;

  // Metadata by metric name; `metric` "" means every metric. `limit` caps the metrics and
  // `limit_per_metric` the entries per metric; negative means no limit (Prometheus's -1).
  virtual absl::StatusOr<std::map<std::string, std::vector<MetricMetadata>>> Metadata(
      std::string_view tenant, std::string_view metric, int64_t limit,
      int64_t limit_per_metric) = 0;

  // The exemplars with start_ms <= t <= end_ms of every series matching one of `matcher_sets`
  // (never empty), each series once, series sorted by labels. Only series that hold such an
  // exemplar are listed.
  virtual absl::StatusOr<std::vector<SeriesExemplars>> Exemplars(
      std::string_view tenant, const std::vector<MatcherSet>& matcher_sets, int64_t start_ms,
      int64_t end_ms) = 0;

  // The cardinality endpoints (only the head: Prometheus's and Mimir's in-memory series). The
  // defaults answer Unimplemented (a Queryable without a head).
  //
  // Per label name (only `names` when not empty) the series per value, over the head's series
  // `selector` selects (every series when empty) and, with `active_since_ms` > INT64_MIN, whose
  // newest sample is at or after it.
  virtual absl::StatusOr<CardinalityResult> Cardinality(std::string_view tenant,
                                                        const MatcherSet& selector,
                                                        const std::vector<std::string>& names,
                                                        int64_t active_since_ms) {
    return absl::UnimplementedError("cardinality is not available");
  }
  // The head's series `selector` selects whose newest sample is at or after `active_since_ms`,
  // sorted by labels.
  virtual absl::StatusOr<std::vector<tsdb::Labels>> ActiveSeries(std::string_view tenant,
                                                                 const MatcherSet& selector,
                                                                 int64_t active_since_ms) {
    return absl::UnimplementedError("active series are not available");
  }
  virtual absl::StatusOr<HeadStatus> TsdbHeadStatus(std::string_view tenant) {
    return absl::UnimplementedError("the TSDB status is not available");
  }
  virtual absl::StatusOr<UserStats> TenantUserStats(std::string_view tenant) {
    return absl::UnimplementedError("user stats are not available");
  }

  // The tenant's data as the PromQL engine reads it (/api/v1/query, /api/v1/query_range): each
  // Open(mint, maxt) is one query's read view (promql::Querier), used on one thread and
  // destroyed there. Errors come from Open (Unavailable while the store starts). A tenant that
  // never wrote gets an empty view.
  virtual std::unique_ptr<promql::Queryable> PromQueryable(std::string_view tenant) = 0;
};

}  // namespace sprout::metrics::api
