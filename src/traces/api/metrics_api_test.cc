// traces_metrics_api_test: the TraceQL metrics API (issue 16) — Tempo's parameters (every time
// format, since, step, exemplars), the step default table, alignment, every error text, the JSON
// and protobuf encodings (typed labels, NaN and infinities, int64 as strings), and the routes
// over a fake store with a test-only MetricsProgram. Expected values are worked out from Tempo's
// documented rules (pkg/api parseTimestamp, traceql.DefaultQueryRangeStep / AlignRequest, the
// query frontend's checks), not from sprout's output.
#include "traces/api/metrics_api.h"

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "net/http_message.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "traces/api/traces_api.h"

namespace sprout::traces {
namespace {

using traceql::MetricsLabel;
using traceql::MetricsRange;
using traceql::MetricsResult;
using traceql::Static;
using traceql::Type;

constexpr uint64_t kSec = 1000000000ull;
const absl::Time kNow = absl::FromUnixSeconds(1700003600);  // 2023-11-14T23:13:20Z

net::QueryParams Form(const std::string& query) {
  absl::StatusOr<net::QueryParams> f = net::ParseQuery(query);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : net::QueryParams();
}

absl::StatusOr<MetricsQueryRequest> Range(const std::string& query,
                                          const MetricsQueryLimits& limits = {}) {
  return ParseMetricsParams(Form(query), /*instant=*/false, kNow, limits);
}
absl::StatusOr<MetricsQueryRequest> Instant(const std::string& query,
                                            const MetricsQueryLimits& limits = {}) {
  return ParseMetricsParams(Form(query), /*instant=*/true, kNow, limits);
}

std::string Error(const absl::StatusOr<MetricsQueryRequest>& r) {
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

TEST(MetricsParams, DefaultStepTable) {
  // The reference's ladder (tempo.md §3): (end − start) / 240 floored to a multiple of the first
  // of 1 h, 5 m, 1 m, 15 s, 5 s, 1 s strictly below it; under a minute, 50 ms multiples.
  const struct {
    uint64_t range_s, step_ms;
  } table[] = {{10, 50},
               {30, 100},
               {59, 200},
               {60, 1000},
               {100, 1000},
               {420, 1000},
               {600, 2000},
               {1199, 4000},
               {1200, 5000},
               {1800, 5000},
               {3600, 15000},
               {3660, 15000},
               {7200, 30000},
               {6 * 3600, 60000},
               {12 * 3600, 180000},
               {86400, 300000},
               {86400 + 1199, 300000},
               {7 * 86400, 2400000},
               {30 * 86400, 10800000}};
  for (const auto& t : table) {
    EXPECT_EQ(DefaultQueryRangeStep(1000 * kSec, (1000 + t.range_s) * kSec), t.step_ms * 1000000)
        << t.range_s << " s";
  }
  EXPECT_EQ(DefaultQueryRangeStep(5 * kSec, 5 * kSec), 50 * 1000000ull);
}

TEST(MetricsParams, TimeFormats) {
  struct Case {
    std::string value;
    uint64_t ns;
  };
  const Case cases[] = {
      {"1700000000", 1700000000 * kSec},                   // unix seconds (10 digits)
      {"170000000", 170000000 * kSec},                     // fewer digits: seconds too
      {"1700000000123456789", 1700000000123456789ull},     // unix nanoseconds
      {"1700000000.5", 1700000000 * kSec + 500000000},     // float seconds
      {"1700000000.1234", 1700000000 * kSec + 123000000},  // rounded to ms
      {"2023-11-14T22:13:20Z", 1700000000 * kSec},         // RFC3339
      {"2023-11-14T22:13:20.25Z", 1700000000 * kSec + 250000000},
      {"2023-11-14T23:13:20.5+01:00", 1700000000 * kSec + 500000000},
  };
  MetricsQueryLimits no_max;
  no_max.max_duration = absl::ZeroDuration();
  for (const Case& c : cases) {
    // As start of an instant query (no alignment), end 1 s after the latest case; `+` escaped
    // as a client must (a bare `+` in a query string is a space).
    std::string value = c.value;
    if (size_t plus = value.find('+'); plus != std::string::npos) value.replace(plus, 1, "%2B");
    absl::StatusOr<MetricsQueryRequest> r =
        Instant("q=x&start=" + value + "&end=1700000001", no_max);
    ASSERT_TRUE(r.ok()) << c.value << ": " << r.status();
    EXPECT_EQ(r->range.start_ns, c.ns) << c.value;
    EXPECT_EQ(r->range.end_ns, 1700000001 * kSec);
    EXPECT_EQ(r->range.step_ns, r->range.end_ns - r->range.start_ns);
    EXPECT_TRUE(r->range.instant);
    EXPECT_EQ(r->range.max_exemplars, 0u);
  }
  // `+` in a query string is a space; RFC3339 offsets are sent escaped.
  absl::StatusOr<MetricsQueryRequest> r =
      Instant("q=x&start=2023-11-14T23%3A13%3A20%2B01%3A00&end=1700000001");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->range.start_ns, 1700000000 * kSec);
}

TEST(MetricsParams, DefaultsSinceAndQueryParameter) {
  // No start/end: [now − 1h, now].
  absl::StatusOr<MetricsQueryRequest> r = Instant("q={}|rate()");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->query, "{}|rate()");
  EXPECT_EQ(r->range.end_ns, 1700003600 * kSec);
  EXPECT_EQ(r->range.start_ns, 1700000000 * kSec);
  // since: Prometheus durations, from min(end, now).
  const struct {
    std::string since;
    uint64_t seconds;
  } since[] = {{"30m", 1800}, {"1h30m", 5400}, {"90s", 90}, {"1500ms", 1}};
  for (const auto& s : since) {
    r = Instant("q=x&since=" + s.since);
    ASSERT_TRUE(r.ok()) << s.since;
    EXPECT_EQ(r->range.end_ns - r->range.start_ns,
              s.since == "1500ms" ? 1500000000ull : s.seconds * kSec)
        << s.since;
  }
  // An end in the past: start = end − since; in the future: start = now − since.
  r = Instant("q=x&since=10m&end=1700001000");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->range.start_ns, (1700001000 - 600) * kSec);
  MetricsQueryLimits no_max;
  no_max.max_duration = absl::ZeroDuration();
  r = Instant("q=x&since=10m&end=1800000000", no_max);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->range.start_ns, (1700003600 - 600) * kSec);
  EXPECT_EQ(r->range.end_ns, 1800000000 * kSec);
  // `q` wins over Prometheus-style `query`.
  r = Range("query=a&q=b&start=1700000000&end=1700000060&step=1s");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->query, "b");
  r = Range("query=a&start=1700000000&end=1700000060&step=1s");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->query, "a");
}

TEST(MetricsParams, PrometheusDurations) {
  const struct {
    std::string text;
    absl::Duration d;
  } ok[] = {{"1y", absl::Hours(24 * 365)},
            {"2w", absl::Hours(24 * 14)},
            {"3d", absl::Hours(72)},
            {"1d12h", absl::Hours(36)},
            {"5m30s", absl::Seconds(330)},
            {"100ms", absl::Milliseconds(100)},
            {"1h0m0s1ms", absl::Hours(1) + absl::Milliseconds(1)},
            {"0", absl::ZeroDuration()}};
  for (const auto& c : ok) {
    absl::StatusOr<absl::Duration> d = ParsePrometheusDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(*d, c.d) << c.text;
  }
  for (const std::string bad : {"1x", "h", "1m1h", "1h1h", "-1h", "1.5h", "1h "}) {
    absl::StatusOr<absl::Duration> d = ParsePrometheusDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().message(), "not a valid duration string: \"" + bad + "\"");
  }
  EXPECT_EQ(ParsePrometheusDuration("").status().message(), "empty duration string");
  EXPECT_EQ(ParsePrometheusDuration("300y").status().message(), "duration out of range");
  EXPECT_EQ(ParsePrometheusDuration("99999999999999999999s").status().message(),
            "not a valid duration string: \"99999999999999999999s\"");  // not a uint64
  EXPECT_TRUE(ParsePrometheusDuration("290y").ok());
}

TEST(MetricsParams, StepsAndAlignment) {
  // A given step: Go durations or float seconds. start rounded down to the step, end up, then
  // one step earlier for a whole first bucket.
  const struct {
    std::string step;
    uint64_t step_ns;
  } steps[] = {{"10s", 10 * kSec}, {"10", 10 * kSec},    {"1m", 60 * kSec},
               {"0.5", kSec / 2},  {"1m30s", 90 * kSec}, {"1.5s", 1500000000}};
  for (const auto& s : steps) {
    absl::StatusOr<MetricsQueryRequest> r =
        Range("q=x&start=1700000007&end=1700000593&step=" + s.step);
    ASSERT_TRUE(r.ok()) << s.step << ": " << r.status();
    const uint64_t st = s.step_ns;
    EXPECT_EQ(r->range.step_ns, st);
    const uint64_t start = 1700000007 * kSec, end = 1700000593 * kSec;
    const uint64_t aligned_end = end % st == 0 ? end : end + st - end % st;
    EXPECT_EQ(r->range.start_ns, start - start % st - st) << s.step;
    EXPECT_EQ(r->range.end_ns, aligned_end) << s.step;
    EXPECT_FALSE(r->range.instant);
  }
  // Worked by hand: 10 s steps over [..07 s, ..93 s] → [1699999990 s, 1700000100 s).
  absl::StatusOr<MetricsQueryRequest> r = Range("q=x&start=1700000007&end=1700000093&step=10s");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->range.start_ns, 1699999990 * kSec);
  EXPECT_EQ(r->range.end_ns, 1700000100 * kSec);
  // No step: the default for the (unaligned) range, 1 h → 15 s.
  r = Range("q=x&start=1700000000&end=1700003600");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->range.step_ns, 15 * kSec);
  // 1700000000 = 15 × 113333333 + 5: down to 1699999995, one step earlier; end up by 10 s.
  EXPECT_EQ(r->range.start_ns, 1699999980 * kSec);
  EXPECT_EQ(r->range.end_ns, 1700003610 * kSec);
  // Instant: never aligned.
  r = Instant("q=x&start=1700000007&end=1700000093");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->range.start_ns, 1700000007 * kSec);
  EXPECT_EQ(r->range.end_ns, 1700000093 * kSec);
  EXPECT_EQ(r->range.step_ns, 86 * kSec);
}

TEST(MetricsParams, Exemplars) {
  const std::string base = "q=x&start=1700000000&end=1700000600&step=10s";
  EXPECT_EQ(Range(base)->range.max_exemplars, 100u);  // max_exemplars when absent
  EXPECT_EQ(Range(base + "&exemplars=5")->range.max_exemplars, 5u);
  EXPECT_EQ(Range(base + "&exemplars=0")->range.max_exemplars, 0u);
  EXPECT_EQ(Range(base + "&exemplars=1000")->range.max_exemplars, 100u);  // capped
  EXPECT_EQ(Range(base + "&exemplars=many")->range.max_exemplars, 100u);  // ignored
  MetricsQueryLimits limits;
  limits.max_exemplars = 7;
  EXPECT_EQ(Range(base + "&exemplars=50", limits)->range.max_exemplars, 7u);
}

TEST(MetricsParams, ErrorTexts) {
  EXPECT_EQ(Error(Range("q=x&since=1x")),
            "could not parse 'since' parameter: not a valid duration string: \"1x\"");
  EXPECT_EQ(Error(Range("q=x&end=abc")),
            "could not parse 'end' parameter: strconv.ParseInt: parsing \"abc\": invalid syntax");
  EXPECT_EQ(Error(Range("q=x&start=2023-13-01T00:00:00Z")),
            "could not parse 'start' parameter: strconv.ParseInt: parsing "
            "\"2023-13-01T00:00:00Z\": invalid syntax");
  EXPECT_EQ(Error(Range("q=x&start=99999999999999999999")),
            "could not parse 'start' parameter: strconv.ParseInt: parsing "
            "\"99999999999999999999\": value out of range");
  EXPECT_EQ(Error(Range("q=x&start=1700000000&end=1700000600&step=abc")),
            "cannot parse \"abc\" to a valid duration");
  EXPECT_EQ(Error(Range("q=x&start=1700000600&end=1700000000&step=10s")),
            "end must be greater than start");
  EXPECT_EQ(Error(Instant("q=x&start=1700000600&end=1700000000")),
            "end must be greater than start");
  // max_duration (24 h): exactly 24 h passes, one second more does not.
  EXPECT_TRUE(Range("q=x&start=1700000000&end=1700086400&step=60s").ok());
  EXPECT_EQ(Error(Range("q=x&start=1700000000&end=1700086401&step=60s")),
            "metrics query time range exceeds the maximum allowed duration of 24h0m0s");
  EXPECT_EQ(Error(Instant("q=x&start=1700000000&end=1700086401")),
            "metrics query time range exceeds the maximum allowed duration of 24h0m0s");
  MetricsQueryLimits limits;
  limits.max_duration = absl::Hours(3);
  EXPECT_EQ(Error(Range("q=x&start=1700000000&end=1700014400&step=60s", limits)),
            "metrics query time range exceeds the maximum allowed duration of 3h0m0s");
  limits.max_duration = absl::ZeroDuration();  // no maximum: 48 h with its default step
  absl::StatusOr<MetricsQueryRequest> r = Range("q=x&start=1700000000&end=1700172800", limits);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->range.step_ns, 600 * kSec);  // 720 s floored to 5 m
  // max_intervals (10000): 24 h at 1 s is 86400 points; the minimum step is 8.64 s.
  EXPECT_EQ(Error(Range("q=x&start=1700000000&end=1700086400&step=1s")),
            "step of 1s is too small, minimum step for given range is 8.64s");
  EXPECT_TRUE(Range("q=x&start=1700000000&end=1700086400&step=8.64").ok());
  EXPECT_EQ(Error(Range("q=x&start=1700000000&end=1700003600&step=0")),
            "step of 0s is too small, minimum step for given range is 360ms");
  // Extreme values: clamped or refused, never wrapped.
  EXPECT_EQ(Error(Range("q=x&start=1700000000&end=1700000600&step=1e10")),
            "cannot parse \"1e10\" to a valid duration. It overflows int64");
  EXPECT_EQ(Error(Range("q=x&start=1700000000&end=1700000600&step=1e-12")),
            "step of 0s is too small, minimum step for given range is 60ms");
  EXPECT_EQ(Error(Range("q=x&since=300y")),
            "could not parse 'since' parameter: duration out of range");
  EXPECT_EQ(Error(Range("q=x&start=-5&end=9999999999&step=1h")),  // [0, year 2286]
            "metrics query time range exceeds the maximum allowed duration of 24h0m0s");
  EXPECT_EQ(Error(Instant("q=x&start=1700000000&end=1700000000")),
            "step of 0s is too small, minimum step for given range is 0s");
}

MetricsLabel L(std::string key, Static v) { return MetricsLabel{std::move(key), std::move(v)}; }
Static Str(std::string s) {
  Static v;
  v.type = Type::kString;
  v.s = std::move(s);
  return v;
}
Static Int(int64_t i, Type t = Type::kInt) {
  Static v;
  v.type = t;
  v.i = i;
  return v;
}
Static Float(double f) {
  Static v;
  v.type = Type::kFloat;
  v.f = f;
  return v;
}
Static Bool(bool b) {
  Static v;
  v.type = Type::kBool;
  v.b = b;
  return v;
}

MetricsResult Sample() {
  MetricsResult r;
  traceql::MetricsSeries s;
  s.labels = {L("resource.service.name", Str("shop")),
              L("span.http.status_code", Int(500)),
              L("p", Float(0.9)),
              L("span.cached", Bool(true)),
              L("span.none", Static()),
              L("duration", Int(1500000, Type::kDuration)),
              L("status", Int(static_cast<int64_t>(traceql::Status::kError), Type::kStatus)),
              L("kind", Int(static_cast<int64_t>(traceql::Kind::kServer), Type::kKind))};
  s.samples = {{1700000000000, 1.5},
               {1700000015000, 0},
               {1700000030000, std::numeric_limits<double>::quiet_NaN()},
               {1700000045000, std::numeric_limits<double>::infinity()},
               {1700000060000, -std::numeric_limits<double>::infinity()},
               {1700000075000, 1e-7}};
  traceql::MetricsExemplar e;
  e.labels = {L("trace:id", Str("0102030405060708090a0b0c0d0e0f10")),
              L("span:id", Str("0102030405060708"))};
  e.value = 0.25;
  e.timestamp_ms = 1700000001234;
  s.exemplars.push_back(e);
  r.series.push_back(s);
  traceql::MetricsSeries empty;  // instant: a series without samples is left out
  empty.labels = {L("resource.service.name", Str(""))};
  r.series.push_back(empty);
  r.stats.inspected_traces = 3;
  r.stats.inspected_bytes = 4096;
  r.stats.inspected_spans = 12;
  r.stats.total_blocks = 2;
  r.stats.total_block_bytes = 1 << 20;
  r.stats.completed_jobs = 5;
  r.stats.total_jobs = 5;
  return r;
}

const char kLabelsJson[] =
    R"("labels":[{"key":"resource.service.name","value":{"stringValue":"shop"}},)"
    R"({"key":"span.http.status_code","value":{"intValue":"500"}},)"
    R"({"key":"p","value":{"doubleValue":0.9}},)"
    R"({"key":"span.cached","value":{"boolValue":true}},)"
    R"({"key":"span.none","value":{"stringValue":"nil"}},)"
    R"({"key":"duration","value":{"intValue":"1500000"}},)"
    R"({"key":"status","value":{"stringValue":"error"}},)"
    R"({"key":"kind","value":{"stringValue":"server"}}])";
const char kPromLabels[] =
    R"({duration=\"1.5ms\", kind=\"server\", p=\"0.9\", resource.service.name=\"shop\", )"
    R"(span.cached=\"true\", span.http.status_code=\"int(500)\", span.none=\"<nil>\", )"
    R"(status=\"error\"})";
const char kMetricsJson[] =
    R"("metrics":{"inspectedTraces":3,"inspectedBytes":"4096","totalBlocks":2,"completedJobs":5,)"
    R"("totalJobs":5,"totalBlockBytes":"1048576","inspectedSpans":"12"})";

TEST(MetricsJson, RangeResponseAsTempoJsonpb) {
  const std::string want =
      std::string(R"({"series":[{)") + kLabelsJson +
      R"(,"samples":[{"timestampMs":"1700000000000","value":1.5},)"
      R"({"timestampMs":"1700000015000","value":0},)"
      R"({"timestampMs":"1700000030000","value":"NaN"},)"
      R"({"timestampMs":"1700000045000","value":"Infinity"},)"
      R"({"timestampMs":"1700000060000","value":"-Infinity"},)"
      R"({"timestampMs":"1700000075000","value":1e-7}],)"
      R"("promLabels":")" +
      kPromLabels +
      R"(","exemplars":[{"labels":[{"key":"trace:id","value":{"stringValue":)"
      R"("0102030405060708090a0b0c0d0e0f10"}},{"key":"span:id","value":{"stringValue":)"
      R"("0102030405060708"}}],"value":0.25,"timestampMs":"1700000001234"}]},)"
      R"({"labels":[{"key":"resource.service.name","value":{"stringValue":""}}],)"
      R"("promLabels":"{resource.service.name=\"<empty>\"}"}],)" +
      kMetricsJson + "}";
  EXPECT_EQ(MetricsRangeJson(Sample()), want);
  // No series, no figures: `series` empty, `metrics` empty.
  EXPECT_EQ(MetricsRangeJson(MetricsResult()), R"({"metrics":{}})");
  EXPECT_EQ(MetricsInstantJson(MetricsResult()), R"({"metrics":{}})");
  // A series without labels (`{} | rate()`): no `labels` key, promLabels `{}`.
  MetricsResult unlabelled;
  unlabelled.series.emplace_back();
  unlabelled.series[0].samples = {{1700000000000, 2}};
  EXPECT_EQ(MetricsRangeJson(unlabelled),
            R"({"series":[{"samples":[{"timestampMs":"1700000000000","value":2}],)"
            R"("promLabels":"{}"}],"metrics":{}})");
  // Cut at max_response_series: Tempo's PARTIAL status (enum name) and message after metrics.
  unlabelled.max_series_reached = true;
  EXPECT_EQ(MetricsRangeJson(unlabelled, 1),
            R"({"series":[{"samples":[{"timestampMs":"1700000000000","value":2}],)"
            R"("promLabels":"{}"}],"metrics":{},"status":"PARTIAL","message":"Response exceeds )"
            R"(maximum series limit of 1, a partial response is returned. Warning: the accuracy )"
            R"(of each individual value is not guaranteed."})");
}

TEST(MetricsJson, InstantResponseTakesEachSeriesValue) {
  const std::string want = std::string(R"({"series":[{)") + kLabelsJson +
                           R"(,"value":1e-7,"promLabels":")" + kPromLabels + R"("}],)" +
                           kMetricsJson + "}";
  EXPECT_EQ(MetricsInstantJson(Sample()), want);
}

TEST(MetricsJson, PromLabelsText) {
  EXPECT_EQ(PromLabelsText({}), "{}");
  EXPECT_EQ(PromLabelsText({L("b", Str("x\"y")), L("a", Float(0.004194304))}),
            R"({a="0.004194304", b="x\"y"})");
  EXPECT_EQ(PromLabelsText({L("__meta_type", Str("baseline")), L("n", Str("nil"))}),
            R"({__meta_type="baseline", n="<nil>"})");
}

TEST(MetricsJson, FinalizeSortsSeriesAndFillsPlaceholderExemplars) {
  MetricsRange range;
  range.start_ns = 1700000000 * kSec;
  range.end_ns = 1700000060 * kSec;
  range.step_ns = 15 * kSec;
  MetricsResult r;
  traceql::MetricsSeries b, a;
  b.labels = {L("resource.service.name", Str("b"))};
  a.labels = {L("resource.service.name", Str("a"))};
  a.samples = {{1700000030000, 3}, {1700000000000, 1}};  // out of order
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // In the step of the sample at ..30 s; at ..14.999 s, the step of ..00 s; at ..20 s no sample
  // in its step ([..15, ..30)): stays NaN; 0.5 is a real value, kept.
  a.exemplars = {{{}, nan, 1700000031000},
                 {{}, nan, 1700000014999},
                 {{}, nan, 1700000020000},
                 {{}, 0.5, 1700000001000}};
  r.series = {b, a};
  FinalizeMetricsResult(range, &r);
  ASSERT_EQ(r.series.size(), 2u);
  EXPECT_EQ(r.series[0].labels[0].value.s, "a");
  EXPECT_EQ(r.series[0].samples[0].timestamp_ms, 1700000000000);
  const auto& e = r.series[0].exemplars;
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].timestamp_ms, 1700000001000);
  EXPECT_EQ(e[0].value, 0.5);
  EXPECT_EQ(e[1].timestamp_ms, 1700000014999);
  EXPECT_EQ(e[1].value, 1);
  EXPECT_TRUE(std::isnan(e[2].value));
  EXPECT_EQ(e[3].value, 3);
}

// The protobuf body read back field by field (tempopb numbers).
TEST(MetricsProto, RangeAndInstantFieldNumbers) {
  google::protobuf::UnknownFieldSet top;
  ASSERT_TRUE(top.ParseFromString(MetricsRangeProto(Sample())));
  ASSERT_EQ(top.field_count(), 3);  // two series, metrics
  EXPECT_EQ(top.field(0).number(), 1);
  EXPECT_EQ(top.field(2).number(), 2);
  google::protobuf::UnknownFieldSet series;
  ASSERT_TRUE(series.ParseFromString(top.field(0).length_delimited()));
  int labels = 0, samples = 0, exemplars = 0;
  std::string prom;
  for (int i = 0; i < series.field_count(); ++i) {
    const auto& f = series.field(i);
    if (f.number() == 1) {
      opentelemetry::proto::common::v1::KeyValue kv;
      ASSERT_TRUE(kv.ParseFromString(f.length_delimited()));
      if (labels == 0) {
        EXPECT_EQ(kv.key(), "resource.service.name");
        EXPECT_EQ(kv.value().string_value(), "shop");
      }
      if (labels == 1) {
        EXPECT_EQ(kv.value().int_value(), 500);
      }
      if (labels == 2) {
        EXPECT_EQ(kv.value().double_value(), 0.9);
      }
      if (labels == 3) {
        EXPECT_TRUE(kv.value().bool_value());
      }
      ++labels;
    } else if (f.number() == 2) {
      google::protobuf::UnknownFieldSet sample;
      ASSERT_TRUE(sample.ParseFromString(f.length_delimited()));
      if (samples == 0) {
        ASSERT_EQ(sample.field_count(), 2);
        EXPECT_EQ(sample.field(0).number(), 1);                       // value (double)
        EXPECT_EQ(sample.field(0).fixed64(), 0x3FF8000000000000ull);  // 1.5
        EXPECT_EQ(sample.field(1).number(), 2);
        EXPECT_EQ(sample.field(1).varint(), 1700000000000ull);
      }
      if (samples == 1) {
        EXPECT_EQ(sample.field_count(), 1);  // value 0 is proto3's default
      }
      ++samples;
    } else if (f.number() == 3) {
      prom = f.length_delimited();
    } else if (f.number() == 4) {
      ++exemplars;
    }
  }
  EXPECT_EQ(labels, 8);
  EXPECT_EQ(samples, 6);
  EXPECT_EQ(exemplars, 1);
  EXPECT_EQ(prom.substr(0, 19), R"({duration="1.5ms", )");
  google::protobuf::UnknownFieldSet metrics;
  ASSERT_TRUE(metrics.ParseFromString(top.field(2).length_delimited()));
  ASSERT_EQ(metrics.field_count(), 7);
  EXPECT_EQ(metrics.field(0).number(), 1);
  EXPECT_EQ(metrics.field(0).varint(), 3u);
  EXPECT_EQ(metrics.field(6).number(), 7);
  EXPECT_EQ(metrics.field(6).varint(), 12u);

  google::protobuf::UnknownFieldSet instant;
  ASSERT_TRUE(instant.ParseFromString(MetricsInstantProto(Sample())));
  ASSERT_EQ(instant.field_count(), 2);  // the series with samples, metrics
  google::protobuf::UnknownFieldSet is;
  ASSERT_TRUE(is.ParseFromString(instant.field(0).length_delimited()));
  bool value_seen = false;
  for (int i = 0; i < is.field_count(); ++i) {
    if (is.field(i).number() == 2) {
      value_seen = true;
      EXPECT_EQ(is.field(i).fixed64(), 0x3E7AD7F29ABCAF48ull);  // 1e-7
    }
  }
  EXPECT_TRUE(value_seen);
}

// --- routes ---

class NoopAccumulator : public traceql::MetricsAccumulator {
 public:
  void Observe(const traceql::TraceView&) override {}
};

// A program that answers Sample() whatever it observes.
class FixedProgram : public traceql::MetricsProgram {
 public:
  explicit FixedProgram(MetricsRange range) : range_(range) {}
  const traceql::Plan& plan() const override { return plan_; }
  const MetricsRange& range() const override { return range_; }
  std::unique_ptr<traceql::MetricsAccumulator> NewAccumulator() const override {
    return std::make_unique<NoopAccumulator>();
  }
  MetricsResult Finish(std::vector<std::unique_ptr<traceql::MetricsAccumulator>>,
                       const traceql::MetricsStats& stats) const override {
    MetricsResult r = Sample();
    r.stats = stats;
    return r;
  }

 private:
  MetricsRange range_;
  traceql::Plan plan_;
};

class MetricsStore : public TraceQueryable {
 public:
  absl::StatusOr<std::optional<opentelemetry::proto::trace::v1::TracesData>> FindTraceByID(
      std::string_view, std::string_view, uint32_t, uint32_t) override {
    return std::nullopt;
  }
  absl::StatusOr<SearchResult> Search(std::string_view, const SearchRequest&) override {
    return SearchResult();
  }
  absl::StatusOr<TagNamesResult> TagNames(std::string_view, std::string_view, uint32_t, uint32_t,
                                          std::string_view) override {
    return TagNamesResult();
  }
  absl::StatusOr<TagValuesResult> TagValues(std::string_view, std::string_view, uint32_t, uint32_t,
                                            uint32_t, std::string_view) override {
    return TagValuesResult();
  }
  absl::StatusOr<MetricsResult> QueryMetrics(std::string_view tenant,
                                             const traceql::MetricsProgram& program,
                                             const std::function<bool()>& cancelled) override {
    last_tenant = std::string(tenant);
    last_range = program.range();
    had_cancel = static_cast<bool>(cancelled);
    if (!error.ok()) return error;
    std::vector<std::unique_ptr<traceql::MetricsAccumulator>> parts;
    parts.push_back(program.NewAccumulator());
    traceql::MetricsStats stats;
    stats.inspected_traces = 3;
    stats.inspected_bytes = 4096;
    stats.inspected_spans = 12;
    stats.total_blocks = 2;
    stats.total_block_bytes = 1 << 20;
    stats.completed_jobs = 5;
    stats.total_jobs = 5;
    return program.Finish(std::move(parts), stats);
  }
  std::string last_tenant;
  MetricsRange last_range;
  bool had_cancel = false;
  absl::Status error;
};

class MetricsRoutes : public ::testing::Test {
 protected:
  void Build(bool multitenancy, bool with_compiler = true) {
    TracesApiOptions o;
    o.multitenancy_enabled = multitenancy;
    o.queryable = &store_;
    o.now = [] { return kNow; };
    if (with_compiler) {
      o.compile_metrics = [this](std::string_view query, const MetricsRange& range)
          -> absl::StatusOr<std::unique_ptr<traceql::MetricsProgram>> {
        last_query_ = std::string(query);
        if (query == "{ status = error }") {
          // The engine's text for a search query (what a real Compile refuses).
          return absl::InvalidArgumentError("not a metrics query");
        }
        return std::make_unique<FixedProgram>(range);
      };
    }
    api_ = std::make_unique<TracesApi>(o);
    router_ = net::Router();
    ASSERT_TRUE(api_->Register(&router_).ok());
  }
  net::HttpResponse Serve(std::string target,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpRequest request;
    request.method = "GET";
    request.target = target;
    const size_t q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    request.headers = std::move(headers);
    net::HttpResponse response;
    net::Router::Match m = router_.Find("GET", request.path, &request.path_params);
    if (m.route == nullptr) {
      net::Router::WriteNoRoute(m, response);
      return response;
    }
    router_.Serve(*m.route, request, response);
    return response;
  }
  MetricsStore store_;
  std::string last_query_;
  std::unique_ptr<TracesApi> api_;
  net::Router router_;
};

TEST_F(MetricsRoutes, QueryRangeCompilesOnTheAlignedGridAndAnswersTempoJson) {
  Build(false);
  // Grafana's request: seconds, a step string, exemplars.
  net::HttpResponse r = Serve(
      "/api/metrics/query_range?q=%7B%7D%20%7C%20rate()&start=1700000007&end=1700000093&step=10s"
      "&exemplars=7");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(last_query_, "{} | rate()");
  EXPECT_EQ(store_.last_tenant, "single-tenant");
  EXPECT_TRUE(store_.had_cancel);
  EXPECT_EQ(store_.last_range.start_ns, 1699999990 * kSec);
  EXPECT_EQ(store_.last_range.end_ns, 1700000100 * kSec);
  EXPECT_EQ(store_.last_range.step_ns, 10 * kSec);
  EXPECT_EQ(store_.last_range.max_exemplars, 7u);
  EXPECT_EQ(store_.last_range.max_series, 0u);  // max_response_series: none by default
  EXPECT_FALSE(store_.last_range.instant);
  EXPECT_EQ(r.body, MetricsRangeJson(Sample()));

  // JSON whatever the Accept header, as Tempo's metrics routes.
  r = Serve("/api/metrics/query_range?q=x&start=1700000007&end=1700000093&step=10s",
            {{"accept", "application/protobuf"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, MetricsRangeJson(Sample()));
}

TEST_F(MetricsRoutes, InstantQuery) {
  Build(false);
  net::HttpResponse r = Serve("/api/metrics/query?q=x&start=1700000007&end=1700000093");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(store_.last_range.instant);
  EXPECT_EQ(store_.last_range.start_ns, 1700000007 * kSec);
  EXPECT_EQ(store_.last_range.step_ns, 86 * kSec);
  EXPECT_EQ(store_.last_range.max_exemplars, 0u);
  EXPECT_EQ(r.body, MetricsInstantJson(Sample()));
  r = Serve("/api/metrics/query?q=x", {{"accept", "application/protobuf"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, MetricsInstantJson(Sample()));
  EXPECT_EQ(store_.last_range.end_ns, 1700003600 * kSec);  // now
}

TEST_F(MetricsRoutes, ErrorsAre400WithTempoTextsAndStoreErrorsMapped) {
  Build(false);
  net::HttpResponse r = Serve("/api/metrics/query_range?q=x&start=1700000600&end=1700000000");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "end must be greater than start\n");
  r = Serve("/api/metrics/query_range?q=x&start=1700000000&end=1700086400&step=1s");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "step of 1s is too small, minimum step for given range is 8.64s\n");
  r = Serve("/api/metrics/query_range?q=%7B%20status%20%3D%20error%20%7D");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "not a metrics query\n");
  store_.error = absl::UnavailableError("the trace store is not started");
  r = Serve("/api/metrics/query?q=x");
  EXPECT_EQ(r.status, 503);
  store_.error = absl::CancelledError("context canceled");
  r = Serve("/api/metrics/query?q=x");
  EXPECT_EQ(r.status, 500);
}

TEST_F(MetricsRoutes, WithoutAnEngineTheRoutesSayMetricsAreNotConfigured) {
  Build(false, /*with_compiler=*/false);
  net::HttpResponse r = Serve("/api/metrics/query_range?q=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "localblocks processor not found\n");
}

TEST_F(MetricsRoutes, TenantFromTheHeaderWithMultitenancy) {
  Build(true);
  EXPECT_EQ(Serve("/api/metrics/query_range?q=x").status, 401);
  net::HttpResponse r = Serve("/api/metrics/query_range?q=x", {{"x-scope-orgid", "team-a"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(store_.last_tenant, "team-a");
}

}  // namespace
}  // namespace sprout::traces
