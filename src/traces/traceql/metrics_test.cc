// Tests of the TraceQL metrics engine (metrics.h): traces built here with known start times,
// durations, services, statuses and attributes; every expected series and value follows from
// that construction and Tempo's documented semantics (README.md § TraceQL metrics).
#include "traces/traceql/metrics.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "traces/traceql/parser.h"
#include "traces/traceql/printer.h"

namespace sprout::traces::traceql {
namespace {

namespace tpb = opentelemetry::proto::trace::v1;
namespace cpb = opentelemetry::proto::common::v1;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;
// 2023-11-14T22:13:20Z, a multiple of every step used here.
constexpr uint64_t kT0 = 1'700'000'000 * kSec;
constexpr uint64_t kStep = 10 * kSec;

struct SpanSpec {
  std::string service = "a";
  uint64_t start_ns = kT0;
  uint64_t duration_ns = kMs;
  bool error = false;
  std::map<std::string, cpb::AnyValue> attrs;
};

cpb::AnyValue StrV(const std::string& s) {
  cpb::AnyValue v;
  v.set_string_value(s);
  return v;
}
cpb::AnyValue IntV(int64_t i) {
  cpb::AnyValue v;
  v.set_int_value(i);
  return v;
}

// One trace per call: `id` distinguishes traces; the spans are siblings under no parent.
tpb::TracesData MakeTrace(int id, const std::vector<SpanSpec>& spans) {
  tpb::TracesData td;
  std::map<std::string, tpb::ScopeSpans*> by_service;
  int n = 0;
  for (const SpanSpec& spec : spans) {
    tpb::ScopeSpans*& ss = by_service[spec.service];
    if (ss == nullptr) {
      tpb::ResourceSpans* rs = td.add_resource_spans();
      cpb::KeyValue* kv = rs->mutable_resource()->add_attributes();
      kv->set_key("service.name");
      kv->mutable_value()->set_string_value(spec.service);
      ss = rs->add_scope_spans();
    }
    tpb::Span* s = ss->add_spans();
    std::string tid(16, '\0');
    tid[14] = static_cast<char>(id >> 8);
    tid[15] = static_cast<char>(id & 0xff);
    s->set_trace_id(tid);
    std::string sid(8, '\0');
    sid[6] = static_cast<char>(++n >> 8);
    sid[7] = static_cast<char>(n & 0xff);
    s->set_span_id(sid);
    s->set_name("op");
    s->set_start_time_unix_nano(spec.start_ns);
    s->set_end_time_unix_nano(spec.start_ns + spec.duration_ns);
    s->mutable_status()->set_code(spec.error ? tpb::Status::STATUS_CODE_ERROR
                                             : tpb::Status::STATUS_CODE_OK);
    for (const auto& [k, v] : spec.attrs) {
      cpb::KeyValue* kv = s->add_attributes();
      kv->set_key(k);
      *kv->mutable_value() = v;
    }
  }
  return td;
}

MetricsRange Range(uint64_t steps, uint32_t exemplars = 0) {
  MetricsRange r;
  r.start_ns = kT0;
  r.end_ns = kT0 + steps * kStep;
  r.step_ns = kStep;
  r.max_exemplars = exemplars;
  return r;
}

// Runs `query` over `traces`, each trace observed by accumulator (index % parts).
MetricsResult RunQuery(const std::string& query, const MetricsRange& range,
                       const std::vector<tpb::TracesData>& traces, int parts = 1) {
  auto program = MetricsProgram::Compile(query, range);
  EXPECT_TRUE(program.ok()) << query << ": " << program.status();
  if (!program.ok()) return {};
  std::vector<std::unique_ptr<MetricsAccumulator>> accs;
  for (int i = 0; i < parts; ++i) accs.push_back((*program)->NewAccumulator());
  for (size_t i = 0; i < traces.size(); ++i) {
    TraceView view(traces[i]);
    accs[i % parts]->Observe(view);
  }
  return (*program)->Finish(std::move(accs), MetricsStats{});
}

std::string LabelText(const Static& s) {
  if (s.type == Type::kNil) return "nil";
  if (s.type == Type::kString) return "\"" + s.s + "\"";
  return PrintStatic(s);
}

// A series' labels as text: {k=v, ...} (strings quoted, so types show).
std::string Labels(const MetricsSeries& s) {
  std::string out = "{";
  for (size_t i = 0; i < s.labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += s.labels[i].key + "=" + LabelText(s.labels[i].value);
  }
  return out + "}";
}

// Samples as step index -> value.
std::map<int, double> Steps(const MetricsSeries& s) {
  std::map<int, double> out;
  for (const MetricsSample& m : s.samples) {
    const int64_t t0_ms = static_cast<int64_t>(kT0 / kMs);
    EXPECT_EQ((m.timestamp_ms - t0_ms) % static_cast<int64_t>(kStep / kMs), 0);
    out[static_cast<int>((m.timestamp_ms - t0_ms) / static_cast<int64_t>(kStep / kMs))] = m.value;
  }
  return out;
}

std::map<std::string, std::map<int, double>> ByLabels(const MetricsResult& r) {
  std::map<std::string, std::map<int, double>> out;
  for (const MetricsSeries& s : r.series) {
    EXPECT_EQ(out.count(Labels(s)), 0u) << Labels(s);
    out[Labels(s)] = Steps(s);
  }
  return out;
}

std::map<int, double> Zeros(int n) {
  std::map<int, double> m;
  for (int i = 0; i < n; ++i) m[i] = 0;
  return m;
}

// 30 spans of service a in step 2 (one trace each), 10 of b in step 0 and 5 of b in step 5.
std::vector<tpb::TracesData> ServiceTraces() {
  std::vector<tpb::TracesData> out;
  int id = 0;
  for (int k = 0; k < 30; ++k) {
    out.push_back(MakeTrace(++id, {{.service = "a", .start_ns = kT0 + 2 * kStep + k * 100 * kMs}}));
  }
  for (int k = 0; k < 10; ++k) {
    out.push_back(MakeTrace(++id, {{.service = "b", .start_ns = kT0 + k * 500 * kMs}}));
  }
  for (int k = 0; k < 5; ++k) {
    out.push_back(MakeTrace(++id, {{.service = "b", .start_ns = kT0 + 5 * kStep + k * kSec}}));
  }
  return out;
}

TEST(TraceqlMetrics, RateByServicePerStep) {
  // Tempo: rate = spans in the step / step seconds; steps of a series without spans are 0.
  for (int parts : {1, 3}) {
    const MetricsResult r =
        RunQuery("{ } | rate() by (resource.service.name)", Range(6), ServiceTraces(), parts);
    auto want_a = Zeros(6);
    want_a[2] = 30.0 / 10;
    auto want_b = Zeros(6);
    want_b[0] = 10.0 / 10;
    want_b[5] = 5.0 / 10;
    const auto got = ByLabels(r);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got.at("{resource.service.name=\"a\"}"), want_a);
    EXPECT_EQ(got.at("{resource.service.name=\"b\"}"), want_b);
    // Samples are timestamped at their step's start, in milliseconds, ascending.
    EXPECT_EQ(r.series[0].samples[0].timestamp_ms, static_cast<int64_t>(kT0 / kMs));
  }
}

TEST(TraceqlMetrics, CountOverTimeUngroupedAndRangeEdges) {
  std::vector<tpb::TracesData> traces = ServiceTraces();
  // Outside [start, end): one span 1 ns before the start, one exactly at the end.
  traces.push_back(MakeTrace(900, {{.start_ns = kT0 - 1}}));
  traces.push_back(MakeTrace(901, {{.start_ns = kT0 + 6 * kStep}}));
  // The last nanosecond of the range is in the last step.
  traces.push_back(MakeTrace(902, {{.start_ns = kT0 + 6 * kStep - 1}}));
  const MetricsResult r = RunQuery("{ } | count_over_time()", Range(6), traces);
  ASSERT_EQ(r.series.size(), 1u);
  EXPECT_EQ(Labels(r.series[0]), "{__name__=\"count_over_time\"}");
  EXPECT_EQ(Steps(r.series[0]),
            (std::map<int, double>{{0, 10}, {1, 0}, {2, 30}, {3, 0}, {4, 0}, {5, 6}}));
}

TEST(TraceqlMetrics, FilterAppliesBeforeAggregation) {
  std::vector<tpb::TracesData> traces;
  // Trace 1: 3 error spans and 2 ok in step 0; trace 2: 1 error span in step 1.
  traces.push_back(MakeTrace(1, {{.error = true}, {.error = true}, {.error = true}, {}, {}}));
  traces.push_back(MakeTrace(2, {{.start_ns = kT0 + kStep, .error = true}}));
  const MetricsResult r = RunQuery("{ status = error } | count_over_time()", Range(2), traces);
  ASSERT_EQ(r.series.size(), 1u);
  EXPECT_EQ(Steps(r.series[0]), (std::map<int, double>{{0, 3}, {1, 1}}));
}

TEST(TraceqlMetrics, MinMaxSumAvgOverDurationInSeconds) {
  // Step 0: durations 10, 20, 30, 40 ms; step 1: 100 ms; step 2: none (left out: no value).
  std::vector<tpb::TracesData> traces;
  traces.push_back(MakeTrace(1, {{.duration_ns = 10 * kMs}, {.duration_ns = 20 * kMs}}));
  traces.push_back(MakeTrace(2, {{.duration_ns = 30 * kMs}, {.duration_ns = 40 * kMs}}));
  traces.push_back(MakeTrace(3, {{.start_ns = kT0 + kStep, .duration_ns = 100 * kMs}}));
  const struct {
    std::string fn;
    double step0;
  } cases[] = {{"min_over_time", 0.010},
               {"max_over_time", 0.040},
               {"sum_over_time", 0.100},
               {"avg_over_time", 0.025}};
  for (const auto& c : cases) {
    for (int parts : {1, 2}) {
      const MetricsResult r = RunQuery("{ } | " + c.fn + "(duration)", Range(3), traces, parts);
      ASSERT_EQ(r.series.size(), 1u) << c.fn;
      EXPECT_EQ(Labels(r.series[0]), "{__name__=\"" + c.fn + "\"}");
      const auto got = Steps(r.series[0]);
      ASSERT_EQ(got.size(), 2u) << c.fn;
      EXPECT_NEAR(got.at(0), c.step0, 1e-12) << c.fn;
      EXPECT_NEAR(got.at(1), 0.100, 1e-12) << c.fn;
    }
  }
}

TEST(TraceqlMetrics, OverTimeOfAnAttributeSkipsMissingAndNonNumbers) {
  std::vector<tpb::TracesData> traces;
  traces.push_back(MakeTrace(1, {{.attrs = {{"size", IntV(5)}}},
                                 {.attrs = {{"size", IntV(7)}}},
                                 {.attrs = {{"size", StrV("big")}}},
                                 {}}));
  const MetricsResult sum = RunQuery("{ } | sum_over_time(span.size)", Range(1), traces);
  ASSERT_EQ(sum.series.size(), 1u);
  EXPECT_EQ(Steps(sum.series[0]), (std::map<int, double>{{0, 12}}));
  const MetricsResult avg = RunQuery("{ } | avg_over_time(span.size)", Range(1), traces);
  ASSERT_EQ(avg.series.size(), 1u);
  EXPECT_EQ(Steps(avg.series[0]), (std::map<int, double>{{0, 6}}));
  // No span has the attribute: no series (every step is empty).
  EXPECT_TRUE(RunQuery("{ } | max_over_time(span.nope)", Range(1), traces).series.empty());
}

TEST(TraceqlMetrics, ByLabelsAreTypedAndNilsDropped) {
  std::vector<tpb::TracesData> traces;
  traces.push_back(MakeTrace(1, {{.attrs = {{"code", IntV(200)}, {"route", StrV("/a")}}},
                                 {.attrs = {{"code", IntV(200)}}},
                                 {.attrs = {{"route", StrV("/b")}}},
                                 {},
                                 {.error = true}}));
  const auto got =
      ByLabels(RunQuery("{ } | count_over_time() by (span.code, span.route)", Range(1), traces));
  // Tempo: nil values are left out; all nil: the first label with nil.
  EXPECT_EQ(got, (std::map<std::string, std::map<int, double>>{
                     {"{span.code=200, span.route=\"/a\"}", {{0, 1}}},
                     {"{span.code=200}", {{0, 1}}},
                     {"{span.route=\"/b\"}", {{0, 1}}},
                     {"{span.code=nil}", {{0, 2}}},
                 }));
  // Intrinsics: statuses as strings, the label named as written.
  const auto by_status =
      ByLabels(RunQuery("{ } | count_over_time() by (status)", Range(1), traces));
  EXPECT_EQ(by_status, (std::map<std::string, std::map<int, double>>{
                           {"{status=\"error\"}", {{0, 1}}},
                           {"{status=\"ok\"}", {{0, 4}}},
                       }));
}

TEST(TraceqlMetrics, ByLabelNamesAreTheAttributesAsWritten) {
  // Tempo names a label after the attribute's text: unscoped `.x` (the span's value, else the
  // resource's), scoped intrinsics with their scope, legacy intrinsics without.
  std::vector<tpb::TracesData> traces;
  traces.push_back(
      MakeTrace(1, {{.service = "a"}, {.service = "a", .attrs = {{"service.name", StrV("s")}}}}));
  EXPECT_EQ(ByLabels(RunQuery("{ } | count_over_time() by (.service.name)", Range(1), traces)),
            (std::map<std::string, std::map<int, double>>{
                {"{.service.name=\"a\"}", {{0, 1}}},
                {"{.service.name=\"s\"}", {{0, 1}}},
            }));
  EXPECT_EQ(ByLabels(RunQuery("{ } | count_over_time() by (span:name, kind)", Range(1), traces)),
            (std::map<std::string, std::map<int, double>>{
                {"{span:name=\"op\", kind=\"unspecified\"}", {{0, 2}}},
            }));
}

TEST(TraceqlMetrics, HistogramOverTimePowerOfTwoBucketsInSeconds) {
  // Durations 1 ms .. 1000 ms, all in step 0: each lands in the bucket 2^ceil(log2(ns)) / 1e9.
  std::vector<SpanSpec> spans;
  std::map<double, double> want;  // bucket seconds -> count
  for (uint64_t k = 1; k <= 1000; ++k) {
    spans.push_back({.duration_ns = k * kMs});
    uint64_t b = 1;
    while (b < k * kMs) b <<= 1;
    want[static_cast<double>(b) / 1e9] += 1;
  }
  const MetricsResult r =
      RunQuery("{ } | histogram_over_time(duration)", Range(2), {MakeTrace(1, spans)});
  std::map<double, double> got;
  for (const MetricsSeries& s : r.series) {
    ASSERT_EQ(s.labels.size(), 1u);
    ASSERT_EQ(s.labels[0].key, "__bucket");
    ASSERT_EQ(s.labels[0].value.type, Type::kFloat);
    const auto steps = Steps(s);
    EXPECT_EQ(steps.at(1), 0);  // counts: the empty step is 0
    got[s.labels[0].value.f] = steps.at(0);
  }
  EXPECT_EQ(got, want);
  // 1 ms = 1e6 ns -> 2^20 ns = 0.001048576 s; 1000 ms -> 2^30 ns = 1.073741824 s.
  EXPECT_EQ(got.begin()->first, 0.001048576);
  EXPECT_EQ(got.rbegin()->first, 1.073741824);
}

TEST(TraceqlMetrics, HistogramOfAnIntAttributeAndBy) {
  std::vector<tpb::TracesData> traces;
  traces.push_back(MakeTrace(1, {{.service = "a", .attrs = {{"n", IntV(3)}}},
                                 {.service = "a", .attrs = {{"n", IntV(4)}}},
                                 {.service = "b", .attrs = {{"n", IntV(100)}}},
                                 {.service = "b", .attrs = {{"n", IntV(1)}}}}));  // < 2: dropped
  const auto got = ByLabels(
      RunQuery("{ } | histogram_over_time(span.n) by (resource.service.name)", Range(1), traces));
  EXPECT_EQ(got, (std::map<std::string, std::map<int, double>>{
                     {"{resource.service.name=\"a\", __bucket=4.0}", {{0, 2}}},
                     {"{resource.service.name=\"b\", __bucket=128.0}", {{0, 1}}},
                 }));
}

TEST(TraceqlMetrics, QuantileOverTimeLog2Interpolation) {
  // Step 0: 2^20, 2^20, 2^21, 2^22 ns. Buckets (s): b20 = 2^20/1e9 (2), b21 (1), b22 (1).
  // Tempo's Log2Quantile: the ceil(p*4)-th value's bucket; p=.5 -> 2nd -> b20 exactly;
  // p=.75 -> 3rd -> b21; p=.9 -> 4th -> b22.
  // Step 1: four spans of 2^20 ns: p=.5 -> the 2nd of 4 in the only bucket: interpolated
  // halfway (in log2) between b20/2 and b20: b20 / sqrt(2).
  const double b20 = std::ldexp(1.0, 20) / 1e9;
  std::vector<SpanSpec> spans = {{.duration_ns = 1ull << 20},
                                 {.duration_ns = 1ull << 20},
                                 {.duration_ns = 1ull << 21},
                                 {.duration_ns = 1ull << 22}};
  for (int k = 0; k < 4; ++k) spans.push_back({.start_ns = kT0 + kStep, .duration_ns = 1ull << 20});
  const MetricsResult r =
      RunQuery("{ } | quantile_over_time(duration, .5, .75, .9)", Range(3), {MakeTrace(1, spans)});
  const auto got = ByLabels(r);
  ASSERT_EQ(got.size(), 3u);
  const auto& p50 = got.at("{p=0.5}");
  const auto& p75 = got.at("{p=0.75}");
  const auto& p90 = got.at("{p=0.9}");
  EXPECT_DOUBLE_EQ(p50.at(0), b20);
  EXPECT_DOUBLE_EQ(p75.at(0), 2 * b20);
  EXPECT_DOUBLE_EQ(p90.at(0), 4 * b20);
  EXPECT_DOUBLE_EQ(p50.at(1), b20 / std::sqrt(2.0));
  // p=.75 -> the 3rd of 4: three quarters of the way (log2) from b20/2 to b20.
  EXPECT_DOUBLE_EQ(p75.at(1), b20 * std::exp2(-0.25));
  // p=.9 -> the 4th of 4: the whole bucket, its bound.
  EXPECT_DOUBLE_EQ(p90.at(1), b20);
  // Steps without spans: 0 (Tempo fills them with 0).
  EXPECT_EQ(p50.at(2), 0);
  // A quantile listed twice gives one series.
  EXPECT_EQ(RunQuery("{ } | quantile_over_time(duration, .5, .5)", Range(3), {MakeTrace(1, spans)})
                .series.size(),
            1u);
}

TEST(TraceqlMetrics, InstantQueryOneValueOverTheRange) {
  MetricsRange r = Range(6);
  r.instant = true;
  r.step_ns = kStep;  // ignored: an instant query has one step, the range
  const MetricsResult res = RunQuery("{ } | rate() by (resource.service.name)", r, ServiceTraces());
  const auto got = ByLabels(res);
  ASSERT_EQ(res.series.size(), 2u);
  for (const MetricsSeries& s : res.series) {
    ASSERT_EQ(s.samples.size(), 1u);
    EXPECT_EQ(s.samples[0].timestamp_ms, static_cast<int64_t>(r.end_ns / kMs));
  }
  EXPECT_DOUBLE_EQ(res.series[0].samples[0].value, 30.0 / 60);
  EXPECT_DOUBLE_EQ(res.series[1].samples[0].value, 15.0 / 60);
}

TEST(TraceqlMetrics, TopkBottomkPerStep) {
  // a: 3/s in step 2, 0 elsewhere; b: 1/s in step 0, 0.5/s in step 5, 0 elsewhere.
  const MetricsResult top =
      RunQuery("{ } | rate() by (resource.service.name) | topk(1)", Range(6), ServiceTraces());
  const auto got = ByLabels(top);
  // Ties (both 0 in steps 1, 3, 4) keep the series first in label order (a).
  EXPECT_EQ(got.at("{resource.service.name=\"a\"}"),
            (std::map<int, double>{{1, 0}, {2, 3}, {3, 0}, {4, 0}}));
  EXPECT_EQ(got.at("{resource.service.name=\"b\"}"), (std::map<int, double>{{0, 1}, {5, 0.5}}));
  const auto bottom = ByLabels(
      RunQuery("{ } | rate() by (resource.service.name) | bottomk(1)", Range(6), ServiceTraces()));
  EXPECT_EQ(bottom.at("{resource.service.name=\"a\"}"),
            (std::map<int, double>{{0, 0}, {1, 0}, {3, 0}, {4, 0}, {5, 0}}));
  EXPECT_EQ(bottom.at("{resource.service.name=\"b\"}"), (std::map<int, double>{{2, 0}}));
  // k at least the series count: everything.
  EXPECT_EQ(RunQuery("{ } | rate() by (resource.service.name) | topk(5)", Range(6), ServiceTraces())
                .series.size(),
            2u);
}

TEST(TraceqlMetrics, MaxSeriesCutsTheAnswer) {
  MetricsRange r = Range(6);
  r.max_series = 1;
  for (int parts : {1, 2}) {
    const MetricsResult res =
        RunQuery("{ } | rate() by (resource.service.name)", r, ServiceTraces(), parts);
    EXPECT_TRUE(res.max_series_reached);
    ASSERT_EQ(res.series.size(), 1u);
  }
  r.max_series = 2;
  const MetricsResult all = RunQuery("{ } | rate() by (resource.service.name)", r, ServiceTraces());
  EXPECT_FALSE(all.max_series_reached);
  EXPECT_EQ(all.series.size(), 2u);
  EXPECT_EQ(MaxSeriesMessage(2),
            "Response exceeds maximum series limit of 2, a partial response is returned. Warning: "
            "the accuracy of each individual value is not guaranteed.");
}

TEST(TraceqlMetrics, CompareBaselineSelectionTotalsAndTooManyValues) {
  // 10 spans of service a in step 0: 4 errors (route /x), 6 ok (routes /x, /y, /y, /z, /z, /z).
  std::vector<SpanSpec> spans;
  for (int k = 0; k < 4; ++k) spans.push_back({.error = true, .attrs = {{"route", StrV("/x")}}});
  for (const char* route : {"/x", "/y", "/y", "/z", "/z", "/z"}) {
    spans.push_back({.attrs = {{"route", StrV(route)}}});
  }
  const MetricsResult r =
      RunQuery("{ } | compare({ status = error }, 2)", Range(1), {MakeTrace(1, spans)});
  std::map<std::string, std::map<int, double>> got;
  for (const MetricsSeries& s : r.series) got[Labels(s)] = Steps(s);
  const std::map<std::string, std::map<int, double>> want = {
      {"{__meta_type=\"baseline\", resource.service.name=\"a\"}", {{0, 6}}},
      {"{__meta_type=\"baseline\", name=\"op\"}", {{0, 6}}},
      {"{__meta_type=\"baseline\", status=\"ok\"}", {{0, 6}}},
      {"{__meta_type=\"baseline\", kind=\"unspecified\"}", {{0, 6}}},
      // Top 2 of /x (1), /y (2), /z (3): /z and /y; the attribute is flagged.
      {"{__meta_type=\"baseline\", span.route=\"/z\"}", {{0, 3}}},
      {"{__meta_type=\"baseline\", span.route=\"/y\"}", {{0, 2}}},
      {"{__meta_type=\"selection\", resource.service.name=\"a\"}", {{0, 4}}},
      {"{__meta_type=\"selection\", name=\"op\"}", {{0, 4}}},
      {"{__meta_type=\"selection\", status=\"error\"}", {{0, 4}}},
      {"{__meta_type=\"selection\", kind=\"unspecified\"}", {{0, 4}}},
      {"{__meta_type=\"selection\", span.route=\"/x\"}", {{0, 4}}},
      {"{__meta_type=\"baseline_total\", resource.service.name=nil}", {{0, 6}}},
      {"{__meta_type=\"baseline_total\", name=nil}", {{0, 6}}},
      {"{__meta_type=\"baseline_total\", status=nil}", {{0, 6}}},
      {"{__meta_type=\"baseline_total\", kind=nil}", {{0, 6}}},
      {"{__meta_type=\"baseline_total\", span.route=nil}", {{0, 6}}},
      {"{__meta_type=\"selection_total\", resource.service.name=nil}", {{0, 4}}},
      {"{__meta_type=\"selection_total\", name=nil}", {{0, 4}}},
      {"{__meta_type=\"selection_total\", status=nil}", {{0, 4}}},
      {"{__meta_type=\"selection_total\", kind=nil}", {{0, 4}}},
      {"{__meta_type=\"selection_total\", span.route=nil}", {{0, 4}}},
      {"{__meta_error=\"__too_many_values__\", span.route=nil}", {}},
  };
  EXPECT_EQ(got, want);
}

TEST(TraceqlMetrics, CompareSelectionWindow) {
  // Errors in step 0 and step 1; the selection window covers step 1 only: step-0 errors are
  // baseline.
  std::vector<SpanSpec> spans = {{.error = true}, {.start_ns = kT0 + kStep, .error = true}};
  const std::string q = "{ } | compare({ status = error }, 10, " + std::to_string(kT0 + kStep) +
                        ", " + std::to_string(kT0 + 2 * kStep) + ")";
  const MetricsResult r = RunQuery(q, Range(2), {MakeTrace(1, spans)});
  std::map<std::string, std::map<int, double>> got;
  for (const MetricsSeries& s : r.series) got[Labels(s)] = Steps(s);
  EXPECT_EQ(got.at("{__meta_type=\"baseline\", status=\"error\"}"),
            (std::map<int, double>{{0, 1}, {1, 0}}));
  EXPECT_EQ(got.at("{__meta_type=\"selection\", status=\"error\"}"),
            (std::map<int, double>{{0, 0}, {1, 1}}));
}

TEST(TraceqlMetrics, ExemplarsOnePerTraceAtMostMax) {
  // 45 traces; max 5 exemplars: 5 traces, one span each, labels trace:id and span:id.
  const MetricsResult r =
      RunQuery("{ } | rate() by (resource.service.name)", Range(6, 5), ServiceTraces(), 3);
  size_t total = 0;
  std::map<std::string, int> traces;
  for (const MetricsSeries& s : r.series) {
    std::map<int64_t, int> per_step;
    for (const MetricsExemplar& e : s.exemplars) {
      ++total;
      ASSERT_EQ(e.labels.size(), 2u);
      EXPECT_EQ(e.labels[0].key, "trace:id");
      EXPECT_EQ(e.labels[0].value.s.size(), 32u);
      EXPECT_EQ(e.labels[1].key, "span:id");
      EXPECT_EQ(e.labels[1].value.s.size(), 16u);
      traces[e.labels[0].value.s]++;
      EXPECT_TRUE(std::isnan(e.value));  // rate: exemplars carry no value
      EXPECT_LE(++per_step[(e.timestamp_ms - static_cast<int64_t>(kT0 / kMs)) / 10000], 2);
    }
  }
  EXPECT_LE(total, 5u);
  EXPECT_GE(total, 2u);
  for (const auto& [id, n] : traces) EXPECT_EQ(n, 1) << id;
  // Duration-valued functions give the exemplar the span's value in seconds.
  std::vector<tpb::TracesData> one = {MakeTrace(1, {{.duration_ns = 250 * kMs}})};
  const MetricsResult q = RunQuery("{ } | quantile_over_time(duration, .5)", Range(1, 10), one);
  ASSERT_EQ(q.series.size(), 1u);
  ASSERT_EQ(q.series[0].exemplars.size(), 1u);
  EXPECT_DOUBLE_EQ(q.series[0].exemplars[0].value, 0.25);
  EXPECT_EQ(q.series[0].exemplars[0].timestamp_ms, static_cast<int64_t>(kT0 / kMs));
  // None asked: none given; `with (exemplars=false)` turns them off.
  EXPECT_TRUE(RunQuery("{ } | rate()", Range(1), one).series[0].exemplars.empty());
  EXPECT_TRUE(RunQuery("{ } | rate() with (exemplars=false)", Range(1, 10), one)
                  .series[0]
                  .exemplars.empty());
}

TEST(TraceqlMetrics, PlanReadsTheAggregatedAndGroupedAttributes) {
  auto p = MetricsProgram::Compile("{ span.a = 1 } | avg_over_time(span.b) by (resource.c, .d)",
                                   Range(1));
  ASSERT_TRUE(p.ok()) << p.status();
  const QueryRefs& refs = (*p)->plan().refs;
  EXPECT_EQ(refs.span_keys, (std::vector<std::string>{"a", "b", "d"}));
  EXPECT_EQ(refs.resource_keys, (std::vector<std::string>{"c", "d"}));
  ASSERT_EQ((*p)->plan().conditions.size(), 1u);  // the filter's pre-filter condition
  EXPECT_EQ((*p)->plan().conditions[0].key, "a");
  // compare() reads every attribute: no projection.
  auto c = MetricsProgram::Compile("{ } | compare({ status = error })", Range(1));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->plan().refs.needs_events_links_scope);
}

TEST(TraceqlMetrics, CompileErrors) {
  const struct {
    std::string query;
    std::string error;
  } cases[] = {
      {"{ }", "not a metrics query"},
      {"{ } | count() > 1", "not a metrics query"},
      {"{ } | rate(",
       "compiling query: parse error at line 1, col 12: syntax error: unexpected $end"},
      {"{ } | quantile_over_time(duration, 1.5)",
       "compiling query: parse error at line 1, col 7: quantile must be between 0 and 1: 1.5"},
      {"{ } | rate() | topk(0)",
       "compiling query: parse error at line 1, col 16: limit must be greater than 0"},
      {"{ } | rate() by (.a, .b, .c, .d, .e, .f)",
       "compiling query: parse error at line 1, col 7: metrics group by 6 values not yet "
       "supported"},
      {"{ } | histogram_over_time(duration) by (.a, .b, .c, .d, .e)",
       "compiling query: parse error at line 1, col 7: metrics group by 5 values not yet "
       "supported"},
      {"{ } | compare({ }, 0)",
       "compiling query: parse error at line 1, col 7: compare() top number of values must be "
       "integer greater than 0"},
      {"{ } | compare({ }, 5, 20, 10)",
       "compiling query: parse error at line 1, col 7: compare() end timestamp must be greater "
       "than start timestamp"},
  };
  for (const auto& c : cases) {
    auto p = MetricsProgram::Compile(c.query, Range(1));
    ASSERT_FALSE(p.ok()) << c.query;
    EXPECT_EQ(std::string(p.status().message()), c.error) << c.query;
  }
  MetricsRange bad = Range(1);
  bad.step_ns = 0;
  EXPECT_EQ(std::string(MetricsProgram::Compile("{ } | rate()", bad).status().message()),
            "step required");
  bad = Range(1);
  bad.end_ns = bad.start_ns;
  EXPECT_EQ(std::string(MetricsProgram::Compile("{ } | rate()", bad).status().message()),
            "end must be greater than start");
}

TEST(TraceqlMetrics, SearchRefusesAMetricsQuery) {
  ParseResult p = Parse("{ } | rate()");
  ASSERT_TRUE(p.ok());
  auto program = Program::Compile(std::move(p.query));
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(std::string(program.status().message()), std::string(kMetricsQueryInSearch));
}

TEST(TraceqlMetrics, GrammarPrintsBack) {
  const struct {
    std::string in;
    std::string printed;
  } cases[] = {
      {"{} | rate()", "{ } | rate()"},
      {"{ status = error } | rate() by (resource.service.name, span.http.route)",
       "{ status = error } | rate() by (resource.service.name, span.http.route)"},
      {"{ } | count_over_time()by(name)", "{ } | count_over_time() by (name)"},
      {"{ } | min_over_time(span.size)", "{ } | min_over_time(span.size)"},
      {"{ } | max_over_time(duration) by (.a)", "{ } | max_over_time(duration) by (.a)"},
      {"{ } | sum_over_time(span:duration)", "{ } | sum_over_time(span:duration)"},
      {"{ } | avg_over_time(duration)", "{ } | avg_over_time(duration)"},
      {"{ } | quantile_over_time(duration, .9, .99, 1)",
       "{ } | quantile_over_time(duration, 0.9, 0.99, 1.0)"},
      {"{ } | histogram_over_time(duration) by (resource.service.name)",
       "{ } | histogram_over_time(duration) by (resource.service.name)"},
      {"{ } | compare({status=error})", "{ } | compare({ status = error })"},
      {"{ } | compare({ status = error }, 5)", "{ } | compare({ status = error }, 5)"},
      {"{ } | compare({ status = error }, 5, 1, 2)", "{ } | compare({ status = error }, 5, 1, 2)"},
      {"{ } | rate() by (resource.service.name) | topk(10)",
       "{ } | rate() by (resource.service.name) | topk(10)"},
      {"{ } | rate() | bottomk(2) with (exemplars=true)",
       "{ } | rate() | bottomk(2) with (exemplars=true)"},
      {"{ .a = 1 } | { .b = 2 } | by(.c) | rate()", "{ .a = 1 } | { .b = 2 } | by(.c) | rate()"},
      {"{ .a = 1 } >> { .b = 2 } | rate()", "{ .a = 1 } >> { .b = 2 } | rate()"},
  };
  for (const auto& c : cases) {
    ParseResult p = Parse(c.in);
    ASSERT_TRUE(p.ok()) << c.in << ": " << p.error.ToString();
    ASSERT_NE(p.query.metrics, nullptr) << c.in;
    EXPECT_EQ(Print(p.query), c.printed);
    ParseResult again = Parse(Print(p.query));
    ASSERT_TRUE(again.ok()) << Print(p.query);
    EXPECT_TRUE(Equal(again.query, p.query)) << c.in;
    EXPECT_EQ(Print(again.query), c.printed);
  }
}

TEST(TraceqlMetrics, GrammarErrors) {
  const struct {
    std::string in;
    std::string error;
  } cases[] = {
      {"{ } | rate(duration)", "parse error at line 1, col 12: syntax error: unexpected duration"},
      {"{ } | sum_over_time()", "parse error at line 1, col 21: syntax error: unexpected )"},
      {"{ } | quantile_over_time(duration)",
       "parse error at line 1, col 34: syntax error: unexpected )"},
      {"{ } | quantile_over_time(duration, -1)",
       "parse error at line 1, col 36: syntax error: unexpected -"},
      {"{ } | compare({ }, 5, 1)", "parse error at line 1, col 24: syntax error: unexpected )"},
      {"{ } | compare({ }) by (.a)", "parse error at line 1, col 20: syntax error: unexpected by"},
      {"{ } | rate() | rate()", "parse error at line 1, col 16: syntax error: unexpected rate"},
      {"{ } | rate() | topk(1) | topk(1)",
       "parse error at line 1, col 24: syntax error: unexpected |"},
      {"{ } | rate() | { }", "parse error at line 1, col 16: syntax error: unexpected {"},
      {"{ } | count() | rate()", "parse error at line 1, col 15: syntax error: unexpected |"},
  };
  for (const auto& c : cases) {
    ParseResult p = Parse(c.in);
    ASSERT_FALSE(p.ok()) << c.in;
    EXPECT_EQ(p.error.ToString(), c.error) << c.in;
  }
}

}  // namespace
}  // namespace sprout::traces::traceql
