// PromQL text from a tree: Prometheus 2.42's canonical form (Expr.String()) and its
// prettifier (parser.Prettify, what /api/v1/format_query answers).
//
// Canonical form: single spaces around binary operators, `on (a, b)`, `group_left ()`,
// aggregations as `sum by (a) (x)` (the modifier before the body), matchers sorted by their text
// without spaces (`foo{a="b",c!="d"}`), strings re-quoted with Go's %q, numbers in Go's %v form
// (1e+06, +Inf, NaN), `@` timestamps as seconds with three decimals, durations in Prometheus's
// form (1h30m; weeks and years only when they divide the duration exactly: 90d stays 90d).
// Names that are not classic identifiers (the UTF-8 addition) are written quoted:
// `{"http.server.duration","service.name"="x"}`, `sum by ("service.name") (...)`.
//
// Prettify: a node whose canonical form is longer than 100 bytes is split over lines, two spaces
// of indent per level, exactly as Prometheus 2.42 does (including its quirks: a short subquery
// inside a split node is not indented).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "metrics/promql/ast.h"

namespace sprout::metrics::promql {

std::string ToString(const Expr& e);
std::string Prettify(const Expr& e);

// Prometheus's model.Duration text: "0s", "1h30m", "1w", "100ms"; y and w only when exact.
std::string FormatDuration(int64_t ms);
// Go's %v of a float64 as Prometheus prints number literals ("1e+06", "+Inf", "NaN").
std::string FormatNumber(double v);

}  // namespace sprout::metrics::promql
