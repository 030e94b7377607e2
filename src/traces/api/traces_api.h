// Tempo's HTTP API, as Grafana's Tempo data source calls it, over the TraceQueryable seam
// (trace_queryable.h). Routes, parameters and response shapes are described in README.md.
//
//   GET /api/echo                          200 `echo`
//   GET /ready                             200 `ready` once SetReady(true), 503 `not ready` before
//   GET /api/status/buildinfo              Tempo-like JSON (version ≥ 2.7: Grafana's streaming and
//                                          metrics features)
//   GET /api/traces/{id}                   v1: protobuf Trace or JSON with `batches`; 404 if
//   missing GET /api/v2/traces/{id}                v2: TraceByIDResponse (protobuf or JSON);
//   missing → 200
//                                          with an empty trace (Tempo 2.9)
//   GET /api/search                        legacy search (tags, minDuration, maxDuration, limit,
//                                          spss, start, end); TraceQL `q` refused (400) except `{}`
//   GET /api/search/tags, /api/v2/search/tags
//   GET /api/search/tag/{name}/values, /api/v2/search/tag/{name}/values
//   GET /api/metrics/query_range, /api/metrics/query   TraceQL metrics (metrics_api.h)
//
// Tenancy: the data routes need `X-Scope-OrgID` when multi-tenancy is on (401 `no org id`) and
// use `single-tenant` when it is off, through the router's tenant check; echo, ready and
// buildinfo need no tenant.
//
// Errors: bad parameters are 400 with Tempo's text (text/plain, Go's http.Error); a store error
// is 500 with its message (InvalidArgument → 400, ResourceExhausted → 429, DeadlineExceeded →
// 504, Unavailable → 503).
//
// Ownership: TracesApi keeps a pointer to the TraceQueryable, which must outlive every server
// using its routes. Thread-safety: handlers run concurrently; SetReady from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/http_router.h"
#include "traces/api/metrics_api.h"
#include "traces/api/trace_queryable.h"

namespace sprout::traces {

struct TracesBuildInfo {
  // Semver parsed by Grafana: ≥ 2.2.0 enables search streaming, ≥ 2.7.0 metrics streaming;
  // unparseable means 2.1.0. Sprout announces the Tempo version whose API it follows.
  std::string version = "2.9.0";
  std::string revision;
  std::string branch;
  std::string build_user;
  std::string build_date;
  std::string go_version;  // Tempo's field; sprout reports its compiler here
};

struct TracesApiOptions {
  bool multitenancy_enabled = false;  // Tempo's `multitenancy_enabled`
  // The tenant of header-less requests with multi-tenancy off (Tempo's `single-tenant`; `sprout
  // all` gives every role one tenant name).
  std::string default_tenant = "single-tenant";
  // `/ready` is registered (false: a command serving several APIs on one router registers its own,
  // ready only when every part is).
  bool serve_ready = true;
  TracesBuildInfo build;
  TraceQueryable* queryable = nullptr;  // required
  // query_frontend.search.* as Tempo's defaults.
  uint32_t default_result_limit = 20;
  uint32_t max_result_limit = 0;  // 0: no maximum; a larger `limit` is lowered to it
  uint32_t default_spans_per_span_set = 3;
  uint32_t max_spans_per_span_set = 100;  // 0: no maximum; a larger `spss` is refused
  absl::Duration max_search_duration = absl::Hours(168);  // 0: no maximum on end - start
  // overrides.defaults.global.max_bytes_per_trace as the query frontend applies it to trace by
  // ID: a larger trace is cut (spans kept in order while the sum of their OTLP protobuf sizes
  // fits) and v2 answers it with status PARTIAL and Tempo's message. 0: no limit.
  uint64_t max_bytes_per_trace = 0;
  // TraceQL metrics (/api/metrics/query_range, /api/metrics/query): query_frontend.metrics.*.
  MetricsQueryLimits metrics_limits;
  // Compiles a metrics query against its grid: traceql::MetricsProgram::Compile in the commands
  // (a seam so the API does not pull in the engine's implementation, and tests give their own
  // programs). Empty: the metrics routes answer 400 `localblocks processor not found` (Tempo's
  // text when metrics are not configured, which Grafana's Traces Drilldown recognises).
  std::function<absl::StatusOr<std::unique_ptr<traceql::MetricsProgram>>(
      std::string_view query, const traceql::MetricsRange& range)>
      compile_metrics;
  // The clock of the metrics routes' defaults (end = now); empty: absl::Now.
  std::function<absl::Time()> now;
};

// Tempo's trace ID parsing (left-padded to 16 bytes). Errors (InvalidArgument), Tempo's text:
// `trace IDs can only contain hex characters: invalid character 'g' at position 3`,
// `trace IDs can't be larger than 128 bits`.
absl::StatusOr<std::string> ParseTraceId(std::string_view hex);

// Search `traceID` form: lower-case hex with leading zeros trimmed (Tempo's TraceIDToHexString).
std::string TraceIdToHexTrimmed(std::string_view id);

// Parses `/api/search`'s parameters in Tempo's order, with Tempo's error texts. `form` is the
// decoded query string.
absl::StatusOr<SearchRequest> ParseSearchParams(const net::QueryParams& form,
                                                const TracesApiOptions& options);

// go-logfmt's decoding of a `tags` value into key/value pairs: `a=b c="d e" f` (a key without
// `=` has an empty value). Errors: InvalidArgument `invalid tags: <reason> at pos <n>` or
// `invalid tags: tag <k> has been set twice`.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseLogfmtTags(
    std::string_view text);

// The JSON bodies, exposed for tests and for a later gRPC/streaming layer.
std::string TraceJsonV1(const opentelemetry::proto::trace::v1::TracesData& trace);
// `partial_message` non-empty: `"status":"PARTIAL","message":...` are added.
std::string TraceJsonV2(const opentelemetry::proto::trace::v1::TracesData& trace,
                        std::string_view partial_message = {});
// Cuts `trace` to `max_bytes` (see TracesApiOptions::max_bytes_per_trace); true when it was cut.
bool TruncateTrace(opentelemetry::proto::trace::v1::TracesData* trace, uint64_t max_bytes);
std::string SearchResultJson(const SearchResult& result);

class TracesApi {
 public:
  explicit TracesApi(TracesApiOptions options);

  // Adds every route (and the tenant configuration) to `router`. Errors: a route registered
  // twice on the same router (InvalidArgument).
  absl::Status Register(net::Router* router);

  void SetReady(bool ready) { ready_->store(ready, std::memory_order_release); }
  bool ready() const { return ready_->load(std::memory_order_acquire); }

  std::string BuildInfoJson() const;

 private:
  TracesApiOptions options_;
  std::shared_ptr<std::atomic<bool>> ready_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace sprout::traces
