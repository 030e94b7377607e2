// The PromQL syntax tree, shaped for the engine that evaluates it.
//
// Every node carries the byte range of the query text it was parsed from (`pos`, [start, end)),
// so that the engine's errors can point into the query as Prometheus's do. Values are kept as
// Prometheus keeps them after parsing: durations and timestamps in milliseconds, the metric name
// of a selector both as `metric_name` and as the last `__name__` equality matcher (the engine
// converts `matchers` to index matchers; they are plain data here), an offset or `@` written on a
// range selector stored on its inner vector selector.
//
// Ownership: a node owns its children (unique_ptr). Thread-safety: a finished tree is immutable
// and may be read from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sprout::metrics::promql {

struct Function;

// Byte offsets into the query, [start, end).
struct PosRange {
  int32_t start = 0;
  int32_t end = 0;
};

// Prometheus's value types. Names: ValueTypeName ("vector", "matrix", ... as Prometheus's
// ValueType prints) and DocumentedTypeName ("instant vector", "range vector", ...).
enum class ValueType : uint8_t { kNone, kScalar, kVector, kMatrix, kString };
std::string_view ValueTypeName(ValueType t);
std::string_view DocumentedTypeName(ValueType t);

enum class MatchType : uint8_t { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
std::string_view MatchTypeString(MatchType t);  // "=", "!=", "=~", "!~"

// A label matcher as written (value unquoted). Regex values are not anchored here; the engine
// anchors them (^(?:value)$) as Prometheus does.
struct LabelMatcher {
  MatchType type = MatchType::kEqual;
  std::string name;
  std::string value;
  bool operator==(const LabelMatcher&) const = default;
};

enum class BinaryOp : uint8_t {
  // arithmetic
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  // comparison
  kEql,
  kNeq,
  kGtr,
  kLss,
  kGte,
  kLte,
  // set
  kAnd,
  kOr,
  kUnless,
};
std::string_view BinaryOpString(BinaryOp op);  // "+", "==", "and", "atan2", ...
bool IsComparison(BinaryOp op);
bool IsSetOperator(BinaryOp op);

enum class AggregateOp : uint8_t {
  kSum,
  kAvg,
  kCount,
  kMin,
  kMax,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kQuantile,
  kCountValues,
  kLimitk,
  kLimitRatio,
};
std::string_view AggregateOpString(AggregateOp op);  // "sum", "count_values", ...
// topk, bottomk, quantile, count_values, limitk and limit_ratio take a parameter first.
bool AggregateHasParam(AggregateOp op);

enum class Cardinality : uint8_t { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

// `on`/`ignoring` and `group_left`/`group_right` of a binary operator between two instant
// vectors (absent when a side is a scalar). Set operators have kManyToMany.
struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  std::vector<std::string> matching_labels;  // on (...) / ignoring (...)
  bool on = false;                           // true: on, false: ignoring (or nothing written)
  std::vector<std::string> include;          // group_x (...) labels
};

// `@` modifier of a selector or subquery.
enum class AtKind : uint8_t { kNone, kTimestamp, kStart, kEnd };

enum class NodeKind : uint8_t {
  kNumber,          // number
  kString,          // str
  kVectorSelector,  // metric_name, matchers, offset_ms, at
  kMatrixSelector,  // expr (a kVectorSelector holding offset and @), range_ms
  kSubquery,        // expr, range_ms, step_ms (0: the default step), offset_ms, at
  kParen,           // expr
  kUnary,           // expr, unary_minus
  kBinary,          // lhs, rhs, binary_op, return_bool, matching (null for scalar operands)
  kCall,            // func, args
  kAggregate,       // aggregate_op, param (or null), expr, grouping, without
};

struct Expr {
  NodeKind kind = NodeKind::kNumber;
  PosRange pos;

  double number = 0;  // kNumber
  std::string str;    // kString (unquoted)

  std::string metric_name;             // kVectorSelector ("" when only matchers were given)
  std::vector<LabelMatcher> matchers;  // kVectorSelector; a non-empty name is the last one
  int64_t offset_ms = 0;               // kVectorSelector, kSubquery (negative: offset -x)
  AtKind at = AtKind::kNone;           // kVectorSelector, kSubquery
  int64_t at_ms = 0;                   // with AtKind::kTimestamp
  int64_t range_ms = 0;                // kMatrixSelector, kSubquery
  int64_t step_ms = 0;                 // kSubquery

  bool unary_minus = false;  // kUnary: '-' (true) or '+'

  BinaryOp binary_op = BinaryOp::kAdd;       // kBinary
  bool return_bool = false;                  // kBinary
  std::unique_ptr<VectorMatching> matching;  // kBinary
  std::unique_ptr<Expr> lhs, rhs;            // kBinary

  const Function* func = nullptr;           // kCall
  std::vector<std::unique_ptr<Expr>> args;  // kCall

  AggregateOp aggregate_op = AggregateOp::kSum;  // kAggregate
  std::unique_ptr<Expr> param;                   // kAggregate (with a parameter)
  std::vector<std::string> grouping;             // kAggregate: by (...) / without (...)
  bool without = false;                          // kAggregate

  std::unique_ptr<Expr> expr;  // kMatrixSelector, kSubquery, kParen, kUnary, kAggregate

  // Height of this subtree (1 for a leaf). The parser refuses trees higher than kMaxDepth, so
  // every recursive walk over a parsed tree is bounded.
  int32_t height = 1;

  // The value type Prometheus gives the expression (a call: its function's return type).
  ValueType Type() const;
};

using ExprPtr = std::unique_ptr<Expr>;

// Structural equality of two trees: positions and the order of a selector's matchers ignored
// (the printer sorts them), two NaN number literals equal.
bool SameTree(const Expr& a, const Expr& b);

}  // namespace sprout::metrics::promql
