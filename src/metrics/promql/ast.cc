#include "metrics/promql/ast.h"

#include <algorithm>
#include <cmath>

#include "metrics/promql/functions.h"

namespace sprout::metrics::promql {

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kNone:
      return "none";
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "vector";
    case ValueType::kMatrix:
      return "matrix";
    case ValueType::kString:
      return "string";
  }
  return "none";
}

std::string_view DocumentedTypeName(ValueType t) {
  switch (t) {
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    default:
      return ValueTypeName(t);
  }
}

std::string_view MatchTypeString(MatchType t) {
  switch (t) {
    case MatchType::kEqual:
      return "=";
    case MatchType::kNotEqual:
      return "!=";
    case MatchType::kRegexMatch:
      return "=~";
    case MatchType::kRegexNoMatch:
      return "!~";
  }
  return "=";
}

std::string_view BinaryOpString(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kAtan2:
      return "atan2";
    case BinaryOp::kEql:
      return "==";
    case BinaryOp::kNeq:
      return "!=";
    case BinaryOp::kGtr:
      return ">";
    case BinaryOp::kLss:
      return "<";
    case BinaryOp::kGte:
      return ">=";
    case BinaryOp::kLte:
      return "<=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
  }
  return "+";
}

bool IsComparison(BinaryOp op) { return op >= BinaryOp::kEql && op <= BinaryOp::kLte; }
bool IsSetOperator(BinaryOp op) { return op >= BinaryOp::kAnd; }

std::string_view AggregateOpString(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
      return "sum";
    case AggregateOp::kAvg:
      return "avg";
    case AggregateOp::kCount:
      return "count";
    case AggregateOp::kMin:
      return "min";
    case AggregateOp::kMax:
      return "max";
    case AggregateOp::kGroup:
      return "group";
    case AggregateOp::kStddev:
      return "stddev";
    case AggregateOp::kStdvar:
      return "stdvar";
    case AggregateOp::kTopk:
      return "topk";
    case AggregateOp::kBottomk:
      return "bottomk";
    case AggregateOp::kQuantile:
      return "quantile";
    case AggregateOp::kCountValues:
      return "count_values";
    case AggregateOp::kLimitk:
      return "limitk";
    case AggregateOp::kLimitRatio:
      return "limit_ratio";
  }
  return "sum";
}

bool AggregateHasParam(AggregateOp op) { return op >= AggregateOp::kTopk; }

ValueType Expr::Type() const {
  switch (kind) {
    case NodeKind::kNumber:
      return ValueType::kScalar;
    case NodeKind::kString:
      return ValueType::kString;
    case NodeKind::kVectorSelector:
      return ValueType::kVector;
    case NodeKind::kMatrixSelector:
      return ValueType::kMatrix;
    case NodeKind::kSubquery:
      return ValueType::kMatrix;
    case NodeKind::kParen:
    case NodeKind::kUnary:
      return expr ? expr->Type() : ValueType::kNone;
    case NodeKind::kBinary:
      if (lhs && rhs && lhs->Type() == ValueType::kScalar && rhs->Type() == ValueType::kScalar) {
        return ValueType::kScalar;
      }
      return ValueType::kVector;
    case NodeKind::kCall:
      return func ? func->return_type : ValueType::kNone;
    case NodeKind::kAggregate:
      return ValueType::kVector;
  }
  return ValueType::kNone;
}

namespace {

std::vector<LabelMatcher> SortedMatchers(const Expr& e) {
  std::vector<LabelMatcher> m = e.matchers;
  std::sort(m.begin(), m.end(), [](const LabelMatcher& x, const LabelMatcher& y) {
    if (x.name != y.name) return x.name < y.name;
    if (x.type != y.type) return x.type < y.type;
    return x.value < y.value;
  });
  return m;
}

bool SamePtr(const ExprPtr& a, const ExprPtr& b) {
  if (!a || !b) return !a && !b;
  return SameTree(*a, *b);
}

bool SameMatching(const std::unique_ptr<VectorMatching>& a,
                  const std::unique_ptr<VectorMatching>& b) {
  if (!a || !b) return !a && !b;
  return a->card == b->card && a->matching_labels == b->matching_labels && a->on == b->on &&
         a->include == b->include;
}

}  // namespace

bool SameTree(const Expr& a, const Expr& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case NodeKind::kNumber:
      return (std::isnan(a.number) && std::isnan(b.number)) || a.number == b.number;
    case NodeKind::kString:
      return a.str == b.str;
    case NodeKind::kVectorSelector:
      return a.metric_name == b.metric_name && SortedMatchers(a) == SortedMatchers(b) &&
             a.offset_ms == b.offset_ms && a.at == b.at && a.at_ms == b.at_ms;
    case NodeKind::kMatrixSelector:
      return a.range_ms == b.range_ms && SamePtr(a.expr, b.expr);
    case NodeKind::kSubquery:
      return a.range_ms == b.range_ms && a.step_ms == b.step_ms && a.offset_ms == b.offset_ms &&
             a.at == b.at && a.at_ms == b.at_ms && SamePtr(a.expr, b.expr);
    case NodeKind::kParen:
      return SamePtr(a.expr, b.expr);
    case NodeKind::kUnary:
      return a.unary_minus == b.unary_minus && SamePtr(a.expr, b.expr);
    case NodeKind::kBinary:
      return a.binary_op == b.binary_op && a.return_bool == b.return_bool &&
             SameMatching(a.matching, b.matching) && SamePtr(a.lhs, b.lhs) && SamePtr(a.rhs, b.rhs);
    case NodeKind::kCall: {
      if (a.func != b.func || a.args.size() != b.args.size()) return false;
      for (size_t i = 0; i < a.args.size(); ++i) {
        if (!SamePtr(a.args[i], b.args[i])) return false;
      }
      return true;
    }
    case NodeKind::kAggregate:
      return a.aggregate_op == b.aggregate_op && a.grouping == b.grouping &&
             a.without == b.without && SamePtr(a.param, b.param) && SamePtr(a.expr, b.expr);
  }
  return false;
}

}  // namespace sprout::metrics::promql
