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

}  // namespace
}  // namespace sprout::traces::generator
