#include "metrics/tsdb/chunkenc/chunk.h"

#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "metrics/tsdb/chunkenc/histogram_chunk.h"

namespace sprout::metrics::chunkenc {
namespace {

std::string Hex(std::string_view bytes) { return absl::BytesToHexString(std::string(bytes)); }

// The worked example of docs/format/chunks.md ("XOR chunk: a worked example"): keep them equal.
TEST(ChunkFormatTest, XorWorkedExample) {
  FloatChunk c;
  ASSERT_TRUE(c.Append(1700000000000, 1.0));
  ASSERT_TRUE(c.Append(1700000015000, 2.0));
  ASSERT_TRUE(c.Append(1700000030003, 4.0));
  EXPECT_EQ(Hex(c.bytes()), "030080a0abfef9623ff00000000000009875c25fff870010");
  EXPECT_EQ(c.byte_size(), 24u);
  std::string record(1, static_cast<char>(Encoding::kXor));
  record.append(c.bytes());
  auto it = NewIteratorFromRecord(record);
  ASSERT_EQ(it->Next(), ValueType::kFloat);
  EXPECT_EQ(it->At(), (std::pair<int64_t, double>{1700000000000, 1.0}));
  ASSERT_EQ(it->Next(), ValueType::kFloat);
  EXPECT_EQ(it->At(), (std::pair<int64_t, double>{1700000015000, 2.0}));
  ASSERT_EQ(it->Next(), ValueType::kFloat);
  EXPECT_EQ(it->At(), (std::pair<int64_t, double>{1700000030003, 4.0}));
  EXPECT_EQ(it->Next(), ValueType::kNone);
  EXPECT_TRUE(it->Err().ok());
}

// The histogram example of docs/format/chunks.md.
TEST(ChunkFormatTest, HistogramWorkedExample) {
  HistogramChunk c(CounterResetHint::kCounterReset);
  Histogram h;
  h.schema = 0;
  h.zero_threshold = 0;
  h.positive_spans = {{1, 2}};
  h.positive_buckets = {1, 2};
  h.count = 3;
  h.sum = 4.0;
  ASSERT_EQ(c.Append(1000, h), AppendResult::kAppended);
  h.positive_buckets = {2, 3};
  h.count = 5;
  h.sum = 8.0;
  ASSERT_EQ(c.Append(16000, h), AppendResult::kAppended);
  EXPECT_EQ(Hex(c.bytes()), "02000100000000000000000001020200d00f86c25c01830a61d61200706080");
  auto it = NewIterator(Encoding::kHistogram, c.bytes());
  Histogram got;
  ASSERT_EQ(it->Next(), ValueType::kHistogram);
  EXPECT_EQ(it->AtHistogram(&got), 1000);
  EXPECT_EQ(got.reset_hint, CounterResetHint::kCounterReset);
  ASSERT_EQ(it->Next(), ValueType::kHistogram);
  EXPECT_EQ(it->AtHistogram(&got), 16000);
  h.reset_hint = CounterResetHint::kNotCounterReset;
  EXPECT_EQ(got, h);
  EXPECT_EQ(it->Next(), ValueType::kNone);
  EXPECT_TRUE(it->Err().ok()) << it->Err();
}

TEST(ChunkTest, FactoryPicksTheDecoder) {
  FloatChunk f;
  ASSERT_TRUE(f.Append(5, 0.5));
  auto it = NewIterator(Encoding::kXor, f.bytes());
  EXPECT_EQ(it->Next(), ValueType::kFloat);
  Histogram h;
  EXPECT_EQ(it->AtHistogram(&h), 5);  // the wrong accessor leaves h alone
  EXPECT_EQ(h, Histogram{});

  FloatHistogramChunk fh;
  FloatHistogram x;
  x.count = 2;
  ASSERT_EQ(fh.Append(7, x), AppendResult::kAppended);
  auto hit = NewIterator(Encoding::kFloatHistogram, fh.bytes());
  ASSERT_EQ(hit->Next(), ValueType::kFloatHistogram);
  FloatHistogram got;
  EXPECT_EQ(hit->AtFloatHistogram(&got), 7);
  EXPECT_EQ(got.count, 2.0);
  EXPECT_EQ(hit->At(), (std::pair<int64_t, double>{7, 0}));
}

TEST(ChunkTest, UnknownEncodingAndEmptyRecord) {
  for (uint8_t e : {0, 4, 255}) {
    auto it = NewIterator(static_cast<Encoding>(e), "\x01\x00\x00");
    EXPECT_EQ(it->Next(), ValueType::kNone);
    EXPECT_EQ(it->Seek(0), ValueType::kNone);
    EXPECT_EQ(it->Err().code(), absl::StatusCode::kInvalidArgument) << it->Err();
  }
  auto it = NewIteratorFromRecord("");
  EXPECT_EQ(it->Next(), ValueType::kNone);
  EXPECT_FALSE(it->Err().ok());
  EXPECT_EQ(EncodingName(Encoding::kXor), "xor");
  EXPECT_EQ(EncodingName(static_cast<Encoding>(9)), "unknown(9)");
}

TEST(ChunkTest, GarbageInEveryEncodingTerminates) {
  std::mt19937_64 rng(13);
  Histogram h;
  FloatHistogram fh;
  for (int i = 0; i < 30000; ++i) {
    std::string garbage(rng() % 80, '\0');
    for (char& ch : garbage) ch = static_cast<char>(rng() % 4 == 0 ? 0 : rng());
    auto it = NewIteratorFromRecord(garbage);
    int n = 0;
    ValueType vt;
    while ((vt = (n % 3 == 2 ? it->Seek(it->AtT() + 1) : it->Next())) != ValueType::kNone) {
      it->At();
      it->AtHistogram(&h);
      it->AtFloatHistogram(&fh);
      ASSERT_LE(++n, 65535);
    }
  }
}

}  // namespace
}  // namespace sprout::metrics::chunkenc
