#include "traces/traceql/ast.h"

namespace sprout::traces::traceql {

bool Static::operator==(const Static& o) const {
  if (type != o.type) return false;
  switch (type) {
    case Type::kNil:
    case Type::kAttribute:
      return true;
    case Type::kFloat:
      return f == o.f;
    case Type::kString:
      return s == o.s;
    case Type::kBool:
      return b == o.b;
    default:
      return i == o.i;
  }
}

bool Equal(const Node& a, const Node& b) {
  if (a.kind != b.kind || a.op != b.op) return false;
  switch (a.kind) {
    case NodeKind::kStatic:
      if (!(a.value == b.value)) return false;
      break;
    case NodeKind::kAttribute:
      if (!(a.attr == b.attr)) return false;
      break;
    case NodeKind::kAggregate:
      if (a.fn != b.fn) return false;
      break;
    default:
      break;
  }
  if ((a.lhs == nullptr) != (b.lhs == nullptr) || (a.rhs == nullptr) != (b.rhs == nullptr)) {
    return false;
  }
  if (a.lhs && !Equal(*a.lhs, *b.lhs)) return false;
  if (a.rhs && !Equal(*a.rhs, *b.rhs)) return false;
  if (a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (!Equal(*a.items[i], *b.items[i])) return false;
  }
  return true;
}

bool Equal(const MetricsStage& a, const MetricsStage& b) {
  if (a.fn != b.fn || !(a.attr == b.attr) || a.quantiles != b.quantiles || a.by != b.by ||
      a.compare_args != b.compare_args || a.compare_top != b.compare_top ||
      a.compare_start != b.compare_start || a.compare_end != b.compare_end) {
    return false;
  }
  if ((a.compare_filter == nullptr) != (b.compare_filter == nullptr)) return false;
  return a.compare_filter == nullptr || Equal(*a.compare_filter, *b.compare_filter);
}

bool Equal(const Query& a, const Query& b) {
  if ((a.root == nullptr) != (b.root == nullptr)) return false;
  if (a.root && !Equal(*a.root, *b.root)) return false;
  if ((a.metrics == nullptr) != (b.metrics == nullptr)) return false;
  if (a.metrics && !Equal(*a.metrics, *b.metrics)) return false;
  if ((a.second == nullptr) != (b.second == nullptr)) return false;
  if (a.second && !(*a.second == *b.second)) return false;
  return a.hints == b.hints;
}

std::string_view MetricsFnText(MetricsFn fn) {
  switch (fn) {
    case MetricsFn::kRate:
      return "rate";
    case MetricsFn::kCountOverTime:
      return "count_over_time";
    case MetricsFn::kMinOverTime:
      return "min_over_time";
    case MetricsFn::kMaxOverTime:
      return "max_over_time";
    case MetricsFn::kSumOverTime:
      return "sum_over_time";
    case MetricsFn::kAvgOverTime:
      return "avg_over_time";
    case MetricsFn::kQuantileOverTime:
      return "quantile_over_time";
    case MetricsFn::kHistogramOverTime:
      return "histogram_over_time";
    case MetricsFn::kCompare:
      return "compare";
  }
  return "";
}

Type IntrinsicType(Intrinsic i) {
  switch (i) {
    case Intrinsic::kDuration:
    case Intrinsic::kTraceDuration:
    case Intrinsic::kEventTimeSinceStart:
      return Type::kDuration;
    case Intrinsic::kName:
    case Intrinsic::kStatusMessage:
    case Intrinsic::kTraceRootSpan:
    case Intrinsic::kTraceRootService:
    case Intrinsic::kTraceID:
    case Intrinsic::kSpanID:
    case Intrinsic::kParentID:
    case Intrinsic::kEventName:
    case Intrinsic::kLinkTraceID:
    case Intrinsic::kLinkSpanID:
    case Intrinsic::kInstrumentationName:
    case Intrinsic::kInstrumentationVersion:
      return Type::kString;
    case Intrinsic::kStatus:
      return Type::kStatus;
    case Intrinsic::kKind:
      return Type::kKind;
    case Intrinsic::kChildCount:
    case Intrinsic::kNestedSetLeft:
    case Intrinsic::kNestedSetRight:
    case Intrinsic::kNestedSetParent:
      return Type::kInt;
    case Intrinsic::kParent:
    case Intrinsic::kNone:
      return Type::kAttribute;
  }
  return Type::kAttribute;
}

namespace {

bool IsComparison(Op op) {
  return op == Op::kEq || op == Op::kNeq || op == Op::kRegex || op == Op::kNotRegex ||
         op == Op::kGt || op == Op::kGte || op == Op::kLt || op == Op::kLte;
}

}  // namespace

Type ImpliedType(const Node& n) {
  switch (n.kind) {
    case NodeKind::kStatic:
      return n.value.type;
    case NodeKind::kAttribute:
      return n.attr.scope == Scope::kIntrinsic ? IntrinsicType(n.attr.intrinsic) : Type::kAttribute;
    case NodeKind::kUnary:
      return n.op == Op::kNot ? Type::kBool : ImpliedType(*n.lhs);
    case NodeKind::kBinary: {
      if (IsComparison(n.op) || n.op == Op::kAnd || n.op == Op::kOr) return Type::kBool;
      const Type l = ImpliedType(*n.lhs);
      return l == Type::kAttribute ? ImpliedType(*n.rhs) : l;
    }
    default:
      return Type::kAttribute;
  }
}

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kNone:
      return "";
    case Op::kEq:
      return "=";
    case Op::kNeq:
      return "!=";
    case Op::kRegex:
      return "=~";
    case Op::kNotRegex:
      return "!~";
    case Op::kGt:
      return ">";
    case Op::kGte:
      return ">=";
    case Op::kLt:
      return "<";
    case Op::kLte:
      return "<=";
    case Op::kAdd:
      return "+";
    case Op::kSub:
      return "-";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
    case Op::kMod:
      return "%";
    case Op::kPow:
      return "^";
    case Op::kAnd:
      return "&&";
    case Op::kOr:
      return "||";
    case Op::kNot:
      return "!";
    case Op::kNeg:
      return "-";
    case Op::kSpansetAnd:
      return "&&";
    case Op::kSpansetUnion:
      return "||";
    case Op::kChild:
      return ">";
    case Op::kParent:
      return "<";
    case Op::kDescendant:
      return ">>";
    case Op::kAncestor:
      return "<<";
    case Op::kSibling:
      return "~";
    case Op::kNotChild:
      return "!>";
    case Op::kNotParent:
      return "!<";
    case Op::kNotDescendant:
      return "!>>";
    case Op::kNotAncestor:
      return "!<<";
    case Op::kNotSibling:
      return "!~";
    case Op::kUnionChild:
      return "&>";
    case Op::kUnionParent:
      return "&<";
    case Op::kUnionDescendant:
      return "&>>";
    case Op::kUnionAncestor:
      return "&<<";
    case Op::kUnionSibling:
      return "&~";
  }
  return "";
}

std::string_view StatusText(Status s) {
  switch (s) {
    case Status::kError:
      return "error";
    case Status::kOk:
      return "ok";
    case Status::kUnset:
      return "unset";
  }
  return "";
}

std::string_view KindText(Kind k) {
  switch (k) {
    case Kind::kUnspecified:
      return "unspecified";
    case Kind::kInternal:
      return "internal";
    case Kind::kServer:
      return "server";
    case Kind::kClient:
      return "client";
    case Kind::kProducer:
      return "producer";
    case Kind::kConsumer:
      return "consumer";
  }
  return "";
}

std::string_view AggregateText(AggregateFn fn) {
  switch (fn) {
    case AggregateFn::kCount:
      return "count";
    case AggregateFn::kAvg:
      return "avg";
    case AggregateFn::kMin:
      return "min";
    case AggregateFn::kMax:
      return "max";
    case AggregateFn::kSum:
      return "sum";
  }
  return "";
}

}  // namespace sprout::traces::traceql
