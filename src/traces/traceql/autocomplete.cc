#include "traces/traceql/autocomplete.h"

#include <string>
#include <utility>
#include <vector>

#include "traces/traceql/ast.h"
#include "traces/traceql/lexer.h"
#include "traces/traceql/parser.h"
#include "traces/traceql/printer.h"

namespace sprout::traces::traceql {
namespace {

bool IsComparison(Tok t) {
  switch (t) {
    case Tok::kEq:
    case Tok::kNeq:
    case Tok::kRe:
    case Tok::kNre:
    case Tok::kGt:
    case Tok::kGte:
    case Tok::kLt:
    case Tok::kLte:
      return true;
    default:
      return false;
  }
}

// A literal that completes a matcher (Tempo's list, identifiers included: `{ .a = x }` is then
// refused by the parser, as by Tempo's).
bool IsValue(Tok t) {
  switch (t) {
    case Tok::kString:
    case Tok::kInt:
    case Tok::kFloat:
    case Tok::kDuration:
    case Tok::kTrue:
    case Tok::kFalse:
    case Tok::kNil:
    case Tok::kStatus:
    case Tok::kKind:
    case Tok::kIdentifier:
      return true;
    default:
      return false;
  }
}

bool IsNumber(Tok t) { return t == Tok::kInt || t == Tok::kFloat || t == Tok::kDuration; }
bool IsConnector(Tok t) { return t == Tok::kAnd || t == Tok::kOr; }

// The unparseable query with its unfinished matchers removed (see autocomplete.h, step 1), or ""
// when nothing is left.
std::string RemoveIncompleteMatchers(std::string_view q) {
  std::vector<Token> tokens;
  Lexer lexer(q);
  while (true) {
    Token t = lexer.Next();
    if (t.type == Tok::kEof || t.type == Tok::kError || t.type == Tok::kPipe) break;
    tokens.push_back(std::move(t));
  }
  const size_t n = tokens.size();
  std::vector<bool> removed(n, false);
  for (size_t i = 0; i < n;) {
    if (tokens[i].type != Tok::kAttribute) {
      ++i;
      continue;
    }
    if (i + 1 < n && IsComparison(tokens[i + 1].type)) {
      if (i + 2 < n && IsValue(tokens[i + 2].type)) {
        i += 3;
        continue;
      }
      if (i + 3 < n && tokens[i + 2].type == Tok::kSub && IsNumber(tokens[i + 3].type)) {
        i += 4;
        continue;
      }
      removed[i] = removed[i + 1] = true;
      i += 2;
      continue;
    }
    ++i;
  }
  // The nearest kept token before / after `i` (-1: none).
  const auto adjacent = [&](size_t i, int dir) -> long {
    for (long j = static_cast<long>(i) + dir; j >= 0 && j < static_cast<long>(n); j += dir) {
      if (!removed[j]) return j;
    }
    return -1;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; ++i) {
      if (removed[i]) continue;
      const Tok t = tokens[i].type;
      if (IsConnector(t)) {
        const long prev = adjacent(i, -1), next = adjacent(i, 1);
        if (prev < 0 || next < 0 || tokens[prev].type == Tok::kLBrace ||
            tokens[prev].type == Tok::kLParen || IsConnector(tokens[prev].type) ||
            tokens[next].type == Tok::kRBrace || tokens[next].type == Tok::kRParen ||
            IsConnector(tokens[next].type)) {
          removed[i] = true;
          changed = true;
        }
      } else if (t == Tok::kLParen) {
        // `(` with no kept token up to its `)` or the end: it goes (with its `)`).
        const long next = adjacent(i, 1);
        if (next < 0 || tokens[next].type == Tok::kRParen) {
          removed[i] = true;
          if (next >= 0) removed[next] = true;
          changed = true;
        }
      }
    }
  }
  std::string out;
  std::vector<char> open;  // unclosed '{' and '(' in order
  for (size_t i = 0; i < n; ++i) {
    if (removed[i]) continue;
    const Token& t = tokens[i];
    if (!out.empty()) out += ' ';
    out.append(q.substr(t.pos.start, t.pos.end - t.pos.start));
    if (t.type == Tok::kLBrace) open.push_back('}');
    if (t.type == Tok::kLParen) open.push_back(')');
    if ((t.type == Tok::kRBrace || t.type == Tok::kRParen) && !open.empty()) open.pop_back();
  }
  while (!open.empty()) {
    out += ' ';
    out += open.back();
    open.pop_back();
  }
  return out;
}

bool IsComparison(Op op) {
  switch (op) {
    case Op::kEq:
    case Op::kNeq:
    case Op::kRegex:
    case Op::kNotRegex:
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte:
      return true;
    default:
      return false;
  }
}

bool IsMatcher(const Node& n) {
  if (n.kind != NodeKind::kBinary || !IsComparison(n.op)) return false;
  const Node* attr = nullptr;
  const Node* lit = nullptr;
  if (n.lhs->kind == NodeKind::kAttribute && n.rhs->kind == NodeKind::kStatic) {
    attr = n.lhs.get();
    lit = n.rhs.get();
  } else if (n.lhs->kind == NodeKind::kStatic && n.rhs->kind == NodeKind::kAttribute) {
    attr = n.rhs.get();
    lit = n.lhs.get();
  }
  if (attr == nullptr) {
    // A negative literal is a unary minus over the literal in a field expression.
    const auto negated_literal = [](const Node& x) {
      return x.kind == NodeKind::kUnary && x.op == Op::kNeg && x.lhs->kind == NodeKind::kStatic;
    };
    return (n.lhs->kind == NodeKind::kAttribute && negated_literal(*n.rhs)) ||
           (n.rhs->kind == NodeKind::kAttribute && negated_literal(*n.lhs));
  }
  return !(lit->value.type == Type::kNil && n.op == Op::kNeq);
}

// The matchers of a filter expression (autocomplete.h, step 3); nullptr: matches anything.
NodePtr Narrow(NodePtr n) {
  if (n->kind == NodeKind::kBinary && (n->op == Op::kAnd || n->op == Op::kOr)) {
    NodePtr l = Narrow(std::move(n->lhs));
    NodePtr r = Narrow(std::move(n->rhs));
    if (n->op == Op::kAnd) {
      if (l == nullptr) return r;
      if (r == nullptr) return l;
    } else if (l == nullptr || r == nullptr) {
      return nullptr;
    }
    n->lhs = std::move(l);
    n->rhs = std::move(r);
    return n;
  }
  return IsMatcher(*n) ? std::move(n) : nullptr;
}

// The first spanset filter of the pipeline (step 2), or nullptr.
Node* FirstFilter(Node* n) {
  while (n->kind == NodeKind::kPipeline && !n->items.empty()) n = n->items[0].get();
  return n->kind == NodeKind::kSpansetFilter ? n : nullptr;
}

}  // namespace

std::string ExtractMatchers(std::string_view partial) {
  std::string_view q = partial;
  const auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!q.empty() && space(q.front())) q.remove_prefix(1);
  while (!q.empty() && space(q.back())) q.remove_suffix(1);
  if (q.empty()) return "";
  ParseResult parsed = Parse(q);
  if (!parsed.ok()) {
    const std::string cleaned = RemoveIncompleteMatchers(q);
    if (cleaned.empty()) return "";
    parsed = Parse(cleaned);
    if (!parsed.ok()) return "";
  }
  Node* filter = FirstFilter(parsed.query.root.get());
  if (filter == nullptr || filter->lhs == nullptr) return "";
  NodePtr matchers = Narrow(std::move(filter->lhs));
  if (matchers == nullptr) return "";
  Node out;
  out.kind = NodeKind::kSpansetFilter;
  out.lhs = std::move(matchers);
  return Print(out);
}

}  // namespace sprout::traces::traceql
