#include "traces/traceql/engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/hex.h"
#include "re2/re2.h"
#include "traces/traceql/printer.h"

namespace sprout::traces::traceql {

namespace tpb = opentelemetry::proto::trace::v1;
namespace cpb = opentelemetry::proto::common::v1;

// ---------------------------------------------------------------------------------------------
// TraceView

TraceView::TraceView(const tpb::TracesData& trace, bool structure) {
  size_t count = 0;
  for (const tpb::ResourceSpans& rs : trace.resource_spans()) {
    for (const tpb::ScopeSpans& ss : rs.scope_spans()) count += ss.spans_size();
  }
  spans_.reserve(count);
  for (const tpb::ResourceSpans& rs : trace.resource_spans()) {
    for (const tpb::ScopeSpans& ss : rs.scope_spans()) {
      for (const tpb::Span& s : ss.spans()) {
        SpanRef r;
        r.span = &s;
        r.resource = &rs;
        r.scope = &ss;
        spans_.push_back(r);
      }
    }
  }
  if (spans_.empty()) return;
  trace_id_ = spans_[0].span->trace_id();
  start_ = UINT64_MAX;
  const int32_t n = static_cast<int32_t>(spans_.size());
  // Scratch reused by the thread's views (no allocation per trace once warm): span IDs sorted
  // for the parent lookups, the children of each span (CSR), the walk's stack.
  thread_local std::vector<std::pair<std::string_view, int32_t>> ids;
  thread_local std::vector<std::pair<uint64_t, int32_t>> ids64;
  thread_local std::vector<int32_t> child_start, child_list, fill;
  thread_local std::vector<std::pair<int32_t, int32_t>> stack;
  bool all8 = true;
  for (int32_t i = 0; i < n; ++i) {
    const tpb::Span& s = *spans_[i].span;
    start_ = std::min<uint64_t>(start_, s.start_time_unix_nano());
    end_ = std::max<uint64_t>(end_, s.end_time_unix_nano());
    all8 = all8 && s.span_id().size() == 8;
    if (std::all_of(s.parent_span_id().begin(), s.parent_span_id().end(),
                    [](char c) { return c == '\0'; })) {
      if (root_ < 0) root_ = i;
      spans_[i].is_root = true;
    }
  }
  if (end_ < start_) end_ = start_;
  if (!structure) return;
  // Span IDs sorted for the parent lookups; 8-byte IDs (all of OTLP's) as integers. Equal IDs:
  // the first span wins, as a map keeps it.
  const auto key8 = [](std::string_view id) {
    uint64_t k;
    std::memcpy(&k, id.data(), 8);
    return k;
  };
  ids.clear();
  ids64.clear();
  for (int32_t i = 0; i < n; ++i) {
    if (all8) {
      ids64.emplace_back(key8(spans_[i].span->span_id()), i);
    } else {
      ids.emplace_back(spans_[i].span->span_id(), i);
    }
  }
  std::sort(ids.begin(), ids.end());
  std::sort(ids64.begin(), ids64.end());
  const auto find = [&](std::string_view id) -> int32_t {
    if (all8) {
      if (id.size() != 8) return -1;
      const uint64_t k = key8(id);
      auto it = std::lower_bound(ids64.begin(), ids64.end(), std::pair<uint64_t, int32_t>(k, -1));
      return it != ids64.end() && it->first == k ? it->second : -1;
    }
    auto it =
        std::lower_bound(ids.begin(), ids.end(), std::pair<std::string_view, int32_t>(id, -1));
    return it != ids.end() && it->first == id ? it->second : -1;
  };
  child_start.assign(static_cast<size_t>(n) + 1, 0);
  for (int32_t i = 0; i < n; ++i) {
    const tpb::Span& s = *spans_[i].span;
    if (spans_[i].is_root) continue;
    const int32_t p = find(s.parent_span_id());
    if (p < 0 || p == i) continue;
    spans_[i].parent = p;
    spans_[p].child_count++;
    child_start[p + 1]++;
  }
  for (int32_t i = 0; i < n; ++i) child_start[i + 1] += child_start[i];
  child_list.assign(static_cast<size_t>(n), 0);
  fill.assign(child_start.begin(), child_start.end() - 1);
  for (int32_t i = 0; i < n; ++i) {  // children in span order
    if (spans_[i].parent >= 0) child_list[fill[spans_[i].parent]++] = i;
  }
  // Nested-set numbers by an iterative depth-first walk from every span without a parent in
  // the trace; spans on a parent cycle are never reached and keep 0/0.
  int32_t counter = 1;
  stack.clear();
  for (int32_t r = 0; r < n; ++r) {
    if (spans_[r].parent >= 0 || !spans_[r].is_root) continue;
    spans_[r].left = counter++;
    spans_[r].nested_parent = -1;
    stack.emplace_back(r, child_start[r]);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < child_start[node + 1]) {
        const int32_t c = child_list[next++];
        spans_[c].left = counter++;
        spans_[c].nested_parent = spans_[node].left;
        stack.emplace_back(c, child_start[c]);
      } else {
        spans_[node].right = counter++;
        stack.pop_back();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Values

namespace {

// A value of a field expression: one Static, or a list (an array attribute, or an event or link
// attribute over the span's events / links) where a comparison holds when any element does.
struct Val {
  Static s;  // kNil when missing
  std::vector<Static> list;
  bool is_list = false;
  bool nil() const { return !is_list && s.type == Type::kNil; }
};

bool IsNumber(Type t) { return t == Type::kInt || t == Type::kFloat || t == Type::kDuration; }
double AsDouble(const Static& s) { return s.type == Type::kFloat ? s.f : static_cast<double>(s.i); }

// A scalar AnyValue as a Static; nil for bytes, key/value lists and empty values.
Static FromAny(const cpb::AnyValue& v) {
  switch (v.value_case()) {
    case cpb::AnyValue::kStringValue:
      return MakeString(v.string_value());
    case cpb::AnyValue::kIntValue:
      return MakeInt(v.int_value());
    case cpb::AnyValue::kDoubleValue:
      return MakeFloat(v.double_value());
    case cpb::AnyValue::kBoolValue:
      return MakeBool(v.bool_value());
    default:
      return Static{};
  }
}

// Appends the value of `v` to a list (arrays flattened one level).
void AppendAny(const cpb::AnyValue& v, std::vector<Static>* out) {
  if (v.value_case() == cpb::AnyValue::kArrayValue) {
    for (const cpb::AnyValue& e : v.array_value().values()) {
      Static s = FromAny(e);
      if (s.type != Type::kNil) out->push_back(std::move(s));
    }
    return;
  }
  Static s = FromAny(v);
  if (s.type != Type::kNil) out->push_back(std::move(s));
}

Val FromAnyVal(const cpb::AnyValue& v) {
  Val out;
  if (v.value_case() == cpb::AnyValue::kArrayValue) {
    out.is_list = true;
    AppendAny(v, &out.list);
    if (out.list.empty()) out.is_list = false;
    return out;
  }
  out.s = FromAny(v);
  return out;
}

const cpb::KeyValue* FindKey(const google::protobuf::RepeatedPtrField<cpb::KeyValue>& attrs,
                             std::string_view key) {
  for (const cpb::KeyValue& kv : attrs) {
    if (kv.key() == key) return &kv;
  }
  return nullptr;
}

Status StatusOf(const tpb::Span& s) {
  switch (s.status().code()) {
    case tpb::Status::STATUS_CODE_OK:
      return Status::kOk;
    case tpb::Status::STATUS_CODE_ERROR:
      return Status::kError;
    default:
      return Status::kUnset;
  }
}

Kind KindOf(const tpb::Span& s) {
  const int k = static_cast<int>(s.kind());
  return k >= 0 && k <= 5 ? static_cast<Kind>(k) : Kind::kUnspecified;
}

int64_t SpanDuration(const tpb::Span& s) {
  return s.end_time_unix_nano() > s.start_time_unix_nano()
             ? static_cast<int64_t>(s.end_time_unix_nano() - s.start_time_unix_nano())
             : 0;
}

std::string ServiceOf(const tpb::ResourceSpans& rs) {
  const cpb::KeyValue* kv = FindKey(rs.resource().attributes(), "service.name");
  return kv != nullptr && kv->value().value_case() == cpb::AnyValue::kStringValue
             ? kv->value().string_value()
             : std::string();
}

std::string Hex(std::string_view bytes) { return HexEncode(bytes); }

// The ordering of two scalars for a comparison: -1, 0, 1, or nullopt when they do not compare.
std::optional<int> Order(const Static& a, const Static& b) {
  if (IsNumber(a.type) && IsNumber(b.type)) {
    if (a.type != Type::kFloat && b.type != Type::kFloat) {
      return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    }
    const double x = AsDouble(a), y = AsDouble(b);
    if (std::isnan(x) || std::isnan(y)) return std::nullopt;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.type != b.type) return std::nullopt;
  switch (a.type) {
    case Type::kString: {
      const int c = a.s.compare(b.s);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case Type::kBool:
      return a.b == b.b ? 0 : (a.b ? 1 : -1);
    case Type::kStatus:
    case Type::kKind:
      return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    default:
      return std::nullopt;
  }
}

// A comparison of two scalars; false when either is nil or they do not compare. `re` is the
// compiled regex for =~ / !~ (nullptr: compile `b` here).
bool CompareScalar(Op op, const Static& a, const Static& b, const RE2* re) {
  if (a.type == Type::kNil || b.type == Type::kNil) return false;
  if (op == Op::kRegex || op == Op::kNotRegex) {
    if (a.type != Type::kString || b.type != Type::kString) return false;
    bool m;
    if (re != nullptr) {
      m = RE2::FullMatch(a.s, *re);
    } else {
      RE2::Options o;
      o.set_log_errors(false);
      RE2 dyn(b.s, o);
      m = dyn.ok() && RE2::FullMatch(a.s, dyn);
    }
    return op == Op::kRegex ? m : !m;
  }
  const std::optional<int> c = Order(a, b);
  if (!c.has_value()) return false;
  const bool ordered_type = IsNumber(a.type) || a.type == Type::kString;
  switch (op) {
    case Op::kEq:
      return *c == 0;
    case Op::kNeq:
      return *c != 0;
    case Op::kGt:
      return ordered_type && *c > 0;
    case Op::kGte:
      return ordered_type && *c >= 0;
    case Op::kLt:
      return ordered_type && *c < 0;
    case Op::kLte:
      return ordered_type && *c <= 0;
    default:
      return false;
  }
}

// A comparison of two values with Tempo's rules for lists: any element for = =~ > >= < <=, no
// element matching the positive form for != and !~.
bool CompareVals(Op op, const Val& a, const Val& b, const RE2* re) {
  if (a.is_list && b.is_list) return false;
  if (!a.is_list && !b.is_list) return CompareScalar(op, a.s, b.s, re);
  const std::vector<Static>& list = a.is_list ? a.list : b.list;
  const Static& other = a.is_list ? b.s : a.s;
  if (other.type == Type::kNil) return false;
  const bool negative = op == Op::kNeq || op == Op::kNotRegex;
  const Op positive = op == Op::kNeq ? Op::kEq : (op == Op::kNotRegex ? Op::kRegex : op);
  bool any = false;
  for (const Static& e : list) {
    const bool m =
        a.is_list ? CompareScalar(positive, e, other, re) : CompareScalar(positive, other, e, re);
    if (m) {
      any = true;
      break;
    }
  }
  if (!negative) return any;
  // `!=` / `!~` hold when no element matches, but only for elements of a comparable type.
  bool comparable = false;
  for (const Static& e : list) {
    if (positive == Op::kRegex ? e.type == Type::kString && other.type == Type::kString
                               : Order(e, other).has_value()) {
      comparable = true;
      break;
    }
  }
  return comparable && !any;
}

Static Arith(Op op, const Static& a, const Static& b) {
  if (!IsNumber(a.type) || !IsNumber(b.type)) return Static{};
  if (a.type != Type::kFloat && b.type != Type::kFloat && op != Op::kPow) {
    // Ints and durations: exact int64 arithmetic, as Tempo's (division truncates); the result is
    // a duration when either side is one. Overflow wraps (as Go's); x / 0 and x % 0 are nil.
    const uint64_t x = static_cast<uint64_t>(a.i), y = static_cast<uint64_t>(b.i);
    Static s;
    s.type =
        (a.type == Type::kDuration || b.type == Type::kDuration) ? Type::kDuration : Type::kInt;
    switch (op) {
      case Op::kAdd:
        s.i = static_cast<int64_t>(x + y);
        return s;
      case Op::kSub:
        s.i = static_cast<int64_t>(x - y);
        return s;
      case Op::kMul:
        s.i = static_cast<int64_t>(x * y);
        return s;
      case Op::kDiv:
      case Op::kMod:
        if (b.i == 0) return Static{};
        if (a.i == INT64_MIN && b.i == -1) {
          s.i = op == Op::kDiv ? INT64_MIN : 0;
          return s;
        }
        s.i = op == Op::kDiv ? a.i / b.i : a.i % b.i;
        return s;
      default:
        return Static{};
    }
  }
  const double x = AsDouble(a), y = AsDouble(b);
  switch (op) {
    case Op::kAdd:
      return MakeFloat(x + y);
    case Op::kSub:
      return MakeFloat(x - y);
    case Op::kMul:
      return MakeFloat(x * y);
    case Op::kDiv:
      return MakeFloat(x / y);
    case Op::kMod:
      return MakeFloat(std::fmod(x, y));
    case Op::kPow:
      return MakeFloat(std::pow(x, y));
    default:
      return Static{};
  }
}

// A key for grouping by a value (type and value).
std::string GroupKey(const Static& s) {
  std::string k(1, static_cast<char>(s.type));
  switch (s.type) {
    case Type::kString:
      k += s.s;
      break;
    case Type::kFloat:
      k += std::to_string(s.f);
      break;
    case Type::kBool:
      k += s.b ? "1" : "0";
      break;
    case Type::kNil:
      break;
    default:
      k += std::to_string(s.i);
  }
  return k;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Evaluation

struct Program::Regexes {
  std::map<const Node*, std::unique_ptr<RE2>> by_node;  // the regex literal's comparison node
};

namespace {

using SpanSets = std::vector<SpanSet>;

class Evaluator {
 public:
  Evaluator(const TraceView& t, const std::map<const Node*, std::unique_ptr<RE2>>& res)
      : t_(t), res_(res) {}

  SpanSets Stage(const Node& n, const SpanSets& in) {
    switch (n.kind) {
      case NodeKind::kSpansetFilter:
        return Filter(n, in);
      case NodeKind::kSpansetOp: {
        SpanSets out;
        for (const SpanSet& s : in) {
          const SpanSets one{s};
          SpanSet r = Combine(n.op, Stage(*n.lhs, one), Stage(*n.rhs, one));
          if (r.spans.empty()) continue;
          r.attributes = s.attributes;
          out.push_back(std::move(r));
        }
        return out;
      }
      case NodeKind::kPipeline: {
        SpanSets cur = in;
        for (const NodePtr& item : n.items) {
          if (cur.empty()) break;
          cur = Stage(*item, cur);
        }
        return cur;
      }
      case NodeKind::kScalarFilter:
        return ScalarFilter(n, in);
      case NodeKind::kGroupBy:
        return GroupBy(n, in);
      case NodeKind::kCoalesce: {
        SpanSet all;
        for (const SpanSet& s : in)
          all.spans.insert(all.spans.end(), s.spans.begin(), s.spans.end());
        Normalize(&all.spans);
        if (all.spans.empty()) return {};
        return {std::move(all)};
      }
      case NodeKind::kSelect:
        return in;
      default:
        return {};  // an aggregate alone is a scalar, not a stage
    }
  }

 private:
  static void Normalize(std::vector<uint32_t>* v) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }

  SpanSets Filter(const Node& n, const SpanSets& in) {
    SpanSets out;
    for (const SpanSet& s : in) {
      SpanSet r;
      r.attributes = s.attributes;
      if (n.lhs == nullptr) {
        r.spans = s.spans;
      } else {
        for (uint32_t i : s.spans) {
          if (Truthy(Field(*n.lhs, static_cast<int32_t>(i)))) r.spans.push_back(i);
        }
      }
      if (!r.spans.empty()) out.push_back(std::move(r));
    }
    return out;
  }

  static bool Truthy(const Val& v) { return !v.is_list && v.s.type == Type::kBool && v.s.b; }

  static std::vector<uint32_t> Union(const SpanSets& sets) {
    std::vector<uint32_t> all;
    for (const SpanSet& s : sets) all.insert(all.end(), s.spans.begin(), s.spans.end());
    Normalize(&all);
    return all;
  }

  // Walks from span i to its ancestors (not i itself); `fn` returns false to stop.
  template <typename Fn>
  void Ancestors(int32_t i, Fn fn) const {
    const auto& spans = t_.spans();
    int32_t p = spans[i].parent;
    for (size_t steps = 0; p >= 0 && steps <= spans.size(); ++steps) {
      if (!fn(p)) return;
      p = spans[p].parent;
    }
  }

  SpanSet Combine(Op op, const SpanSets& lhs, const SpanSets& rhs) {
    SpanSet out;
    const std::vector<uint32_t> a = Union(lhs), b = Union(rhs);
    switch (op) {
      case Op::kSpansetAnd:
        if (!a.empty() && !b.empty()) {
          out.spans = a;
          out.spans.insert(out.spans.end(), b.begin(), b.end());
          Normalize(&out.spans);
        }
        return out;
      case Op::kSpansetUnion:
        out.spans = a;
        out.spans.insert(out.spans.end(), b.begin(), b.end());
        Normalize(&out.spans);
        return out;
      default:
        break;
    }
    const auto& spans = t_.spans();
    const size_t n = spans.size();
    std::vector<char> in_a(n, 0), in_b(n, 0);
    // Spans the nested-set walk did not reach (under a missing parent, or on a cycle) are in no
    // relation, as in Tempo, where their nested-set numbers are 0.
    const auto placed = [&](uint32_t i) { return spans[i].left != 0; };
    for (uint32_t i : a) in_a[i] = placed(i);
    for (uint32_t i : b) in_b[i] = placed(i);
    // b_ok[j]: B span j is related to some A span; a_ok[i]: A span i is related to some B span.
    std::vector<char> b_ok(n, 0), a_ok(n, 0);
    Op base = op;
    bool negated = false, both = false;
    switch (op) {
      case Op::kNotChild:
        base = Op::kChild;
        negated = true;
        break;
      case Op::kNotParent:
        base = Op::kParent;
        negated = true;
        break;
      case Op::kNotDescendant:
        base = Op::kDescendant;
        negated = true;
        break;
      case Op::kNotAncestor:
        base = Op::kAncestor;
        negated = true;
        break;
      case Op::kNotSibling:
        base = Op::kSibling;
        negated = true;
        break;
      case Op::kUnionChild:
        base = Op::kChild;
        both = true;
        break;
      case Op::kUnionParent:
        base = Op::kParent;
        both = true;
        break;
      case Op::kUnionDescendant:
        base = Op::kDescendant;
        both = true;
        break;
      case Op::kUnionAncestor:
        base = Op::kAncestor;
        both = true;
        break;
      case Op::kUnionSibling:
        base = Op::kSibling;
        both = true;
        break;
      default:
        break;
    }
    switch (base) {
      case Op::kChild:  // b's parent is in A
        for (uint32_t j : b) {
          if (!in_b[j]) continue;
          const int32_t p = spans[j].parent;
          if (p >= 0 && in_a[p]) {
            b_ok[j] = 1;
            a_ok[p] = 1;
          }
        }
        break;
      case Op::kParent:  // b is the parent of an A span
        for (uint32_t i : a) {
          if (!in_a[i]) continue;
          const int32_t p = spans[i].parent;
          if (p >= 0 && in_b[p]) {
            b_ok[p] = 1;
            a_ok[i] = 1;
          }
        }
        break;
      case Op::kDescendant:  // b has an ancestor in A
        for (uint32_t j : b) {
          if (!in_b[j]) continue;
          Ancestors(static_cast<int32_t>(j), [&](int32_t p) {
            if (in_a[p]) {
              b_ok[j] = 1;
              a_ok[p] = 1;
            }
            return true;
          });
        }
        break;
      case Op::kAncestor:  // b is an ancestor of an A span
        for (uint32_t i : a) {
          if (!in_a[i]) continue;
          Ancestors(static_cast<int32_t>(i), [&](int32_t p) {
            if (in_b[p]) {
              b_ok[p] = 1;
              a_ok[i] = 1;
            }
            return true;
          });
        }
        break;
      case Op::kSibling: {  // same nested-set parent (roots share -1), not the same span
        absl::flat_hash_map<int32_t, int32_t> a_per_parent, b_per_parent;
        for (uint32_t i : a) {
          if (in_a[i]) a_per_parent[spans[i].nested_parent]++;
        }
        for (uint32_t j : b) {
          if (in_b[j]) b_per_parent[spans[j].nested_parent]++;
        }
        for (uint32_t j : b) {
          if (!in_b[j]) continue;
          const auto it = a_per_parent.find(spans[j].nested_parent);
          if (it != a_per_parent.end() && it->second - (in_a[j] ? 1 : 0) > 0) b_ok[j] = 1;
        }
        for (uint32_t i : a) {
          if (!in_a[i]) continue;
          const auto it = b_per_parent.find(spans[i].nested_parent);
          if (it != b_per_parent.end() && it->second - (in_b[i] ? 1 : 0) > 0) a_ok[i] = 1;
        }
        break;
      }
      default:
        return out;
    }
    for (uint32_t j : b) {
      if (negated ? !b_ok[j] : b_ok[j]) out.spans.push_back(j);
    }
    if (both) {
      for (uint32_t i : a) {
        if (a_ok[i]) out.spans.push_back(i);
      }
    }
    Normalize(&out.spans);
    return out;
  }

  // The scalar of `n` over span set `s`; `spans_out` (when a pipeline operand is evaluated)
  // receives the spans the pipeline kept.
  Static Scalar(const Node& n, const SpanSet& s, std::vector<uint32_t>* spans_out) {
    switch (n.kind) {
      case NodeKind::kStatic:
        return n.value;
      case NodeKind::kAggregate:
        return Aggregate(n, s.spans);
      case NodeKind::kScalarOp: {
        const Static l = Scalar(*n.lhs, s, spans_out);
        const Static r = Scalar(*n.rhs, s, spans_out);
        return Arith(n.op, l, r);
      }
      case NodeKind::kPipeline: {
        if (n.items.empty()) return Static{};
        SpanSets cur{s};
        for (size_t k = 0; k + 1 < n.items.size() && !cur.empty(); ++k) {
          cur = Stage(*n.items[k], cur);
        }
        const std::vector<uint32_t> all = Union(cur);
        if (spans_out != nullptr) spans_out->insert(spans_out->end(), all.begin(), all.end());
        const Node& last = *n.items.back();
        if (last.kind != NodeKind::kAggregate) return Static{};
        return Aggregate(last, all);
      }
      default:
        return Static{};
    }
  }

  Static Aggregate(const Node& n, const std::vector<uint32_t>& spans) {
    if (n.fn == AggregateFn::kCount) return MakeInt(static_cast<int64_t>(spans.size()));
    bool any = false, all_int = true, all_duration = true;
    double sum = 0, mn = 0, mx = 0;
    size_t count = 0;
    for (uint32_t i : spans) {
      const Val v = Field(*n.lhs, static_cast<int32_t>(i));
      if (v.is_list || !IsNumber(v.s.type)) continue;
      const double x = AsDouble(v.s);
      if (v.s.type != Type::kInt) all_int = false;
      if (v.s.type != Type::kDuration) all_duration = false;
      if (!any) {
        mn = mx = x;
        any = true;
      }
      mn = std::min(mn, x);
      mx = std::max(mx, x);
      sum += x;
      ++count;
    }
    if (!any) return Static{};
    double r = 0;
    switch (n.fn) {
      case AggregateFn::kAvg:
        r = sum / static_cast<double>(count);
        break;
      case AggregateFn::kMin:
        r = mn;
        break;
      case AggregateFn::kMax:
        r = mx;
        break;
      default:
        r = sum;
    }
    if (n.fn != AggregateFn::kAvg && (all_int || all_duration)) {
      Static s;
      s.type = all_duration ? Type::kDuration : Type::kInt;
      s.i = static_cast<int64_t>(r);
      return s;
    }
    if (n.fn == AggregateFn::kAvg && all_duration) return MakeDuration(static_cast<int64_t>(r));
    return MakeFloat(r);
  }

  SpanSets ScalarFilter(const Node& n, const SpanSets& in) {
    SpanSets out;
    for (const SpanSet& s : in) {
      std::vector<uint32_t> kept;
      const Static l = Scalar(*n.lhs, s, &kept);
      const Static r = Scalar(*n.rhs, s, &kept);
      if (!CompareScalar(n.op, l, r, nullptr)) continue;
      SpanSet o;
      o.attributes = s.attributes;
      // Tempo adds each aggregate's value to the span set, named as written (`count()`,
      // `avg(duration)`).
      for (const auto& [node, value] : {std::pair(n.lhs.get(), &l), std::pair(n.rhs.get(), &r)}) {
        if (node->kind == NodeKind::kAggregate) o.attributes.emplace_back(Print(*node), *value);
      }
      const bool pipeline_operand =
          n.lhs->kind == NodeKind::kPipeline || n.rhs->kind == NodeKind::kPipeline;
      if (pipeline_operand) {
        Normalize(&kept);
        o.spans = std::move(kept);
      } else {
        o.spans = s.spans;
      }
      if (!o.spans.empty()) out.push_back(std::move(o));
    }
    return out;
  }

  SpanSets GroupBy(const Node& n, const SpanSets& in) {
    SpanSets out;
    const std::string name = "by(" + Print(*n.lhs) + ")";
    for (const SpanSet& s : in) {
      std::map<std::string, size_t> index;
      const size_t first = out.size();
      for (uint32_t i : s.spans) {
        const Val v = Field(*n.lhs, static_cast<int32_t>(i));
        const Static key = v.is_list ? (v.list.empty() ? Static{} : v.list[0]) : v.s;
        const auto [it, fresh] = index.emplace(GroupKey(key), out.size());
        if (fresh) {
          SpanSet g;
          g.attributes = s.attributes;
          g.attributes.emplace_back(name, key);
          out.push_back(std::move(g));
        }
        out[it->second].spans.push_back(i);
      }
      (void)first;
    }
    return out;
  }

  // ---- field expressions on one span ----

  Val Field(const Node& n, int32_t i) {
    switch (n.kind) {
      case NodeKind::kStatic: {
        Val v;
        v.s = n.value;
        return v;
      }
      case NodeKind::kAttribute:
        return Attr(n.attr, i);
      case NodeKind::kUnary: {
        const Val x = Field(*n.lhs, i);
        Val v;
        if (x.is_list) return v;
        if (n.op == Op::kNot) {
          if (x.s.type == Type::kBool) v.s = MakeBool(!x.s.b);
        } else if (IsNumber(x.s.type)) {
          v.s = x.s;
          if (x.s.type == Type::kFloat) {
            v.s.f = -x.s.f;
          } else {
            v.s.i = -x.s.i;
          }
        }
        return v;
      }
      case NodeKind::kBinary:
        return Binary(n, i);
      default:
        return Val{};
    }
  }

  Val Binary(const Node& n, int32_t i) {
    Val v;
    switch (n.op) {
      case Op::kAnd: {
        const Val l = Field(*n.lhs, i);
        if (!Truthy(l)) {
          v.s = MakeBool(false);
          return v;
        }
        v.s = MakeBool(Truthy(Field(*n.rhs, i)));
        return v;
      }
      case Op::kOr: {
        const Val l = Field(*n.lhs, i);
        if (Truthy(l)) {
          v.s = MakeBool(true);
          return v;
        }
        v.s = MakeBool(Truthy(Field(*n.rhs, i)));
        return v;
      }
      case Op::kEq:
      case Op::kNeq:
      case Op::kRegex:
      case Op::kNotRegex:
      case Op::kGt:
      case Op::kGte:
      case Op::kLt:
      case Op::kLte: {
        const bool lnil = n.lhs->kind == NodeKind::kStatic && n.lhs->value.type == Type::kNil;
        const bool rnil = n.rhs->kind == NodeKind::kStatic && n.rhs->value.type == Type::kNil;
        if (lnil || rnil) {
          // `x = nil`: x is missing; `x != nil`: x is present.
          const Val other = Field(lnil ? *n.rhs : *n.lhs, i);
          const bool missing = other.nil();
          v.s = MakeBool(n.op == Op::kEq ? missing : (n.op == Op::kNeq ? !missing : false));
          return v;
        }
        const auto it = res_.find(&n);
        const RE2* re = it == res_.end() ? nullptr : it->second.get();
        // An unscoped attribute compared directly matches when the span's or the resource's
        // value does (Tempo pushes the comparison to both scopes).
        const auto unscoped = [](const Node& x) {
          return x.kind == NodeKind::kAttribute && x.attr.scope == Scope::kNone;
        };
        if (unscoped(*n.lhs) || unscoped(*n.rhs)) {
          const bool left = unscoped(*n.lhs);
          const Node& attr = left ? *n.lhs : *n.rhs;
          const Val other = Field(left ? *n.rhs : *n.lhs, i);
          for (const Scope scope : {Scope::kSpan, Scope::kResource}) {
            Attribute a = attr.attr;
            a.scope = scope;
            const Val x = Attr(a, i);
            if (left ? CompareVals(n.op, x, other, re) : CompareVals(n.op, other, x, re)) {
              v.s = MakeBool(true);
              return v;
            }
          }
          v.s = MakeBool(false);
          return v;
        }
        const Val l = Field(*n.lhs, i);
        const Val r = Field(*n.rhs, i);
        v.s = MakeBool(CompareVals(n.op, l, r, re));
        return v;
      }
      default: {
        const Val l = Field(*n.lhs, i);
        const Val r = Field(*n.rhs, i);
        if (l.is_list || r.is_list) return v;
        v.s = Arith(n.op, l.s, r.s);
        return v;
      }
    }
  }

  Val Attr(const Attribute& a, int32_t i) {
    const auto& spans = t_.spans();
    if (a.parent) {
      i = spans[i].parent;
      if (i < 0) return Val{};
    }
    const SpanRef& r = spans[i];
    const tpb::Span& s = *r.span;
    Val v;
    switch (a.scope) {
      case Scope::kSpan:
      case Scope::kResource:
      case Scope::kNone: {
        if (a.scope != Scope::kResource) {
          if (const cpb::KeyValue* kv = FindKey(s.attributes(), a.name))
            return FromAnyVal(kv->value());
        }
        if (a.scope != Scope::kSpan) {
          if (const cpb::KeyValue* kv = FindKey(r.resource->resource().attributes(), a.name)) {
            return FromAnyVal(kv->value());
          }
        }
        return v;
      }
      case Scope::kInstrumentation:
        if (const cpb::KeyValue* kv = FindKey(r.scope->scope().attributes(), a.name)) {
          return FromAnyVal(kv->value());
        }
        return v;
      case Scope::kEvent:
        v.is_list = true;
        for (const tpb::Span::Event& e : s.events()) {
          if (const cpb::KeyValue* kv = FindKey(e.attributes(), a.name))
            AppendAny(kv->value(), &v.list);
        }
        return Listed(std::move(v));
      case Scope::kLink:
        v.is_list = true;
        for (const tpb::Span::Link& l : s.links()) {
          if (const cpb::KeyValue* kv = FindKey(l.attributes(), a.name))
            AppendAny(kv->value(), &v.list);
        }
        return Listed(std::move(v));
      case Scope::kIntrinsic:
        return IntrinsicVal(a.intrinsic, i);
    }
    return v;
  }

  static Val Listed(Val v) {
    if (v.list.empty()) return Val{};
    return v;
  }

  Val IntrinsicVal(Intrinsic which, int32_t i) {
    const auto& spans = t_.spans();
    const SpanRef& r = spans[i];
    const tpb::Span& s = *r.span;
    Val v;
    switch (which) {
      case Intrinsic::kDuration:
        v.s = MakeDuration(SpanDuration(s));
        break;
      case Intrinsic::kName:
        v.s = MakeString(s.name());
        break;
      case Intrinsic::kStatus:
        v.s.type = Type::kStatus;
        v.s.i = static_cast<int64_t>(StatusOf(s));
        break;
      case Intrinsic::kStatusMessage:
        v.s = MakeString(s.status().message());
        break;
      case Intrinsic::kKind:
        v.s.type = Type::kKind;
        v.s.i = static_cast<int64_t>(KindOf(s));
        break;
      case Intrinsic::kChildCount:
        v.s = MakeInt(r.child_count);
        break;
      case Intrinsic::kParent:
        if (r.parent >= 0) v.s = MakeInt(spans[r.parent].left);
        break;
      case Intrinsic::kTraceRootSpan:
        if (t_.root() >= 0) v.s = MakeString(spans[t_.root()].span->name());
        break;
      case Intrinsic::kTraceRootService:
        if (t_.root() >= 0) v.s = MakeString(ServiceOf(*spans[t_.root()].resource));
        break;
      case Intrinsic::kTraceDuration:
        v.s = MakeDuration(static_cast<int64_t>(t_.end_unix_nano() - t_.start_unix_nano()));
        break;
      case Intrinsic::kNestedSetLeft:
        v.s = MakeInt(r.left);
        break;
      case Intrinsic::kNestedSetRight:
        v.s = MakeInt(r.right);
        break;
      case Intrinsic::kNestedSetParent:
        v.s = MakeInt(r.nested_parent);
        break;
      case Intrinsic::kTraceID:
        v.s = MakeString(Hex(s.trace_id()));
        break;
      case Intrinsic::kSpanID:
        v.s = MakeString(Hex(s.span_id()));
        break;
      case Intrinsic::kParentID:
        if (!s.parent_span_id().empty()) v.s = MakeString(Hex(s.parent_span_id()));
        break;
      case Intrinsic::kEventName:
        v.is_list = true;
        for (const tpb::Span::Event& e : s.events()) v.list.push_back(MakeString(e.name()));
        return Listed(std::move(v));
      case Intrinsic::kEventTimeSinceStart:
        v.is_list = true;
        for (const tpb::Span::Event& e : s.events()) {
          v.list.push_back(MakeDuration(static_cast<int64_t>(e.time_unix_nano()) -
                                        static_cast<int64_t>(s.start_time_unix_nano())));
        }
        return Listed(std::move(v));
      case Intrinsic::kLinkTraceID:
        v.is_list = true;
        for (const tpb::Span::Link& l : s.links()) v.list.push_back(MakeString(Hex(l.trace_id())));
        return Listed(std::move(v));
      case Intrinsic::kLinkSpanID:
        v.is_list = true;
        for (const tpb::Span::Link& l : s.links()) v.list.push_back(MakeString(Hex(l.span_id())));
        return Listed(std::move(v));
      case Intrinsic::kInstrumentationName:
        if (r.scope->has_scope()) v.s = MakeString(r.scope->scope().name());
        break;
      case Intrinsic::kInstrumentationVersion:
        if (r.scope->has_scope()) v.s = MakeString(r.scope->scope().version());
        break;
      case Intrinsic::kNone:
        break;
    }
    return v;
  }

  const TraceView& t_;
  const std::map<const Node*, std::unique_ptr<RE2>>& res_;

 public:
  Static Value(const Attribute& a, int32_t i) {
    const Val v = Attr(a, i);
    if (v.is_list) return v.list.empty() ? Static{} : v.list[0];
    return v.s;
  }
};

// ---- compile-time walks ----

void AddUnique(std::vector<std::string>* v, const std::string& s) {
  if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
}

// Collects the attributes a query reads and compiles its literal regexes.
void Walk(const Node& n, Plan* plan, std::vector<Attribute>* shown,
          std::map<const Node*, std::unique_ptr<RE2>>* res) {
  if (n.kind == NodeKind::kSpansetOp && n.op != Op::kSpansetAnd && n.op != Op::kSpansetUnion) {
    plan->refs.needs_structure = true;
  }
  if (n.kind == NodeKind::kAttribute) {
    const Attribute& a = n.attr;
    AddAttributeRefs(a, &plan->refs);
    if (std::find(shown->begin(), shown->end(), a) == shown->end()) shown->push_back(a);
  }
  if ((n.kind == NodeKind::kBinary) && (n.op == Op::kRegex || n.op == Op::kNotRegex) &&
      n.rhs != nullptr && n.rhs->kind == NodeKind::kStatic && n.rhs->value.type == Type::kString) {
    RE2::Options o;
    o.set_log_errors(false);
    auto re = std::make_unique<RE2>(n.rhs->value.s, o);
    if (re->ok()) res->emplace(&n, std::move(re));
  }
  if (n.lhs) Walk(*n.lhs, plan, shown, res);
  if (n.rhs) Walk(*n.rhs, plan, shown, res);
  for (const NodePtr& item : n.items) Walk(*item, plan, shown, res);
}

Op Mirror(Op op) {
  switch (op) {
    case Op::kGt:
      return Op::kLt;
    case Op::kGte:
      return Op::kLte;
    case Op::kLt:
      return Op::kGt;
    case Op::kLte:
      return Op::kGte;
    default:
      return op;
  }
}

// The conditions a span must meet for the filter expression `f` to be true on it: the
// comparisons of a conjunction between a column (an attribute or a span intrinsic with a
// column) and a literal (nil tests excluded); nothing for what cannot be pushed down.
void FilterConditions(const Node& f, std::vector<TraceCondition>* out) {
  if (f.kind == NodeKind::kBinary && f.op == Op::kAnd) {
    FilterConditions(*f.lhs, out);
    FilterConditions(*f.rhs, out);
    return;
  }
  if (f.kind != NodeKind::kBinary) return;
  switch (f.op) {
    case Op::kEq:
    case Op::kNeq:
    case Op::kRegex:
    case Op::kNotRegex:
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte:
      break;
    default:
      return;
  }
  const Node* attr = nullptr;
  const Node* lit = nullptr;
  Op op = f.op;
  if (f.lhs->kind == NodeKind::kAttribute && f.rhs->kind == NodeKind::kStatic) {
    attr = f.lhs.get();
    lit = f.rhs.get();
  } else if (f.rhs->kind == NodeKind::kAttribute && f.lhs->kind == NodeKind::kStatic &&
             op != Op::kRegex && op != Op::kNotRegex) {
    attr = f.rhs.get();
    lit = f.lhs.get();
    op = Mirror(op);
  } else {
    return;
  }
  if (lit->value.type == Type::kNil) return;
  const Attribute& a = attr->attr;
  if (a.parent) return;
  TraceCondition c;
  c.op = op;
  c.value = lit->value;
  if (a.scope == Scope::kIntrinsic) {
    switch (a.intrinsic) {
      case Intrinsic::kName:
        c.target = TraceCondition::Target::kName;
        break;
      case Intrinsic::kStatusMessage:
        c.target = TraceCondition::Target::kStatusMessage;
        break;
      case Intrinsic::kStatus:
        c.target = TraceCondition::Target::kStatus;
        break;
      case Intrinsic::kKind:
        c.target = TraceCondition::Target::kKind;
        break;
      case Intrinsic::kDuration:
        c.target = TraceCondition::Target::kDuration;
        break;
      default:
        return;  // trace-level and other intrinsics: not a condition on one span's column
    }
  } else {
    c.target = TraceCondition::Target::kAttribute;
    c.scope = a.scope;
    c.key = a.name;
  }
  if (op == Op::kRegex || op == Op::kNotRegex) {
    if (c.value.type != Type::kString) return;
    RE2::Options o;
    o.set_log_errors(false);
    auto re = std::make_shared<RE2>(c.value.s, o);
    if (!re->ok()) return;
    c.re = std::move(re);
  }
  out->push_back(std::move(c));
}

// The conditions every trace the spanset expression `n` matches meets.
void SpansetConditions(const Node& n, std::vector<TraceCondition>* out) {
  switch (n.kind) {
    case NodeKind::kSpansetFilter:
      if (n.lhs) FilterConditions(*n.lhs, out);
      return;
    case NodeKind::kSpansetOp:
      switch (n.op) {
        case Op::kSpansetUnion:
          return;  // either side
        case Op::kNotChild:
        case Op::kNotParent:
        case Op::kNotDescendant:
        case Op::kNotAncestor:
        case Op::kNotSibling:
          SpansetConditions(*n.rhs, out);  // the B spans are there
          return;
        default:
          SpansetConditions(*n.lhs, out);
          SpansetConditions(*n.rhs, out);
          return;
      }
    case NodeKind::kPipeline:
      // Every stage that filters spans narrows the spans of the first; a trace matching the
      // pipeline has spans passing every filter stage.
      for (const NodePtr& item : n.items) {
        if (item->kind == NodeKind::kSpansetFilter || item->kind == NodeKind::kSpansetOp ||
            item->kind == NodeKind::kPipeline) {
          SpansetConditions(*item, out);
        }
      }
      return;
    default:
      return;  // scalar filters at the top: `count() = 0`-like forms say nothing safe
  }
}

}  // namespace

void AddAttributeRefs(const Attribute& a, QueryRefs* refs) {
  if (a.parent) refs->needs_structure = true;
  switch (a.scope) {
    case Scope::kSpan:
      AddUnique(&refs->span_keys, a.name);
      break;
    case Scope::kResource:
      AddUnique(&refs->resource_keys, a.name);
      break;
    case Scope::kNone:
      AddUnique(&refs->span_keys, a.name);
      AddUnique(&refs->resource_keys, a.name);
      break;
    case Scope::kEvent:
    case Scope::kLink:
    case Scope::kInstrumentation:
      refs->needs_events_links_scope = true;
      break;
    case Scope::kIntrinsic:
      switch (a.intrinsic) {
        case Intrinsic::kEventName:
        case Intrinsic::kEventTimeSinceStart:
        case Intrinsic::kLinkTraceID:
        case Intrinsic::kLinkSpanID:
        case Intrinsic::kInstrumentationName:
        case Intrinsic::kInstrumentationVersion:
          refs->needs_events_links_scope = true;
          break;
        case Intrinsic::kParent:
        case Intrinsic::kChildCount:
        case Intrinsic::kNestedSetLeft:
        case Intrinsic::kNestedSetRight:
        case Intrinsic::kNestedSetParent:
          refs->needs_structure = true;
          break;
        default:
          break;
      }
      break;
  }
}

bool TraceCondition::Matches(const Static& v) const {
  return CompareScalar(op, v, value, re.get());
}

absl::StatusOr<std::unique_ptr<Program>> Program::Compile(Query query) {
  if (query.root == nullptr) return absl::InvalidArgumentError("empty TraceQL query");
  if (query.metrics != nullptr)
    return absl::InvalidArgumentError(std::string(kMetricsQueryInSearch));
  std::unique_ptr<Program> p(new Program());
  p->query_ = std::move(query);
  auto regexes = std::make_shared<Regexes>();
  Walk(*p->query_.root, &p->plan_, &p->shown_, &regexes->by_node);
  p->regexes_ = std::move(regexes);
  SpansetConditions(*p->query_.root, &p->plan_.conditions);
  for (const Hint& h : p->query_.hints) {
    if (h.name == "most_recent" && h.value.type == Type::kBool && h.value.b) p->most_recent_ = true;
  }
  return p;
}

std::vector<SpanSet> Program::Evaluate(const TraceView& trace) const {
  if (trace.spans().empty()) return {};
  SpanSet all;
  all.spans.resize(trace.spans().size());
  for (uint32_t i = 0; i < all.spans.size(); ++i) all.spans[i] = i;
  Evaluator e(trace, regexes_->by_node);
  std::vector<SpanSet> out = e.Stage(*query_.root, {std::move(all)});
  // Only a pipeline or a spanset expression produces sets; an empty set is no match.
  out.erase(
      std::remove_if(out.begin(), out.end(), [](const SpanSet& s) { return s.spans.empty(); }),
      out.end());
  return out;
}

Static Program::AttributeValue(const TraceView& trace, uint32_t i, const Attribute& a) {
  static const std::map<const Node*, std::unique_ptr<RE2>> kNoRegexes;
  Evaluator e(trace, kNoRegexes);
  return e.Value(a, static_cast<int32_t>(i));
}

std::vector<cpb::KeyValue> Program::SpanAttributes(const TraceView& trace, uint32_t i) const {
  std::vector<cpb::KeyValue> out;
  const SpanRef& r = trace.spans()[i];
  const tpb::Span& s = *r.span;
  const auto has = [&](std::string_view key) {
    for (const cpb::KeyValue& kv : out) {
      if (kv.key() == key) return true;
    }
    return false;
  };
  for (const Attribute& a : shown_) {
    if (a.parent) continue;
    switch (a.scope) {
      case Scope::kSpan:
      case Scope::kResource:
      case Scope::kNone: {
        if (has(a.name)) break;
        const cpb::KeyValue* kv = nullptr;
        if (a.scope != Scope::kResource) kv = FindKey(s.attributes(), a.name);
        if (kv == nullptr && a.scope != Scope::kSpan) {
          kv = FindKey(r.resource->resource().attributes(), a.name);
        }
        if (kv != nullptr) out.push_back(*kv);
        break;
      }
      case Scope::kIntrinsic: {
        cpb::KeyValue kv;
        switch (a.intrinsic) {
          case Intrinsic::kStatus:
            kv.set_key("status");
            kv.mutable_value()->set_string_value(std::string(StatusText(StatusOf(s))));
            break;
          case Intrinsic::kKind:
            kv.set_key("kind");
            kv.mutable_value()->set_string_value(std::string(KindText(KindOf(s))));
            break;
          case Intrinsic::kStatusMessage:
            kv.set_key("statusMessage");
            kv.mutable_value()->set_string_value(s.status().message());
            break;
          default:
            continue;
        }
        if (!has(kv.key())) out.push_back(std::move(kv));
        break;
      }
      default:
        break;
    }
  }
  return out;
}

}  // namespace sprout::traces::traceql
