// OtlpSink: the OTLP translation's series validated as remote write validates them. The main
// check runs every golden OTLP request of the translation (src/otlp/testdata/prometheus) both
// ways — translated into a remote-write request decoded by RemoteWriteDecoder, and translated
// into the sink — and requires the same deliveries and the same IngestResult.
#include "metrics/ingest/otlp_sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "otlp/json.h"
#include "otlp/prometheus.h"
#include "otlp/signal.h"
#include "prometheus/remote.pb.h"

namespace sprout::metrics::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kNow = 1'700'000'000'000;  // ms; the requests below use 1.7e18 ns
constexpr uint64_t kStaleNaN = 0x7ff0000000000002ULL;

using Request = otlp::pb::metrics_service::ExportMetricsServiceRequest;

std::string Hex(uint64_t bits) { return absl::StrCat(absl::Hex(bits)); }

template <typename T>
std::string Join(const std::vector<T>& v) {
  std::string out;
  for (const auto& x : v) absl::StrAppend(&out, out.empty() ? "" : ",", x);
  return out;
}

std::string SpansText(const std::vector<chunkenc::BucketSpan>& spans) {
  std::string out;
  for (const auto& s : spans)
    absl::StrAppend(&out, out.empty() ? "" : ",", s.offset, ":", s.length);
  return out;
}

// Everything a visitor receives, as text (one line per item), so two paths compare exactly.
class Recorder : public WriteVisitor {
 public:
  std::vector<std::string> lines;

  void OnSeries(const Series& s) override {
    std::string labels;
    for (const Label& l : s.labels()) absl::StrAppend(&labels, AV(l.name), "=", AV(l.value), " ");
    lines.push_back(absl::StrCat("series ", labels));
    for (const Sample& x : s.samples()) {
      lines.push_back(absl::StrCat("  sample ", x.timestamp_ms, " ", Hex(x.value_bits)));
    }
    for (const HistogramSample& h : s.histograms()) {
      if (h.is_float) {
        const chunkenc::FloatHistogram& f = h.floating;
        lines.push_back(absl::StrCat("  float histogram ", h.timestamp_ms, " schema=", f.schema,
                                     " count=", f.count, " sum=", f.sum, " zc=", f.zero_count, " +",
                                     SpansText(f.positive_spans), " [", Join(f.positive_buckets),
                                     "] -", SpansText(f.negative_spans), " [",
                                     Join(f.negative_buckets), "]"));
      } else {
        const chunkenc::Histogram& i = h.integer;
        lines.push_back(
            absl::StrCat("  histogram ", h.timestamp_ms, " hint=", static_cast<int>(i.reset_hint),
                         " schema=", i.schema, " zt=", i.zero_threshold, " zc=", i.zero_count,
                         " count=", Hex(i.count), " sum=", Hex(std::bit_cast<uint64_t>(i.sum)),
                         " +", SpansText(i.positive_spans), " [", Join(i.positive_buckets), "] -",
                         SpansText(i.negative_spans), " [", Join(i.negative_buckets), "]"));
      }
    }
    for (const Exemplar& e : s.exemplars()) {
      std::string el;
      for (const Label& l : e.labels) absl::StrAppend(&el, AV(l.name), "=", AV(l.value), " ");
      lines.push_back(absl::StrCat("  exemplar ", e.timestamp_ms, " ", Hex(e.value_bits), " ", el));
    }
  }
  void OnMetadata(const MetricMetadata& m) override {
    lines.push_back(absl::StrCat("metadata ", m.type, " ", AV(m.metric_family_name),
                                 " help=", AV(m.help), " unit=", AV(m.unit)));
  }
};

std::string ResultText(const IngestResult& r) {
  std::string out = absl::StrCat(r.http_status, " ", r.message, "\nseries ", r.series_accepted, "/",
                                 r.series_refused, " samples ", r.samples_accepted, " histograms ",
                                 r.histograms_accepted, " exemplars ", r.exemplars_accepted,
                                 " metadata ", r.metadata_accepted, "\n");
  for (size_t i = 0; i < kRefusalCount; ++i) {
    if (r.samples_refused[i] + r.histograms_refused[i] + r.exemplars_refused[i] +
            r.metadata_refused[i] ==
        0) {
      continue;
    }
    absl::StrAppend(&out, AV(RefusalLabel(static_cast<Refusal>(i))), ": ", r.samples_refused[i],
                    " ", r.histograms_refused[i], " ", r.exemplars_refused[i], " ",
                    r.metadata_refused[i], "\n");
  }
  return out;
}

struct Outcome {
  std::vector<std::string> lines;
  IngestResult result;
  std::vector<std::string> errors;
  int64_t dropped = 0;
};

// The request through the sink.
Outcome ViaSink(const Request& request, const otlp::PromTranslationSettings& settings,
                const Limits& limits = {}) {
  Outcome out;
  Recorder recorder;
  OtlpSink sink(limits, kNow, &recorder);
  otlp::TranslateMetrics(request, settings, &sink, &out.errors, &out.dropped);
  out.lines = std::move(recorder.lines);
  out.result = sink.result();
  return out;
}

// The request translated into a remote-write request, encoded, decoded by the remote-write path.
Outcome ViaRemoteWrite(const Request& request, const otlp::PromTranslationSettings& settings,
                       const Limits& limits = {}) {
  Outcome out;
  prometheus::WriteRequest write;
  otlp::TranslateMetrics(request, settings, &write, &out.errors, &out.dropped);
  Recorder recorder;
  RemoteWriteDecoder decoder(limits);
  out.result = decoder.Decode(write.SerializeAsString(), kNow, recorder);
  out.lines = std::move(recorder.lines);
  return out;
}

Request FromJson(const std::string& json) {
  Request r;
  absl::Status s = otlp::ParseJson(json, &r);
  EXPECT_TRUE(s.ok()) << s << "\n" << json;
  return r;
}

void ExpectSameOutcome(const Request& request, const otlp::PromTranslationSettings& settings,
                       const Limits& limits, const std::string& context) {
  const Outcome sink = ViaSink(request, settings, limits);
  const Outcome rw = ViaRemoteWrite(request, settings, limits);
  EXPECT_EQ(sink.lines, rw.lines) << context;
  EXPECT_EQ(ResultText(sink.result), ResultText(rw.result)) << context;
  EXPECT_EQ(sink.errors, rw.errors) << context;
  EXPECT_EQ(sink.dropped, rw.dropped) << context;
  EXPECT_FALSE(sink.result.request_refused);
}

TEST(OtlpSink, EveryGoldenRequestIsDeliveredAsRemoteWriteWouldDeliverIt) {
  const std::filesystem::path dir = SPROUT_PROMETHEUS_TESTDATA;
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    const size_t input = s.find("\ninput:\n");
    const size_t output = s.find("\noutput:", input);
    ASSERT_NE(input, std::string::npos) << entry.path();
    ASSERT_NE(output, std::string::npos) << entry.path();
    const Request request = FromJson(s.substr(input + 8, output - input - 8));
    otlp::PromTranslationSettings settings;
    settings.send_metadata = true;
    ExpectSameOutcome(request, settings, Limits{}, entry.path().filename().string());
    // Tight limits make refusals (label count, value length, metadata length) of the same data.
    Limits tight;
    tight.max_label_names_per_series = 3;
    tight.max_label_names_per_info_series = 4;
    tight.max_label_value_length = 8;
    tight.max_metadata_length = 6;
    tight.creation_grace_period_ms = 0;  // every sample after kNow is too far in the future
    ExpectSameOutcome(request, settings, tight, entry.path().filename().string() + " (tight)");
    ++cases;
  }
  EXPECT_GE(cases, 20);  // the translation's golden cases were found
}

// One point per line below: (series, timestamp ms, value) as the request builds them.
Request MixedRequest() {
  return FromJson(R"({"resourceMetrics":[{"resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"svc"}}]},
   "scopeMetrics":[{"metrics":[
    {"name":"ok.gauge","gauge":{"dataPoints":[
      {"timeUnixNano":"1700000002000000000","asDouble":2.5,"attributes":[{"key":"k","value":{"stringValue":"a"}}]},
      {"timeUnixNano":"1699999999000000000","asDouble":1.5,"attributes":[{"key":"k","value":{"stringValue":"a"}}],
       "exemplars":[{"timeUnixNano":"1699999999500000000","asDouble":7,"traceId":"0102030405060708090a0b0c0d0e0f10"},
                    {"timeUnixNano":"1699999999600000000","asDouble":8}]}]}},
    {"name":"long.value","gauge":{"dataPoints":[
      {"timeUnixNano":"1700000000000000000","asInt":"1","attributes":[{"key":"k","value":{"stringValue":")" +
                  std::string(2049, 'x') + R"("}}]}]}},
    {"name":"future","gauge":{"dataPoints":[
      {"timeUnixNano":"1700003600000000000","asInt":"1"}]}},
    {"name":"delta","sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[
      {"timeUnixNano":"1700000000000000000","asInt":"1"}]}},
    {"name":"odd.unit","unit":"{)" +
                  std::string(1030, 'u') + R"(}","gauge":{"dataPoints":[
      {"timeUnixNano":"1700000000000000000","asInt":"3"}]}}
   ]}]}]})");
}

TEST(OtlpSink, MixedRequestKeepsTheGoodPartAndReportsTheFirstRefusal) {
  otlp::PromTranslationSettings settings;
  settings.scope_labels = false;
  settings.send_metadata = true;
  const Outcome out = ViaSink(MixedRequest(), settings);
  // The good gauge: its points in time order (they came newest first), the exemplar without any
  // label dropped; the odd unit is not a name suffix (braces), so that gauge is fine too.
  EXPECT_THAT(out.lines,
              ElementsAre("series __name__=ok_gauge job=svc k=a ",
                          "  sample 1699999999000 " + Hex(std::bit_cast<uint64_t>(1.5)),
                          "  sample 1700000002000 " + Hex(std::bit_cast<uint64_t>(2.5)),
                          "  exemplar 1699999999500 " + Hex(std::bit_cast<uint64_t>(7.0)) +
                              " trace_id=0102030405060708090a0b0c0d0e0f10 ",
                          "series __name__=odd_unit job=svc ",
                          "  sample 1700000000000 " + Hex(std::bit_cast<uint64_t>(3.0)),
                          // One entry per metric, refused ones included (the translation's
                          // rule); the 1032-byte unit is refused.
                          "metadata 2 ok_gauge help= unit=", "metadata 2 long_value help= unit=",
                          "metadata 2 future help= unit=", "metadata 1 delta_total help= unit="));
  const IngestResult& r = out.result;
  EXPECT_EQ(r.http_status, 400);
  EXPECT_THAT(r.message,
              StartsWith("received a series whose label value length exceeds the limit, label: "
                         "'k', value: 'xxx"));
  EXPECT_THAT(r.message, HasSubstr("(err-mimir-label-value-too-long)"));
  EXPECT_EQ(r.series_accepted, 2);
  EXPECT_EQ(r.series_refused, 2);
  EXPECT_EQ(r.samples_accepted, 3);
  EXPECT_EQ(r.exemplars_accepted, 1);
  EXPECT_EQ(r.samples_refused[static_cast<size_t>(Refusal::kLabelValueTooLong)], 1);
  EXPECT_EQ(r.samples_refused[static_cast<size_t>(Refusal::kTooFarInFuture)], 1);
  EXPECT_EQ(r.exemplars_refused[static_cast<size_t>(Refusal::kExemplarLabelsMissing)], 1);
  EXPECT_EQ(r.metadata_refused[static_cast<size_t>(Refusal::kMetadataUnitTooLong)], 1);
  EXPECT_EQ(r.metadata_accepted, 4);
  // The delta sum is the translation's refusal, not the sink's.
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_THAT(out.errors[0], HasSubstr("\"delta\""));
  EXPECT_EQ(out.dropped, 1);

  ExpectSameOutcome(MixedRequest(), settings, Limits{}, "mixed");
}

TEST(OtlpSink, ExponentialHistogramBecomesAnIntegerHistogramWithAbsoluteCounts) {
  // OTel positive offset 0, counts [1,2,0,0,3,0,0,0,4] at scale 3: Prometheus buckets 1..9, the
  // empty run 6..8 longer than two buckets starts a new span: spans 1:5 and 3:1, absolute counts
  // 1,2,0,0,3,4. Negative offset -3, counts [0,5,5]: buckets -1 and 0 (index + 1), spans -1:2.
  const Request request = FromJson(R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[
    {"name":"latency","exponentialHistogram":{"aggregationTemporality":2,"dataPoints":[
      {"timeUnixNano":"1700000000000000000","count":"22","sum":42.5,"scale":3,"zeroCount":"2",
       "zeroThreshold":0.001,
       "positive":{"offset":0,"bucketCounts":["1","2","0","0","3","0","0","0","4"]},
       "negative":{"offset":-3,"bucketCounts":["0","5","5"]}},
      {"timeUnixNano":"1700000015000000000","count":"0","flags":1}]}}]}]}]})");
  otlp::PromTranslationSettings settings;
  settings.scope_labels = false;
  const Outcome out = ViaSink(request, settings);
  ASSERT_EQ(out.result.histograms_accepted, 2);
  EXPECT_THAT(out.lines, ElementsAre("series __name__=latency ",
                                     "  histogram 1700000000000 hint=0 schema=3 zt=0.001 zc=2 "
                                     "count=16 sum=" +
                                         Hex(std::bit_cast<uint64_t>(42.5)) +
                                         " +1:5,3:1 [1,2,0,0,3,4] --1:2 [5,5]",
                                     // The stale marker: count and sum carry the stale NaN.
                                     "  histogram 1700000015000 hint=0 schema=0 zt=1e-128 zc=0 "
                                     "count=" +
                                         Hex(kStaleNaN) + " sum=" + Hex(kStaleNaN) + " + [] - []"));
  ExpectSameOutcome(request, settings, Limits{}, "exponential");
}

TEST(OtlpSink, InvalidHistogramLayoutRefusesTheSeriesWithRemoteWritesText) {
  // A sink-level check (the translation never makes these): a schema out of range and spans
  // that do not match the deltas.
  Recorder recorder;
  OtlpSink sink(Limits{}, kNow, &recorder);
  const otlp::PromLabel labels[] = {{"__name__", "h"}};
  const otlp::PromSeriesRef ref = sink.Series(labels, HashLabels(labels));
  const otlp::PromBucketSpan spans[] = {{0, 3}};
  const int64_t deltas[] = {1, 1};
  otlp::PromHistogram h;
  h.timestamp_ms = kNow;
  h.schema = 2;
  h.positive_spans = spans;
  h.positive_deltas = deltas;
  sink.Histogram(ref, h);
  const otlp::PromLabel labels2[] = {{"__name__", "h2"}};
  const otlp::PromSeriesRef ref2 = sink.Series(labels2, HashLabels(labels2));
  otlp::PromHistogram bad_schema;
  bad_schema.timestamp_ms = kNow;
  bad_schema.schema = 9;
  sink.Histogram(ref2, bad_schema);
  sink.Finish();
  EXPECT_TRUE(recorder.lines.empty());
  EXPECT_EQ(sink.result().http_status, 400);
  EXPECT_EQ(sink.result().message,
            "received a native histogram sample whose spans specify a different number of buckets "
            "than provided, timestamp: 1700000000000 series: 'h' "
            "(err-mimir-native-histogram-spans-buckets-mismatch)");
  EXPECT_EQ(
      sink.result()
          .histograms_refused[static_cast<size_t>(Refusal::kNativeHistogramSpansBucketsMismatch)],
      1);
  EXPECT_EQ(
      sink.result().histograms_refused[static_cast<size_t>(Refusal::kInvalidNativeHistogramSchema)],
      1);
}

TEST(OtlpSink, OneLabelSetIsOneSeriesAndStaleMarkersKeepTheirBits) {
  Recorder recorder;
  OtlpSink sink(Limits{}, kNow, &recorder);
  const otlp::PromLabel a[] = {{"__name__", "up"}, {"job", "x"}};
  const otlp::PromLabel b[] = {{"__name__", "up"}, {"job", "y"}};
  // The same hash for different sets (a collision) must still give two series.
  const otlp::PromSeriesRef ra = sink.Series(a, 42);
  const otlp::PromSeriesRef rb = sink.Series(b, 42);
  EXPECT_NE(ra, rb);
  EXPECT_EQ(sink.Series(a, 42), ra);
  sink.Sample(ra, 2000, std::bit_cast<double>(kStaleNaN));
  sink.Sample(rb, 1000, 1);
  sink.Sample(ra, 1000, 0.5);
  sink.Finish();
  sink.Finish();  // a second call does nothing
  EXPECT_THAT(
      recorder.lines,
      ElementsAre("series __name__=up job=x ", "  sample 1000 " + Hex(std::bit_cast<uint64_t>(0.5)),
                  "  sample 2000 " + Hex(kStaleNaN), "series __name__=up job=y ",
                  "  sample 1000 " + Hex(std::bit_cast<uint64_t>(1.0))));
  EXPECT_TRUE(sink.result().ok());
  EXPECT_EQ(sink.result().series_accepted, 2);
  EXPECT_EQ(sink.result().samples_accepted, 3);
}

}  // namespace
}  // namespace sprout::metrics::ingest
