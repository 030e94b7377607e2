// Native histograms in the registry (generate_native_histograms: native | both). Expected
// schemas and bucket indexes are worked out by hand from the native-histogram rules: schema s
// has bucket growth factor 2^(2^-s); bucket i holds (2^((i-1)/2^s), 2^(i/2^s)].
#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "traces/generator/generator_testing.h"
#include "traces/generator/registry.h"

namespace sprout::traces::generator {
namespace {

using Span = NativeHistogramSample::Span;
using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// Collects `r` at `t` and returns its one native histogram sample (a failure, and an empty
// sample, when it collected another number of them).
CollectedHistogram CollectOne(Registry& r, absl::Time t) {
  CollectingSink sink;
  r.Collect(t, sink);
  if (sink.histograms.size() != 1) {
    ADD_FAILURE() << sink.histograms.size() << " native histograms collected, not 1";
    return {};
  }
  return sink.histograms[0];
}

// The trace IDs of a sample's exemplars, in order.
std::vector<std::string> ExemplarIds(const CollectedHistogram& c) {
  std::vector<std::string> ids;
  for (const Exemplar& e : c.exemplars) ids.push_back(e.trace_id);
  return ids;
}

TEST(NativeHistogramSchema, FromBucketFactor) {
  // The largest schema whose factor 2^(2^-s) does not exceed the bucket factor.
  EXPECT_EQ(NativeHistogramSchema(1.1), 3);  // 2^(1/8) = 1.0905 ≤ 1.1 < 2^(1/4) = 1.189
  EXPECT_EQ(NativeHistogramSchema(1.5), 1);  // 2^(1/2) = 1.414 ≤ 1.5 < 2
  EXPECT_EQ(NativeHistogramSchema(2), 0);
  EXPECT_EQ(NativeHistogramSchema(4), -1);
  EXPECT_EQ(NativeHistogramSchema(1.01), 7);    // 2^(1/128) = 1.0054 ≤ 1.01 < 2^(1/64) = 1.0109
  EXPECT_EQ(NativeHistogramSchema(1.0001), 8);  // clamped to the finest schema
  EXPECT_EQ(NativeHistogramSchema(65536), -4);  // 2^16: clamped to the coarsest
  EXPECT_EQ(NativeHistogramSchema(1e300), -4);
  EXPECT_EQ(NativeHistogramSchema(1.0), 8);
}

TEST(NativeBucketIndex, ByHand) {
  // Schema 3: 0.15 lies in (2^(-22/8), 2^(-21/8)] = (0.1487, 0.1621].
  EXPECT_EQ(NativeBucketIndex(0.15, 3), -21);
  EXPECT_EQ(NativeBucketIndex(0.16, 3), -21);
  // 0.001: 8 × log2(0.001) = -79.73 → bucket -79.
  EXPECT_EQ(NativeBucketIndex(0.001, 3), -79);
  // Upper bounds are inclusive: 1 is the top of bucket 0, 2 the top of bucket 8.
  EXPECT_EQ(NativeBucketIndex(1.0, 3), 0);
  EXPECT_EQ(NativeBucketIndex(1.0000001, 3), 1);
  EXPECT_EQ(NativeBucketIndex(2.0, 3), 8);
  // Schema 0: (1, 2] is 1, (2, 4] is 2.
  EXPECT_EQ(NativeBucketIndex(2.0, 0), 1);
  EXPECT_EQ(NativeBucketIndex(3.0, 0), 2);
  EXPECT_EQ(NativeBucketIndex(0.5, 0), -1);
  // Schema -1 (factor 4): (1/16, 1/4] is -1, (1/4, 1] is 0, (1, 4] is 1.
  EXPECT_EQ(NativeBucketIndex(0.2, -1), -1);
  EXPECT_EQ(NativeBucketIndex(0.5, -1), 0);
  EXPECT_EQ(NativeBucketIndex(3.0, -1), 1);
  EXPECT_EQ(NativeBucketIndex(4.0, -1), 1);
  // +Inf: one past the largest finite value's bucket (schema 3: 2^1024 tops bucket 8192).
  EXPECT_EQ(NativeBucketIndex(std::numeric_limits<double>::max(), 3), 8192);
  EXPECT_EQ(NativeBucketIndex(std::numeric_limits<double>::infinity(), 3), 8193);
}

TEST(HistogramMode, ParseAndName) {
  EXPECT_EQ(ParseHistogramMode("classic"), HistogramMode::kClassic);
  EXPECT_EQ(ParseHistogramMode("native"), HistogramMode::kNative);
  EXPECT_EQ(ParseHistogramMode("both"), HistogramMode::kBoth);
  EXPECT_EQ(ParseHistogramMode("Native"), std::nullopt);
  EXPECT_EQ(HistogramModeName(HistogramMode::kBoth), "both");
}

TEST(NativeHistogram, NativeModeOneSeriesNoClassicNoInitialZero) {
  Registry r(RegistryConfig{});  // factor 1.1 → schema 3
  Histogram* h = r.NewHistogram("lat", {0.1, 1}, HistogramMode::kNative);
  h->Observe({{"s", "a"}}, 0.15, 1, kT0);
  h->Observe({{"s", "a"}}, 0.16, 1, kT0);
  h->Observe({{"s", "a"}}, 0.001, 1, kT0);
  h->Observe({{"s", "a"}}, 0, 1, kT0);      // the zero bucket
  h->Observe({{"s", "a"}}, 1.0, 2.5, kT0);  // counted ceil(2.5) = 3 times
  CollectingSink sink;
  r.Collect(kT0 + absl::Seconds(15), sink);
  EXPECT_TRUE(sink.samples.empty());  // no _count, _sum, _bucket, no initial 0
  ASSERT_EQ(sink.histograms.size(), 1u);
  const CollectedHistogram& c = sink.histograms[0];
  EXPECT_EQ(c.series, "lat{s=\"a\"}");
  EXPECT_EQ(c.time, kT0 + absl::Seconds(15));
  const NativeHistogramSample& n = c.histogram;
  EXPECT_EQ(n.schema, 3);
  EXPECT_EQ(n.zero_threshold, std::ldexp(1.0, -128));
  EXPECT_EQ(n.zero_count, 1u);
  EXPECT_EQ(n.count, 7u);
  EXPECT_DOUBLE_EQ(n.sum, 0.15 + 0.16 + 0.001 + 0 + 3 * 1.0);
  // Buckets -79: 1, -21: 2, 0: 3 — gaps of 57 and 20 empty buckets start new spans.
  EXPECT_THAT(n.positive_spans, ElementsAre(Span{-79, 1}, Span{57, 1}, Span{20, 1}));
  EXPECT_THAT(n.positive_deltas, ElementsAre(1, 1, 1));
  EXPECT_TRUE(n.negative_spans.empty());
  EXPECT_TRUE(n.negative_deltas.empty());
  EXPECT_EQ(r.active_series(), 1u);  // Tempo counts a native series as 1
  // Cumulative: the next collection carries the totals again.
  h->Observe({{"s", "a"}}, 0.15, 1, kT0 + absl::Seconds(20));
  const CollectedHistogram again = CollectOne(r, kT0 + absl::Seconds(30));
  EXPECT_EQ(again.histogram.count, 8u);
  EXPECT_THAT(again.histogram.positive_deltas, ElementsAre(1, 2, 0));
}

TEST(NativeHistogram, SmallGapsAreZeroBucketsInsideASpan) {
  RegistryConfig cfg;
  cfg.native_histogram_bucket_factor = 2;  // schema 0: (2^(i-1), 2^i]
  Registry r(cfg);
  Histogram* h = r.NewHistogram("h", {}, HistogramMode::kNative);
  for (double v : {1.0, 4.0, 32.0, 1024.0, -3.0}) h->Observe(Labels{}, v, 1, kT0);
  const NativeHistogramSample n = CollectOne(r, kT0).histogram;
  EXPECT_EQ(n.schema, 0);
  // Buckets 0, 2, 5, 10: gaps of 1 and 2 stay in the span as zero buckets, 4 starts a new one.
  EXPECT_THAT(n.positive_spans, ElementsAre(Span{0, 6}, Span{4, 1}));
  EXPECT_THAT(n.positive_deltas, ElementsAre(1, -1, 1, -1, 0, 1, 0));
  // -3 is in negative bucket 2 ((2, 4] mirrored).
  EXPECT_THAT(n.negative_spans, ElementsAre(Span{2, 1}));
  EXPECT_THAT(n.negative_deltas, ElementsAre(1));
  EXPECT_EQ(n.count, 5u);
  EXPECT_EQ(n.zero_count, 0u);
}

TEST(NativeHistogram, MaxBucketNumberHalvesTheResolution) {
  RegistryConfig cfg;
  cfg.native_histogram_bucket_factor = 2;  // schema 0
  cfg.native_histogram_max_bucket_number = 2;
  cfg.native_histogram_min_reset_duration = absl::ZeroDuration();  // never reset
  Registry r(cfg);
  Histogram* h = r.NewHistogram("h", {}, HistogramMode::kNative);
  h->Observe(Labels{}, 1, 1, kT0);  // bucket 0
  h->Observe(Labels{}, 2, 1, kT0);  // bucket 1
  h->Observe(Labels{}, 4, 1, kT0);  // bucket 2: 3 > 2 buckets → schema -1 (factor 4)
  const NativeHistogramSample n = CollectOne(r, kT0).histogram;
  // Schema -1: (1/4, 1] holds 1, (1, 4] holds 2 and 4.
  EXPECT_EQ(n.schema, -1);
  EXPECT_THAT(n.positive_spans, ElementsAre(Span{0, 2}));
  EXPECT_THAT(n.positive_deltas, ElementsAre(1, 1));
  h->Observe(Labels{}, 16, 1, kT0);  // (4, 16] is bucket 2 → 3 buckets → schema -2 (factor 16)
  const NativeHistogramSample m = CollectOne(r, kT0).histogram;
  // Schema -2: (1/16, 1] holds 1, (1, 16] holds 2, 4 and 16.
  EXPECT_EQ(m.schema, -2);
  EXPECT_THAT(m.positive_spans, ElementsAre(Span{0, 2}));
  EXPECT_THAT(m.positive_deltas, ElementsAre(1, 2));
  EXPECT_EQ(m.count, 4u);
  EXPECT_DOUBLE_EQ(m.sum, 23);
}

TEST(NativeHistogram, SchemaStopsAtMinusFour) {
  RegistryConfig cfg;
  cfg.native_histogram_bucket_factor = 65536;  // schema -4 already
  cfg.native_histogram_max_bucket_number = 1;
  cfg.native_histogram_min_reset_duration = absl::ZeroDuration();
  Registry r(cfg);
  Histogram* h = r.NewHistogram("h", {}, HistogramMode::kNative);
  h->Observe(Labels{}, 1, 1, kT0);     // bucket 0: (2^-16, 1]
  h->Observe(Labels{}, 1e20, 1, kT0);  // 2^66.4: bucket 5 ((2^64, 2^80])
  const NativeHistogramSample n = CollectOne(r, kT0).histogram;
  EXPECT_EQ(n.schema, -4);  // over the limit, but no coarser schema exists
  EXPECT_THAT(n.positive_spans, ElementsAre(Span{0, 1}, Span{4, 1}));
  EXPECT_THAT(n.positive_deltas, ElementsAre(1, 0));
}

TEST(NativeHistogram, ResetAfterMinResetDurationKeepsTheLatestObservation) {
  RegistryConfig cfg;
  cfg.native_histogram_bucket_factor = 2;  // schema 0
  cfg.native_histogram_max_bucket_number = 2;
  cfg.native_histogram_min_reset_duration = absl::Minutes(15);
  Registry r(cfg);
  Histogram* h = r.NewHistogram("h", {1, 10}, HistogramMode::kBoth);
  h->Observe(Labels{}, 1, 1, kT0);  // created at kT0
  h->Observe(Labels{}, 2, 1, kT0);
  // 1 min after creation: over the limit but too early to reset → schema -1.
  h->Observe(Labels{}, 4, 1, kT0 + absl::Minutes(1));
  const NativeHistogramSample before = CollectOne(r, kT0 + absl::Minutes(1)).histogram;
  EXPECT_EQ(before.schema, -1);
  EXPECT_EQ(before.count, 3u);
  // 16 min after creation: 64 is schema -1 bucket 3 ((16, 64]) → 3 buckets → the histogram
  // is reset to its initial schema with only this observation: schema 0 bucket 6 ((32, 64]).
  h->Observe(Labels{}, 64, 1, kT0 + absl::Minutes(16));
  CollectingSink after;
  r.Collect(kT0 + absl::Minutes(16), after);
  const NativeHistogramSample& n = after.histograms[0].histogram;
  EXPECT_EQ(n.schema, 0);
  EXPECT_EQ(n.count, 1u);
  EXPECT_EQ(n.sum, 64);
  EXPECT_THAT(n.positive_spans, ElementsAre(Span{6, 1}));
  EXPECT_THAT(n.positive_deltas, ElementsAre(1));
  // Both mode: the classic series are the same histogram and are reset with it.
  EXPECT_EQ(after.Values().at("h_count{}"), 1);
  EXPECT_EQ(after.Values().at("h_sum{}"), 64);
  EXPECT_EQ(after.Values().at("h_bucket{le=\"1\"}"), 0);
  EXPECT_EQ(after.Values().at("h_bucket{le=\"10\"}"), 0);
  EXPECT_EQ(after.Values().at("h_bucket{le=\"+Inf\"}"), 1);
}

TEST(NativeHistogram, BothModeEmitsClassicThenNativeWithExemplars) {
  Registry r(RegistryConfig{});
  Histogram* h = r.NewHistogram("lat", {0.1, 1}, HistogramMode::kBoth);
  h->Observe({{"s", "a"}}, 0.15, 1, kT0, "abc");
  const absl::Time t = kT0 + absl::Seconds(15);
  CollectingSink sink;
  r.Collect(t, sink);
  // Classic as in classic mode, initial 0 samples included.
  const std::vector<CollectedSample> at = sink.At(t);
  ASSERT_EQ(at.size(), 5u);
  EXPECT_EQ(at[0].series, "lat_count{s=\"a\"}");
  EXPECT_EQ(at[0].value, 1);
  EXPECT_EQ(at[1].series, "lat_sum{s=\"a\"}");
  EXPECT_EQ(at[2].series, "lat_bucket{le=\"0.1\",s=\"a\"}");
  EXPECT_EQ(at[2].value, 0);
  EXPECT_EQ(at[3].series, "lat_bucket{le=\"1\",s=\"a\"}");
  EXPECT_EQ(at[3].value, 1);
  ASSERT_EQ(at[3].exemplars.size(), 1u);
  EXPECT_EQ(at[3].exemplars[0].trace_id, "abc");
  EXPECT_EQ(sink.samples.size(), 5u + 4u);  // + initial 0 of _count and 3 _bucket
  // Then the native series under the base name, with the same exemplar.
  ASSERT_EQ(sink.histograms.size(), 1u);
  const CollectedHistogram& c = sink.histograms[0];
  EXPECT_EQ(c.series, "lat{s=\"a\"}");
  EXPECT_EQ(c.histogram.schema, 3);
  EXPECT_EQ(c.histogram.count, 1u);
  EXPECT_THAT(c.histogram.positive_spans, ElementsAre(Span{-21, 1}));
  EXPECT_THAT(c.histogram.positive_deltas, ElementsAre(1));
  ASSERT_EQ(c.exemplars.size(), 1u);
  EXPECT_EQ(c.exemplars[0].trace_id, "abc");
  EXPECT_EQ(c.exemplars[0].value, 0.15);
  EXPECT_EQ(c.exemplars[0].time, t);
  // 2 bounds: classic 2 + +Inf + _sum + _count, native 1.
  EXPECT_EQ(r.active_series(), 6u);
  // Exemplars are handed over once.
  CollectingSink again;
  r.Collect(t + absl::Seconds(15), again);
  ASSERT_EQ(again.histograms.size(), 1u);
  EXPECT_TRUE(again.histograms[0].exemplars.empty());
  for (const auto& s : again.samples) EXPECT_TRUE(s.exemplars.empty());
}

TEST(NativeHistogram, BothModeCountsCeilOfTheMultiplierClassicModeKeepsIt) {
  Registry r(RegistryConfig{});
  Histogram* both = r.NewHistogram("b", {1}, HistogramMode::kBoth);
  Histogram* classic = r.NewHistogram("c", {1});
  both->Observe(Labels{}, 0.5, 2.5, kT0);
  both->Observe(Labels{}, 0.5, 0.2, kT0);
  classic->Observe(Labels{}, 0.5, 2.5, kT0);
  classic->Observe(Labels{}, 0.5, 0.2, kT0);
  CollectingSink sink;
  r.Collect(kT0, sink);
  EXPECT_EQ(sink.Values().at("b_count{}"), 4);  // 3 + 1
  EXPECT_EQ(sink.Values().at("b_bucket{le=\"1\"}"), 4);
  EXPECT_DOUBLE_EQ(sink.Values().at("b_sum{}"), 2);
  EXPECT_EQ(sink.FindHistogram("b{}")->histogram.count, 4u);
  EXPECT_DOUBLE_EQ(sink.Values().at("c_count{}"), 2.7);
  EXPECT_DOUBLE_EQ(sink.Values().at("c_sum{}"), 1.35);
}

TEST(NativeHistogram, MaxActiveSeriesCountsNativeSeriesAsOne) {
  RegistryConfig cfg;
  cfg.max_active_series = 2;
  Registry r(cfg);
  Histogram* h = r.NewHistogram("h", {1, 2, 3}, HistogramMode::kNative);
  EXPECT_TRUE(h->Observe({{"k", "1"}}, 1, 1, kT0));
  EXPECT_TRUE(h->Observe({{"k", "2"}}, 1, 1, kT0));
  EXPECT_FALSE(h->Observe({{"k", "3"}}, 1, 1, kT0));
  EXPECT_EQ(r.active_series(), 2u);
  EXPECT_EQ(r.series_limited_total(), 1u);
  CollectingSink sink;
  r.Collect(kT0, sink);
  EXPECT_EQ(sink.histograms.size(), 2u);
  // Stale deletion frees the slots.
  EXPECT_EQ(r.RemoveStaleSeries(kT0 + absl::Minutes(16)), 2u);
  EXPECT_EQ(r.active_series(), 0u);

  RegistryConfig both_cfg;
  both_cfg.max_active_series = 5;
  Registry rb(both_cfg);
  // 1 bound: classic 1 + 3, native 1 = 5.
  Histogram* hb = rb.NewHistogram("h", {1}, HistogramMode::kBoth);
  EXPECT_TRUE(hb->Observe({{"k", "1"}}, 1, 1, kT0));
  EXPECT_EQ(rb.active_series(), 5u);
  EXPECT_FALSE(hb->Observe({{"k", "2"}}, 1, 1, kT0));
}

TEST(NativeHistogram, NativeModeKeepsTenExemplarsSpreadOverValues) {
  Registry r(RegistryConfig{});
  Histogram* h = r.NewHistogram("h", {}, HistogramMode::kNative);
  for (int v = 1; v <= 12; ++v) {
    h->Observe(Labels{}, v, 1, kT0 + absl::Seconds(v), "t" + std::to_string(v));
  }
  const absl::Time t = kT0 + absl::Seconds(15);
  const CollectedHistogram c = CollectOne(r, t);
  for (const Exemplar& e : c.exemplars) EXPECT_EQ(e.time, t);
  // The 11th value: 10 and 11 are the closest pair (log 11/10) → the older, 10, goes. The
  // 12th: 11 and 12 are now the closest (log 12/11) → 11 goes. Sorted by value.
  EXPECT_THAT(ExemplarIds(c),
              ElementsAre("t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t12"));
  EXPECT_TRUE(CollectOne(r, t + absl::Seconds(15)).exemplars.empty());
}

TEST(NativeHistogram, NativeExemplarNewOneNeverDroppedEvenOnEqualTimes) {
  Registry r(RegistryConfig{});
  Histogram* h = r.NewHistogram("h", {}, HistogramMode::kNative);
  for (int v = 1; v <= 10; ++v) h->Observe(Labels{}, v, 1, kT0, "t" + std::to_string(v));
  // All at kT0. 10.2 is closest to 10 (log 1.02): 10 goes, not the new one; then 0.99 is
  // closest to 1 (log 1/0.99): 1 goes.
  h->Observe(Labels{}, 10.2, 1, kT0, "new1");
  h->Observe(Labels{}, 0.99, 1, kT0, "new2");
  EXPECT_THAT(ExemplarIds(CollectOne(r, kT0)),
              ElementsAre("new2", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "new1"));
}

TEST(NativeHistogram, ExternalLabelsAndTraceIdLabel) {
  RegistryConfig cfg;
  cfg.external_labels = {{"cluster", "x"}};
  cfg.trace_id_label_name = "trace_id";
  Registry r(cfg);
  r.NewHistogram("h", {}, HistogramMode::kNative)->Observe({{"s", "a"}}, 1, 1, kT0, "ff");

  class Sink : public CollectingSink {
   public:
    void AppendNativeHistogram(std::string_view name, const Labels& labels,
                               const NativeHistogramSample& histogram, absl::Time time,
                               absl::Span<const Exemplar> exemplars,
                               std::string_view exemplar_label) override {
      label = std::string(exemplar_label);
      CollectingSink::AppendNativeHistogram(name, labels, histogram, time, exemplars,
                                            exemplar_label);
    }
    std::string label;
  } sink;
  r.Collect(kT0, sink);
  ASSERT_EQ(sink.histograms.size(), 1u);
  EXPECT_EQ(sink.histograms[0].series, "h{cluster=\"x\",s=\"a\"}");
  EXPECT_EQ(sink.label, "trace_id");
}

}  // namespace
}  // namespace sprout::traces::generator
