#include "base/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sprout {
namespace {

TEST(MetricsRegistryTest, SameIdentitySameInstrument) {
  MetricsRegistry registry;
  Counter* a = registry.GetCounter("x_total", "help", {{"k", "v"}});
  Counter* b = registry.GetCounter("x_total", "help", {{"k", "v"}});
  Counter* c = registry.GetCounter("x_total", "help", {{"k", "w"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(MetricsRegistryTest, RendersPrometheusText) {
  MetricsRegistry registry(MetricLabels{{"service_name", "sprout"}});
  registry
      .GetCounter("otelcol_receiver_accepted_spans_total", "Accepted.",
                  {{"receiver", "otlp"}, {"transport", "grpc"}})
      ->Add(3);
  registry.GetGauge("otelcol_exporter_queue_size", "Queue.", {{"exporter", "otlp"}})->Set(2);
  const int id = registry.AddGaugeCallback("z_gauge", "Z.", {}, [] { return 0.5; });
  EXPECT_EQ(registry.RenderText(),
            "# HELP otelcol_exporter_queue_size Queue.\n"
            "# TYPE otelcol_exporter_queue_size gauge\n"
            "otelcol_exporter_queue_size{exporter=\"otlp\",service_name=\"sprout\"} 2\n"
            "# HELP otelcol_receiver_accepted_spans_total Accepted.\n"
            "# TYPE otelcol_receiver_accepted_spans_total counter\n"
            "otelcol_receiver_accepted_spans_total{receiver=\"otlp\",transport=\"grpc\","
            "service_name=\"sprout\"} 3\n"
            "# HELP z_gauge Z.\n"
            "# TYPE z_gauge gauge\n"
            "z_gauge{service_name=\"sprout\"} 0.5\n");
  registry.RemoveCallback(id);
  EXPECT_EQ(registry.RenderText().find("z_gauge"), std::string::npos);
}

TEST(MetricsRegistryTest, FormatsValues) {
  EXPECT_EQ(FormatPrometheusValue(1), "1");
  EXPECT_EQ(FormatPrometheusValue(0.1), "0.1");
  EXPECT_EQ(FormatPrometheusValue(NAN), "NaN");
  EXPECT_EQ(FormatPrometheusValue(-INFINITY), "-Inf");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\n"), "a\\\"b\\\\c\\n");
}

}  // namespace
}  // namespace sprout

namespace sprout {
namespace {

TEST(MetricsRegistryTest, SnapshotIsWhatRenderTextShows) {
  MetricsRegistry registry(MetricLabels{{"service", "x"}});
  registry.GetCounter("b_total", "B.", {{"k", "v"}})->Add(3);
  registry.GetGauge("a", "A.")->Set(1.5);
  registry.AddCounterCallback("c_total", "C.", {}, [] { return 7.0; });
  const int id = registry.AddGaugeCallback("gone", "Gone.", {}, [] { return 1.0; });
  registry.RemoveCallback(id);
  Histogram* h = registry.GetHistogram("d_seconds", "D.", {0.5, 1}, {{"op", "w"}});
  EXPECT_EQ(registry.GetHistogram("d_seconds", "D.", {7}, {{"op", "w"}}), h);
  for (double v : {0.25, 0.5, 0.75, 3.0}) h->Observe(v);

  const std::vector<MetricsRegistry::FamilySnapshot> snapshot = registry.Snapshot();
  ASSERT_EQ(snapshot.size(), 4u);  // "gone" has no series left
  EXPECT_EQ(snapshot[0].name, "a");
  EXPECT_EQ(snapshot[0].type, "gauge");
  EXPECT_EQ(snapshot[0].help, "A.");
  ASSERT_EQ(snapshot[0].samples.size(), 1u);
  EXPECT_EQ(snapshot[0].samples[0].name, "a");
  EXPECT_EQ(snapshot[0].samples[0].labels, (MetricLabels{{"service", "x"}}));
  EXPECT_EQ(snapshot[0].samples[0].value, 1.5);
  EXPECT_EQ(snapshot[1].name, "b_total");
  EXPECT_EQ(snapshot[1].type, "counter");
  EXPECT_EQ(snapshot[1].samples[0].labels, (MetricLabels{{"k", "v"}, {"service", "x"}}));
  EXPECT_EQ(snapshot[1].samples[0].value, 3);
  EXPECT_EQ(snapshot[2].name, "c_total");
  EXPECT_EQ(snapshot[2].samples[0].value, 7);
  EXPECT_EQ(snapshot[3].name, "d_seconds");
  EXPECT_EQ(snapshot[3].type, "histogram");
  std::vector<std::string> lines;
  for (const auto& sample : snapshot[3].samples) {
    std::string line = sample.name;
    for (const auto& [k, v] : sample.labels) line += " " + k + "=" + v;
    lines.push_back(line + " " + FormatPrometheusValue(sample.value));
  }
  // 0.5 falls in le="0.5" (upper bounds are inclusive); 3 only in +Inf.
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "d_seconds_bucket op=w service=x le=0.5 2",
                       "d_seconds_bucket op=w service=x le=1 3",
                       "d_seconds_bucket op=w service=x le=+Inf 4",
                       "d_seconds_sum op=w service=x 4.5",
                       "d_seconds_count op=w service=x 4",
                   }));
}

TEST(MetricsRegistryTest, RendersHistograms) {
  MetricsRegistry registry;
  Histogram* h = registry.GetHistogram("d_seconds", "D.", {0.1});
  h->Observe(0.05);
  h->Observe(1);
  EXPECT_EQ(registry.RenderText(),
            "# HELP d_seconds D.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{le=\"0.1\"} 1\n"
            "d_seconds_bucket{le=\"+Inf\"} 2\n"
            "d_seconds_sum 1.05\n"
            "d_seconds_count 2\n");
}

}  // namespace
}  // namespace sprout
