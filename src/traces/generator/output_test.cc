#include "traces/generator/output.h"

#include <gtest/gtest.h>

namespace sprout::traces::generator {
namespace {

TEST(WriteRequestSink, SeriesLabelsSortedWithNameSampleAndExemplars) {
  WriteRequestSink sink;
  EXPECT_TRUE(sink.empty());
  const absl::Time t = absl::FromUnixMillis(1700000000123);
  const Exemplar ex{"0102030405060708090a0b0c0d0e0f10", 0.25, absl::FromUnixMillis(1700000000456)};
  // "Zone" sorts before "__name__" in byte order, "client" after it.
  sink.Append("traces_service_graph_request_total",
              {{"Zone", "z"}, {"client", "a"}, {"server", "b"}}, 3, t, {&ex, 1}, "traceID");
  sink.Append("up", {}, 1, t, {}, "traceID");
  EXPECT_EQ(sink.series(), 2u);
  prometheus::WriteRequest r = sink.Take();
  EXPECT_TRUE(sink.empty());
  ASSERT_EQ(r.timeseries_size(), 2);
  const prometheus::TimeSeries& s = r.timeseries(0);
  ASSERT_EQ(s.labels_size(), 4);
  EXPECT_EQ(s.labels(0).name(), "Zone");
  EXPECT_EQ(s.labels(1).name(), "__name__");
  EXPECT_EQ(s.labels(1).value(), "traces_service_graph_request_total");
  EXPECT_EQ(s.labels(2).name(), "client");
  EXPECT_EQ(s.labels(3).name(), "server");
  ASSERT_EQ(s.samples_size(), 1);
  EXPECT_EQ(s.samples(0).value(), 3);
  EXPECT_EQ(s.samples(0).timestamp(), 1700000000123);
  ASSERT_EQ(s.exemplars_size(), 1);
  EXPECT_EQ(s.exemplars(0).labels(0).name(), "traceID");
  EXPECT_EQ(s.exemplars(0).labels(0).value(), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(s.exemplars(0).value(), 0.25);
  EXPECT_EQ(s.exemplars(0).timestamp(), 1700000000456);
  const prometheus::TimeSeries& up = r.timeseries(1);
  ASSERT_EQ(up.labels_size(), 1);
  EXPECT_EQ(up.labels(0).value(), "up");
  EXPECT_EQ(up.exemplars_size(), 0);
}

TEST(WriteRequestSink, NativeHistogramIsOneIntegerHistogram) {
  WriteRequestSink sink;
  NativeHistogramSample h;
  h.schema = 3;
  h.zero_threshold = kNativeHistogramZeroThreshold;
  h.zero_count = 1;
  h.count = 7;
  h.sum = 3.311;
  h.positive_spans = {{-79, 1}, {57, 1}};
  h.positive_deltas = {1, 2};
  h.negative_spans = {{2, 1}};
  h.negative_deltas = {3};
  const absl::Time t = absl::FromUnixMillis(1700000000123);
  const Exemplar ex{"ab", 0.15, t};
  sink.AppendNativeHistogram("traces_spanmetrics_latency", {{"service", "a"}}, h, t, {&ex, 1},
                             "traceID");
  prometheus::WriteRequest r = sink.Take();
  ASSERT_EQ(r.timeseries_size(), 1);
  const prometheus::TimeSeries& s = r.timeseries(0);
  ASSERT_EQ(s.labels_size(), 2);
  EXPECT_EQ(s.labels(0).name(), "__name__");
  EXPECT_EQ(s.labels(0).value(), "traces_spanmetrics_latency");
  EXPECT_EQ(s.labels(1).name(), "service");
  EXPECT_EQ(s.samples_size(), 0);
  ASSERT_EQ(s.exemplars_size(), 1);
  EXPECT_EQ(s.exemplars(0).labels(0).name(), "traceID");
  EXPECT_EQ(s.exemplars(0).labels(0).value(), "ab");
  EXPECT_EQ(s.exemplars(0).value(), 0.15);
  ASSERT_EQ(s.histograms_size(), 1);
  const prometheus::Histogram& p = s.histograms(0);
  EXPECT_EQ(p.count_case(), prometheus::Histogram::kCountInt);
  EXPECT_EQ(p.count_int(), 7u);
  EXPECT_EQ(p.zero_count_case(), prometheus::Histogram::kZeroCountInt);
  EXPECT_EQ(p.zero_count_int(), 1u);
  EXPECT_EQ(p.sum(), 3.311);
  EXPECT_EQ(p.schema(), 3);
  EXPECT_EQ(p.zero_threshold(), kNativeHistogramZeroThreshold);
  ASSERT_EQ(p.positive_spans_size(), 2);
  EXPECT_EQ(p.positive_spans(0).offset(), -79);
  EXPECT_EQ(p.positive_spans(0).length(), 1u);
  EXPECT_EQ(p.positive_spans(1).offset(), 57);
  ASSERT_EQ(p.positive_deltas_size(), 2);
  EXPECT_EQ(p.positive_deltas(0), 1);
  EXPECT_EQ(p.positive_deltas(1), 2);
  EXPECT_EQ(p.positive_counts_size(), 0);  // integer histogram: no float counts
  ASSERT_EQ(p.negative_spans_size(), 1);
  EXPECT_EQ(p.negative_spans(0).offset(), 2);
  ASSERT_EQ(p.negative_deltas_size(), 1);
  EXPECT_EQ(p.negative_deltas(0), 3);
  EXPECT_EQ(p.reset_hint(), prometheus::Histogram::UNKNOWN);
  EXPECT_EQ(p.timestamp(), 1700000000123);
}

}  // namespace
}  // namespace sprout::traces::generator
