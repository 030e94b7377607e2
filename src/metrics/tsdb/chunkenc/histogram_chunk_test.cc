#include "metrics/tsdb/chunkenc/histogram_chunk.h"

#include <bit>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace sprout::metrics::chunkenc {
namespace {

// Compares doubles by their bits, so NaN sums round-trip checks work.
bool SameBits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

void ExpectSame(const Histogram& got, const Histogram& want) {
  EXPECT_EQ(got.schema, want.schema);
  EXPECT_TRUE(SameBits(got.zero_threshold, want.zero_threshold));
  EXPECT_EQ(got.count, want.count);
  EXPECT_EQ(got.zero_count, want.zero_count);
  EXPECT_TRUE(SameBits(got.sum, want.sum));
  EXPECT_EQ(got.positive_spans, want.positive_spans);
  EXPECT_EQ(got.negative_spans, want.negative_spans);
  EXPECT_EQ(got.positive_buckets, want.positive_buckets);
  EXPECT_EQ(got.negative_buckets, want.negative_buckets);
  EXPECT_EQ(got.custom_values, want.custom_values);
}

void ExpectSame(const FloatHistogram& got, const FloatHistogram& want) {
  EXPECT_EQ(got.schema, want.schema);
  EXPECT_TRUE(SameBits(got.zero_threshold, want.zero_threshold));
  EXPECT_TRUE(SameBits(got.count, want.count));
  EXPECT_TRUE(SameBits(got.zero_count, want.zero_count));
  EXPECT_TRUE(SameBits(got.sum, want.sum));
  EXPECT_EQ(got.positive_spans, want.positive_spans);
  EXPECT_EQ(got.negative_spans, want.negative_spans);
  ASSERT_EQ(got.positive_buckets.size(), want.positive_buckets.size());
  for (size_t i = 0; i < got.positive_buckets.size(); ++i) {
    EXPECT_TRUE(SameBits(got.positive_buckets[i], want.positive_buckets[i]));
  }
  ASSERT_EQ(got.negative_buckets.size(), want.negative_buckets.size());
  for (size_t i = 0; i < got.negative_buckets.size(); ++i) {
    EXPECT_TRUE(SameBits(got.negative_buckets[i], want.negative_buckets[i]));
  }
  EXPECT_EQ(got.custom_values, want.custom_values);
}

Histogram Base() {
  Histogram h;
  h.schema = 3;
  h.zero_threshold = 1e-128;
  h.positive_spans = {{-3, 4}, {2, 3}};
  h.negative_spans = {{1, 2}};
  h.positive_buckets.assign(7, 0);
  h.negative_buckets.assign(2, 0);
  return h;
}

// A growing counter histogram: every bucket gets 0..k new observations per step.
std::vector<Histogram> CounterSeries(std::mt19937_64& rng, int n, uint64_t k) {
  std::vector<Histogram> out;
  Histogram h = Base();
  for (int i = 0; i < n; ++i) {
    uint64_t added = 0;
    for (auto* b : {&h.positive_buckets, &h.negative_buckets}) {
      for (uint64_t& c : *b) {
        uint64_t d = rng() % (k + 1);
        c += d;
        added += d;
      }
    }
    uint64_t z = rng() % 3;
    h.zero_count += z;
    h.count += added + z;
    h.sum += static_cast<double>(added) * 0.37;
    out.push_back(h);
  }
  return out;
}

template <typename H>
void RoundTrip(const std::vector<int64_t>& ts, const std::vector<H>& hs,
               CounterResetHint hint = CounterResetHint::kUnknown) {
  BasicHistogramChunk<H> c(hint);
  for (size_t i = 0; i < hs.size(); ++i) {
    ASSERT_EQ(c.Append(ts[i], hs[i]), AppendResult::kAppended) << i;
  }
  EXPECT_EQ(c.num_samples(), static_cast<int>(hs.size()));
  std::string bytes(c.bytes());
  HistogramChunkIterator it(BasicHistogramChunk<H>::kEncoding, bytes);
  EXPECT_EQ(it.reset_hint(), hint);
  const ValueType want_type =
      std::is_same_v<H, Histogram> ? ValueType::kHistogram : ValueType::kFloatHistogram;
  H got;
  for (size_t i = 0; i < hs.size(); ++i) {
    ASSERT_EQ(it.Next(), want_type) << i << " " << it.Err();
    if constexpr (std::is_same_v<H, Histogram>) {
      EXPECT_EQ(it.AtHistogram(&got), ts[i]);
      FloatHistogram f;
      it.AtFloatHistogram(&f);
      ExpectSame(f, hs[i].ToFloat());
    } else {
      EXPECT_EQ(it.AtFloatHistogram(&got), ts[i]);
    }
    ExpectSame(got, hs[i]);
    CounterResetHint want_hint = i == 0 ? hint
                                 : hint == CounterResetHint::kGauge
                                     ? CounterResetHint::kGauge
                                     : CounterResetHint::kNotCounterReset;
    EXPECT_EQ(got.reset_hint, want_hint);
  }
  EXPECT_EQ(it.Next(), ValueType::kNone);
  EXPECT_TRUE(it.Err().ok()) << it.Err();
}

std::vector<int64_t> Times(int n, int64_t start = 1'700'000'000'000) {
  std::vector<int64_t> ts;
  for (int i = 0; i < n; ++i) ts.push_back(start + 15000LL * i + (i * 7919) % 5);
  return ts;
}

TEST(HistogramChunkTest, IntegerRoundTrip) {
  std::mt19937_64 rng(1);
  for (uint64_t k : {0ull, 1ull, 30ull, 100000ull, 1ull << 40}) {
    RoundTrip(Times(150), CounterSeries(rng, 150, k));
  }
  RoundTrip(Times(1), CounterSeries(rng, 1, 5), CounterResetHint::kCounterReset);
  RoundTrip(Times(3), CounterSeries(rng, 3, 5), CounterResetHint::kNotCounterReset);
}

TEST(HistogramChunkTest, FloatRoundTrip) {
  std::mt19937_64 rng(2);
  std::vector<FloatHistogram> fs;
  for (const Histogram& h : CounterSeries(rng, 150, 20)) fs.push_back(h.ToFloat());
  RoundTrip(Times(150), fs);
  // Gauge float histograms with arbitrary values, NaN and infinities included.
  std::vector<FloatHistogram> gauges;
  for (int i = 0; i < 100; ++i) {
    FloatHistogram f = Base().ToFloat();
    f.reset_hint = CounterResetHint::kGauge;
    for (double& b : f.positive_buckets) b = std::bit_cast<double>(rng());
    for (double& b : f.negative_buckets) b = static_cast<double>(rng() % 10) / 3;
    f.count = i % 3 == 0 ? std::numeric_limits<double>::infinity() : 1.5 * i;
    f.sum = std::bit_cast<double>(uint64_t{0x7ff0000000000002});
    f.zero_count = -0.0;
    gauges.push_back(f);
  }
  RoundTrip(Times(100), gauges, CounterResetHint::kGauge);
}

TEST(HistogramChunkTest, EmptyLayoutAndAdversarialValues) {
  Histogram h;  // no buckets at all
  h.count = std::numeric_limits<uint64_t>::max();
  h.zero_count = std::numeric_limits<uint64_t>::max();
  h.sum = -0.0;
  Histogram g = h;
  g.sum = std::numeric_limits<double>::quiet_NaN();
  RoundTrip<Histogram>(
      {std::numeric_limits<int64_t>::min(), -1, 0, std::numeric_limits<int64_t>::max()},
      {h, h, g, g}, CounterResetHint::kGauge);
  // Counts jumping by 2^63 between samples in a gauge chunk.
  Histogram a = Base(), b = Base();
  a.positive_buckets[0] = 1ull << 63;
  a.count = 1ull << 63;
  RoundTrip<Histogram>({0, 1, 2, 3}, {a, b, a, b}, CounterResetHint::kGauge);
}

TEST(HistogramChunkTest, LayoutChangeNeedsANewChunk) {
  HistogramChunk c;
  Histogram h = Base();
  ASSERT_EQ(c.Append(1000, h), AppendResult::kAppended);
  Histogram other = h;
  other.schema = 2;
  EXPECT_EQ(c.Append(2000, other), AppendResult::kLayoutChanged);
  other = h;
  other.zero_threshold = 0.001;
  EXPECT_EQ(c.Append(2000, other), AppendResult::kLayoutChanged);
  other = h;
  other.positive_spans = {{-3, 5}, {1, 3}};
  other.positive_buckets.push_back(0);
  EXPECT_EQ(c.Append(2000, other), AppendResult::kLayoutChanged);
  other = h;
  other.positive_buckets.pop_back();
  EXPECT_EQ(c.Append(2000, other), AppendResult::kInvalid);
  EXPECT_EQ(c.num_samples(), 1);
  ASSERT_EQ(c.Append(2000, h), AppendResult::kAppended);
  EXPECT_EQ(c.min_time(), 1000);
  EXPECT_EQ(c.max_time(), 2000);
}

TEST(HistogramChunkTest, CounterResetsAndGauges) {
  HistogramChunk c;
  Histogram h = Base();
  h.count = 5;
  h.positive_buckets[2] = 5;
  ASSERT_EQ(c.Append(1000, h), AppendResult::kAppended);
  Histogram lower = h;
  lower.positive_buckets[2] = 4;
  lower.positive_buckets[3] = 1;
  EXPECT_EQ(c.Append(2000, lower), AppendResult::kCounterReset);
  Histogram marked = h;
  marked.reset_hint = CounterResetHint::kCounterReset;
  EXPECT_EQ(c.Append(2000, marked), AppendResult::kCounterReset);
  Histogram gauge = h;
  gauge.reset_hint = CounterResetHint::kGauge;
  EXPECT_EQ(c.Append(2000, gauge), AppendResult::kGaugeChanged);
  EXPECT_EQ(c.num_samples(), 1);

  HistogramChunk g(CounterResetHint::kGauge);
  ASSERT_EQ(g.Append(1000, h), AppendResult::kAppended);
  EXPECT_EQ(g.Append(2000, lower), AppendResult::kAppended);  // gauges go down
  Histogram counter = h;
  counter.reset_hint = CounterResetHint::kNotCounterReset;
  EXPECT_EQ(g.Append(3000, counter), AppendResult::kGaugeChanged);

  FloatHistogramChunk f;
  ASSERT_EQ(f.Append(1000, h.ToFloat()), AppendResult::kAppended);
  EXPECT_EQ(f.Append(2000, lower.ToFloat()), AppendResult::kCounterReset);
}

TEST(HistogramChunkTest, Seek) {
  std::mt19937_64 rng(4);
  HistogramChunk c;
  auto hs = CounterSeries(rng, 10, 3);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(c.Append(100 * i, hs[i]), AppendResult::kAppended);
  HistogramChunkIterator it(Encoding::kHistogram, c.bytes());
  ASSERT_EQ(it.Seek(250), ValueType::kHistogram);
  Histogram got;
  EXPECT_EQ(it.AtHistogram(&got), 300);
  ExpectSame(got, hs[3]);
  EXPECT_EQ(got.reset_hint, CounterResetHint::kNotCounterReset);
  EXPECT_EQ(it.Seek(0), ValueType::kHistogram);
  EXPECT_EQ(it.AtT(), 300);
  EXPECT_EQ(it.Seek(901), ValueType::kNone);
  EXPECT_TRUE(it.Err().ok());
}

// Custom buckets (schema -53): the boundaries are part of the layout, written once and read
// back with every sample; other boundaries (or exponential buckets) need a new chunk.
TEST(HistogramChunkTest, CustomBucketsRoundTripAndOtherBoundariesNeedANewChunk) {
  Histogram h;
  h.schema = kCustomBucketsSchema;
  h.custom_values = {-1.5, 0, 0.25, 10, 1e300};
  h.positive_spans = {{0, 2}, {2, 2}};  // indexes 0, 1, 4, 5 (5: the +Inf overflow bucket)
  h.positive_buckets = {1, 2, 3, 4};
  h.count = 10;
  h.sum = 12.5;
  std::vector<Histogram> hs{h};
  for (int i = 1; i < 5; ++i) {
    for (uint64_t& c : h.positive_buckets) c += static_cast<uint64_t>(i);
    h.count += 4 * static_cast<uint64_t>(i);
    h.sum += 3.5;
    hs.push_back(h);
  }
  RoundTrip(std::vector<int64_t>{1000, 2000, 3000, 4000, 5000}, hs);
  std::vector<FloatHistogram> fs;
  for (const Histogram& x : hs) fs.push_back(x.ToFloat());
  RoundTrip(std::vector<int64_t>{1000, 2000, 3000, 4000, 5000}, fs);

  HistogramChunk c(CounterResetHint::kUnknown);
  ASSERT_EQ(c.Append(1000, hs[0]), AppendResult::kAppended);
  Histogram other = hs[1];
  other.custom_values.back() = 1e301;
  EXPECT_EQ(c.Append(2000, other), AppendResult::kLayoutChanged);
  Histogram exponential = hs[1];
  exponential.schema = 0;
  exponential.custom_values.clear();
  EXPECT_EQ(c.Append(2000, exponential), AppendResult::kLayoutChanged);
  // Bad custom buckets are refused as invalid, whatever the chunk holds.
  Histogram descending = hs[1];
  descending.custom_values = {2, 1, 3, 4, 5};
  EXPECT_EQ(c.Append(2000, descending), AppendResult::kInvalid);
  Histogram beyond = hs[1];
  beyond.positive_spans = {{0, 2}, {3, 2}};  // index 6 > 5 values
  EXPECT_EQ(c.Append(2000, beyond), AppendResult::kInvalid);

  // Damage in the stored bounds is refused on read: the bound 10 is found in the bit stream
  // (MSB first, at any bit offset) and replaced by 0.1, below the bound before it (0.25).
  HistogramChunk one(CounterResetHint::kUnknown);
  ASSERT_EQ(one.Append(1000, hs[0]), AppendResult::kAppended);
  std::string bytes(one.bytes());
  auto bit = [&bytes](size_t i) { return (static_cast<uint8_t>(bytes[i / 8]) >> (7 - i % 8)) & 1; };
  auto set_bit = [&bytes](size_t i, int v) {
    auto& b = reinterpret_cast<uint8_t&>(bytes[i / 8]);
    b = static_cast<uint8_t>(v ? (b | (1u << (7 - i % 8))) : (b & ~(1u << (7 - i % 8))));
  };
  const uint64_t from = std::bit_cast<uint64_t>(10.0), to = std::bit_cast<uint64_t>(0.1);
  size_t at = SIZE_MAX;
  for (size_t off = 0; off + 64 <= bytes.size() * 8 && at == SIZE_MAX; ++off) {
    uint64_t v = 0;
    for (size_t k = 0; k < 64; ++k) v = (v << 1) | bit(off + k);
    if (v == from) at = off;
  }
  ASSERT_NE(at, SIZE_MAX);
  {
    HistogramChunkIterator intact(Encoding::kHistogram, bytes);
    EXPECT_EQ(intact.Next(), ValueType::kHistogram) << intact.Err();
  }
  for (size_t k = 0; k < 64; ++k) set_bit(at + k, static_cast<int>((to >> (63 - k)) & 1));
  HistogramChunkIterator damaged(Encoding::kHistogram, bytes);
  EXPECT_EQ(damaged.Next(), ValueType::kNone);
  EXPECT_FALSE(damaged.Err().ok());
}

TEST(HistogramChunkTest, CorruptInputEndsInAnError) {
  std::mt19937_64 rng(8);
  HistogramChunk c;
  auto hs = CounterSeries(rng, 40, 50);
  auto ts = Times(40);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(c.Append(ts[i], hs[i]), AppendResult::kAppended);
  std::string full(c.bytes());
  for (size_t len = 0; len < full.size(); ++len) {
    std::string cut = full.substr(0, len);  // the iterator reads it in place: keep it alive
    HistogramChunkIterator it(Encoding::kHistogram, cut);
    int n = 0;
    while (it.Next() != ValueType::kNone) ++n;
    EXPECT_FALSE(it.Err().ok()) << len;
    EXPECT_LT(n, 40) << len << " of " << full.size() << ": " << it.Err();
  }
  // Flipped bytes: must terminate; most end in an error.
  Histogram out;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = full;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    for (Encoding e : {Encoding::kHistogram, Encoding::kFloatHistogram}) {
      HistogramChunkIterator it(e, bad);
      while (it.Next() != ValueType::kNone) it.AtHistogram(&out);
    }
  }
  // A layout claiming 2^32 buckets in a few bytes is refused, not allocated.
  std::string huge("\x01\x00\x00", 3);
  huge += std::string("\x00", 1) + std::string(8, '\0');  // schema 0, zero threshold 0
  huge += "\x01\x00\xff\xff\xff\xff\x0f";                 // one span of 2^32-1 buckets
  huge += "\x00";
  HistogramChunkIterator it(Encoding::kHistogram, huge);
  EXPECT_EQ(it.Next(), ValueType::kNone);
  EXPECT_FALSE(it.Err().ok());
  const std::string bad_flags("\x00\x00\x80", 3);
  HistogramChunkIterator flags(Encoding::kHistogram, bad_flags);
  EXPECT_EQ(flags.Next(), ValueType::kNone);
  EXPECT_FALSE(flags.Err().ok());
}

// Sizes of a realistic native histogram: ~20 populated buckets, tens of observations per
// bucket per scrape, 15 s scrapes with a few ms of jitter, 120 samples per chunk.
TEST(HistogramChunkSizeTest, BytesPerSample) {
  std::mt19937_64 rng(9);
  Histogram h;
  h.schema = 3;
  h.zero_threshold = 1e-128;
  h.positive_spans = {{10, 12}, {2, 8}};
  h.positive_buckets.assign(20, 0);
  HistogramChunk ic;
  FloatHistogramChunk fc;
  int64_t t = 1'700'000'000'000;
  for (int i = 0; i < 120; ++i) {
    uint64_t added = 0;
    for (size_t b = 0; b < h.positive_buckets.size(); ++b) {
      uint64_t d = rng() % (b < 10 ? 40 : 8);
      h.positive_buckets[b] += d;
      added += d;
    }
    h.count += added;
    h.sum += static_cast<double>(added) * 0.0123;
    t += 15000 + static_cast<int64_t>(rng() % 7) - 3;
    ASSERT_EQ(ic.Append(t, h), AppendResult::kAppended);
    ASSERT_EQ(fc.Append(t, h.ToFloat()), AppendResult::kAppended);
  }
  double ib = static_cast<double>(ic.byte_size()) / 120,
         fb = static_cast<double>(fc.byte_size()) / 120;
  std::printf("histogram, 20 buckets: integer %.1f bytes/sample, float %.1f bytes/sample\n", ib,
              fb);
  EXPECT_LT(ib, 30);  // ~12 bits per bucket
  EXPECT_LT(fb, 70);
}

}  // namespace
}  // namespace sprout::metrics::chunkenc
