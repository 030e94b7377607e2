#include "metrics/tsdb/head/wal_record.h"

#include <random>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/head/head_test_util.h"

namespace sprout::metrics::tsdb::wal {
namespace {

using tsdb::testing::BitsOf;
using tsdb::testing::kStaleNaN;

std::string Hex(std::string_view s) {
  return absl::BytesToHexString(absl::string_view(s.data(), s.size()));
}

// The worked example of docs/format/metrics-wal.md: one request that creates the series
// {__name__="up", job="api"} as id 7 and appends two samples to it (1.0 at t=1700000000000 and
// the stale marker 15 s later) and one sample to the known series 5 (t=1700000000000, 0.0).
TEST(WalRecordTest, WorkedExampleMatchesTheDoc) {
  RecordBuilder series;
  series.Start();
  series.AddSeries(7, Labels::FromStrings({"__name__", "up", "job", "api"}).bytes());
  EXPECT_EQ(Hex(series.data()), "010714085f5f6e616d655f5f027570036a6f6203617069");

  RecordBuilder samples;
  samples.Start();
  samples.AddSample(7, 1700000000000, BitsOf(1.0));
  samples.AddSample(7, 1700000015000, kStaleNaN);
  samples.AddSample(5, 1700000000000, BitsOf(0.0));
  EXPECT_EQ(Hex(samples.data()),
            "0107"
            "80a0abfef962"
            "000000000000f03f"
            "00"
            "b0ea01"
            "020000000000f07f"
            "03"
            "afea01"
            "0000000000000000");
  std::vector<SampleEntry> got;
  ASSERT_TRUE(DecodeSamples(samples.data(), &got).ok());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].t, 1700000015000);
  EXPECT_EQ(got[1].value_bits, kStaleNaN);
  EXPECT_EQ(got[2].id, 5u);
  EXPECT_EQ(got[2].t, 1700000000000);
}

TEST(WalRecordTest, EveryTypeRoundTrips) {
  RecordBuilder b;
  b.Start();
  b.AddSeries(0, Labels::FromStrings({"a", "1"}).bytes());
  b.AddSeries(4000000000u, Labels::FromStrings({"b", "2", "c", ""}).bytes());
  std::vector<SeriesEntry> series;
  ASSERT_TRUE(DecodeSeries(b.data(), &series).ok());
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[1].id, 4000000000u);
  EXPECT_EQ(series[1].labels, Labels::FromStrings({"b", "2", "c", ""}));

  b.Start();
  const int64_t ts[] = {INT64_MIN, -1, 0, INT64_MAX, 5};
  const uint32_t ids[] = {UINT32_MAX, 0, 17, 3, UINT32_MAX};
  for (int i = 0; i < 5; ++i)
    b.AddSample(ids[i], ts[i], static_cast<uint64_t>(i) * 0x0123456789abcdefULL);
  std::vector<SampleEntry> samples;
  ASSERT_TRUE(DecodeSamples(b.data(), &samples).ok());
  ASSERT_EQ(samples.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(samples[i].id, ids[i]);
    EXPECT_EQ(samples[i].t, ts[i]);
    EXPECT_EQ(samples[i].value_bits, static_cast<uint64_t>(i) * 0x0123456789abcdefULL);
  }

  chunkenc::Histogram h = tsdb::testing::MakeHistogram(7);
  h.reset_hint = chunkenc::CounterResetHint::kGauge;
  h.schema = -4;
  h.negative_spans = {{-3, 1}};
  h.negative_buckets = {UINT64_MAX};
  b.Start();
  b.AddHistogram(9, 100, h);
  b.AddHistogram(2, 50, tsdb::testing::MakeHistogram(0));
  std::vector<HistogramEntry> hs;
  ASSERT_TRUE(DecodeHistograms(b.data(), &hs).ok());
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].h, h);
  EXPECT_EQ(hs[1].id, 2u);
  EXPECT_EQ(hs[1].t, 50);

  chunkenc::FloatHistogram fh = h.ToFloat();
  fh.sum = -0.0;
  b.Start();
  b.AddFloatHistogram(1, 1, fh);
  std::vector<FloatHistogramEntry> fhs;
  ASSERT_TRUE(DecodeFloatHistograms(b.data(), &fhs).ok());
  ASSERT_EQ(fhs.size(), 1u);
  EXPECT_EQ(fhs[0].h, fh);
  EXPECT_TRUE(std::signbit(fhs[0].h.sum));

  // Custom buckets: the boundaries follow the buckets; the next entry (exponential) has none.
  chunkenc::Histogram nhcb;
  nhcb.schema = chunkenc::kCustomBucketsSchema;
  nhcb.custom_values = {-2.5, 0, 0.1, 1e9};
  nhcb.positive_spans = {{0, 1}, {3, 1}};
  nhcb.positive_buckets = {4, 6};
  nhcb.count = 10;
  nhcb.sum = 3e9;
  b.Start();
  b.AddHistogram(5, 10, nhcb);
  b.AddHistogram(6, 11, h);
  hs.clear();
  ASSERT_TRUE(DecodeHistograms(b.data(), &hs).ok());
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].h, nhcb);
  EXPECT_EQ(hs[1].h, h);
  b.Start();
  b.AddFloatHistogram(5, 10, nhcb.ToFloat());
  fhs.clear();
  ASSERT_TRUE(DecodeFloatHistograms(b.data(), &fhs).ok());
  ASSERT_EQ(fhs.size(), 1u);
  EXPECT_EQ(fhs[0].h, nhcb.ToFloat());

  b.Start();
  b.AddExemplar(3, 1000, kStaleNaN, Labels::FromStrings({"trace_id", "abc"}).bytes());
  std::vector<ExemplarEntry> ex;
  ASSERT_TRUE(DecodeExemplars(b.data(), &ex).ok());
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].value_bits, kStaleNaN);
  EXPECT_EQ(ex[0].labels.Get("trace_id"), "abc");

  b.Start();
  b.AddMetadata("http_requests", MetricType::kCounter, "", "Requests.\nAll of them.");
  std::vector<MetadataEntry> md;
  ASSERT_TRUE(DecodeMetadata(b.data(), &md).ok());
  ASSERT_EQ(md.size(), 1u);
  EXPECT_EQ(md[0].type, MetricType::kCounter);
  EXPECT_EQ(md[0].help, "Requests.\nAll of them.");
  EXPECT_EQ(MetricTypeName(md[0].type), "counter");
}

TEST(WalRecordTest, CorruptRecordsAreDataLossNeverACrash) {
  RecordBuilder b;
  b.Start();
  chunkenc::Histogram h = tsdb::testing::MakeHistogram(3);
  b.AddHistogram(1, 2, h);
  b.AddHistogram(1, 3, h);
  const std::string good(b.data());
  std::vector<HistogramEntry> out;
  for (size_t cut = 1; cut < good.size(); ++cut) {
    absl::Status s = DecodeHistograms(good.substr(0, cut), &out);
    // A cut at the entry boundary is a valid shorter record; anything else is DataLoss.
    if (!s.ok()) {
      EXPECT_TRUE(absl::IsDataLoss(s)) << s;
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = good;
    bad[1 + rng() % (bad.size() - 1)] = static_cast<char>(rng());
    absl::Status s = DecodeHistograms(bad, &out);
    if (!s.ok()) {
      EXPECT_TRUE(absl::IsDataLoss(s)) << s;
    }
    std::vector<SeriesEntry> series;
    (void)DecodeSeries(bad, &series);
    std::vector<ExemplarEntry> ex;
    (void)DecodeExemplars(bad, &ex);
  }
  // A huge count must not allocate: refused before.
  EXPECT_TRUE(absl::IsDataLoss(DecodeHistograms(
      std::string("\x01\x00\x00\x00", 4) + std::string("\xff\xff\xff\xff\x0f", 5), &out)));
}

// An id delta near 2^63 must be refused before it is added (signed overflow), not after.
TEST(WalRecordTest, AnIdDeltaThatWouldOverflowIsDataLoss) {
  for (int64_t delta : {INT64_MAX, INT64_MIN, int64_t{1} << 32, int64_t{-6}}) {
    std::string payload = {1};                  // version
    payload += '\x05';                          // id 5
    payload += '\x00';                          // t 0
    payload += std::string(8, '\0');            // value
    uint64_t zz = (static_cast<uint64_t>(delta) << 1) ^ static_cast<uint64_t>(delta >> 63);
    while (zz >= 0x80) {
      payload += static_cast<char>((zz & 0x7f) | 0x80);
      zz >>= 7;
    }
    payload += static_cast<char>(zz);
    payload += '\x00';                          // t delta 0
    payload += std::string(8, '\0');
    std::vector<SampleEntry> out;
    absl::Status status = DecodeSamples(payload, &out);
    EXPECT_TRUE(absl::IsDataLoss(status)) << delta << ": " << status;
  }
}

TEST(WalRecordTest, ANewerFormatVersionIsRefused) {
  std::vector<SampleEntry> out;
  absl::Status s = DecodeSamples(std::string("\x02\x00\x00", 3), &out);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(absl::IsDataLoss(DecodeSamples("", &out)));
}

}  // namespace
}  // namespace sprout::metrics::tsdb::wal
