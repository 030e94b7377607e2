#include "metrics/promql/printer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <vector>

#include "base/go_format.h"
#include "metrics/promql/functions.h"
#include "base/go_text.h"

namespace sprout::metrics::promql {
namespace {

constexpr size_t kMaxCharactersPerLine = 100;

bool IsLegacyName(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Go's %q, except that U+FFFD is written as \ufffd: Prometheus 2.42 writes the character itself,
// which its lexer then refuses ("invalid UTF-8 rune"), so its formatted query does not parse.
std::string Quote(std::string_view s) {
  std::string q = GoQuote(s);
  for (size_t i = q.find("\xEF\xBF\xBD"); i != std::string::npos; i = q.find("\xEF\xBF\xBD", i)) {
    q.replace(i, 3, "\\ufffd");
  }
  return q;
}

// Whether a metric name can be written before the braces: a classic name that the lexer does not
// turn into a number or a keyword that cannot name a metric (a quoted name such as {"on"} or
// {"Inf"} stays quoted).
bool IsBareMetricName(std::string_view name) {
  if (!IsLegacyName(name, true)) return false;
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word :
       {"inf", "nan", "on", "ignoring", "group_left", "group_right", "bool", "atan2"}) {
    if (lower == word) return false;
  }
  return true;
}

std::string LabelName(std::string_view name) {
  return IsLegacyName(name, false) ? std::string(name) : Quote(name);
}

// A label of by/without/on/ignoring/group_x: quoted also when the lexer would make it a number
// or `without` (the one keyword the grammar does not take as a label there).
std::string GroupingLabel(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "inf" || lower == "nan" || lower == "without") return Quote(name);
  return LabelName(name);
}

std::string JoinLabels(const std::vector<std::string>& labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += GroupingLabel(labels[i]);
  }
  return out;
}

std::string AtAndOffset(AtKind at, int64_t at_ms, int64_t offset_ms) {
  std::string out;
  if (at == AtKind::kTimestamp) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " @ %.3f", static_cast<double>(at_ms) / 1000.0);
    out += buf;
  } else if (at == AtKind::kStart) {
    out += " @ start()";
  } else if (at == AtKind::kEnd) {
    out += " @ end()";
  }
  if (offset_ms > 0) {
    out += " offset " + FormatDuration(offset_ms);
  } else if (offset_ms < 0) {
    out += " offset -" + FormatDuration(-offset_ms);
  }
  return out;
}

// The selector without its @ and offset.
std::string SelectorBody(const Expr& e) {
  std::vector<std::string> parts;
  for (const LabelMatcher& m : e.matchers) {
    if (m.name == "__name__" && m.type == MatchType::kEqual && m.value == e.metric_name) continue;
    parts.push_back(LabelName(m.name) + std::string(MatchTypeString(m.type)) + Quote(m.value));
  }
  std::sort(parts.begin(), parts.end());
  std::string out;
  const bool quoted_name = !e.metric_name.empty() && !IsBareMetricName(e.metric_name);
  if (!quoted_name) out = e.metric_name;
  if (quoted_name) parts.insert(parts.begin(), Quote(e.metric_name));
  if (parts.empty()) return out;
  out += "{";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += ",";
    out += parts[i];
  }
  out += "}";
  return out;
}

std::string MatchingString(const Expr& e) {
  const VectorMatching* vm = e.matching.get();
  const bool grouped =
      vm && (vm->card == Cardinality::kManyToOne || vm->card == Cardinality::kOneToMany);
  // Prometheus 2.42 also drops a group_x after an empty ignoring(), which changes the query's
  // meaning; Sprout keeps it (docs/promql-compatibility.md).
  if (!vm || (vm->matching_labels.empty() && !vm->on && !grouped)) return "";
  std::string out =
      std::string(vm->on ? " on (" : " ignoring (") + JoinLabels(vm->matching_labels) + ")";
  if (vm->card == Cardinality::kManyToOne || vm->card == Cardinality::kOneToMany) {
    out += std::string(vm->card == Cardinality::kManyToOne ? " group_left (" : " group_right (") +
           JoinLabels(vm->include) + ")";
  }
  return out;
}

std::string AggregateOpText(const Expr& e) {
  std::string out(AggregateOpString(e.aggregate_op));
  if (e.without) {
    out += " without (" + JoinLabels(e.grouping) + ") ";
  } else if (!e.grouping.empty()) {
    out += " by (" + JoinLabels(e.grouping) + ") ";
  }
  return out;
}

std::string SubquerySuffix(const Expr& e) {
  std::string out = "[" + FormatDuration(e.range_ms) + ":";
  if (e.step_ms != 0) out += FormatDuration(e.step_ms);
  out += "]";
  out += AtAndOffset(e.at, e.at_ms, e.offset_ms);
  return out;
}

// A +Inf literal as the left operand of '^' is written "Inf": Prometheus writes "+Inf", which
// parses back as a unary plus over the whole power ("+Inf ^ 2" is +(Inf ^ 2)), a different tree
// whose text grows a '+' on every round.
bool IsPlusInfPowOperand(const Expr& bin) {
  return bin.binary_op == BinaryOp::kPow && bin.lhs->kind == NodeKind::kNumber &&
         std::isinf(bin.lhs->number) && bin.lhs->number > 0;
}

std::string Indent(int level) { return std::string(static_cast<size_t>(level) * 2, ' '); }

std::string Pretty(const Expr& e, int level) {
  const std::string flat = ToString(e);
  const bool split = flat.size() > kMaxCharactersPerLine;
  switch (e.kind) {
    case NodeKind::kAggregate: {
      if (!split) return Indent(level) + flat;
      std::string out = Indent(level) + AggregateOpText(e) + "(\n";
      if (e.param) out += Pretty(*e.param, level + 1) + ",\n";
      out += Pretty(*e.expr, level + 1) + "\n" + Indent(level) + ")";
      return out;
    }
    case NodeKind::kBinary: {
      if (!split) return Indent(level) + flat;
      std::string op(BinaryOpString(e.binary_op));
      if (e.return_bool) op += " bool";
      const std::string lhs =
          IsPlusInfPowOperand(e) ? Indent(level + 1) + "Inf" : Pretty(*e.lhs, level + 1);
      return lhs + "\n" + Indent(level) + op + MatchingString(e) + "\n" + Pretty(*e.rhs, level + 1);
    }
    case NodeKind::kCall: {
      if (!split) return Indent(level) + flat;
      std::string out = Indent(level) + std::string(e.func->name) + "(\n";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) out += ",\n";
        out += Pretty(*e.args[i], level + 1);
      }
      out += "\n" + Indent(level) + ")";
      return out;
    }
    case NodeKind::kParen:
      if (!split) return Indent(level) + flat;
      return Indent(level) + "(\n" + Pretty(*e.expr, level + 1) + "\n" + Indent(level) + ")";
    case NodeKind::kSubquery:
      if (!split) return flat;
      return Pretty(*e.expr, level) + SubquerySuffix(e);
    case NodeKind::kUnary: {
      std::string child = Pretty(*e.expr, level);
      size_t b = child.find_first_not_of(" \t\n\r");
      size_t en = child.find_last_not_of(" \t\n\r");
      child = b == std::string::npos ? std::string() : child.substr(b, en - b + 1);
      return Indent(level) + (e.unary_minus ? "-" : "+") + child;
    }
    default:
      return Indent(level) + flat;
  }
}

}  // namespace

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  auto unit = [&](const char* name, int64_t mult, bool exact) {
    if (exact && ms % mult != 0) return;
    if (int64_t v = ms / mult; v > 0) {
      out += std::to_string(v) + name;
      ms -= v * mult;
    }
  };
  unit("y", 1000LL * 60 * 60 * 24 * 365, true);
  unit("w", 1000LL * 60 * 60 * 24 * 7, true);
  unit("d", 1000LL * 60 * 60 * 24, false);
  unit("h", 1000LL * 60 * 60, false);
  unit("m", 1000LL * 60, false);
  unit("s", 1000, false);
  unit("ms", 1, false);
  return out;
}

std::string FormatNumber(double v) { return GoSprintV(v); }

std::string ToString(const Expr& e) {
  switch (e.kind) {
    case NodeKind::kNumber:
      return FormatNumber(e.number);
    case NodeKind::kString:
      return Quote(e.str);
    case NodeKind::kVectorSelector:
      return SelectorBody(e) + AtAndOffset(e.at, e.at_ms, e.offset_ms);
    case NodeKind::kMatrixSelector: {
      const Expr& vs = *e.expr;
      return SelectorBody(vs) + "[" + FormatDuration(e.range_ms) + "]" +
             AtAndOffset(vs.at, vs.at_ms, vs.offset_ms);
    }
    case NodeKind::kSubquery:
      return ToString(*e.expr) + SubquerySuffix(e);
    case NodeKind::kParen:
      return "(" + ToString(*e.expr) + ")";
    case NodeKind::kUnary:
      return (e.unary_minus ? "-" : "+") + ToString(*e.expr);
    case NodeKind::kBinary:
      return (IsPlusInfPowOperand(e) ? std::string("Inf") : ToString(*e.lhs)) + " " +
             std::string(BinaryOpString(e.binary_op)) + (e.return_bool ? " bool" : "") +
             MatchingString(e) + " " + ToString(*e.rhs);
    case NodeKind::kCall: {
      std::string out = std::string(e.func->name) + "(";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) out += ", ";
        out += ToString(*e.args[i]);
      }
      return out + ")";
    }
    case NodeKind::kAggregate: {
      std::string out = AggregateOpText(e) + "(";
      if (e.param) out += ToString(*e.param) + ", ";
      return out + ToString(*e.expr) + ")";
    }
  }
  return "";
}

std::string Prettify(const Expr& e) { return Pretty(e, 0); }

}  // namespace sprout::metrics::promql
