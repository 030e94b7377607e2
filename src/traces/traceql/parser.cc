#include "traces/traceql/parser.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <string>
#include <utility>

#include "re2/re2.h"
#include "traces/traceql/lexer.h"
#include "traces/traceql/printer.h"

namespace sprout::traces::traceql {

namespace {

// Thrown at the first error (Tempo reports one) and caught in Parse().
struct Abort {};

bool IsNumeric(Type t) { return t == Type::kInt || t == Type::kFloat || t == Type::kDuration; }

// Tempo's "the two sides can be compared at all" rule: equal types, numbers with numbers, and
// attributes or nil with anything.
bool Matching(Type l, Type r) {
  return l == Type::kAttribute || r == Type::kAttribute || l == r ||
         (IsNumeric(l) && IsNumeric(r)) || l == Type::kNil || r == Type::kNil;
}

bool TypesValid(Op op, Type l, Type r) {
  if (l == Type::kAttribute) l = r;
  if (r == Type::kAttribute) r = l;
  if (l == Type::kAttribute) return true;  // both unknown until execution
  switch (op) {
    case Op::kAnd:
    case Op::kOr:
      return l == Type::kBool && r == Type::kBool;
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMod:
    case Op::kPow:
      return IsNumeric(l) && IsNumeric(r);
    case Op::kRegex:
    case Op::kNotRegex:
      return l == Type::kString && r == Type::kString;
    case Op::kEq:
    case Op::kNeq:
      return true;
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte:
      return (IsNumeric(l) && IsNumeric(r)) || (l == Type::kString && r == Type::kString);
    default:
      return false;
  }
}

// Field-expression binary precedence (Tempo's %left/%right lines), -1 for a non-operator.
int FieldPrec(Tok t) {
  switch (t) {
    case Tok::kAnd:
    case Tok::kOr:
      return 2;
    case Tok::kEq:
    case Tok::kNeq:
    case Tok::kRe:
    case Tok::kNre:
    case Tok::kGt:
    case Tok::kGte:
    case Tok::kLt:
    case Tok::kLte:
      return 3;
    case Tok::kAdd:
    case Tok::kSub:
      return 4;
    case Tok::kMul:
    case Tok::kDiv:
    case Tok::kMod:
      return 6;
    case Tok::kPow:
      return 7;
    default:
      return -1;
  }
}

// Pipeline-level precedence: spanset, structural and scalar operators and `|`.
int PipePrec(Tok t) {
  switch (t) {
    case Tok::kPipe:
      return 1;
    case Tok::kDesc:
    case Tok::kAnce:
    case Tok::kSibl:
    case Tok::kNotChild:
    case Tok::kNotParent:
    case Tok::kNotDesc:
    case Tok::kNotAnce:
    case Tok::kUnionChild:
    case Tok::kUnionParent:
    case Tok::kUnionDesc:
    case Tok::kUnionAnce:
    case Tok::kUnionSibl:
      return 3;
    default:
      return FieldPrec(t);
  }
}

Op FieldOp(Tok t) {
  switch (t) {
    case Tok::kAnd:
      return Op::kAnd;
    case Tok::kOr:
      return Op::kOr;
    case Tok::kEq:
      return Op::kEq;
    case Tok::kNeq:
      return Op::kNeq;
    case Tok::kRe:
      return Op::kRegex;
    case Tok::kNre:
      return Op::kNotRegex;
    case Tok::kGt:
      return Op::kGt;
    case Tok::kGte:
      return Op::kGte;
    case Tok::kLt:
      return Op::kLt;
    case Tok::kLte:
      return Op::kLte;
    case Tok::kAdd:
      return Op::kAdd;
    case Tok::kSub:
      return Op::kSub;
    case Tok::kMul:
      return Op::kMul;
    case Tok::kDiv:
      return Op::kDiv;
    case Tok::kMod:
      return Op::kMod;
    case Tok::kPow:
      return Op::kPow;
    default:
      return Op::kNone;
  }
}

// The spanset operator a token means between two spansets (kNone: none).
Op SpansetOp(Tok t) {
  switch (t) {
    case Tok::kAnd:
      return Op::kSpansetAnd;
    case Tok::kOr:
      return Op::kSpansetUnion;
    case Tok::kGt:
      return Op::kChild;
    case Tok::kLt:
      return Op::kParent;
    case Tok::kDesc:
      return Op::kDescendant;
    case Tok::kAnce:
      return Op::kAncestor;
    case Tok::kSibl:
      return Op::kSibling;
    case Tok::kNotChild:
      return Op::kNotChild;
    case Tok::kNotParent:
      return Op::kNotParent;
    case Tok::kNotDesc:
      return Op::kNotDescendant;
    case Tok::kNotAnce:
      return Op::kNotAncestor;
    case Tok::kNre:
      return Op::kNotSibling;  // `!~` lexes as not-regex
    case Tok::kUnionChild:
      return Op::kUnionChild;
    case Tok::kUnionParent:
      return Op::kUnionParent;
    case Tok::kUnionDesc:
      return Op::kUnionDescendant;
    case Tok::kUnionAnce:
      return Op::kUnionAncestor;
    case Tok::kUnionSibl:
      return Op::kUnionSibling;
    default:
      return Op::kNone;
  }
}

// What a pipeline-level operand is.
enum class Cls { kSpanset, kScalar, kStage, kCoalesce };

Cls ClassOf(const Node& n) {
  switch (n.kind) {
    case NodeKind::kSpansetFilter:
    case NodeKind::kSpansetOp:
      return Cls::kSpanset;
    case NodeKind::kPipeline:
      return n.items.back()->kind == NodeKind::kAggregate ? Cls::kScalar : Cls::kSpanset;
    case NodeKind::kScalarFilter:
    case NodeKind::kGroupBy:
    case NodeKind::kSelect:
      return Cls::kStage;
    case NodeKind::kCoalesce:
      return Cls::kCoalesce;
    default:
      return Cls::kScalar;  // aggregates, numbers, scalar arithmetic
  }
}

// Whether a field expression reads the span (an attribute or intrinsic somewhere in it).
bool ReferencesSpan(const Node& n) {
  if (n.kind == NodeKind::kAttribute) return true;
  return (n.lhs && ReferencesSpan(*n.lhs)) || (n.rhs && ReferencesSpan(*n.rhs));
}

NodePtr MakeNode(NodeKind kind, Pos pos) {
  auto n = std::make_unique<Node>();
  n->kind = kind;
  n->pos = pos;
  return n;
}

NodePtr MakeBinary(NodeKind kind, Op op, NodePtr lhs, NodePtr rhs) {
  auto n = MakeNode(kind, Pos{lhs->pos.start, rhs->pos.end});
  n->op = op;
  n->lhs = std::move(lhs);
  n->rhs = std::move(rhs);
  return n;
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in), lex_(in) {}

  ParseResult Run() {
    ParseResult r;
    try {
      Advance();
      NodePtr root = ParsePipe(0, /*top=*/true);
      const Cls c = ClassOf(*root);
      if (c == Cls::kScalar || c == Cls::kCoalesce) Unexpected();
      if (tok_.type == Tok::kPipe) {  // ParsePipe stopped before a metrics function
        Advance();
        r.query.metrics = ParseMetrics();
        if (tok_.type == Tok::kPipe) {
          Advance();
          r.query.second = ParseSecondStage();
        }
      }
      while (tok_.type == Tok::kWith) ParseHints(&r.query.hints);
      if (tok_.type != Tok::kEof) Unexpected();
      r.query.root = std::move(root);
    } catch (const Abort&) {
      r.query.root.reset();
      r.query.hints.clear();
      r.query.metrics.reset();
      r.query.second.reset();
      r.error = std::move(error_);
    }
    return r;
  }

 private:
  [[noreturn]] void Fail(int32_t pos, std::string message) {
    error_.pos = Pos{pos, pos};
    error_.message = std::move(message);
    error_.line = 1;
    int32_t line_start = 0;
    for (int32_t k = 0; k < pos && k < static_cast<int32_t>(in_.size()); ++k) {
      if (in_[k] == '\n') {
        ++error_.line;
        line_start = k + 1;
      }
    }
    error_.column = 1;
    for (int32_t k = line_start; k < pos && k < static_cast<int32_t>(in_.size()); ++k) {
      if ((static_cast<unsigned char>(in_[k]) & 0xC0) != 0x80) ++error_.column;
    }
    throw Abort{};
  }

  [[noreturn]] void Unexpected() {
    Fail(tok_.pos.start, "syntax error: unexpected " + Describe(tok_));
  }

  void Advance() {
    tok_ = lex_.Next();
    if (tok_.type == Tok::kError) Fail(tok_.pos.start, tok_.text);
  }

  void Expect(Tok t) {
    if (tok_.type != t) Unexpected();
    Advance();
  }

  // Sets a new node's height and refuses trees deeper than kMaxDepth (operator chains are
  // built in loops, not by recursion, so the recursion guard alone would not bound them).
  NodePtr Seal(NodePtr n) {
    int32_t h = 0;
    if (n->lhs) h = std::max(h, n->lhs->height);
    if (n->rhs) h = std::max(h, n->rhs->height);
    for (const auto& i : n->items) h = std::max(h, i->height);
    n->height = h + 1;
    if (n->height > kMaxDepth) Fail(n->pos.start, "query nests too deeply");
    return n;
  }

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) {
      if (++p->depth_ > kMaxDepth) p->Fail(p->tok_.pos.start, "query nests too deeply");
    }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };

  // ---- field expressions (inside `{ }`, aggregates, by()) ----

  NodePtr ParseField(int min_prec) {
    DepthGuard guard(this);
    NodePtr lhs = ParseFieldUnary();
    while (true) {
      const int p = FieldPrec(tok_.type);
      if (p < 0 || p < min_prec) break;
      const Op op = FieldOp(tok_.type);
      Advance();
      NodePtr rhs = ParseField(p == 7 ? p : p + 1);
      lhs = Seal(MakeBinary(NodeKind::kBinary, op, std::move(lhs), std::move(rhs)));
    }
    return lhs;
  }

  NodePtr ParseFieldUnary() {
    const int32_t start = tok_.pos.start;
    switch (tok_.type) {
      case Tok::kSub:
      case Tok::kNot: {
        const Op op = tok_.type == Tok::kSub ? Op::kNeg : Op::kNot;
        Advance();
        NodePtr operand = ParseField(op == Op::kNeg ? 5 : 6);
        auto n = MakeNode(NodeKind::kUnary, Pos{start, operand->pos.end});
        n->op = op;
        n->lhs = std::move(operand);
        return Seal(std::move(n));
      }
      case Tok::kLParen: {
        Advance();
        NodePtr e = ParseField(0);
        if (tok_.type != Tok::kRParen) Unexpected();
        Advance();
        return e;
      }
      case Tok::kString:
      case Tok::kInt:
      case Tok::kFloat:
      case Tok::kDuration:
      case Tok::kNil:
      case Tok::kTrue:
      case Tok::kFalse:
      case Tok::kStatus:
      case Tok::kKind: {
        auto n = MakeNode(NodeKind::kStatic, tok_.pos);
        n->value = tok_.value;
        Advance();
        return n;
      }
      case Tok::kAttribute: {
        auto n = MakeNode(NodeKind::kAttribute, tok_.pos);
        n->attr = tok_.attr;
        Advance();
        return n;
      }
      default:
        Unexpected();
    }
  }

  // Tempo's parse-time checks of a field expression. `nil` may only be compared with = / !=.
  void CheckField(const Node& n, bool nil_allowed) {
    switch (n.kind) {
      case NodeKind::kStatic:
        if (n.value.type == Type::kNil && !nil_allowed) {
          Fail(n.pos.start, "syntax error: unexpected nil");
        }
        return;
      case NodeKind::kUnary: {
        CheckField(*n.lhs, false);
        const Type t = ImpliedType(*n.lhs);
        const bool ok =
            t == Type::kAttribute || (n.op == Op::kNot ? t == Type::kBool : IsNumeric(t));
        if (!ok) Fail(n.pos.start, "illegal operation for the given type: " + Print(n));
        return;
      }
      case NodeKind::kBinary: {
        const bool nil_ok = n.op == Op::kEq || n.op == Op::kNeq;
        CheckField(*n.lhs, nil_ok);
        CheckField(*n.rhs, nil_ok);
        const Type l = ImpliedType(*n.lhs);
        const Type r = ImpliedType(*n.rhs);
        if (!Matching(l, r)) {
          Fail(n.pos.start, "binary operations must operate on the same type: " + Print(n));
        }
        if (!TypesValid(n.op, l, r)) {
          Fail(n.pos.start, "illegal operation for the given types: " + Print(n));
        }
        if ((n.op == Op::kRegex || n.op == Op::kNotRegex) && n.rhs->kind == NodeKind::kStatic &&
            n.rhs->value.type == Type::kString) {
          RE2::Options o;
          o.set_log_errors(false);
          RE2 re("^(?:" + n.rhs->value.s + ")$", o);
          if (!re.ok()) {
            Fail(n.rhs->pos.start, "error parsing regexp: " + re.error());
          }
        }
        return;
      }
      default:
        return;
    }
  }

  // ---- pipeline level ----

  // `top`: the query's outermost pipeline, which stops before `| <metrics function>` (Tempo's
  // `spansetPipeline PIPE metricsAggregation` exists only at the root).
  NodePtr ParsePipe(int min_prec, bool top = false) {
    DepthGuard guard(this);
    NodePtr lhs = ParsePipePrimary();
    while (true) {
      const int p = PipePrec(tok_.type);
      if (p < 0 || p < min_prec) break;
      if (top && tok_.type == Tok::kPipe && MetricsFollows()) break;
      const Token op = tok_;
      Advance();
      NodePtr rhs = ParsePipe(p == 7 ? p : p + 1);
      lhs = Combine(op, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  [[noreturn]] void UnexpectedOp(const Token& op) {
    Fail(op.pos.start, "syntax error: unexpected " + Describe(op));
  }

  NodePtr Combine(const Token& op, NodePtr lhs, NodePtr rhs) {
    const Cls l = ClassOf(*lhs);
    const Cls r = ClassOf(*rhs);
    if (op.type == Tok::kPipe) {
      if (l == Cls::kScalar || l == Cls::kCoalesce) UnexpectedOp(op);
      if (rhs->kind == NodeKind::kStatic || rhs->kind == NodeKind::kScalarOp) UnexpectedOp(op);
      auto n = MakeNode(NodeKind::kPipeline, Pos{lhs->pos.start, rhs->pos.end});
      for (NodePtr* side : {&lhs, &rhs}) {
        if ((*side)->kind == NodeKind::kPipeline) {
          for (auto& item : (*side)->items) n->items.push_back(std::move(item));
        } else {
          n->items.push_back(std::move(*side));
        }
      }
      // An aggregate ends a pipeline: nothing may follow it.
      for (size_t i = 0; i + 1 < n->items.size(); ++i) {
        if (n->items[i]->kind == NodeKind::kAggregate) UnexpectedOp(op);
      }
      return Seal(std::move(n));
    }
    if (l == Cls::kSpanset && r == Cls::kSpanset) {
      const Op sop = SpansetOp(op.type);
      if (sop == Op::kNone) UnexpectedOp(op);
      return Seal(MakeBinary(NodeKind::kSpansetOp, sop, std::move(lhs), std::move(rhs)));
    }
    if (l == Cls::kScalar && r == Cls::kScalar) {
      switch (op.type) {
        case Tok::kEq:
        case Tok::kNeq:
        case Tok::kGt:
        case Tok::kGte:
        case Tok::kLt:
        case Tok::kLte:
          return Seal(MakeBinary(NodeKind::kScalarFilter, FieldOp(op.type), std::move(lhs),
                                 std::move(rhs)));
        case Tok::kAdd:
        case Tok::kSub:
        case Tok::kMul:
        case Tok::kDiv:
        case Tok::kMod:
        case Tok::kPow:
          return Seal(
              MakeBinary(NodeKind::kScalarOp, FieldOp(op.type), std::move(lhs), std::move(rhs)));
        default:
          break;
      }
    }
    UnexpectedOp(op);
  }

  void ExpectLParen() { Expect(Tok::kLParen); }

  NodePtr ParsePipePrimary() {
    const Token t = tok_;
    switch (t.type) {
      case Tok::kLBrace: {
        Advance();
        auto n = MakeNode(NodeKind::kSpansetFilter, t.pos);
        if (tok_.type != Tok::kRBrace) {
          n->lhs = ParseField(0);
          if (tok_.type != Tok::kRBrace) Unexpected();
          CheckField(*n->lhs, false);
        }
        n->pos.end = tok_.pos.end;
        Advance();
        if (n->lhs) {
          const Type ty = ImpliedType(*n->lhs);
          if (ty != Type::kBool && ty != Type::kAttribute) {
            Fail(n->pos.start,
                 "span filter field expressions must resolve to a boolean: " + Print(*n));
          }
        }
        return Seal(std::move(n));
      }
      case Tok::kLParen: {
        Advance();
        NodePtr e = ParsePipe(0);
        if (tok_.type != Tok::kRParen) Unexpected();
        Advance();
        return e;
      }
      case Tok::kCount:
      case Tok::kAvg:
      case Tok::kMin:
      case Tok::kMax:
      case Tok::kSum: {
        Advance();
        auto n = MakeNode(NodeKind::kAggregate, t.pos);
        n->fn = t.type == Tok::kCount ? AggregateFn::kCount
                : t.type == Tok::kAvg ? AggregateFn::kAvg
                : t.type == Tok::kMin ? AggregateFn::kMin
                : t.type == Tok::kMax ? AggregateFn::kMax
                                      : AggregateFn::kSum;
        ExpectLParen();
        if (t.type != Tok::kCount) {
          n->lhs = ParseField(0);
          CheckField(*n->lhs, false);
        }
        n->pos.end = tok_.pos.end;
        Expect(Tok::kRParen);
        if (n->lhs) {
          const Type ty = ImpliedType(*n->lhs);
          if (!IsNumeric(ty) && ty != Type::kAttribute) {
            Fail(n->pos.start,
                 "aggregate field expressions must resolve to a number type: " + Print(*n));
          }
          if (!ReferencesSpan(*n->lhs)) {
            Fail(n->pos.start, "aggregate field expressions must reference the span: " + Print(*n));
          }
        }
        return Seal(std::move(n));
      }
      case Tok::kBy: {
        Advance();
        auto n = MakeNode(NodeKind::kGroupBy, t.pos);
        ExpectLParen();
        n->lhs = ParseField(0);
        CheckField(*n->lhs, false);
        n->pos.end = tok_.pos.end;
        Expect(Tok::kRParen);
        return Seal(std::move(n));
      }
      case Tok::kCoalesce: {
        Advance();
        auto n = MakeNode(NodeKind::kCoalesce, t.pos);
        ExpectLParen();
        n->pos.end = tok_.pos.end;
        Expect(Tok::kRParen);
        return n;
      }
      case Tok::kSelect: {
        Advance();
        auto n = MakeNode(NodeKind::kSelect, t.pos);
        ExpectLParen();
        while (true) {
          if (tok_.type != Tok::kAttribute) Unexpected();
          auto a = MakeNode(NodeKind::kAttribute, tok_.pos);
          a->attr = tok_.attr;
          n->items.push_back(std::move(a));
          Advance();
          if (tok_.type != Tok::kComma) break;
          Advance();
        }
        n->pos.end = tok_.pos.end;
        Expect(Tok::kRParen);
        return n;
      }
      case Tok::kInt:
      case Tok::kFloat:
      case Tok::kDuration: {
        auto n = MakeNode(NodeKind::kStatic, t.pos);
        n->value = t.value;
        Advance();
        return n;
      }
      case Tok::kSub: {
        // `-` before a number in a scalar expression: a negative literal (Tempo's SUB INTEGER).
        Advance();
        if (tok_.type != Tok::kInt && tok_.type != Tok::kFloat && tok_.type != Tok::kDuration) {
          Unexpected();
        }
        auto n = MakeNode(NodeKind::kStatic, Pos{t.pos.start, tok_.pos.end});
        n->value = tok_.value;
        if (n->value.type == Type::kFloat) {
          n->value.f = -n->value.f;
        } else {
          n->value.i = -n->value.i;
        }
        Advance();
        return n;
      }
      default:
        Unexpected();
    }
  }

  // ---- TraceQL metrics (Tempo's metricsAggregation and metricsSecondStage) ----

  static bool MetricsFnOf(std::string_view word, MetricsFn* fn) {
    static constexpr std::pair<std::string_view, MetricsFn> kFns[] = {
        {"rate", MetricsFn::kRate},
        {"count_over_time", MetricsFn::kCountOverTime},
        {"min_over_time", MetricsFn::kMinOverTime},
        {"max_over_time", MetricsFn::kMaxOverTime},
        {"sum_over_time", MetricsFn::kSumOverTime},
        {"avg_over_time", MetricsFn::kAvgOverTime},
        {"quantile_over_time", MetricsFn::kQuantileOverTime},
        {"histogram_over_time", MetricsFn::kHistogramOverTime},
        {"compare", MetricsFn::kCompare},
    };
    for (const auto& [w, f] : kFns) {
      if (w == word) {
        *fn = f;
        return true;
      }
    }
    return false;
  }

  // The token after the current `|` names a metrics function (a lookahead on a copy of the
  // lexer).
  bool MetricsFollows() const {
    Lexer peek = lex_;
    const Token next = peek.Next();
    MetricsFn fn;
    return next.type == Tok::kIdentifier && MetricsFnOf(next.text, &fn);
  }

  Attribute ExpectAttribute() {
    if (tok_.type != Tok::kAttribute) Unexpected();
    Attribute a = tok_.attr;
    Advance();
    return a;
  }

  int64_t ExpectInt() {
    if (tok_.type != Tok::kInt) Unexpected();
    const int64_t v = tok_.value.i;
    Advance();
    return v;
  }

  // Go's %v of a float64 (shortest representation: 1.5, 2, 1e+21).
  static std::string GoFloat(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    std::string s(buf, end);
    // std::to_chars writes 1e+21 as Go does; exponents below -4 as 1e-05 (Go: 1e-05).
    return s;
  }

  std::unique_ptr<MetricsStage> ParseMetrics() {
    auto m = std::make_unique<MetricsStage>();
    m->pos = tok_.pos;
    if (tok_.type != Tok::kIdentifier || !MetricsFnOf(tok_.text, &m->fn)) Unexpected();
    Advance();
    ExpectLParen();
    switch (m->fn) {
      case MetricsFn::kRate:
      case MetricsFn::kCountOverTime:
        break;
      case MetricsFn::kQuantileOverTime:
        m->attr = ExpectAttribute();
        Expect(Tok::kComma);
        while (true) {
          if (tok_.type == Tok::kInt) {
            m->quantiles.push_back(static_cast<double>(tok_.value.i));
          } else if (tok_.type == Tok::kFloat) {
            m->quantiles.push_back(tok_.value.f);
          } else {
            Unexpected();
          }
          Advance();
          if (tok_.type != Tok::kComma) break;
          Advance();
        }
        break;
      case MetricsFn::kCompare: {
        if (tok_.type != Tok::kLBrace) Unexpected();
        m->compare_filter = ParsePipePrimary();
        if (tok_.type == Tok::kComma) {
          Advance();
          m->compare_top = ExpectInt();
          m->compare_args = 2;
          if (tok_.type == Tok::kComma) {
            Advance();
            m->compare_start = ExpectInt();
            Expect(Tok::kComma);
            m->compare_end = ExpectInt();
            m->compare_args = 4;
          }
        }
        break;
      }
      default:
        m->attr = ExpectAttribute();
        break;
    }
    m->pos.end = tok_.pos.end;
    Expect(Tok::kRParen);
    if (m->fn != MetricsFn::kCompare && tok_.type == Tok::kBy) {
      Advance();
      ExpectLParen();
      while (true) {
        m->by.push_back(ExpectAttribute());
        if (tok_.type != Tok::kComma) break;
        Advance();
      }
      m->pos.end = tok_.pos.end;
      Expect(Tok::kRParen);
    }
    // Tempo's checks of the stage (MetricsAggregate / MetricsCompare validate()).
    const int32_t at = m->pos.start;
    for (const double q : m->quantiles) {
      if (q < 0 || q > 1) Fail(at, "quantile must be between 0 and 1: " + GoFloat(q));
    }
    // Tempo keys series by at most 5 values; quantile and histogram keep one for the bucket.
    constexpr size_t kMaxGroupBys = 5;
    const bool bucketed =
        m->fn == MetricsFn::kQuantileOverTime || m->fn == MetricsFn::kHistogramOverTime;
    if (m->by.size() > kMaxGroupBys || (bucketed && m->by.size() >= kMaxGroupBys)) {
      Fail(at, "metrics group by " + std::to_string(m->by.size()) + " values not yet supported");
    }
    if (m->fn == MetricsFn::kCompare) {
      if (m->compare_top <= 0) {
        Fail(at, "compare() top number of values must be integer greater than 0");
      }
      if (m->compare_start != 0 || m->compare_end != 0) {
        if (m->compare_start <= 0 || m->compare_end <= 0) {
          Fail(at, "compare() timestamps must be positive integer unix nanoseconds");
        }
        if (m->compare_end <= m->compare_start) {
          Fail(at, "compare() end timestamp must be greater than start timestamp");
        }
      }
    }
    return m;
  }

  std::unique_ptr<SecondStage> ParseSecondStage() {
    auto s = std::make_unique<SecondStage>();
    const int32_t at = tok_.pos.start;
    if (tok_.type != Tok::kIdentifier || (tok_.text != "topk" && tok_.text != "bottomk")) {
      Unexpected();
    }
    s->bottom = tok_.text == "bottomk";
    Advance();
    ExpectLParen();
    s->k = ExpectInt();
    Expect(Tok::kRParen);
    if (s->k <= 0) Fail(at, "limit must be greater than 0");
    return s;
  }

  void ParseHints(std::vector<Hint>* hints) {
    Advance();  // with
    ExpectLParen();
    while (true) {
      if (tok_.type != Tok::kIdentifier || IsTempoKeyword(tok_.text)) Unexpected();
      Hint h;
      h.name = tok_.text;
      Advance();
      Expect(Tok::kEq);
      switch (tok_.type) {
        case Tok::kString:
        case Tok::kInt:
        case Tok::kFloat:
        case Tok::kDuration:
        case Tok::kTrue:
        case Tok::kFalse:
        case Tok::kStatus:
        case Tok::kKind:
          h.value = tok_.value;
          break;
        default:
          Unexpected();
      }
      Advance();
      hints->push_back(std::move(h));
      if (tok_.type != Tok::kComma) break;
      Advance();
    }
    Expect(Tok::kRParen);
  }

  std::string_view in_;
  Lexer lex_;
  Token tok_;
  ParseError error_;
  int depth_ = 0;
};

}  // namespace

std::string ParseError::ToString() const {
  return "parse error at line " + std::to_string(line) + ", col " + std::to_string(column) + ": " +
         message;
}

ParseResult Parse(std::string_view query) { return Parser(query).Run(); }

}  // namespace sprout::traces::traceql
