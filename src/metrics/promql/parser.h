// The PromQL parser: Prometheus 2.42's language and error messages, plus the later additions
// Sprout accepts (quoted UTF-8 metric and label names, limitk/limit_ratio, the later functions
// of functions.h).
//
// Parse() returns the tree or the first error, exactly as Prometheus reports it: a position
// (line and byte column, both from 1) and a message, printed as
// "1:14: parse error: unexpected ..." by ParseError::ToString(). Type checking follows the parse
// as Prometheus's does ("expected type range vector in call to function \"rate\", got instant
// vector"), so an accepted tree is well typed: every function call has its function and
// argument count, every aggregation its expression (and parameter), binary operators between a
// scalar and anything have no vector matching.
//
// Deliberate differences from 2.42 are listed in docs/promql-compatibility.md; the one that
// is not a later addition: expressions nested deeper than kMaxDepth are refused with
// "expression nests too deeply" (Prometheus's generated parser has no limit).
//
// Thread-safety: pure function; the returned tree is independent of `query`.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"
#include "metrics/promql/ast.h"

namespace sprout::metrics::promql {

inline constexpr int kMaxDepth = 1000;

struct ParseError {
  PosRange pos;
  std::string message;
  int line = 1;    // of pos.start
  int column = 1;  // bytes, from 1
  // "<line>:<column>: parse error: <message>" (Prometheus's text).
  std::string ToString() const;
};

struct ParseResult {
  ExprPtr expr;      // set on success
  ParseError error;  // meaningful when !expr
  bool ok() const { return expr != nullptr; }
};

ParseResult Parse(std::string_view query);

// Parse() as a Status: InvalidArgument with ParseError::ToString() as the message.
absl::StatusOr<ExprPtr> ParseExpr(std::string_view query);

// Go's strconv-based number literal parsing as Prometheus uses it (ParseInt base 0, then
// ParseFloat). Returns false and the strconv error text ("strconv.ParseFloat: parsing \"1e\":
// invalid syntax") on failure.
bool ParseNumberLiteral(std::string_view text, double* value, std::string* error);

// Prometheus's duration syntax ("1h30m", "5m", "100ms", units y w d h m s ms in this order);
// false with "not a valid duration string: \"...\"" or "duration out of range".
bool ParsePromDuration(std::string_view text, int64_t* ms, std::string* error);

}  // namespace sprout::metrics::promql
