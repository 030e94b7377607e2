// The TraceQL syntax tree (issue 12): what Parse() returns and Print() prints.
//
// One node type for every construct, told apart by `kind`; the fields a kind uses are listed at
// NodeKind. Positions are byte offsets into the query ([start, end)). Equal() compares two trees
// ignoring positions (the round-trip property: Parse(Print(Parse(q))) is Equal to Parse(q)).
//
// Thread-safety: plain values; a tree is immutable once Parse() returned it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sprout::traces::traceql {

struct Pos {
  int32_t start = 0;
  int32_t end = 0;
};

// The type of a literal (and, for ImpliedType(), of an expression; kAttribute = not known
// before execution).
enum class Type : uint8_t {
  kNil,
  kInt,
  kFloat,
  kString,
  kBool,
  kDuration,
  kStatus,
  kKind,
  kAttribute,
};

enum class Status : uint8_t { kError, kOk, kUnset };
enum class Kind : uint8_t { kUnspecified, kInternal, kServer, kClient, kProducer, kConsumer };

// A literal. `i` holds ints, durations (nanoseconds), Status and Kind values; `f` floats; `s`
// strings; `b` booleans.
struct Static {
  Type type = Type::kNil;
  int64_t i = 0;
  double f = 0;
  std::string s;
  bool b = false;
  bool operator==(const Static& o) const;
};

inline Static MakeStatic(Type type, int64_t i, double f, std::string s, bool b) {
  Static v;
  v.type = type;
  v.i = i;
  v.f = f;
  v.s = std::move(s);
  v.b = b;
  return v;
}
inline Static MakeInt(int64_t v) { return MakeStatic(Type::kInt, v, 0, {}, false); }
inline Static MakeFloat(double v) { return MakeStatic(Type::kFloat, 0, v, {}, false); }
inline Static MakeDuration(int64_t ns) { return MakeStatic(Type::kDuration, ns, 0, {}, false); }
inline Static MakeString(std::string v) {
  return MakeStatic(Type::kString, 0, 0, std::move(v), false);
}
inline Static MakeBool(bool v) { return MakeStatic(Type::kBool, 0, 0, {}, v); }

enum class Scope : uint8_t {
  kNone,  // unscoped `.attr`: span or resource
  kSpan,
  kResource,
  kEvent,
  kLink,
  kInstrumentation,
  kIntrinsic,
};

enum class Intrinsic : uint8_t {
  kNone,
  kDuration,
  kName,
  kStatus,
  kStatusMessage,
  kKind,
  kChildCount,
  kParent,
  kTraceRootSpan,
  kTraceRootService,
  kTraceDuration,
  kNestedSetLeft,
  kNestedSetRight,
  kNestedSetParent,
  kTraceID,
  kSpanID,
  kParentID,
  kEventName,
  kEventTimeSinceStart,
  kLinkTraceID,
  kLinkSpanID,
  kInstrumentationName,
  kInstrumentationVersion,
};

// An attribute reference or an intrinsic. For an intrinsic `text` is the form written
// ("duration", "span:duration", "trace:rootService"), printed back as is.
struct Attribute {
  Scope scope = Scope::kNone;
  bool parent = false;  // `parent.` prefix
  Intrinsic intrinsic = Intrinsic::kNone;
  std::string name;  // attribute name (scope prefix and quotes removed), or the intrinsic's text
  bool operator==(const Attribute& o) const = default;
};

enum class Op : uint8_t {
  kNone,
  // comparisons
  kEq,
  kNeq,
  kRegex,
  kNotRegex,
  kGt,
  kGte,
  kLt,
  kLte,
  // arithmetic
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  // boolean (in a filter)
  kAnd,
  kOr,
  // unary
  kNot,
  kNeg,
  // spanset operators
  kSpansetAnd,
  kSpansetUnion,
  kChild,
  kParent,
  kDescendant,
  kAncestor,
  kSibling,
  kNotChild,
  kNotParent,
  kNotDescendant,
  kNotAncestor,
  kNotSibling,
  kUnionChild,
  kUnionParent,
  kUnionDescendant,
  kUnionAncestor,
  kUnionSibling,
};

enum class AggregateFn : uint8_t { kCount, kAvg, kMin, kMax, kSum };

// Which fields each kind uses:
//   kStatic         value
//   kAttribute      attr
//   kBinary         op, lhs, rhs          field expression (inside a filter, an aggregate, by())
//   kUnary          op (kNot/kNeg), lhs
//   kSpansetFilter  lhs (null for `{ }`)
//   kSpansetOp      op (kSpanset*, structural), lhs, rhs
//   kPipeline       items (2 or more stages, left to right)
//   kScalarFilter   op (comparison), lhs, rhs (scalars: aggregates, numbers, kScalarOp)
//   kScalarOp       op (arithmetic), lhs, rhs
//   kAggregate      fn, lhs (null for count())
//   kGroupBy        lhs
//   kCoalesce       -
//   kSelect         items (kAttribute nodes)
enum class NodeKind : uint8_t {
  kStatic,
  kAttribute,
  kBinary,
  kUnary,
  kSpansetFilter,
  kSpansetOp,
  kPipeline,
  kScalarFilter,
  kScalarOp,
  kAggregate,
  kGroupBy,
  kCoalesce,
  kSelect,
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  NodeKind kind = NodeKind::kStatic;
  Pos pos;
  Op op = Op::kNone;
  AggregateFn fn = AggregateFn::kCount;
  Static value;
  Attribute attr;
  NodePtr lhs;
  NodePtr rhs;
  std::vector<NodePtr> items;
  // Height of the subtree (1 for a leaf), set by the parser; not part of Equal().
  int32_t height = 1;
};

// `with (name=value, ...)`.
struct Hint {
  std::string name;
  Static value;
  bool operator==(const Hint& o) const = default;
};

// TraceQL metrics (issue 16, Tempo's `metricsAggregation` / `metricsSecondStage`): the first
// stage after the spanset pipeline, `| rate() by (a, b)` ...
enum class MetricsFn : uint8_t {
  kRate,
  kCountOverTime,
  kMinOverTime,
  kMaxOverTime,
  kSumOverTime,
  kAvgOverTime,
  kQuantileOverTime,
  kHistogramOverTime,
  kCompare,
};

struct MetricsStage {
  MetricsFn fn = MetricsFn::kRate;
  Pos pos;
  Attribute attr;                 // the argument of *_over_time(attr)
  std::vector<double> quantiles;  // quantile_over_time(attr, q1, q2, ...)
  std::vector<Attribute> by;      // `by (a, b)`, empty without
  NodePtr compare_filter;         // compare({ filter }, ...): a kSpansetFilter
  int compare_args = 1;           // 1, 2 or 4 (as written, for printing)
  int64_t compare_top = 10;       // topN (Tempo's default 10)
  int64_t compare_start = 0;      // selection window, unix nanoseconds (0/0: none)
  int64_t compare_end = 0;
};

// The optional second stage: `| topk(k)` / `| bottomk(k)`.
struct SecondStage {
  bool bottom = false;  // bottomk
  int64_t k = 0;
  bool operator==(const SecondStage& o) const = default;
};

struct Query {
  NodePtr root;
  std::vector<Hint> hints;
  // A metrics query (`{...} | rate()`): the first stage, and optionally the second.
  std::unique_ptr<MetricsStage> metrics;
  std::unique_ptr<SecondStage> second;
};

// Trees equal ignoring positions.
bool Equal(const Node& a, const Node& b);
bool Equal(const MetricsStage& a, const MetricsStage& b);
bool Equal(const Query& a, const Query& b);

// The type a field expression evaluates to, as Tempo infers it before execution (attributes
// are kAttribute: any type).
Type ImpliedType(const Node& n);
// The type of an intrinsic's values.
Type IntrinsicType(Intrinsic i);

// Names used in printing and in messages.
std::string_view OpText(Op op);
std::string_view StatusText(Status s);
std::string_view KindText(Kind k);
std::string_view AggregateText(AggregateFn fn);
// "rate", "count_over_time", ... "compare".
std::string_view MetricsFnText(MetricsFn fn);

}  // namespace sprout::traces::traceql
