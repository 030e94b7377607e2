// The read seam of the trace store: what Tempo's HTTP API (traces/api/traces_api.h) asks of the
// store. The API parses and validates the HTTP parameters, calls one of these methods with a
// validated tenant, and encodes the answer in Tempo's shapes; the store (live set, WAL, blocks)
// implements it and owns merging, de-duplication, filtering and limits.
//
// Times: `start_s`/`end_s` are Unix seconds; 0 means unbounded on that side. A search or tag
// request without start and end covers recent (not yet flushed) data, as Tempo's ingesters do.
//
// Errors: any non-OK status is answered 500 with its message (InvalidArgument: 400,
// ResourceExhausted: 429 — see traces_api.h).
//
// Thread-safety: implementations must allow concurrent calls (the API's handlers run on the
// HTTP server's worker pool).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "traces/traceql/metrics.h"

namespace sprout::traces {

namespace traceql {
class Program;
}

// The legacy (pre-TraceQL) search of `/api/search`, parsed.
struct SearchRequest {
  // `tags` (logfmt) as name/value pairs in the order given; each name at most once. A trace
  // matches when, for every pair, one of its spans (span or resource attribute, or the
  // intrinsic `name`/`status`) carries the value. Empty: every trace.
  std::vector<std::pair<std::string, std::string>> tags;
  // Trace duration bounds in nanoseconds, whole milliseconds as Tempo keeps them (it parses a Go
  // duration and truncates to ms); 0 = no bound.
  int64_t min_duration_ns = 0;
  int64_t max_duration_ns = 0;
  uint32_t limit = 20;  // at most this many traces
  uint32_t spss = 3;    // at most this many spans per span set
  uint32_t start_s = 0;
  uint32_t end_s = 0;
  // `q`: a compiled TraceQL query (traces/traceql/engine.h); `tags` is then empty. A trace
  // matches when the query gives it a span set; its span sets are the answer's.
  std::shared_ptr<const traceql::Program> query;
  // Polled while searching (may be empty): true when the client went away or the request's
  // deadline passed; the search then stops with Cancelled / DeadlineExceeded.
  std::function<bool()> cancelled;
};

struct SearchSpan {
  std::string span_id;  // 8 bytes
  std::string name;
  uint64_t start_time_unix_nano = 0;
  uint64_t duration_nanos = 0;
  std::vector<opentelemetry::proto::common::v1::KeyValue> attributes;
};

struct SearchSpanSet {
  std::vector<SearchSpan> spans;  // at most `spss`
  uint32_t matched = 0;           // spans that matched, possibly more than `spans`
  std::vector<opentelemetry::proto::common::v1::KeyValue> attributes;
};

struct ServiceStats {
  uint32_t span_count = 0;
  uint32_t error_count = 0;
};

struct TraceSummary {
  std::string trace_id;  // 16 bytes
  std::string root_service_name;
  std::string root_trace_name;
  uint64_t start_time_unix_nano = 0;
  uint32_t duration_ms = 0;
  std::vector<SearchSpanSet> span_sets;
  std::map<std::string, ServiceStats> service_stats;  // by service name
};

struct SearchMetrics {
  uint32_t inspected_traces = 0;
  uint64_t inspected_bytes = 0;
  uint64_t inspected_spans = 0;
  uint32_t total_blocks = 0;
  uint32_t completed_jobs = 0;
  uint32_t total_jobs = 0;
  uint64_t total_block_bytes = 0;
};

struct SearchResult {
  std::vector<TraceSummary> traces;  // at most `limit`, in the store's order
  SearchMetrics metrics;
};

// Scopes of tag names, as Tempo's `/api/v2/search/tags?scope=` names them.
inline constexpr std::string_view kTagScopes[] = {"resource",        "span",     "event", "link",
                                                  "instrumentation", "intrinsic"};

struct TagScope {
  std::string name;               // one of kTagScopes
  std::vector<std::string> tags;  // attribute names (intrinsics: `duration`, `name`, ...)
};

struct TagNamesResult {
  std::vector<TagScope> scopes;  // only scopes that have tags
  uint64_t inspected_bytes = 0;
};

struct TagValue {
  std::string type;  // string, int, float, bool, duration, keyword
  std::string value;
};

struct TagValuesResult {
  std::vector<TagValue> values;
  uint64_t inspected_bytes = 0;
};

class TraceQueryable {
 public:
  virtual ~TraceQueryable() = default;

  // The whole trace `trace_id` (16 bytes): every part from the live set, the WAL and the
  // blocks merged, duplicate spans removed. nullopt when no span of it is found. `start_s` /
  // `end_s` restrict the blocks looked at (0 = unbounded).
  virtual absl::StatusOr<std::optional<opentelemetry::proto::trace::v1::TracesData>> FindTraceByID(
      std::string_view tenant, std::string_view trace_id, uint32_t start_s, uint32_t end_s) = 0;

  virtual absl::StatusOr<SearchResult> Search(std::string_view tenant,
                                              const SearchRequest& request) = 0;

  // Tag names in `scope` (one of kTagScopes), or in every scope when `scope` is empty.
  // `query`: a TraceQL spanset filter of matchers as traceql::ExtractMatchers gives it (the
  // `q` of the tag endpoints), "" = none. With one, only the spans it matches contribute: their
  // attribute names and those of their resources, instrumentation scopes, events and links (the
  // intrinsic names are listed either way).
  virtual absl::StatusOr<TagNamesResult> TagNames(std::string_view tenant, std::string_view scope,
                                                  uint32_t start_s, uint32_t end_s,
                                                  std::string_view query) = 0;

  // Distinct values of the tag `name`, a TraceQL identifier: `resource.service.name`,
  // `span.http.method`, `.service.name` (span or resource) or an intrinsic (`name`, `status`,
  // `kind`). At most `limit` values (0 = no limit). `query` as for TagNames: with one, only the
  // values on the spans it matches (a resource attribute: of the matching spans' resources).
  virtual absl::StatusOr<TagValuesResult> TagValues(std::string_view tenant, std::string_view name,
                                                    uint32_t start_s, uint32_t end_s,
                                                    uint32_t limit, std::string_view query) = 0;

  // A TraceQL metrics query (issue 16): every trace part (live set, WAL, blocks) that may hold a
  // span starting in [range.start_ns, range.end_ns) is handed to an accumulator of `program`
  // (each part once; projected to what program.plan() reads), and program.Finish merges them
  // with the scan's figures. `cancelled` (may be empty) is polled: Cancelled `context canceled`.
  // Default: Unimplemented (a seam without metrics).
  virtual absl::StatusOr<traceql::MetricsResult> QueryMetrics(
      std::string_view tenant, const traceql::MetricsProgram& program,
      const std::function<bool()>& cancelled) {
    (void)tenant;
    (void)program;
    (void)cancelled;
    return absl::UnimplementedError("TraceQL metrics are not served by this store");
  }
};

}  // namespace sprout::traces
