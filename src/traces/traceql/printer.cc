#include "traces/traceql/printer.h"

#include <charconv>
#include <cstdio>
#include <string_view>

#include "traces/traceql/lexer.h"

namespace sprout::traces::traceql {

namespace {

// Binding strength of a node as an operand (higher binds tighter); 100 = atom.
int Prec(const Node& n) {
  switch (n.kind) {
    case NodeKind::kPipeline:
      return 1;
    case NodeKind::kUnary:
      return n.op == Op::kNot ? 5 : 4;
    case NodeKind::kBinary:
    case NodeKind::kSpansetOp:
    case NodeKind::kScalarFilter:
    case NodeKind::kScalarOp:
      switch (n.op) {
        case Op::kAnd:
        case Op::kOr:
        case Op::kSpansetAnd:
        case Op::kSpansetUnion:
          return 2;
        case Op::kAdd:
        case Op::kSub:
          return 4;
        case Op::kMul:
        case Op::kDiv:
        case Op::kMod:
          return 6;
        case Op::kPow:
          return 7;
        default:
          return 3;
      }
    case NodeKind::kStatic:
      // A negative number (scalar context) must not be read as a unary minus of a product.
      if ((n.value.type == Type::kInt || n.value.type == Type::kDuration) && n.value.i < 0)
        return 4;
      if (n.value.type == Type::kFloat && n.value.f < 0) return 4;
      return 100;
    default:
      return 100;
  }
}

void PrintTo(const Node& n, std::string* out);

void PrintChild(const Node& child, bool parens, std::string* out) {
  if (parens) out->push_back('(');
  PrintTo(child, out);
  if (parens) out->push_back(')');
}

// An attribute name needs quotes when Tempo's lexer would not read it back unquoted: empty, a
// quote anywhere (it starts a quoted part), or a character that ends a name.
bool NameNeedsQuotes(std::string_view name) {
  if (name.empty() || name.find('"') != std::string_view::npos) return true;
  for (const char c : name) {
    if (!IsAttributeChar(c)) return true;
  }
  return false;
}

// A quoted attribute name: only \\ and \" are escapes there (Tempo's parseQuotedAttribute).
void QuoteAttribute(std::string_view s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void Quote(std::string_view s, std::string* out) {
  out->push_back('"');
  for (const unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void PrintDuration(int64_t ns, std::string* out) {
  if (ns < 0) {
    out->push_back('-');
    // -INT64_MIN does not fit; print it in ns.
    if (ns == INT64_MIN) {
      *out += "9223372036854775808ns";
      return;
    }
    ns = -ns;
  }
  struct Unit {
    int64_t size;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{3600000000000LL, "h"}, {60000000000LL, "m"},
                                    {1000000000LL, "s"},    {1000000LL, "ms"},
                                    {1000LL, "us"},         {1LL, "ns"}};
  for (const auto& u : kUnits) {
    if (ns != 0 && ns % u.size == 0) {
      *out += std::to_string(ns / u.size) + u.name;
      return;
    }
  }
  *out += "0s";
}

void PrintAttribute(const Attribute& a, std::string* out) {
  if (a.scope == Scope::kIntrinsic) {
    *out += a.name;
    return;
  }
  if (a.parent) *out += "parent.";
  switch (a.scope) {
    case Scope::kSpan:
      *out += "span.";
      break;
    case Scope::kResource:
      *out += "resource.";
      break;
    case Scope::kEvent:
      *out += "event.";
      break;
    case Scope::kLink:
      *out += "link.";
      break;
    case Scope::kInstrumentation:
      *out += "instrumentation.";
      break;
    default:
      if (!a.parent) out->push_back('.');
      break;
  }
  // parent."span.x" must not read as parent.span.x; ."5" must not read as the float .5.
  const bool looks_scoped = a.parent && a.scope == Scope::kNone &&
                            (a.name.starts_with("span.") || a.name.starts_with("resource."));
  const bool looks_float = !a.parent && a.scope == Scope::kNone && !a.name.empty() &&
                           a.name[0] >= '0' && a.name[0] <= '9';
  if (looks_scoped || looks_float || NameNeedsQuotes(a.name)) {
    QuoteAttribute(a.name, out);
  } else {
    *out += a.name;
  }
}

void PrintBinary(const Node& n, std::string* out) {
  const int p = Prec(n);
  const bool right_assoc = n.op == Op::kPow;
  const int lp = Prec(*n.lhs);
  const int rp = Prec(*n.rhs);
  PrintChild(*n.lhs, lp < p || (lp == p && right_assoc), out);
  out->push_back(' ');
  *out += OpText(n.op);
  out->push_back(' ');
  PrintChild(*n.rhs, rp < p || (rp == p && !right_assoc), out);
}

void PrintTo(const Node& n, std::string* out) {
  switch (n.kind) {
    case NodeKind::kStatic:
      *out += PrintStatic(n.value);
      return;
    case NodeKind::kAttribute:
      PrintAttribute(n.attr, out);
      return;
    case NodeKind::kUnary: {
      *out += OpText(n.op);
      // The operand is read at the next tighter level (! reads `* / % ^`, - reads `!` and up).
      const int min = n.op == Op::kNot ? 6 : 5;
      const Node& c = *n.lhs;
      // A minus under a minus is printed "- -x" (the parser reads a minus there; parentheses
      // would nest one level per minus and a long chain would exceed kMaxDepth on re-parse).
      if (c.kind == NodeKind::kUnary && c.op == Op::kNeg && n.op == Op::kNeg) {
        *out += ' ';
        PrintChild(c, false, out);
        return;
      }
      PrintChild(c, Prec(c) < min, out);
      return;
    }
    case NodeKind::kBinary:
    case NodeKind::kSpansetOp:
    case NodeKind::kScalarFilter:
    case NodeKind::kScalarOp:
      PrintBinary(n, out);
      return;
    case NodeKind::kSpansetFilter:
      if (n.lhs) {
        *out += "{ ";
        PrintTo(*n.lhs, out);
        *out += " }";
      } else {
        *out += "{ }";
      }
      return;
    case NodeKind::kPipeline:
      for (size_t i = 0; i < n.items.size(); ++i) {
        if (i > 0) *out += " | ";
        PrintChild(*n.items[i], Prec(*n.items[i]) <= 1, out);
      }
      return;
    case NodeKind::kAggregate:
      *out += AggregateText(n.fn);
      out->push_back('(');
      if (n.lhs) PrintTo(*n.lhs, out);
      out->push_back(')');
      return;
    case NodeKind::kGroupBy:
      *out += "by(";
      PrintTo(*n.lhs, out);
      out->push_back(')');
      return;
    case NodeKind::kCoalesce:
      *out += "coalesce()";
      return;
    case NodeKind::kSelect:
      *out += "select(";
      for (size_t i = 0; i < n.items.size(); ++i) {
        if (i > 0) *out += ", ";
        PrintTo(*n.items[i], out);
      }
      out->push_back(')');
      return;
  }
}

}  // namespace

std::string PrintStatic(const Static& s) {
  std::string out;
  switch (s.type) {
    case Type::kNil:
      return "nil";
    case Type::kInt:
      return std::to_string(s.i);
    case Type::kFloat: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, s.f);
      std::string t(buf, r.ptr);
      if (t.find_first_of(".eEn") == std::string::npos) t += ".0";
      // to_chars writes "1e+20"; the lexer reads that form too.
      return t;
    }
    case Type::kString:
      Quote(s.s, &out);
      return out;
    case Type::kBool:
      return s.b ? "true" : "false";
    case Type::kDuration:
      PrintDuration(s.i, &out);
      return out;
    case Type::kStatus:
      return std::string(StatusText(static_cast<Status>(s.i)));
    case Type::kKind:
      return std::string(KindText(static_cast<Kind>(s.i)));
    case Type::kAttribute:
      return "";
  }
  return out;
}

std::string Print(const Node& n) {
  std::string out;
  PrintTo(n, &out);
  return out;
}

namespace {

void PrintMetrics(const MetricsStage& m, std::string* out) {
  *out += " | ";
  *out += MetricsFnText(m.fn);
  out->push_back('(');
  switch (m.fn) {
    case MetricsFn::kRate:
    case MetricsFn::kCountOverTime:
      break;
    case MetricsFn::kQuantileOverTime:
      PrintAttribute(m.attr, out);
      for (const double q : m.quantiles) {
        Static s;
        s.type = Type::kFloat;
        s.f = q;
        *out += ", ";
        *out += PrintStatic(s);
      }
      break;
    case MetricsFn::kCompare:
      if (m.compare_filter) PrintTo(*m.compare_filter, out);
      if (m.compare_args >= 2) *out += ", " + std::to_string(m.compare_top);
      if (m.compare_args >= 4) {
        *out += ", " + std::to_string(m.compare_start) + ", " + std::to_string(m.compare_end);
      }
      break;
    default:
      PrintAttribute(m.attr, out);
      break;
  }
  out->push_back(')');
  if (!m.by.empty()) {
    *out += " by (";
    for (size_t i = 0; i < m.by.size(); ++i) {
      if (i > 0) *out += ", ";
      PrintAttribute(m.by[i], out);
    }
    out->push_back(')');
  }
}

}  // namespace

std::string Print(const Query& q) {
  std::string out;
  if (q.root) PrintTo(*q.root, &out);
  if (q.metrics) PrintMetrics(*q.metrics, &out);
  if (q.second) {
    out += q.second->bottom ? " | bottomk(" : " | topk(";
    out += std::to_string(q.second->k);
    out.push_back(')');
  }
  if (!q.hints.empty()) {
    out += " with (";
    for (size_t i = 0; i < q.hints.size(); ++i) {
      if (i > 0) out += ", ";
      out += q.hints[i].name;
      out.push_back('=');
      out += PrintStatic(q.hints[i].value);
    }
    out.push_back(')');
  }
  return out;
}

}  // namespace sprout::traces::traceql
