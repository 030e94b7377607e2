#include "metrics/tsdb/chunkenc/histogram.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace sprout::metrics::chunkenc {
namespace {

TEST(HistogramTest, BucketsFromDeltas) {
  std::vector<uint64_t> abs;
  ASSERT_TRUE(BucketsFromDeltas(std::vector<int64_t>{3, -1, 4, -6}, &abs).ok());
  EXPECT_EQ(abs, (std::vector<uint64_t>{3, 2, 6, 0}));
  std::vector<int64_t> deltas;
  BucketsToDeltas(abs, &deltas);
  EXPECT_EQ(deltas, (std::vector<int64_t>{3, -1, 4, -6}));
  EXPECT_FALSE(BucketsFromDeltas(std::vector<int64_t>{3, -4}, &abs).ok());
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  ASSERT_TRUE(BucketsFromDeltas(std::vector<int64_t>{kMax, kMax, 1}, &abs).ok());
  EXPECT_EQ(abs.back(), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(BucketsFromDeltas(std::vector<int64_t>{kMax, kMax, 2}, &abs).ok());
  ASSERT_TRUE(BucketsFromDeltas({}, &abs).ok());
  EXPECT_TRUE(abs.empty());
}

TEST(HistogramTest, ValidateLayout) {
  Histogram h;
  h.positive_spans = {{-2, 2}, {1, 3}};
  h.positive_buckets = {1, 2, 3, 4, 5};
  EXPECT_TRUE(ValidateLayout(h).ok());
  h.positive_buckets.pop_back();
  EXPECT_FALSE(ValidateLayout(h).ok());
  h.positive_buckets.push_back(5);
  h.negative_spans = {{0, 1}, {-1, 1}};
  h.negative_buckets = {1, 1};
  EXPECT_FALSE(ValidateLayout(h).ok());
  EXPECT_TRUE(ValidateLayout(FloatHistogram{}).ok());
}

TEST(HistogramTest, ToFloat) {
  Histogram h;
  h.schema = 3;
  h.count = 7;
  h.zero_count = 1;
  h.sum = 2.5;
  h.positive_spans = {{1, 2}};
  h.positive_buckets = {2, 4};
  FloatHistogram f = h.ToFloat();
  EXPECT_EQ(f.schema, 3);
  EXPECT_EQ(f.count, 7.0);
  EXPECT_EQ(f.positive_buckets, (std::vector<double>{2, 4}));
  EXPECT_EQ(f.positive_spans, h.positive_spans);
}

TEST(HistogramTest, ValidateCustomBuckets) {
  Histogram h;
  h.schema = kCustomBucketsSchema;
  h.custom_values = {0, 1, 5};
  h.positive_spans = {{1, 1}, {1, 1}};  // indexes 1 and 3 (3: the +Inf bucket)
  h.positive_buckets = {2, 3};
  EXPECT_TRUE(ValidateCustomBuckets(h).ok());
  EXPECT_TRUE(ValidateCustomBuckets(h.ToFloat()).ok());
  Histogram bad = h;
  bad.positive_spans = {{1, 1}, {2, 1}};  // index 4 beyond 3 values
  EXPECT_FALSE(ValidateCustomBuckets(bad).ok());
  bad = h;
  bad.custom_values = {0, 1, 1};
  EXPECT_FALSE(ValidateCustomBuckets(bad).ok());
  bad.custom_values = {0, std::numeric_limits<double>::quiet_NaN(), 5};
  EXPECT_FALSE(ValidateCustomBuckets(bad).ok());
  bad.custom_values = {0, 1, std::numeric_limits<double>::infinity()};
  EXPECT_FALSE(ValidateCustomBuckets(bad).ok());
  bad = h;
  bad.zero_count = 1;
  EXPECT_FALSE(ValidateCustomBuckets(bad).ok());
  bad = h;
  bad.negative_spans = {{0, 1}};
  bad.negative_buckets = {1};
  EXPECT_FALSE(ValidateCustomBuckets(bad).ok());
  bad = h;
  bad.positive_spans = {{-1, 1}, {2, 1}};
  EXPECT_FALSE(ValidateCustomBuckets(bad).ok());
  Histogram exponential;
  exponential.custom_values = {1};
  EXPECT_FALSE(ValidateCustomBuckets(exponential).ok());
  exponential.custom_values.clear();
  EXPECT_TRUE(ValidateCustomBuckets(exponential).ok());
}

TEST(HistogramTest, CustomBoundariesThatChangeAreACounterReset) {
  Histogram a;
  a.schema = kCustomBucketsSchema;
  a.custom_values = {1, 2};
  a.positive_spans = {{0, 1}};
  a.positive_buckets = {1};
  a.count = 1;
  Histogram b = a;
  b.positive_buckets = {2};
  b.count = 2;
  EXPECT_FALSE(IsCounterReset(a, b));
  b.custom_values = {1, 3};
  EXPECT_TRUE(IsCounterReset(a, b));
  Histogram exponential = b;
  exponential.schema = 0;
  exponential.custom_values.clear();
  EXPECT_TRUE(IsCounterReset(a, exponential));
  EXPECT_TRUE(IsCounterReset(exponential, a));
}

TEST(HistogramTest, IsCounterReset) {
  Histogram a;
  a.count = 10;
  a.zero_count = 2;
  a.positive_spans = {{0, 2}, {2, 1}};  // indexes 0, 1, 4
  a.positive_buckets = {3, 4, 1};
  Histogram b = a;
  EXPECT_FALSE(IsCounterReset(a, b));
  b.count = 9;
  EXPECT_TRUE(IsCounterReset(a, b));
  b = a;
  b.zero_count = 1;
  EXPECT_TRUE(IsCounterReset(a, b));
  b = a;
  b.positive_buckets[1] = 3;
  EXPECT_TRUE(IsCounterReset(a, b));
  // A new bucket appears (index 2): no reset.
  b = a;
  b.count = 11;
  b.positive_spans = {{0, 3}, {1, 1}};
  b.positive_buckets = {3, 4, 1, 1};
  EXPECT_FALSE(IsCounterReset(a, b));
  // Bucket 4 vanishes while it held 1: reset.
  b.positive_spans = {{0, 3}};
  b.positive_buckets = {3, 4, 1};
  EXPECT_TRUE(IsCounterReset(a, b));
  // Higher resolution or a narrower zero bucket cannot follow without a reset.
  b = a;
  b.schema = 1;
  EXPECT_TRUE(IsCounterReset(a, b));
  b = a;
  b.schema = -1;
  EXPECT_FALSE(IsCounterReset(a, b));
  a.zero_threshold = 1e-3;
  b = a;
  b.zero_threshold = 1e-4;
  EXPECT_TRUE(IsCounterReset(a, b));
  FloatHistogram fa = a.ToFloat(), fb = fa;
  EXPECT_FALSE(IsCounterReset(fa, fb));
  fb.negative_spans = {{0, 1}};
  fb.negative_buckets = {0.5};
  EXPECT_FALSE(IsCounterReset(fa, fb));
  fa.negative_spans = {{0, 1}};
  fa.negative_buckets = {1.5};
  EXPECT_TRUE(IsCounterReset(fa, fb));
}

}  // namespace
}  // namespace sprout::metrics::chunkenc
