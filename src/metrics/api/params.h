// Parameter parsing shared by the Prometheus-compatible read endpoints, with Prometheus's
// error texts (web/api/v1): the handlers answer `bad_data` (400) with these messages.
//
//   ParseTimeParam(form, "start", kMinTimeMs)  RFC3339 (`2024-01-02T03:04:05.123Z`) or Unix
//        seconds with an optional fraction (`1700000000.5`), in milliseconds; absent → default.
//        Error: `invalid parameter "start": cannot parse "x" to a valid timestamp`.
//   ParseLimitParam(form)  absent → 0 (no limit). Errors: `invalid parameter "limit":
//        strconv.Atoi: parsing "x": invalid syntax`, `... value out of range`,
//        `invalid parameter "limit": limit must be non-negative`.
//   ParseMatchersParam(values)  each `match[]` is a series selector (`{a="b", c=~"d"}`,
//        `metric{...}`, `metric`); parse errors as PromQL's parser words them for the common
//        cases (`1:6: parse error: unexpected end of input inside braces`), and
//        `match[] must contain at least one non-empty matcher`.
//
// ParseSeriesSelector is a small parser for series selectors only; the PromQL parser (next
// issue) may replace it. Supported: metric names, quoted label names (`{"a.b"="c"}`, and a
// bare quoted metric name `{"a.b"}`), `=`, `!=`, `=~`, `!~`, strings in "", '' and `` with Go's
// escapes, trailing commas. Regexes are checked with RE2 (their error texts are RE2's, not
// Go's).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "metrics/api/queryable.h"

namespace sprout::metrics::api {

// One label matcher of a series selector as parsed from `match[]`. Regex values are as written
// (`a.*`); matching is fully anchored, as Prometheus does (`^(?s:a.*)$`). ToMatcherSets turns
// them into the index's tsdb::Matcher for the Queryable.
struct MatcherSpec {
  enum class Op { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
  Op op = Op::kEqual;
  std::string name;
  std::string value;

  // Whether the matcher accepts an absent label (the empty value).
  bool MatchesEmpty() const;
  // `name="value"` with the operator, as PromQL writes it.
  std::string ToString() const;
  friend bool operator==(const MatcherSpec&, const MatcherSpec&) = default;
};
using MatcherSpecSet = std::vector<MatcherSpec>;

// Prometheus's MinTime and MaxTime (the defaults of start and end), in milliseconds.
inline constexpr int64_t kMinTimeMs = -9223309901257974000;
inline constexpr int64_t kMaxTimeMs = 9223309901257974999;

// A timestamp as Prometheus's parseTime takes it; error `cannot parse "x" to a valid timestamp`.
absl::StatusOr<int64_t> ParseTimestamp(std::string_view text);

// `value` of parameter `name` (empty = absent → `default_ms`), errors prefixed
// `invalid parameter "<name>": `.
absl::StatusOr<int64_t> ParseTimeParam(std::string_view name, std::string_view value,
                                       int64_t default_ms);

// The `limit` parameter: 0 when absent (no limit).
absl::StatusOr<int64_t> ParseLimitParam(std::string_view value);

// Go's strconv.Atoi on `text`, with its error texts (`strconv.Atoi: parsing "x": invalid
// syntax`).
absl::StatusOr<int64_t> GoAtoi(std::string_view text);

// One series selector → its matchers (a metric name becomes `__name__="name"`).
absl::StatusOr<MatcherSpecSet> ParseSeriesSelector(std::string_view text);
// The same without the non-empty-matcher check, as Prometheus's parser.ParseMetricSelector
// (what Mimir's cardinality `selector` goes through): `{}` gives no matcher, `{a=~".*"}` one
// that matches "".
absl::StatusOr<MatcherSpecSet> ParseMetricSelector(std::string_view text);

// Every `match[]` value (ParseMetricSelector), then the check that each set has a matcher not
// matching "" (`match[] must contain at least one non-empty matcher`), as Prometheus 2.42.
absl::StatusOr<std::vector<MatcherSpecSet>> ParseMatchersParam(
    const std::vector<std::string_view>& values);

// The parsed selectors as the index's matchers (the one conversion point). InvalidArgument with
// tsdb::Matcher's text if a regex does not compile (ParseMatchersParam has already checked).
absl::StatusOr<std::vector<MatcherSet>> ToMatcherSets(const std::vector<MatcherSpecSet>& sets);

// A label name from the `/api/v1/label/<name>/values` path: `U__` names are unescaped as
// Prometheus 3 does (`U__http_2e_status` → `http.status`, `__` → `_`). Error:
// `invalid label name: "<name>"`.
absl::StatusOr<std::string> UnescapeLabelNameParam(std::string_view name);

}  // namespace sprout::metrics::api
