// The PromQL engine: evaluates a parsed query (parser.h) over a Querier — one tenant's series —
// as an instant query at one time or a range query over [start, end] at a step, with Prometheus
// 2.42's semantics (lookback delta, staleness markers, offsets and `@`, subqueries, every
// operator, aggregation and function; see docs/promql-compatibility.md).
//
// Evaluation is step-vectorised: every node yields, per series, its values for all steps of the
// query at once; selectors stream each series' iterator once over the whole range (a sliding
// window for range functions), so raw samples are never all held in memory. Aggregations consume
// their input series one at a time.
//
// Limits (Prometheus's and Mimir's errors; see QueryLimiter for the texts):
//  - max_samples: the samples held at once (selected samples of the current step window plus
//    the values of every intermediate result), Prometheus's "query processing would load too
//    many samples into memory in <where>";
//  - the QueryLimiter's series and chunk limits, its deadline (the query's timeout) and
//    cancellation, checked while series are read and between evaluation steps;
//  - max_concurrent: at most that many queries evaluate at once; the others wait in line (their
//    wait counts against their timeout).
//
// Errors (absl::Status code → the Prometheus API's error type):
//  - InvalidArgument: the query does not parse / type-check ("1:14: parse error: ..."), or bad
//    range parameters → `bad_data` (400);
//  - FailedPrecondition: an evaluation error Prometheus reports (duplicate series in a result or
//    a match group, max_samples, ...) → `execution` (422);
//  - ResourceExhausted: a Mimir limit (series, chunks) → `execution` (422);
//  - Cancelled → `canceled` (503); DeadlineExceeded → `timeout` (503);
//  - anything else (a storage failure) → `internal` (500).
//
// Thread-safety: Engine is thread-safe; any number of queries may run at once from different
// threads, each with its own Querier.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "metrics/promql/ast.h"
#include "metrics/tsdb/chunkenc/chunk.h"
#include "metrics/tsdb/chunkenc/histogram.h"
#include "metrics/tsdb/index/labels.h"
#include "metrics/tsdb/index/matcher.h"
#include "metrics/tsdb/querier/querier.h"

namespace sprout::metrics::promql {

// The series one Select answered, in any order, each label set once.
class SeriesCursor {
 public:
  virtual ~SeriesCursor() = default;
  // Moves to the next series; false at the end or on an error (Err()).
  virtual bool Next() = 0;
  virtual const tsdb::Labels& labels() const = 0;
  // The current series' samples in time order, each timestamp once (stale markers included, as
  // stored); owned by the caller, valid after Next() moved on.
  virtual std::unique_ptr<chunkenc::Iterator> TakeIterator() = 0;
  virtual absl::Status Err() const = 0;
};

// One tenant's read view over a time range, used by one query (one thread at a time).
class Querier {
 public:
  virtual ~Querier() = default;
  // The series `matchers` select (never empty; at least one matcher that does not match "").
  // `limiter` may be null.
  virtual std::unique_ptr<SeriesCursor> Select(std::span<const tsdb::Matcher> matchers,
                                               const tsdb::SelectHints& hints,
                                               tsdb::QueryLimiter* limiter) = 0;
  // Warnings collected so far (a block that could not be read, ...), appended to the answer's.
  virtual std::vector<std::string> Warnings() const { return {}; }
};

// Opens the read view a query needs: [mint, maxt] inclusive milliseconds.
class Queryable {
 public:
  virtual ~Queryable() = default;
  virtual absl::StatusOr<std::unique_ptr<Querier>> Open(int64_t mint, int64_t maxt) = 0;
};

struct EngineOptions {
  int64_t lookback_delta_ms = 5 * 60 * 1000;       // Prometheus's --query.lookback-delta
  int64_t default_subquery_step_ms = 60 * 1000;     // the global evaluation interval
  int64_t max_samples = 50'000'000;                 // --query.max-samples
  absl::Duration timeout = absl::Minutes(2);        // --query.timeout / -querier.timeout
  int max_concurrent = 20;                          // --query.max-concurrency
};

// Per query.
struct QueryOptions {
  // Series and chunk limits, cancellation and the deadline. Null: the engine makes one with no
  // series/chunk limits and a deadline of now + the engine's timeout. The caller may Cancel() it
  // from another thread (e.g. when the client went away).
  tsdb::QueryLimiter* limiter = nullptr;
  int64_t lookback_delta_ms = 0;  // 0: the engine's
};

struct FPoint {
  int64_t t = 0;
  double f = 0;
};
struct HPoint {
  int64_t t = 0;
  chunkenc::FloatHistogram h;
};

// One series of a vector or matrix result: its labels and points in time order (a vector's
// series has exactly one point, float or histogram, at the query time).
struct ResultSeries {
  tsdb::Labels labels;
  std::vector<FPoint> floats;
  std::vector<HPoint> histograms;
};

struct QueryStats {
  int64_t total_samples = 0;  // as 2.42 counts totalQueryableSamples: one per selected point of an instant selector and step, every sample of every step's range window
  int64_t peak_samples = 0;   // the most samples held at once (peakSamples)
  absl::Duration queue_time;  // waiting for a max_concurrent slot (execQueueTime)
  absl::Duration prepare_time;  // parsing, opening the querier (queryPreparationTime)
  absl::Duration eval_time;     // evaluation (innerEvalTime)
  absl::Duration total_time;    // everything (execTotalTime)
};

struct QueryResult {
  ValueType type = ValueType::kNone;  // kScalar, kVector, kMatrix or kString
  // kVector and kMatrix: series sorted by labels for a matrix; a vector in the order Prometheus
  // answers it (sorted by labels unless the query's outermost function sorts).
  std::vector<ResultSeries> series;
  FPoint scalar;    // kScalar
  std::string str;  // kString (at scalar.t)
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
  QueryStats stats;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();

  // An instant query at `time_ms`.
  absl::StatusOr<QueryResult> InstantQuery(Queryable& queryable, std::string_view query,
                                           int64_t time_ms, const QueryOptions& options = {});
  // A range query: steps start, start+step, ... <= end (step_ms > 0, end >= start; the API
  // checks Prometheus's 11,000-points limit). The result is a matrix (a scalar or string query
  // answers its points as one series without labels, as Prometheus).
  absl::StatusOr<QueryResult> RangeQuery(Queryable& queryable, std::string_view query,
                                         int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                         const QueryOptions& options = {});

  const EngineOptions& options() const { return options_; }
  int running() const;

 private:
  struct Impl;
  absl::StatusOr<QueryResult> Run(Queryable& queryable, std::string_view query, int64_t start_ms,
                                  int64_t end_ms, int64_t step_ms, bool instant,
                                  const QueryOptions& options);
  const EngineOptions options_;
  mutable absl::Mutex mu_;
  int running_ = 0;
};

// The message of Prometheus's max_samples error for an evaluation phase: "query processing would
// load too many samples into memory in query execution".
inline constexpr char kTooManySamples[] =
    "query processing would load too many samples into memory in query execution";

}  // namespace sprout::metrics::promql
