#include "traces/generator/registry.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "traces/generator/generator_testing.h"

namespace sprout::traces::generator {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

TEST(FormatLe, GoShortestFixed) {
  EXPECT_EQ(FormatLe(0.002), "0.002");
  EXPECT_EQ(FormatLe(16.384), "16.384");
  EXPECT_EQ(FormatLe(1), "1");
  EXPECT_EQ(FormatLe(0.1), "0.1");
  EXPECT_EQ(FormatLe(12.8), "12.8");
  EXPECT_EQ(FormatLe(1e21), "1000000000000000000000");
  EXPECT_EQ(FormatLe(std::numeric_limits<double>::infinity()), "+Inf");
}

TEST(DefaultBuckets, TemposSpanMetricsBuckets) {
  // reference §4.3: 0.002 doubling to 16.384 — 14 bounds.
  std::vector<double> b = DefaultSpanMetricsBuckets();
  ASSERT_EQ(b.size(), 14u);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_DOUBLE_EQ(b[i], 0.002 * (1 << i));
}

TEST(Registry, CounterAccumulatesPerLabelSet) {
  Registry r(RegistryConfig{});
  Counter* c = r.NewCounter("calls_total");
  EXPECT_TRUE(c->Inc({{"service", "a"}}, 1, kT0));
  EXPECT_TRUE(c->Inc({{"service", "a"}}, 2, kT0));
  EXPECT_TRUE(c->Inc({{"service", "b"}}, 5, kT0));
  CollectingSink sink;
  r.Collect(kT0 + absl::Seconds(15), sink);
  EXPECT_THAT(sink.Values(), ElementsAre(Pair("calls_total{service=\"a\"}", 3),
                                         Pair("calls_total{service=\"b\"}", 5)));
  EXPECT_EQ(sink.At(kT0 + absl::Seconds(15)).size(), 2u);
  // Counters keep their value across collections (cumulative).
  CollectingSink again;
  r.Collect(kT0 + absl::Seconds(30), again);
  EXPECT_EQ(again.Values().at("calls_total{service=\"a\"}"), 3);
}

TEST(Registry, LabelOrderDoesNotMakeANewSeries) {
  Registry r(RegistryConfig{});
  Counter* c = r.NewCounter("c");
  c->Inc({{"b", "2"}, {"a", "1"}}, 1, kT0);
  c->Inc({{"a", "1"}, {"b", "2"}}, 1, kT0);
  CollectingSink sink;
  r.Collect(kT0, sink);
  EXPECT_THAT(sink.Values(), ElementsAre(Pair("c{a=\"1\",b=\"2\"}", 2)));
  EXPECT_EQ(r.active_series(), 1u);
}

TEST(Registry, GaugeSetAndAdd) {
  Registry r(RegistryConfig{});
  Gauge* g = r.NewGauge("g");
  g->Set({{"x", "1"}}, 7, kT0);
  g->Set({{"x", "1"}}, 1, kT0);
  g->Add({{"x", "2"}}, 2, kT0);
  g->Add({{"x", "2"}}, 3, kT0);
  CollectingSink sink;
  r.Collect(kT0, sink);
  EXPECT_THAT(sink.Values(), ElementsAre(Pair("g{x=\"1\"}", 1), Pair("g{x=\"2\"}", 5)));
}

TEST(Registry, HistogramEmitsEveryBucketCumulativeWithZeros) {
  Registry r(RegistryConfig{});
  Histogram* h = r.NewHistogram("lat", {0.1, 0.2, 0.4});
  // 0.05 → le 0.1; 0.2 exactly → le 0.2 (le is inclusive); 1.0 → only +Inf. Multiplier 2 on 1.0.
  h->Observe({{"s", "a"}}, 0.05, 1, kT0);
  h->Observe({{"s", "a"}}, 0.2, 1, kT0);
  h->Observe({{"s", "a"}}, 1.0, 2, kT0);
  CollectingSink sink;
  r.Collect(kT0, sink);
  const std::vector<CollectedSample> at = sink.At(kT0);
  ASSERT_EQ(at.size(), 6u);  // _count, _sum, 3 bounds + +Inf
  EXPECT_EQ(at[0].series, "lat_count{s=\"a\"}");
  EXPECT_EQ(at[0].value, 4);
  EXPECT_EQ(at[1].series, "lat_sum{s=\"a\"}");
  EXPECT_DOUBLE_EQ(at[1].value, 0.05 + 0.2 + 2 * 1.0);
  EXPECT_EQ(at[2].series, "lat_bucket{le=\"0.1\",s=\"a\"}");
  EXPECT_EQ(at[2].value, 1);
  EXPECT_EQ(at[3].series, "lat_bucket{le=\"0.2\",s=\"a\"}");
  EXPECT_EQ(at[3].value, 2);
  EXPECT_EQ(at[4].series, "lat_bucket{le=\"0.4\",s=\"a\"}");
  EXPECT_EQ(at[4].value, 2);  // zero new observations, still emitted
  EXPECT_EQ(at[5].series, "lat_bucket{le=\"+Inf\",s=\"a\"}");
  EXPECT_EQ(at[5].value, 4);
}

TEST(Registry, HistogramWithNoObservationInABucketStillEmitsZero) {
  Registry r(RegistryConfig{});
  Histogram* h = r.NewHistogram("lat", {1, 2});
  h->Observe(Labels{}, 5, 1, kT0);
  CollectingSink sink;
  r.Collect(kT0, sink);
  EXPECT_EQ(sink.Values().at("lat_bucket{le=\"1\"}"), 0);
  EXPECT_EQ(sink.Values().at("lat_bucket{le=\"2\"}"), 0);
  EXPECT_EQ(sink.Values().at("lat_bucket{le=\"+Inf\"}"), 1);
}

TEST(Registry, ExternalLabelsOnEverySeriesSeriesLabelWins) {
  RegistryConfig cfg;
  cfg.external_labels = {{"source", "tempo"}, {"service", "ext"}};
  Registry r(cfg);
  r.NewCounter("c")->Inc({{"service", "a"}}, 1, kT0);
  r.NewHistogram("h", {1})->Observe(Labels{}, 0.5, 1, kT0);
  CollectingSink sink;
  r.Collect(kT0, sink);
  EXPECT_THAT(sink.Values(),
              ElementsAre(Pair("c{service=\"a\",source=\"tempo\"}", 1),
                          Pair("h_bucket{le=\"+Inf\",service=\"ext\",source=\"tempo\"}", 1),
                          Pair("h_bucket{le=\"1\",service=\"ext\",source=\"tempo\"}", 1),
                          Pair("h_count{service=\"ext\",source=\"tempo\"}", 1),
                          Pair("h_sum{service=\"ext\",source=\"tempo\"}", 0.5)));
}

TEST(Registry, MaxActiveSeriesRefusesAndCounts) {
  RegistryConfig cfg;
  cfg.max_active_series = 3;
  Registry r(cfg);
  Counter* c = r.NewCounter("c");
  EXPECT_TRUE(c->Inc({{"k", "1"}}, 1, kT0));
  EXPECT_TRUE(c->Inc({{"k", "2"}}, 1, kT0));
  EXPECT_TRUE(c->Inc({{"k", "3"}}, 1, kT0));
  EXPECT_FALSE(c->Inc({{"k", "4"}}, 1, kT0));
  EXPECT_FALSE(c->Inc({{"k", "5"}}, 1, kT0));
  EXPECT_TRUE(c->Inc({{"k", "1"}}, 1, kT0));  // existing series still updated
  EXPECT_EQ(r.active_series(), 3u);
  EXPECT_EQ(r.series_limited_total(), 2u);
  CollectingSink sink;
  r.Collect(kT0, sink);
  EXPECT_EQ(sink.At(kT0).size(), 3u);
  EXPECT_EQ(sink.Values().at("c{k=\"1\"}"), 2);
}

TEST(Registry, HistogramSeriesCostBucketsPlusThree) {
  // 2 bounds → 2 + +Inf + _sum + _count = 5 active series per label set.
  RegistryConfig cfg;
  cfg.max_active_series = 9;
  Registry r(cfg);
  Histogram* h = r.NewHistogram("h", {1, 2});
  EXPECT_TRUE(h->Observe({{"k", "1"}}, 1, 1, kT0));
  EXPECT_EQ(r.active_series(), 5u);
  EXPECT_FALSE(h->Observe({{"k", "2"}}, 1, 1, kT0));  // 10 > 9
  EXPECT_EQ(r.series_limited_total(), 1u);
  Counter* c = r.NewCounter("c");
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(c->Inc({{"k", std::to_string(i)}}, 1, kT0));
  EXPECT_FALSE(c->Inc({{"k", "x"}}, 1, kT0));
  EXPECT_EQ(r.active_series(), 9u);
}

TEST(Registry, StaleSeriesDeletedAndNotCollected) {
  RegistryConfig cfg;
  cfg.stale_duration = absl::Minutes(15);
  Registry r(cfg);
  Counter* c = r.NewCounter("c");
  c->Inc({{"svc", "gone"}}, 1, kT0);
  c->Inc({{"svc", "alive"}}, 1, kT0);
  c->Inc({{"svc", "alive"}}, 1, kT0 + absl::Minutes(10));
  // Exactly 15 minutes idle is not longer than stale_duration: still collected.
  CollectingSink at15;
  r.Collect(kT0 + absl::Minutes(15), at15);
  EXPECT_EQ(at15.At(kT0 + absl::Minutes(15)).size(), 2u);
  CollectingSink later;
  r.Collect(kT0 + absl::Minutes(15) + absl::Seconds(1), later);
  EXPECT_THAT(later.Values(), ElementsAre(Pair("c{svc=\"alive\"}", 2)));
  EXPECT_EQ(r.active_series(), 1u);
  EXPECT_EQ(r.series_removed_total(), 1u);
  // The freed slot counts again for max_active_series; a returning series starts over at 0.
  c->Inc({{"svc", "gone"}}, 1, kT0 + absl::Minutes(20));
  CollectingSink back;
  r.Collect(kT0 + absl::Minutes(20), back);
  EXPECT_EQ(back.Values().at("c{svc=\"gone\"}"), 1);
}

TEST(Registry, StaleRemovalFreesMaxActiveSeries) {
  RegistryConfig cfg;
  cfg.max_active_series = 1;
  cfg.stale_duration = absl::Minutes(1);
  Registry r(cfg);
  Counter* c = r.NewCounter("c");
  EXPECT_TRUE(c->Inc({{"k", "1"}}, 1, kT0));
  EXPECT_FALSE(c->Inc({{"k", "2"}}, 1, kT0));
  EXPECT_EQ(r.RemoveStaleSeries(kT0 + absl::Minutes(2)), 1u);
  EXPECT_TRUE(c->Inc({{"k", "2"}}, 1, kT0 + absl::Minutes(2)));
}

TEST(Registry, StaleHistogramCountsItsSeriesAsRemoved) {
  RegistryConfig cfg;
  cfg.stale_duration = absl::Minutes(1);
  Registry r(cfg);
  Histogram* h = r.NewHistogram("h", {0.1, 0.2});  // 2 bounds + +Inf + _sum + _count = 5
  Counter* c = r.NewCounter("c");
  h->Observe({{"k", "1"}}, 0.15, 1, kT0);
  c->Inc({{"k", "1"}}, 1, kT0);
  EXPECT_EQ(r.active_series(), 6u);
  EXPECT_EQ(r.RemoveStaleSeries(kT0 + absl::Minutes(2)), 2u);  // two label sets
  EXPECT_EQ(r.series_removed_total(), 6u);                     // six series
  EXPECT_EQ(r.active_series(), 0u);
}

TEST(Registry, LabelNamesAndValuesTruncated) {
  Registry r(RegistryConfig{});
  std::string long_name(1100, 'n');
  std::string long_value(3000, 'v');
  r.NewCounter("c")->Inc({{long_name, long_value}}, 1, kT0);
  CollectingSink sink;
  r.Collect(kT0, sink);
  const std::vector<CollectedSample> at = sink.At(kT0);
  ASSERT_EQ(at.size(), 1u);
  EXPECT_EQ(at[0].series, "c{" + std::string(1024, 'n') + "=\"" + std::string(2048, 'v') + "\"}");
}

TEST(Registry, ZeroLengthLimitMeansNone) {
  RegistryConfig cfg;
  cfg.max_label_name_length = 0;
  cfg.max_label_value_length = 0;
  Registry r(cfg);
  r.NewCounter("c")->Inc({{std::string(1100, 'n'), std::string(3000, 'v')}}, 1, kT0);
  CollectingSink sink;
  r.Collect(kT0, sink);
  EXPECT_EQ(sink.At(kT0).at(0).series,
            "c{" + std::string(1100, 'n') + "=\"" + std::string(3000, 'v') + "\"}");
}

TEST(Registry, HistogramExemplarPerBucketOnce) {
  Registry r(RegistryConfig{});
  Histogram* h = r.NewHistogram("h", {1, 2});
  h->Observe(Labels{}, 0.5, 1, kT0, "aaaa");
  h->Observe(Labels{}, 0.7, 1, kT0 + absl::Seconds(1), "bbbb");  // same bucket: last wins
  h->Observe(Labels{}, 5, 1, kT0, "cccc");                       // +Inf bucket
  h->Observe(Labels{}, 1.5, 1, kT0);                             // no trace ID: no exemplar
  CollectingSink sink;
  r.Collect(kT0 + absl::Seconds(15), sink);
  const CollectedSample* b1 = sink.Find("h_bucket{le=\"1\"}");
  ASSERT_NE(b1, nullptr);
  ASSERT_EQ(b1->exemplars.size(), 1u);
  EXPECT_EQ(b1->exemplars[0].trace_id, "bbbb");
  EXPECT_EQ(b1->exemplars[0].value, 0.7);
  EXPECT_EQ(b1->exemplars[0].time, kT0 + absl::Seconds(15));  // the collection time
  EXPECT_EQ(b1->exemplar_label, "traceID");
  EXPECT_TRUE(sink.Find("h_bucket{le=\"2\"}")->exemplars.empty());
  ASSERT_EQ(sink.Find("h_bucket{le=\"+Inf\"}")->exemplars.size(), 1u);
  EXPECT_EQ(sink.Find("h_bucket{le=\"+Inf\"}")->exemplars[0].trace_id, "cccc");
  EXPECT_TRUE(sink.Find("h_count{}")->exemplars.empty());
  // Handed over once.
  CollectingSink again;
  r.Collect(kT0 + absl::Seconds(30), again);
  for (const auto& s : again.samples) EXPECT_TRUE(s.exemplars.empty()) << s.series;
}

TEST(Registry, CounterExemplarAndCustomLabelName) {
  RegistryConfig cfg;
  cfg.trace_id_label_name = "trace_id";
  Registry r(cfg);
  Counter* c = r.NewCounter("c");
  Exemplar ex{"abcd", 1, kT0};
  c->Inc(Labels{}, 1, kT0, &ex);
  CollectingSink sink;
  r.Collect(kT0, sink);
  ASSERT_EQ(sink.At(kT0)[0].exemplars.size(), 1u);
  EXPECT_EQ(sink.At(kT0)[0].exemplars[0].trace_id, "abcd");
  EXPECT_EQ(sink.At(kT0)[0].exemplar_label, "trace_id");
}

TEST(Registry, ConcurrentIncAndCollect) {
  Registry r(RegistryConfig{});
  Counter* c = r.NewCounter("c");
  Histogram* h = r.NewHistogram("h", DefaultSpanMetricsBuckets());
  constexpr int kThreads = 4, kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        c->Inc({{"t", std::to_string(t % 2)}}, 1, kT0);
        h->Observe(Labels{}, 0.01, 1, kT0, "ff");
      }
    });
  }
  std::thread collector([&] {
    for (int i = 0; i < 50; ++i) {
      CollectingSink s;
      r.Collect(kT0, s);
    }
  });
  for (auto& t : threads) t.join();
  collector.join();
  CollectingSink sink;
  r.Collect(kT0, sink);
  EXPECT_EQ(sink.Values().at("c{t=\"0\"}"), 2 * kPerThread);
  EXPECT_EQ(sink.Values().at("c{t=\"1\"}"), 2 * kPerThread);
  EXPECT_EQ(sink.Values().at("h_count{}"), kThreads * kPerThread);
}

}  // namespace
}  // namespace sprout::traces::generator

namespace sprout::traces::generator {
namespace {

TEST(Registry, InitialZeroTimeIsEndOfPreviousMinute) {
  // 12:34:56.789 → 12:33:59.000 (truncated to 12:34:00, minus 1 s).
  const absl::Time t = absl::FromUnixMillis(1'700'000'096'789);  // …:01:36.789 past the minute 0
  const int64_t minute_start_ms = 1'700'000'096'789 - (1'700'000'096'789 % 60'000);
  EXPECT_EQ(InitialZeroTime(t), absl::FromUnixMillis(minute_start_ms - 1000));
  // Exactly on a minute: that minute minus 1 s.
  EXPECT_EQ(InitialZeroTime(absl::FromUnixMillis(minute_start_ms)),
            absl::FromUnixMillis(minute_start_ms - 1000));
}

TEST(Registry, NewCounterAndHistogramSeriesStartWithAZeroSample) {
  Registry r(RegistryConfig{});
  const absl::Time t1 = absl::FromUnixSeconds(1'700'000'000);
  r.NewCounter("c")->Inc(Labels{}, 3, t1);
  r.NewGauge("g")->Set(Labels{}, 7, t1);
  r.NewHistogram("h", {1})->Observe(Labels{}, 0.5, 1, t1);
  CollectingSink first;
  r.Collect(t1, first);
  const absl::Time zt = InitialZeroTime(t1);
  std::vector<std::string> zeros;
  for (const auto& s : first.samples) {
    if (s.time == zt) {
      EXPECT_EQ(s.value, 0) << s.series;
      zeros.push_back(s.series);
    }
  }
  // Counter, _count and every _bucket; not the gauge, not _sum.
  EXPECT_THAT(zeros,
              ElementsAre("c{}", "h_count{}", "h_bucket{le=\"1\"}", "h_bucket{le=\"+Inf\"}"));
  EXPECT_EQ(first.samples.size(), 4u + 1 + 1 + 4);  // zeros + c + g + (count, sum, 2 buckets)
  // Each zero comes right before the series' first real sample.
  EXPECT_EQ(first.samples[0].series, "c{}");
  EXPECT_EQ(first.samples[0].time, zt);
  EXPECT_EQ(first.samples[1].series, "c{}");
  EXPECT_EQ(first.samples[1].value, 3);
  // Only once.
  CollectingSink second;
  r.Collect(t1 + absl::Seconds(15), second);
  EXPECT_EQ(second.samples.size(), 6u);
  for (const auto& s : second.samples) EXPECT_EQ(s.time, t1 + absl::Seconds(15));
}

}  // namespace
}  // namespace sprout::traces::generator
