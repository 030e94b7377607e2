#include "metrics/tsdb/chunkenc/bit_stream.h"

#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace sprout::metrics::chunkenc {
namespace {

TEST(BitStreamTest, FieldsOfEveryWidthRoundTrip) {
  std::mt19937_64 rng(1);
  BitWriter w(3);
  std::vector<std::pair<uint64_t, int>> fields;
  for (int i = 0; i < 5000; ++i) {
    int n = static_cast<int>(rng() % 65);
    uint64_t v = rng();
    if (n < 64) v &= (uint64_t{1} << n) - 1;
    if (n == 0) v = 0;
    fields.push_back({v, n});
    w.Write(v, n);
  }
  BitReader r(w.bytes(), 24);
  for (const auto& [v, n] : fields) ASSERT_EQ(r.Read(n), v) << n;
  EXPECT_FALSE(r.overrun());
  EXPECT_LT(r.remaining(), 8u);
  EXPECT_EQ(w.byte_size(), (w.bit_size() + 7) / 8);
}

TEST(BitStreamTest, BitsAreMostSignificantFirst) {
  BitWriter w(0);
  w.WriteBit(true);
  w.Write(0b01, 2);
  w.Write(0x1ff, 9);
  // 1 01 111111111 -> 1011 1111 1111 (pad 0000)
  ASSERT_EQ(w.bytes().size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(w.bytes()[0]), 0xbf);
  EXPECT_EQ(static_cast<uint8_t>(w.bytes()[1]), 0xf0);
}

TEST(BitStreamTest, ReadingPastTheEndGivesZerosAndOverrun) {
  BitWriter w(0);
  w.Write(0xabc, 12);
  BitReader r(w.bytes(), 0);
  EXPECT_EQ(r.Read(12), 0xabcu);
  EXPECT_FALSE(r.overrun());
  EXPECT_EQ(r.Read(64), 0u);
  EXPECT_TRUE(r.overrun());
  EXPECT_EQ(r.remaining(), 0u);
  BitReader empty(std::string_view(), 0);
  EXPECT_EQ(empty.Read(7), 0u);
  EXPECT_TRUE(empty.overrun());
}

TEST(BitStreamTest, VarintsRoundTrip) {
  const int64_t cases[] = {0,
                           1,
                           -1,
                           63,
                           -64,
                           64,
                           1 << 20,
                           -(1 << 20),
                           std::numeric_limits<int64_t>::max(),
                           std::numeric_limits<int64_t>::min()};
  BitWriter w(0);
  w.Write(1, 3);  // unaligned
  for (int64_t v : cases) {
    w.WriteVarint(v);
    w.WriteUvarint(static_cast<uint64_t>(v));
  }
  BitReader r(w.bytes(), 3);
  for (int64_t v : cases) {
    int64_t s;
    uint64_t u;
    ASSERT_TRUE(r.ReadVarint(&s));
    EXPECT_EQ(s, v);
    ASSERT_TRUE(r.ReadUvarint(&u));
    EXPECT_EQ(u, static_cast<uint64_t>(v));
  }
}

TEST(BitStreamTest, OverlongVarintIsRefused) {
  std::string bytes(11, '\xff');
  BitReader r(bytes, 0);
  uint64_t v;
  EXPECT_FALSE(r.ReadUvarint(&v));
  std::string overflow = std::string(9, '\xff') + "\x02";
  BitReader r2(overflow, 0);
  EXPECT_FALSE(r2.ReadUvarint(&v));
}

TEST(BitStreamTest, VarbitBucketBoundaries) {
  std::vector<int64_t> cases = {0, std::numeric_limits<int64_t>::min(),
                                std::numeric_limits<int64_t>::max()};
  for (int width : kVarbitWidths) {
    if (width == 64) continue;
    int64_t lo = -(int64_t{1} << (width - 1)), hi = (int64_t{1} << (width - 1)) - 1;
    for (int64_t v : {lo - 1, lo, lo + 1, hi - 1, hi, hi + 1}) cases.push_back(v);
  }
  BitWriter w(0);
  for (int64_t v : cases) w.Write(0, 1), WriteVarbit(w, v);
  BitReader r(w.bytes(), 0);
  for (int64_t v : cases) {
    r.Skip(1);
    EXPECT_EQ(ReadVarbit(r), v);
  }
  EXPECT_FALSE(r.overrun());
}

TEST(BitStreamTest, VarbitSizes) {
  auto bits = [](int64_t v) {
    BitWriter w(0);
    WriteVarbit(w, v);
    return w.bit_size();
  };
  EXPECT_EQ(bits(0), 1u);
  EXPECT_EQ(bits(-16), 7u);
  EXPECT_EQ(bits(15), 7u);
  EXPECT_EQ(bits(16), 12u);
  EXPECT_EQ(bits(255), 12u);
  EXPECT_EQ(bits(15000), 20u);
  EXPECT_EQ(bits(1 << 20), 37u);
  EXPECT_EQ(bits(int64_t{1} << 40), 69u);
}

TEST(BitStreamTest, XorRoundTripsEveryBitPattern) {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> values = {0,
                                  std::bit_cast<uint64_t>(-0.0),
                                  0x7ff0000000000002,  // stale marker
                                  0x7ff8000000000001,
                                  0xfff0000000000000,
                                  0x7ff0000000000000,
                                  ~uint64_t{0},
                                  1,
                                  uint64_t{1} << 63};
  for (int i = 0; i < 2000; ++i) {
    uint64_t v = rng();
    switch (i % 4) {
      case 0:
        values.push_back(v);
        break;
      case 1:
        values.push_back(values.back() ^ (v & 0xff0));
        break;
      case 2:
        values.push_back(values.back());
        break;
      default:
        values.push_back(std::bit_cast<uint64_t>(static_cast<double>(v % 1000)));
    }
  }
  BitWriter w(0);
  XorState ws;
  for (uint64_t v : values) WriteXor(w, ws, v);
  BitReader r(w.bytes(), 0);
  XorState rs;
  for (uint64_t v : values) {
    ASSERT_TRUE(ReadXor(r, rs));
    ASSERT_EQ(rs.prev, v);
  }
  EXPECT_FALSE(r.overrun());
}

TEST(BitStreamTest, XorRejectsImpossibleBits) {
  // '10' before any window.
  std::string reuse = "\x80";
  BitReader r(reuse, 0);
  XorState s;
  EXPECT_FALSE(ReadXor(r, s));
  // '11', lead 31, m 63: lead + m > 64.
  BitWriter w(0);
  w.Write(0b11, 2);
  w.Write(31, 5);
  w.Write(63, 6);
  BitReader r2(w.bytes(), 0);
  XorState s2;
  EXPECT_FALSE(ReadXor(r2, s2));
}

}  // namespace
}  // namespace sprout::metrics::chunkenc
