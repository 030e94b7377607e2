// The TraceQL parser (issue 12): Tempo's grammar (pkg/traceql/expr.y) and its parse-time checks.
//
// Parse() returns the tree or the first error. An error has a position (line and column from 1,
// the column counted in characters as Tempo's scanner does) and a message, printed as Tempo
// prints it: "parse error at line 1, col 8: syntax error: unexpected CLOSE_BRACE" by
// ParseError::ToString(). Syntax errors name the unexpected token as Tempo's generated parser
// does; type errors use Tempo's texts ("binary operations must operate on the same type: ...",
// "illegal operation for the given types: ...", "span filter field expressions must resolve to a
// boolean: ...", "aggregate field expressions must resolve to a number type: ...") and, unlike
// Tempo's, carry the position of the offending expression. Regex literals are compiled with RE2 at
// parse time.
//
// Precedence, lowest first (Tempo's): `|`; `&&` `||` (equal, left-associative); comparisons and
// structural operators; `+ -`; unary `!`; `* / %`; `^` (right-associative). Unary `-` binds like
// `+ -`. See README.md for the grammar and the deliberate differences.
//
// Thread-safety: pure function; the returned tree is independent of `query`.
#pragma once

#include <string>
#include <string_view>

#include "traces/traceql/ast.h"

namespace sprout::traces::traceql {

// Trees deeper than this (parentheses or operator chains) are refused with "query nests too
// deeply": it bounds the recursion of the parser, the printer, Equal() and the destructors.
inline constexpr int kMaxDepth = 500;

struct ParseError {
  Pos pos;
  std::string message;
  int line = 1;
  int column = 1;
  // "parse error at line <line>, col <column>: <message>".
  std::string ToString() const;
};

struct ParseResult {
  Query query;       // query.root set on success
  ParseError error;  // meaningful when !ok()
  bool ok() const { return query.root != nullptr; }
};

ParseResult Parse(std::string_view query);

}  // namespace sprout::traces::traceql
