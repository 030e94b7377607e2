#include "metrics/ingest/remote_write.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/unknown_field_set.h"
#include "net/compression.h"
#include "prometheus/remote.pb.h"

namespace sprout::metrics::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr int64_t kNow = 1'700'000'000'000;
constexpr uint64_t kStaleNaN = 0x7ff0000000000002ULL;

using Labels = std::vector<std::pair<std::string, std::string>>;

struct SeenSeries {
  std::string label_bytes;
  Labels labels;
  std::vector<std::pair<int64_t, uint64_t>> samples;
  std::vector<std::tuple<Labels, uint64_t, int64_t>> exemplars;
  std::vector<HistogramSample> histograms;
};

struct SeenMetadata {
  int32_t type;
  std::string name, help, unit;
};

class Collector : public WriteVisitor {
 public:
  bool known = false;  // what KnownLabelBytes answers
  bool read_labels = true;
  std::vector<SeenSeries> series;
  std::vector<SeenMetadata> metadata;

  bool KnownLabelBytes(std::string_view) override { return known; }
  void OnSeries(const Series& s) override {
    SeenSeries seen;
    seen.label_bytes = std::string(s.label_bytes());
    if (read_labels) {
      for (const Label& l : s.labels()) seen.labels.emplace_back(l.name, l.value);
    }
    for (const Sample& x : s.samples()) seen.samples.emplace_back(x.timestamp_ms, x.value_bits);
    for (const Exemplar& e : s.exemplars()) {
      Labels ls;
      for (const Label& l : e.labels) ls.emplace_back(l.name, l.value);
      seen.exemplars.emplace_back(ls, e.value_bits, e.timestamp_ms);
    }
    seen.histograms.assign(s.histograms().begin(), s.histograms().end());
    series.push_back(std::move(seen));
  }
  void OnMetadata(const MetricMetadata& m) override {
    metadata.push_back(
        {m.type, std::string(m.metric_family_name), std::string(m.help), std::string(m.unit)});
  }
};

prometheus::TimeSeries* AddSeries(prometheus::WriteRequest* req, const Labels& labels) {
  auto* ts = req->add_timeseries();
  for (const auto& [n, v] : labels) {
    auto* l = ts->add_labels();
    l->set_name(n);
    l->set_value(v);
  }
  return ts;
}

void AddSample(prometheus::TimeSeries* ts, int64_t t, double v) {
  auto* s = ts->add_samples();
  s->set_timestamp(t);
  s->set_value(v);
}

struct Decoded {
  IngestResult result;
  Collector seen;
};

Decoded DecodeWire(const std::string& wire, Limits limits = {}, bool known = false) {
  Decoded run;
  run.seen.known = known;
  RemoteWriteDecoder decoder(limits);
  run.result = decoder.Decode(wire, kNow, run.seen);
  return run;
}

Decoded DecodeRequest(const prometheus::WriteRequest& req, Limits limits = {}) {
  // Through snappy, as a sender sends it.
  const std::string body = *net::Compress(net::Codec::kSnappy, req.SerializeAsString());
  Decoded run;
  RemoteWriteDecoder decoder(limits);
  run.result = decoder.DecodeSnappy(body, kNow, run.seen);
  return run;
}

// The message a request with one series of these labels gets.
std::string MessageFor(const Labels& labels, Limits limits = {}) {
  prometheus::WriteRequest req;
  AddSample(AddSeries(&req, labels), kNow, 1);
  Decoded run = DecodeRequest(req, limits);
  EXPECT_EQ(run.result.series_refused, 1);
  EXPECT_TRUE(run.seen.series.empty());
  return run.result.message;
}

size_t R(Refusal r) { return static_cast<size_t>(r); }

TEST(RemoteWrite, DeliversSeriesWithRawLabelBytesAndExactSampleBits) {
  prometheus::WriteRequest req;
  auto* a = AddSeries(&req, {{"__name__", "up"}, {"instance", "h:9100"}, {"job", "node"}});
  AddSample(a, 1000, 1.0);
  AddSample(a, 2000, std::bit_cast<double>(kStaleNaN));
  auto* b = AddSeries(&req, {{"__name__", "temp"}, {"room", "kitchen"}});
  AddSample(b, 1000, -3.5);

  Decoded run = DecodeRequest(req);
  ASSERT_TRUE(run.result.ok()) << run.result.message;
  EXPECT_EQ(run.result.http_status, 200);
  EXPECT_EQ(run.result.series_accepted, 2);
  EXPECT_EQ(run.result.samples_accepted, 3);
  ASSERT_EQ(run.seen.series.size(), 2u);

  // The label bytes are the series' Label fields as serialized: a TimeSeries with only labels.
  prometheus::TimeSeries only_labels;
  *only_labels.mutable_labels() = a->labels();
  EXPECT_EQ(run.seen.series[0].label_bytes, only_labels.SerializeAsString());
  EXPECT_THAT(run.seen.series[0].labels,
              ElementsAre(Pair("__name__", "up"), Pair("instance", "h:9100"), Pair("job", "node")));
  EXPECT_THAT(run.seen.series[0].samples,
              ElementsAre(Pair(1000, std::bit_cast<uint64_t>(1.0)), Pair(2000, kStaleNaN)));
  EXPECT_THAT(run.seen.series[1].samples, ElementsAre(Pair(1000, std::bit_cast<uint64_t>(-3.5))));
}

TEST(RemoteWrite, StaleMarkerAndOtherNaNPayloadsSurviveBitForBit) {
  prometheus::WriteRequest req;
  auto* ts = AddSeries(&req, {{"__name__", "x"}});
  const uint64_t payloads[] = {kStaleNaN, 0x7ff8000000000001ULL, 0xfff0000000000001ULL};
  for (int i = 0; i < 3; ++i) AddSample(ts, i, std::bit_cast<double>(payloads[i]));
  Decoded run = DecodeRequest(req);
  ASSERT_EQ(run.seen.series.size(), 1u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run.seen.series[0].samples[i].second, payloads[i]) << i;
}

TEST(RemoteWrite, ValidationMessagesAreMimirs) {
  EXPECT_EQ(MessageFor({{"job", "a"}}),
            "received series has no metric name (err-mimir-missing-metric-name)");
  EXPECT_EQ(MessageFor({{"__name__", "1up"}}),
            "received a series with invalid metric name: '1up' (err-mimir-metric-name-invalid)");
  EXPECT_EQ(MessageFor({{"__name__", "up.time\xc3\xa9"}}),
            "received a series with invalid metric name: 'up.time (non-ascii characters "
            "removed)' (err-mimir-metric-name-invalid)");
  EXPECT_EQ(MessageFor({{"__name__", "up"}, {"bad-name", "x"}}),
            "received a series with an invalid label: 'bad-name' series: 'up{bad-name=\"x\"}' "
            "(err-mimir-label-invalid)");
  EXPECT_EQ(MessageFor({{"", "x"}, {"__name__", "up"}}),
            "received a series with an invalid label: '' series: 'up{=\"x\"}' "
            "(err-mimir-label-invalid)");
  EXPECT_EQ(MessageFor({{"__name__", "up"}, {"job", "a"}, {"job", "b"}}),
            "received a series with duplicate label name, label: 'job' series: "
            "'up{job=\"a\", job=\"b\"}' (err-mimir-duplicate-label-names)");
  EXPECT_EQ(MessageFor({{"__name__", "up"}, {"job", "a"}, {"instance", "b"}}),
            "received a series where the label names are not alphabetically sorted, label: "
            "'instance' series: 'up{job=\"a\", instance=\"b\"}' (err-mimir-labels-not-sorted)");
  EXPECT_EQ(MessageFor({{"__name__", "up"}, {"job", "a\xff"}}),
            "received a series with invalid value in label 'job': 'a\xef\xbf\xbd' metric: 'up' "
            "(err-mimir-label-value-invalid)");

  Limits small;
  small.max_label_value_length = 4;
  small.max_label_name_length = 8;  // "__name__" fits
  small.max_label_names_per_series = 2;
  EXPECT_EQ(MessageFor({{"__name__", "up"}, {"job", "abcdefgh"}}, small),
            "received a series whose label value length exceeds the limit, label: 'job', value: "
            "'abcdefgh' (truncated) series: 'up{job=\"abcdefgh\"}' "
            "(err-mimir-label-value-too-long). To adjust the related per-tenant limit, configure "
            "-validation.max-length-label-value, or contact your service administrator.");
  EXPECT_EQ(MessageFor({{"__name__", "up"}, {"jobnamesx", "a"}}, small),
            "received a series whose label name length exceeds the limit, label: 'jobnamesx' "
            "series: 'up{jobnamesx=\"a\"}' (err-mimir-label-name-too-long). To adjust the related "
            "per-tenant limit, configure -validation.max-length-label-name, or contact your "
            "service administrator.");
  EXPECT_EQ(MessageFor({{"__name__", "up"}, {"a", "1"}, {"b", "2"}}, small),
            "received a series whose number of labels exceeds the limit (actual: 3, limit: 2) "
            "series: 'up{a=\"1\", b=\"2\"}' (err-mimir-max-label-names-per-series). To adjust the "
            "related per-tenant limit, configure -validation.max-label-names-per-series, or "
            "contact your service administrator.");
  small.max_label_names_per_info_series = 2;
  EXPECT_EQ(MessageFor({{"__name__", "build_info"}, {"a", "1"}, {"b", "2"}}, small),
            "received an info series whose number of labels exceeds the limit (actual: 3, limit: "
            "2) series: 'build_info{a=\"1\", b=\"2\"}' (err-mimir-max-label-names-per-info-series)."
            " To adjust the related per-tenant limit, configure "
            "-validation.max-label-names-per-info-series, or contact your service "
            "administrator.");
}

TEST(RemoteWrite, SeriesTextIsCutAt200CharactersWithAnEllipsisForTheLabelCount) {
  Limits small;
  small.max_label_names_per_series = 1;
  const std::string long_value(300, 'v');
  const std::string message = MessageFor({{"__name__", "up"}, {"a", long_value}}, small);
  const std::string series = "up{a=\"" + long_value + "\"}";
  EXPECT_EQ(message,
            "received a series whose number of labels exceeds the limit (actual: 2, "
            "limit: 1) series: '" +
                series.substr(0, 200) +
                "\xe2\x80\xa6' (err-mimir-max-label-names-per-series). To adjust the "
                "related per-tenant limit, configure "
                "-validation.max-label-names-per-series, or contact your service "
                "administrator.");
}

TEST(RemoteWrite, EmptyLabelValuesAreDroppedAndAnAllEmptySeriesSilently) {
  prometheus::WriteRequest req;
  AddSample(AddSeries(&req, {{"__name__", "up"}, {"env", ""}, {"job", "a"}}), 1, 1);
  AddSample(AddSeries(&req, {{"env", ""}}), 1, 1);
  Decoded run = DecodeRequest(req);
  EXPECT_TRUE(run.result.ok()) << run.result.message;
  ASSERT_EQ(run.seen.series.size(), 1u);
  EXPECT_THAT(run.seen.series[0].labels, ElementsAre(Pair("__name__", "up"), Pair("job", "a")));
  EXPECT_EQ(run.result.samples_refused[R(Refusal::kNoLabels)], 1);
  EXPECT_EQ(run.result.series_refused, 1);
}

TEST(RemoteWrite, MixedRequestDeliversTheGoodSeriesAndReportsTheFirstError) {
  prometheus::WriteRequest req;
  AddSample(AddSeries(&req, {{"__name__", "good1"}}), 1, 1);
  AddSample(AddSeries(&req, {{"job", "nameless"}}), 1, 1);
  AddSample(AddSeries(&req, {{"__name__", "good2"}}), 1, 2);
  auto* dup = AddSeries(&req, {{"__name__", "dup"}, {"a", "1"}, {"a", "2"}});
  AddSample(dup, 1, 1);
  AddSample(dup, 2, 1);
  Decoded run = DecodeRequest(req);
  EXPECT_EQ(run.result.http_status, 400);
  EXPECT_FALSE(run.result.request_refused);
  EXPECT_EQ(run.result.message,
            "received series has no metric name (err-mimir-missing-metric-name)");
  ASSERT_EQ(run.seen.series.size(), 2u);
  EXPECT_EQ(run.seen.series[0].labels[0].second, "good1");
  EXPECT_EQ(run.seen.series[1].labels[0].second, "good2");
  EXPECT_EQ(run.result.series_accepted, 2);
  EXPECT_EQ(run.result.series_refused, 2);
  EXPECT_EQ(run.result.samples_accepted, 2);
  EXPECT_EQ(run.result.samples_refused[R(Refusal::kMissingMetricName)], 1);
  EXPECT_EQ(run.result.samples_refused[R(Refusal::kDuplicateLabelNames)], 2);
}

TEST(RemoteWrite, SamplesTooFarInTheFutureOrPastRefuseTheSeries) {
  prometheus::WriteRequest req;
  AddSample(AddSeries(&req, {{"__name__", "future"}}), kNow + 11 * 60 * 1000, 1);
  AddSample(AddSeries(&req, {{"__name__", "ok"}}), kNow + 9 * 60 * 1000, 1);
  AddSample(AddSeries(&req, {{"__name__", "old"}}), 0, 1);  // 1970: fine by default
  Decoded run = DecodeRequest(req);
  EXPECT_EQ(run.result.message,
            "received a sample whose timestamp is too far in the future, timestamp: " +
                std::to_string(kNow + 11 * 60 * 1000) +
                " series: 'future' (err-mimir-too-far-in-future). To adjust the related "
                "per-tenant limit, configure -validation.create-grace-period, or contact your "
                "service administrator.");
  EXPECT_EQ(run.result.series_accepted, 2);

  Limits past;
  past.past_grace_period_ms = 1000;
  prometheus::WriteRequest old;
  AddSample(AddSeries(&old, {{"__name__", "old"}}), 0, 1);
  Decoded run2 = DecodeRequest(old, past);
  EXPECT_EQ(run2.result.samples_refused[R(Refusal::kTooFarInPast)], 1);
  EXPECT_THAT(run2.result.message, ::testing::HasSubstr("(err-mimir-too-far-in-past)"));
}

TEST(RemoteWrite, ExemplarsAreDeliveredAndInvalidOnesDroppedWithoutFailingTheRequest) {
  prometheus::WriteRequest req;
  auto* ts = AddSeries(&req, {{"__name__", "req_total"}});
  AddSample(ts, 1000, 5);
  auto add = [&](Labels labels, double v, int64_t t) {
    auto* e = ts->add_exemplars();
    for (const auto& [n, val] : labels) {
      auto* l = e->add_labels();
      l->set_name(n);
      l->set_value(val);
    }
    e->set_value(v);
    e->set_timestamp(t);
  };
  add({{"trace_id", "abc"}, {"span_id", "def"}}, 0.25, 900);
  add({}, 1, 900);                                     // no labels
  add({{"trace_id", "abc"}}, 1, 0);                    // no timestamp
  add({{"trace_id", ""}}, 1, 900);                     // blank
  add({{"trace_id", std::string(130, 'x')}}, 1, 900);  // over 128 characters
  add({{"trace_id", "\xff"}}, 1, 900);                 // not UTF-8
  Decoded run = DecodeRequest(req);
  EXPECT_TRUE(run.result.ok()) << run.result.message;
  ASSERT_EQ(run.seen.series.size(), 1u);
  ASSERT_EQ(run.seen.series[0].exemplars.size(), 1u);
  const auto& [labels, bits, t] = run.seen.series[0].exemplars[0];
  EXPECT_THAT(labels, ElementsAre(Pair("trace_id", "abc"), Pair("span_id", "def")));
  EXPECT_EQ(bits, std::bit_cast<uint64_t>(0.25));
  EXPECT_EQ(t, 900);
  EXPECT_EQ(run.result.exemplars_accepted, 1);
  EXPECT_EQ(run.result.exemplars_refused[R(Refusal::kExemplarLabelsMissing)], 1);
  EXPECT_EQ(run.result.exemplars_refused[R(Refusal::kExemplarTimestampInvalid)], 1);
  EXPECT_EQ(run.result.exemplars_refused[R(Refusal::kExemplarLabelsBlank)], 1);
  EXPECT_EQ(run.result.exemplars_refused[R(Refusal::kExemplarLabelsTooLong)], 1);
  EXPECT_EQ(run.result.exemplars_refused[R(Refusal::kExemplarLabelsInvalidUtf8)], 1);
}

void AddSpan(google::protobuf::RepeatedPtrField<prometheus::BucketSpan>* spans, int32_t offset,
             uint32_t length) {
  auto* s = spans->Add();
  s->set_offset(offset);
  s->set_length(length);
}

TEST(RemoteWrite, IntegerHistogramDeltasBecomeAbsoluteCounts) {
  prometheus::WriteRequest req;
  auto* ts = AddSeries(&req, {{"__name__", "latency"}});
  auto* h = ts->add_histograms();
  h->set_timestamp(5000);
  h->set_count_int(12);
  h->set_sum(42.5);
  h->set_schema(3);
  h->set_zero_threshold(1e-128);
  h->set_zero_count_int(0);
  h->set_reset_hint(prometheus::Histogram::NO);
  // Positive: indexes 0,1 then 3,4 with counts 1,2,1,3 → deltas 1,+1,-1,+2.
  AddSpan(h->mutable_positive_spans(), 0, 2);
  AddSpan(h->mutable_positive_spans(), 1, 2);
  for (int64_t d : {1, 1, -1, 2}) h->add_positive_deltas(d);
  // Negative: index -2 with count 5.
  AddSpan(h->mutable_negative_spans(), -2, 1);
  h->add_negative_deltas(5);

  Decoded run = DecodeRequest(req);
  ASSERT_TRUE(run.result.ok()) << run.result.message;
  EXPECT_EQ(run.result.histograms_accepted, 1);
  ASSERT_EQ(run.seen.series.size(), 1u);
  ASSERT_EQ(run.seen.series[0].histograms.size(), 1u);
  const HistogramSample& got = run.seen.series[0].histograms[0];
  EXPECT_FALSE(got.is_float);
  EXPECT_EQ(got.timestamp_ms, 5000);
  chunkenc::Histogram want;
  want.reset_hint = chunkenc::CounterResetHint::kNotCounterReset;
  want.schema = 3;
  want.zero_threshold = 1e-128;
  want.count = 12;
  want.sum = 42.5;
  want.positive_spans = {{0, 2}, {1, 2}};
  want.positive_buckets = {1, 2, 1, 3};
  want.negative_spans = {{-2, 1}};
  want.negative_buckets = {5};
  EXPECT_EQ(got.integer, want);
}

TEST(RemoteWrite, FloatHistogramCountsAreTakenAsSent) {
  prometheus::WriteRequest req;
  auto* ts = AddSeries(&req, {{"__name__", "latency"}});
  auto* h = ts->add_histograms();
  h->set_timestamp(7000);
  h->set_count_float(6.5);
  h->set_sum(10);
  h->set_schema(-4);
  h->set_zero_count_float(0.5);
  h->set_reset_hint(prometheus::Histogram::GAUGE);
  AddSpan(h->mutable_positive_spans(), 1, 3);
  for (double c : {1.5, 0.0, 4.5}) h->add_positive_counts(c);

  Decoded run = DecodeRequest(req);
  ASSERT_TRUE(run.result.ok()) << run.result.message;
  const HistogramSample& got = run.seen.series.at(0).histograms.at(0);
  EXPECT_TRUE(got.is_float);
  chunkenc::FloatHistogram want;
  want.reset_hint = chunkenc::CounterResetHint::kGauge;
  want.schema = -4;
  want.zero_count = 0.5;
  want.count = 6.5;
  want.sum = 10;
  want.positive_spans = {{1, 3}};
  want.positive_buckets = {1.5, 0, 4.5};
  EXPECT_EQ(got.floating, want);
}

// Custom buckets (schema -53) in remote write 1.0 (Mimir 2.17+ takes them there too): the bounds
// as sent, for integer and float counts; the next histogram (exponential) decoded into the same
// reused vectors has none.
TEST(RemoteWrite, CustomBucketHistogramsKeepTheirBounds) {
  prometheus::WriteRequest req;
  auto* ts = AddSeries(&req, {{"__name__", "latency"}});
  auto* h = ts->add_histograms();
  h->set_timestamp(5000);
  h->set_count_int(5);
  h->set_sum(3);
  h->set_schema(-53);
  AddSpan(h->mutable_positive_spans(), 1, 2);  // (0.5,1]: 2, (1,+Inf]: 3
  for (int64_t d : {2, 1}) h->add_positive_deltas(d);
  for (double b : {0.5, 1.0}) h->add_custom_values(b);
  auto* f = ts->add_histograms();
  f->set_timestamp(6000);
  f->set_count_float(1.5);
  f->set_schema(-53);
  AddSpan(f->mutable_positive_spans(), 0, 1);
  f->add_positive_counts(1.5);
  f->add_custom_values(-2);
  auto* other = AddSeries(&req, {{"__name__", "exponential"}});
  auto* e = other->add_histograms();
  e->set_timestamp(5000);
  e->set_count_int(1);
  AddSpan(e->mutable_positive_spans(), 0, 1);
  e->add_positive_deltas(1);

  Decoded run = DecodeRequest(req);
  ASSERT_TRUE(run.result.ok()) << run.result.message;
  EXPECT_EQ(run.result.histograms_accepted, 3);
  const HistogramSample& got = run.seen.series.at(0).histograms.at(0);
  EXPECT_EQ(got.integer.schema, -53);
  EXPECT_EQ(got.integer.custom_values, (std::vector<double>{0.5, 1}));
  EXPECT_EQ(got.integer.positive_buckets, (std::vector<uint64_t>{2, 3}));
  const HistogramSample& fl = run.seen.series.at(0).histograms.at(1);
  EXPECT_TRUE(fl.is_float);
  EXPECT_EQ(fl.floating.custom_values, (std::vector<double>{-2}));
  const HistogramSample& ex = run.seen.series.at(1).histograms.at(0);
  EXPECT_EQ(ex.integer.schema, 0);
  EXPECT_TRUE(ex.integer.custom_values.empty());
  EXPECT_TRUE(ex.floating.custom_values.empty());
}

TEST(RemoteWrite, InvalidHistogramsRefuseTheirSeries) {
  auto message_for = [](auto&& fill) {
    prometheus::WriteRequest req;
    auto* ts = AddSeries(&req, {{"__name__", "h"}});
    auto* h = ts->add_histograms();
    h->set_timestamp(1);
    h->set_count_int(1);
    fill(h);
    Decoded run = DecodeRequest(req);
    EXPECT_EQ(run.result.histograms_refused[R(Refusal::kCount)], 0);
    EXPECT_TRUE(run.seen.series.empty());
    return run.result.message;
  };
  EXPECT_EQ(message_for([](prometheus::Histogram* h) { h->set_schema(9); }),
            "received a native histogram sample with an invalid schema: 9 "
            "(err-mimir-invalid-native-histogram-schema)");
  EXPECT_EQ(message_for([](prometheus::Histogram* h) { h->set_schema(-5); }),
            "received a native histogram sample with an invalid schema: -5 "
            "(err-mimir-invalid-native-histogram-schema)");
  EXPECT_EQ(
      message_for([](prometheus::Histogram* h) {
        AddSpan(h->mutable_positive_spans(), 0, 2);
        h->add_positive_deltas(3);
        h->add_positive_deltas(-4);  // 3 then -1
      }),
      "received a native histogram sample with a bucket whose observation count is "
      "negative, timestamp: 1 series: 'h' (err-mimir-native-histogram-negative-bucket-count)");
  EXPECT_EQ(message_for([](prometheus::Histogram* h) {
              AddSpan(h->mutable_positive_spans(), 0, 2);
              h->add_positive_deltas(3);
            }),
            "received a native histogram sample whose spans specify a different number of "
            "buckets than provided, timestamp: 1 series: 'h' "
            "(err-mimir-native-histogram-spans-buckets-mismatch)");
  EXPECT_EQ(message_for([](prometheus::Histogram* h) {
              AddSpan(h->mutable_positive_spans(), 0, 1);
              AddSpan(h->mutable_positive_spans(), -1, 1);
              h->add_positive_deltas(1);
              h->add_positive_deltas(1);
            }),
            "received a native histogram sample with a span whose offset is negative, "
            "timestamp: 1 series: 'h' (err-mimir-native-histogram-span-negative-offset)");
}

TEST(RemoteWrite, MetadataOnlyRequestIsValid) {
  prometheus::WriteRequest req;
  auto* m = req.add_metadata();
  m->set_type(prometheus::MetricMetadata::COUNTER);
  m->set_metric_family_name("http_requests_total");
  m->set_help("Requests served.");
  m->set_unit("requests");
  Decoded run = DecodeRequest(req);
  EXPECT_TRUE(run.result.ok()) << run.result.message;
  EXPECT_EQ(run.result.metadata_accepted, 1);
  ASSERT_EQ(run.seen.metadata.size(), 1u);
  EXPECT_EQ(run.seen.metadata[0].type, static_cast<int32_t>(MetricType::kCounter));
  EXPECT_EQ(run.seen.metadata[0].name, "http_requests_total");
  EXPECT_EQ(run.seen.metadata[0].help, "Requests served.");
  EXPECT_EQ(run.seen.metadata[0].unit, "requests");
}

TEST(RemoteWrite, MetadataValidationAndHelpTruncation) {
  Limits limits;
  limits.max_metadata_length = 8;
  prometheus::WriteRequest req;
  req.add_metadata()->set_help("no name");
  auto* long_help = req.add_metadata();
  long_help->set_metric_family_name("m");
  long_help->set_help("abcdefg\xc3\xa9xyz");  // the é would end past byte 8: cut before it
  auto* long_unit = req.add_metadata();
  long_unit->set_metric_family_name("m");
  long_unit->set_unit("secondsss");
  auto* long_name = req.add_metadata();
  long_name->set_metric_family_name("abcdefghi");
  Decoded run = DecodeRequest(req, limits);
  EXPECT_EQ(run.result.http_status, 400);
  EXPECT_EQ(run.result.message,
            "received a metric metadata with no metric name "
            "(err-mimir-metadata-missing-metric-name)");
  ASSERT_EQ(run.seen.metadata.size(), 1u);
  EXPECT_EQ(run.seen.metadata[0].help, "abcdefg");
  EXPECT_EQ(run.result.metadata_refused[R(Refusal::kMetadataMissingMetricName)], 1);
  EXPECT_EQ(run.result.metadata_refused[R(Refusal::kMetadataUnitTooLong)], 1);
  EXPECT_EQ(run.result.metadata_refused[R(Refusal::kMetadataMetricNameTooLong)], 1);

  prometheus::WriteRequest unit_only;
  *unit_only.add_metadata() = *long_unit;
  EXPECT_EQ(DecodeRequest(unit_only, limits).result.message,
            "received a metric metadata whose unit name length exceeds the limit, unit: "
            "'secondsss' metric name: 'm' (err-mimir-unit-too-long). To adjust the related "
            "per-tenant limit, configure -validation.max-metadata-length, or contact your "
            "service administrator.");
  prometheus::WriteRequest name_only;
  *name_only.add_metadata() = *long_name;
  EXPECT_EQ(DecodeRequest(name_only, limits).result.message,
            "received a metric metadata whose metric name length exceeds the limit, metric "
            "name: 'abcdefghi' (err-mimir-metric-name-too-long). To adjust the related "
            "per-tenant limit, configure -validation.max-metadata-length, or contact your "
            "service administrator.");
}

TEST(RemoteWrite, CorruptSnappyIsRefusedWhole) {
  Collector seen;
  RemoteWriteDecoder decoder;
  IngestResult bad_header = decoder.DecodeSnappy("\xff\xff\xff\xff\xff\xff", kNow, seen);
  EXPECT_EQ(bad_header.http_status, 400);
  EXPECT_TRUE(bad_header.request_refused);
  EXPECT_EQ(bad_header.message, "getting snappy decoded length: snappy: corrupt input");
  // A sound length header (5) followed by a copy that reaches before the start.
  IngestResult bad_body = decoder.DecodeSnappy(std::string("\x05\x0a\x0b\x0c", 4), kNow, seen);
  EXPECT_EQ(bad_body.http_status, 400);
  EXPECT_EQ(bad_body.message, "decompress snappy: snappy: corrupt input");
  EXPECT_TRUE(seen.series.empty());
}

TEST(RemoteWrite, TruncatedProtobufIsRefusedBeforeAnythingIsDelivered) {
  prometheus::WriteRequest req;
  AddSample(AddSeries(&req, {{"__name__", "first"}}), 1, 1);
  AddSample(AddSeries(&req, {{"__name__", "second"}}), 1, 1);
  const std::string wire = req.SerializeAsString();
  for (size_t cut = 1; cut < wire.size(); ++cut) {
    Decoded run = DecodeWire(wire.substr(0, cut));
    prometheus::WriteRequest parsed;
    if (parsed.ParseFromString(wire.substr(0, cut))) continue;  // a clean prefix is valid
    EXPECT_TRUE(run.result.request_refused) << cut;
    EXPECT_EQ(run.result.http_status, 400);
    EXPECT_EQ(run.result.message, "unexpected EOF") << cut;
    EXPECT_TRUE(run.seen.series.empty()) << cut;
  }
  EXPECT_EQ(DecodeWire(std::string("\x00", 1)).result.message,
            "proto: WriteRequest: illegal tag 0 (wire type 0)");
  EXPECT_EQ(DecodeWire("\x0f").result.message, "proto: WriteRequest: illegal wireType 7");
  EXPECT_EQ(DecodeWire("\x0c").result.message,
            "proto: WriteRequest: wiretype end group for non-group");
}

TEST(RemoteWrite, UnknownFieldsAreSkipped) {
  prometheus::WriteRequest req;
  auto* ts = AddSeries(&req, {{"__name__", "up"}, {"job", "a"}});
  AddSample(ts, 10, 1);
  auto unknown = [](google::protobuf::Message* m) {
    auto* fields = m->GetReflection()->MutableUnknownFields(m);
    fields->AddVarint(20, 7);
    fields->AddLengthDelimited(21, "future");
    fields->AddFixed32(22, 1);
    fields->AddFixed64(23, 2);
    fields->AddGroup(24)->AddVarint(1, 3);
  };
  unknown(&req);
  unknown(ts);
  unknown(ts->mutable_labels(0));
  unknown(ts->mutable_samples(0));
  // A known field with another wire type is an unknown field to protobuf's parsers.
  ts->GetReflection()->MutableUnknownFields(ts)->AddVarint(1, 99);
  ts->mutable_samples(0)
      ->GetReflection()
      ->MutableUnknownFields(ts->mutable_samples(0))
      ->AddLengthDelimited(2, "x");
  Decoded run = DecodeRequest(req);
  ASSERT_TRUE(run.result.ok()) << run.result.message;
  ASSERT_EQ(run.seen.series.size(), 1u);
  EXPECT_THAT(run.seen.series[0].labels, ElementsAre(Pair("__name__", "up"), Pair("job", "a")));
  EXPECT_THAT(run.seen.series[0].samples, ElementsAre(Pair(10, std::bit_cast<uint64_t>(1.0))));
}

TEST(RemoteWrite, LabelFieldsThatAreNotContiguousAreGathered) {
  prometheus::TimeSeries labels_only;
  auto* l1 = labels_only.add_labels();
  l1->set_name("__name__");
  l1->set_value("up");
  auto* l2 = labels_only.add_labels();
  l2->set_name("job");
  l2->set_value("a");
  prometheus::TimeSeries first, sample_only, second;
  *first.add_labels() = *l1;
  AddSample(&sample_only, 5, 2);
  *second.add_labels() = *l2;
  const std::string ts =
      first.SerializeAsString() + sample_only.SerializeAsString() + second.SerializeAsString();
  std::string wire = "\x0a";
  wire.push_back(static_cast<char>(ts.size()));
  wire += ts;
  Decoded run = DecodeWire(wire);
  ASSERT_TRUE(run.result.ok()) << run.result.message;
  ASSERT_EQ(run.seen.series.size(), 1u);
  EXPECT_EQ(run.seen.series[0].label_bytes, labels_only.SerializeAsString());
  EXPECT_THAT(run.seen.series[0].labels, ElementsAre(Pair("__name__", "up"), Pair("job", "a")));
  EXPECT_THAT(run.seen.series[0].samples, ElementsAre(Pair(5, std::bit_cast<uint64_t>(2.0))));
}

TEST(RemoteWrite, KnownLabelBytesSkipValidationAndDecodeLabelsOnlyWhenAsked) {
  prometheus::WriteRequest req;
  // Unsorted: refused when validated, delivered when the visitor vouches for the bytes.
  AddSample(AddSeries(&req, {{"__name__", "up"}, {"job", "a"}, {"instance", "b"}}), 1, 1);
  const std::string wire = req.SerializeAsString();
  EXPECT_EQ(DecodeWire(wire).result.series_refused, 1);
  Decoded known = DecodeWire(wire, {}, /*known=*/true);
  EXPECT_TRUE(known.result.ok());
  ASSERT_EQ(known.seen.series.size(), 1u);
  EXPECT_THAT(known.seen.series[0].labels,
              ElementsAre(Pair("__name__", "up"), Pair("job", "a"), Pair("instance", "b")));
}

TEST(RemoteWrite, BodiesOverTheLimitAreRefusedWithMimirsMessage) {
  prometheus::WriteRequest req;
  AddSample(AddSeries(&req, {{"__name__", std::string(500, 'a')}}), 1, 1);
  const std::string wire = req.SerializeAsString();
  const std::string body = *net::Compress(net::Codec::kSnappy, wire);
  ASSERT_LT(body.size(), 100u);  // 500 equal bytes compress well

  Limits limits;
  limits.max_recv_msg_size = 100;
  Collector seen;
  RemoteWriteDecoder decoder(limits);
  IngestResult r = decoder.DecodeSnappy(body, kNow, seen);
  EXPECT_TRUE(r.request_refused);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.message, "the incoming push request has been rejected because its message size of " +
                           std::to_string(wire.size()) +
                           " bytes (uncompressed) is larger than the allowed limit of 100 bytes "
                           "(err-mimir-distributor-max-write-message-size). To adjust the related "
                           "limit, configure -distributor.max-recv-msg-size, or contact your "
                           "service administrator.");
  limits.max_recv_msg_size = 10;
  RemoteWriteDecoder tiny(limits);
  EXPECT_EQ(tiny.DecodeSnappy(body, kNow, seen).message,
            "the incoming push request has been rejected because its message size of " +
                std::to_string(body.size()) +
                " bytes (compressed) is larger than the allowed limit of 10 bytes "
                "(err-mimir-distributor-max-write-message-size). To adjust the related limit, "
                "configure -distributor.max-recv-msg-size, or contact your service "
                "administrator.");
  EXPECT_TRUE(seen.series.empty());
}

TEST(RemoteWrite, EmptyRequestIsValid) {
  Decoded run = DecodeRequest(prometheus::WriteRequest());
  EXPECT_TRUE(run.result.ok());
  EXPECT_EQ(run.result.series_accepted, 0);
}

TEST(RemoteWrite, DecoderIsReusableAcrossRequests) {
  RemoteWriteDecoder decoder;
  for (int round = 0; round < 3; ++round) {
    prometheus::WriteRequest req;
    auto* ts = AddSeries(&req, {{"__name__", "h"}});
    auto* h = ts->add_histograms();
    h->set_count_int(round);
    AddSpan(h->mutable_positive_spans(), 0, static_cast<uint32_t>(round));
    for (int i = 0; i < round; ++i) h->add_positive_deltas(i == 0 ? 1 : 0);
    Collector seen;
    IngestResult r = decoder.Decode(req.SerializeAsString(), kNow, seen);
    ASSERT_TRUE(r.ok()) << r.message;
    ASSERT_EQ(seen.series.size(), 1u);
    EXPECT_EQ(seen.series[0].histograms.at(0).integer.positive_buckets,
              std::vector<uint64_t>(round, 1));
  }
}

}  // namespace
}  // namespace sprout::metrics::ingest

namespace sprout::metrics::ingest {
namespace {

// Writes the fuzzer's seed corpus (corpus/remote_write_fuzzer/) when
// SPROUT_WRITE_REMOTE_WRITE_SEEDS names a directory; otherwise checks that the seeds decode.
// Byte 0 of a seed is the fuzzer's mode: 0 = uncompressed WriteRequest, 1 = snappy body.
std::vector<std::pair<std::string, std::string>> Seeds() {
  prometheus::WriteRequest full;
  auto* ts = AddSeries(
      &full, {{"__name__", "http_requests_total"}, {"instance", "10.0.0.1:9100"}, {"job", "api"}});
  AddSample(ts, 1000, 1);
  AddSample(ts, 2000, std::bit_cast<double>(kStaleNaN));
  auto* e = ts->add_exemplars();
  auto* el = e->add_labels();
  el->set_name("trace_id");
  el->set_value("4bf92f3577b34da6a3ce929d0e0e4736");
  e->set_value(0.5);
  e->set_timestamp(900);
  auto* hs = AddSeries(&full, {{"__name__", "latency_seconds"}, {"job", "api"}});
  auto* h = hs->add_histograms();
  h->set_timestamp(1000);
  h->set_count_int(6);
  h->set_sum(3.5);
  h->set_schema(2);
  AddSpan(h->mutable_positive_spans(), 0, 2);
  AddSpan(h->mutable_positive_spans(), 2, 1);
  for (int64_t d : {1, 2, -1}) h->add_positive_deltas(d);
  AddSpan(h->mutable_negative_spans(), -1, 1);
  h->add_negative_deltas(1);
  auto* fh = hs->add_histograms();
  fh->set_timestamp(2000);
  fh->set_count_float(2.5);
  fh->set_schema(-4);
  AddSpan(fh->mutable_positive_spans(), 3, 1);
  fh->add_positive_counts(2.5);
  auto* m = full.add_metadata();
  m->set_type(prometheus::MetricMetadata::COUNTER);
  m->set_metric_family_name("http_requests_total");
  m->set_help("Requests.");
  m->set_unit("requests");

  prometheus::WriteRequest bad;
  AddSample(AddSeries(&bad, {{"job", "nameless"}}), 1, 1);
  AddSample(AddSeries(&bad, {{"__name__", "up"}, {"b", "1"}, {"a", "2"}}), 1, 1);
  AddSample(AddSeries(&bad, {{"__name__", "up"}, {"a", "1"}, {"a", "2"}}), 1, 1);

  prometheus::WriteRequest metadata_only;
  *metadata_only.add_metadata() = full.metadata(0);
  const std::string wire = full.SerializeAsString();
  return {
      {"full", std::string(1, '\0') + wire},
      {"full-snappy", "\x01" + *net::Compress(net::Codec::kSnappy, wire)},
      {"invalid-series", std::string(1, '\0') + bad.SerializeAsString()},
      {"truncated", std::string(1, '\0') + wire.substr(0, wire.size() / 2)},
      {"metadata-only", std::string(1, '\0') + metadata_only.SerializeAsString()},
      {"known-labels", "\x02" + wire},
  };
}

TEST(RemoteWriteSeeds, WriteOrCheck) {
  const char* dir = std::getenv("SPROUT_WRITE_REMOTE_WRITE_SEEDS");
  for (const auto& [name, bytes] : Seeds()) {
    if (dir != nullptr) {
      FILE* f = std::fopen((std::string(dir) + "/" + name).c_str(), "wb");
      ASSERT_NE(f, nullptr);
      std::fwrite(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
    }
    ASSERT_FALSE(bytes.empty());
  }
  // The full seed decodes with nothing refused.
  Decoded run = DecodeWire(Seeds()[0].second.substr(1));
  EXPECT_TRUE(run.result.ok()) << run.result.message;
  EXPECT_EQ(run.result.series_accepted, 2);
  EXPECT_EQ(run.result.histograms_accepted, 2);
  EXPECT_EQ(run.result.exemplars_accepted, 1);
  EXPECT_EQ(run.result.metadata_accepted, 1);
}

}  // namespace
}  // namespace sprout::metrics::ingest
