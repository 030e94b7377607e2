// TraceQL execution on one trace (issue 12 item 2): Tempo's semantics of every construct the
// parser accepts, evaluated on a whole trace held as OTLP TracesData.
//
// The store (traces/store) decides which traces to read (time range, trace-level pre-filter and
// column pushdown from Plan(), limit, recency) and calls Program::Evaluate on each whole trace it
// reads; the result is the trace's span sets, empty when the trace does not match.
//
// Semantics (Tempo's, see README.md § Execution for the full list):
//   - `{ F }` keeps the spans for which F is true; `{ }` keeps every span.
//   - An attribute missing on a span is nil: every comparison with nil is false except `= nil`;
//     `!= nil` is true when present. Unscoped `.a` compared directly holds when the span's or the
//     resource's value does; elsewhere (arithmetic, by()) it is the span's, else the resource's.
//   - Numbers (int, float, duration) compare by value; other types compare only with the same
//     type (strings by bytes: `<` `>` too); a comparison of mismatched types is false.
//   - Arrays: `=` `=~` `>`... true when any element matches; `!=` `!~` when no element does.
//   - Event and link attributes (`event.a`, `event:name`, `link.a`...) are the values over the
//     span's events (links), compared like an array.
//   - Regexes are RE2, fully anchored.
//   - Arithmetic on ints and durations is exact int64 (division truncates); with a float, or
//     for `^`, floating point.
//   - Spanset `&&`: both sides non-empty → their union; `||`: the union of what is there.
//     Structural `A > B` the B spans whose parent is an A span; `<` the B spans that are the parent
//     of an A span; `>>` descendants; `<<` ancestors; `~` siblings (same parent, roots siblings of
//     each other, not itself); spans under a missing parent are in no relation;
//     `!op` the B spans for which the relation holds with no A span; `&op` the A and B spans of
//     every pair in the relation.
//   - Pipelines: each stage runs on each span set of the previous one; a filter stage keeps the
//     spans of a set that pass (sets left empty are dropped); `count()` `avg/min/max/sum(F)` with
//     a comparison keep the sets that pass (the aggregate's value a span-set attribute named as
//     written: `count()`); `by(F)` splits a set by F's value per span (the value
//     is a span-set attribute named `by(F)`); `coalesce()` merges all sets into one; `select(...)`
//     names attributes returned with each span.
//
// Thread-safety: a Program is immutable after Compile and may evaluate traces on many threads at
// once; a TraceView is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "traces/traceql/ast.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace sprout::traces::traceql {

// One span of a TraceView, with what the structural operators and the trace intrinsics need.
struct SpanRef {
  const opentelemetry::proto::trace::v1::Span* span = nullptr;
  const opentelemetry::proto::trace::v1::ResourceSpans* resource = nullptr;
  const opentelemetry::proto::trace::v1::ScopeSpans* scope = nullptr;
  int32_t parent = -1;  // index of the parent span in the view; -1: none in the trace
  // Nested-set numbers (Tempo's): a depth-first walk from each root (a span without a parent
  // ID) numbers a span `left` when entered and `right` when left, from 1, so B is a descendant of
  // A exactly when A.left < B.left && B.right < A.right. `nested_parent` is the parent's `left`
  // (-1 for a root). 0/0 for spans the walk does not reach (under a parent missing from the
  // trace, or on a cycle): they are in no structural relation.
  int32_t left = 0;
  int32_t right = 0;
  int32_t nested_parent = -1;
  int32_t child_count = 0;
  bool is_root = false;  // no parent span ID (empty or zeros)
};

// A whole trace prepared for evaluation: its spans in the order of the TracesData, parent links,
// nested-set numbers, the trace's time range and root. The TracesData must outlive the view.
class TraceView {
 public:
  // Without `structure` (a query that never asks: Plan's refs.needs_structure false) the parent
  // links, nested-set numbers and child counts are not computed (parent -1, 0s).
  explicit TraceView(const opentelemetry::proto::trace::v1::TracesData& trace,
                     bool structure = true);

  const std::vector<SpanRef>& spans() const { return spans_; }
  uint64_t start_unix_nano() const { return start_; }
  uint64_t end_unix_nano() const { return end_; }
  // The first span without a parent (in the trace), or -1.
  int32_t root() const { return root_; }
  std::string_view trace_id() const { return trace_id_; }  // 16 bytes, from the first span

 private:
  std::vector<SpanRef> spans_;
  uint64_t start_ = 0;
  uint64_t end_ = 0;
  int32_t root_ = -1;
  std::string_view trace_id_;
};

// A span set of the result.
struct SpanSet {
  std::vector<uint32_t> spans;  // indexes into TraceView::spans(), ascending, distinct
  // Span-set attributes: `by(F)` values, named as Tempo names them ("by(resource.service.name)").
  std::vector<std::pair<std::string, Static>> attributes;
};

// What a query reads of a trace, for projection and pushdown (Plan()).
struct QueryRefs {
  // Attribute names referenced with span / resource scope (unscoped names are in both), select()
  // included.
  std::vector<std::string> span_keys;
  std::vector<std::string> resource_keys;
  // The query reads events, links or instrumentation scopes (attributes or intrinsics): a
  // projection that leaves them out cannot be used.
  bool needs_events_links_scope = false;
  // The query needs parent links or nested sets (structural operators, `parent.`, childCount,
  // the nested-set intrinsics): TraceView's `structure`.
  bool needs_structure = false;
};

// Adds what reading attribute `a` needs to `refs` (its keys by scope; events, links or scopes;
// structure for `parent.` and the structural intrinsics). The search's and the metrics'
// compilers both collect their refs with it.
void AddAttributeRefs(const Attribute& a, QueryRefs* refs);

// A condition every matching trace satisfies on at least one of its spans (a necessary
// condition: the pre-filter may keep traces that then do not match, never drop one that does).
// Each holds on one span, so on the part of a trace (split over blocks) that holds the span:
// `<target> <op> <value>` as the filter wrote it (literal on the right).
struct TraceCondition {
  enum class Target : uint8_t {
    kAttribute,      // attribute `key` of `scope` (kNone: span or resource)
    kName,           // span name
    kStatusMessage,  // "" for a span without a status
    kStatus,         // Static kStatus
    kKind,           // Static kKind
    kDuration,       // Static kDuration (ns)
  };
  Target target = Target::kAttribute;
  Scope scope = Scope::kNone;
  std::string key;
  Op op = Op::kEq;
  Static value;
  std::shared_ptr<const re2::RE2> re;  // for =~ / !~
  // Whether a span whose target has the scalar value `v` satisfies the comparison (Tempo's
  // rules, as Program::Evaluate applies them).
  bool Matches(const Static& v) const;
};

struct Plan {
  QueryRefs refs;
  // All must hold (each on some span) for a trace to match.
  std::vector<TraceCondition> conditions;
};

// Program::Compile's refusal of a metrics query (the search and tag endpoints).
inline constexpr std::string_view kMetricsQueryInSearch =
    "metrics queries are not supported by search: use /api/metrics/query_range";

class Program {
 public:
  // The parsed query (Parse() succeeded). InvalidArgument for what execution refuses: a
  // TraceQL metrics query (`{ } | rate()`, query.metrics set), which only the metrics endpoints
  // run (MetricsProgram, metrics.h): kMetricsQueryInSearch.
  static absl::StatusOr<std::unique_ptr<Program>> Compile(Query query);

  // The value of `a` on span `i` as `by()` groups it (an array's first element; nil when
  // missing; events' and links' values: the first). Used by the metrics engine.
  static Static AttributeValue(const TraceView& trace, uint32_t i, const Attribute& a);

  // The span sets of `trace` (empty: the trace does not match).
  std::vector<SpanSet> Evaluate(const TraceView& trace) const;

  const Plan& plan() const { return plan_; }
  const Query& query() const { return query_; }
  // `with (most_recent=true)`.
  bool most_recent() const { return most_recent_; }

  // The attributes a result span shows (Tempo returns the attributes the query read): for span
  // `i`, the span and resource attributes named in the query (and by select()), as OTLP
  // KeyValues, span's first; intrinsics the query names that are not fields of the search
  // span (status, kind, statusMessage...) as string attributes named like Tempo's ("status").
  std::vector<opentelemetry::proto::common::v1::KeyValue> SpanAttributes(const TraceView& trace,
                                                                         uint32_t i) const;

 private:
  Program() = default;
  Query query_;
  Plan plan_;
  bool most_recent_ = false;
  std::vector<Attribute> shown_;  // the attributes SpanAttributes returns, distinct
  struct Regexes;
  std::shared_ptr<const Regexes> regexes_;  // compiled literal regexes by node
};

}  // namespace sprout::traces::traceql
