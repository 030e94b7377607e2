// The PromQL query endpoints of the metrics API (`/api/v1/query`, `/api/v1/query_range`, at `/`
// and under `/prometheus`): their parameters, limits, cancellation and JSON, as Prometheus 2.42
// answers them (every text and status checked against the real 2.42; see README.md).
//
//   parameters  query; time (default now) | start, end, step (float seconds or a Prometheus
//               duration); timeout (capped by querier.timeout); stats (any non-empty value adds
//               2.42's `stats` object: timings and samples). `limit` and `lookback_delta` do not
//               exist in 2.42 and are ignored as it ignores them.
//   errors      bad_data 400 (parameters, parse errors `invalid parameter "query": 1:3: parse
//               error: ...`), execution 422 (max_samples, Mimir's series/chunk limits, evaluation
//               errors), timeout 503, canceled 503 (2.42's status for a client that went away),
//               unavailable 503 (the store is starting), internal 500.
//   JSON        `{"status":"success","data":{"resultType":...,"result":...[,"stats":...]}
//               [,"warnings":[...]]}`; no `infos` (2.42 has none).
//
// Each query gets its own tsdb::QueryLimiter (limits.max_fetched_series_per_query,
// limits.max_fetched_chunks_per_query, the deadline now + timeout) passed to the engine. While it
// runs, a CancelWatcher cancels that limiter as soon as the HTTP request is cancelled (the
// client closed or reset its connection: net::RequestControl).
//
// Thread-safety: the encoders are pure functions; CancelWatcher is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "metrics/api/response.h"
#include "metrics/promql/engine.h"
#include "metrics/tsdb/chunkenc/histogram.h"
#include "metrics/tsdb/querier/querier.h"
#include "net/http_message.h"

namespace sprout::metrics::api {

struct QueryApiOptions {
  promql::EngineOptions engine;  // timeout (querier.timeout), max_samples, lookback, concurrency
  uint64_t max_fetched_series_per_query = 0;        // 0: no limit
  uint64_t max_fetched_chunks_per_query = 2000000;  // 0: no limit (Mimir's default 2,000,000)
  // limits.max_query_lookback: queries, series and label requests read nothing older than
  // now - this (Mimir clamps the range; the request does not fail). 0: no limit.
  absl::Duration max_query_lookback = absl::ZeroDuration();
  // The tenant's own values of the three limits above (its runtime overrides), written over a
  // copy of these options for each request; null: the values above for every tenant.
  std::function<void(std::string_view tenant, QueryApiOptions* limits)> for_tenant;
};

// A promql::Queryable that reads nothing before `min_t_ms`: Open clamps mint, and a range
// entirely before it opens an empty view (max_query_lookback).
std::unique_ptr<promql::Queryable> ClampMinTime(std::unique_ptr<promql::Queryable> inner,
                                                int64_t min_t_ms);

// Prometheus's parseDuration for `step` and `timeout`: float seconds, else a Prometheus duration
// (`5m`, `1h30m`). Errors (without the parameter prefix): `cannot parse "x" to a valid
// duration`, `cannot parse "1e30" to a valid duration. It overflows int64`. Nanoseconds.
absl::StatusOr<int64_t> ParsePromApiDuration(std::string_view text);

// The range query's step checks, in 2.42's order, once start, end and step parsed: `end
// timestamp must not be before start time` (invalid parameter "end"), `zero or negative query
// resolution step widths are not accepted. Try a positive integer` (invalid parameter "step"),
// `exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query
// resolution (?step=XX)`. Returns the step in milliseconds (truncated, as Prometheus does).
absl::StatusOr<int64_t> CheckRangeParams(int64_t start_ms, int64_t end_ms, int64_t step_ns);

// The error type of an engine status (engine.h): InvalidArgument → bad_data, FailedPrecondition
// and ResourceExhausted → execution, Cancelled → canceled, DeadlineExceeded → timeout,
// Unavailable → unavailable, anything else → internal.
ErrorType QueryErrorTypeOf(const absl::Status& status);

// Prometheus's JSON for a sample timestamp in a vector or matrix: seconds, and the milliseconds
// as three decimals when not zero (1700000000.500, -0.050).
void AppendPointTimestamp(int64_t t_ms, std::string* out);
// A scalar's or string's timestamp: Go's shortest float of t/1000 (1700000000.5, -0.05).
void AppendScalarTimestamp(int64_t t_ms, std::string* out);
// A vector's or matrix's sample value (and a native histogram's numbers), as 2.42's jsoniter
// encoder writes it: Go's shortest 'f' form, 'e' below 1e-6 and from 1e21 on ("1e-07",
// "1e+21"), quoted; "NaN", "+Inf", "-Inf".
void AppendSampleValue(double v, std::string* out);
// A scalar's value: strconv.FormatFloat(v, 'f', -1, 64) quoted ("0.0000001").
void AppendScalarValue(double v, std::string* out);
// A label set as Go's encoding/json writes a map (sorted, `<`/`>`/`&` escaped).
void AppendLabelsJson(const tsdb::Labels& labels, std::string* out);
// A native histogram: {"count":"..","sum":"..","buckets":[[rule,"lower","upper","count"],...]}
// with every non-empty bucket from the lowest: negative (rule 1), zero (3), positive (0);
// `buckets` absent when there is none.
void AppendHistogramJson(const chunkenc::FloatHistogram& h, std::string* out);
// The selectors of a parsed query (Prometheus's parser.ExtractSelectors), each as a matcher set
// for the Queryable, in the order they appear; InvalidArgument if a regex does not compile.
absl::StatusOr<std::vector<std::vector<tsdb::Matcher>>> ExtractSelectors(const promql::Expr& expr);

// The whole `data` object: resultType, result, and with `with_stats` the stats object.
std::string QueryDataJson(const promql::QueryResult& result, bool with_stats);
// The same appended to *out; with `flush`, called after a series whenever *out holds
// kQueryStreamPiece bytes or more (it sends and clears them; false stops the writing).
void AppendQueryDataJson(const promql::QueryResult& result, bool with_stats, std::string* out,
                         const std::function<bool(std::string*)>& flush);

// Answers who asked for more than this (estimated) are streamed, in pieces of about
// kQueryStreamPiece bytes.
inline constexpr size_t kQueryStreamThreshold = size_t{1} << 20;
inline constexpr size_t kQueryStreamPiece = size_t{256} << 10;

// The success envelope {"status":"success","data":...,"warnings":[...]} of a query answer, as
// WriteSuccess writes it; an answer estimated at kQueryStreamThreshold bytes or more is streamed
// (chunked transfer encoding, gzip per piece when the client accepts it) while it is formatted,
// where the route streams (worker routes); elsewhere it lands in `body` as one piece.
void WriteQuerySuccess(net::HttpResponse& response, const promql::QueryResult& result,
                       bool with_stats, const std::vector<std::string>& warnings);

// Cancels the limiters of running queries whose HTTP request was cancelled (polls every
// `interval` while something is watched; one thread, started on first use).
class CancelWatcher {
 public:
  explicit CancelWatcher(absl::Duration interval = absl::Milliseconds(50));
  ~CancelWatcher();
  CancelWatcher(const CancelWatcher&) = delete;
  CancelWatcher& operator=(const CancelWatcher&) = delete;

  // While the returned guard lives, `limiter` is Cancel()ed once `control` is cancelled. A null
  // control watches nothing.
  class Guard {
   public:
    Guard(CancelWatcher* w, uint64_t id) : w_(w), id_(id) {}
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    CancelWatcher* w_;
    uint64_t id_;
  };
  std::unique_ptr<Guard> Watch(std::shared_ptr<net::RequestControl> control,
                               tsdb::QueryLimiter* limiter);
  size_t watched() const;

 private:
  struct Entry {
    uint64_t id;
    std::shared_ptr<net::RequestControl> control;
    tsdb::QueryLimiter* limiter;
  };
  void Loop();
  void Remove(uint64_t id);

  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sprout::metrics::api
