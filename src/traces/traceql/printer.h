// The TraceQL printer: a tree back to canonical text that Parse() reads as the same tree.
//
// Canonical form: one space around binary operators and inside braces (`{ span.a = 1 }`,
// `{ }`), parentheses only where precedence needs them, `|` stages joined by " | ", strings in
// double quotes with Go escapes, floats in their shortest form with a '.' or exponent, durations
// in the largest exact unit (1500ms, 2h), intrinsics in the form written, attribute names quoted
// only when they hold characters that end an attribute (`span."a b"`), hints as
// ` with (name=value, ...)`.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "traces/traceql/ast.h"

namespace sprout::traces::traceql {

std::string Print(const Query& q);
std::string Print(const Node& n);
std::string PrintStatic(const Static& s);

}  // namespace sprout::traces::traceql
