#include "base/ulid.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sprout {
namespace {

TEST(Ulid, FormatsAndParsesTheSpecExample) {
  // The ULID specification's example identifier. Its value, worked out digit by digit
  // (value = value * 32 + digit over the alphabet 0-9 A-Z without I L O U), is
  // 0x01563e3ab5d3d6764c61efb99302bd5b: time 0x01563e3ab5d3 = 1469922850259 ms.
  absl::StatusOr<Ulid> u = Ulid::Parse("01ARZ3NDEKTSV4RRFFQ69G5FAV");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->high(), 0x01563e3ab5d3d676u);
  EXPECT_EQ(u->low(), 0x4c61efb99302bd5bu);
  EXPECT_EQ(u->time_ms(), 1469922850259u);
  EXPECT_EQ(u->ToString(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
  // Lower case parses to the same value and formats upper case.
  absl::StatusOr<Ulid> lower = Ulid::Parse("01arz3ndektsv4rrffq69g5fav");
  ASSERT_TRUE(lower.ok());
  EXPECT_EQ(*lower, *u);
}

TEST(Ulid, BitLayoutIsTimeThenRandom) {
  const Ulid u(0x0123456789AB, 0xCDEF, 0x0011223344556677);
  EXPECT_EQ(u.time_ms(), 0x0123456789ABu);
  EXPECT_EQ(u.high(), 0x0123456789ABCDEFu);
  EXPECT_EQ(u.low(), 0x0011223344556677u);
  EXPECT_EQ(u.Bytes(),
            std::string("\x01\x23\x45\x67\x89\xAB\xCD\xEF\x00\x11\x22\x33\x44\x55\x66\x77", 16));
  EXPECT_EQ(Ulid::FromBytes(u.Bytes().data()), u);
  // Extremes: all zero bits and all 128 bits set.
  EXPECT_EQ(Ulid().ToString(), std::string(26, '0'));
  absl::StatusOr<Ulid> max = Ulid::Parse("7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->high(), ~uint64_t{0});
  EXPECT_EQ(max->low(), ~uint64_t{0});
  // Each 5-bit digit: value 1 in the last position, 1 << 5 in the one before.
  EXPECT_EQ(Ulid(0, 0, 1).ToString(), "00000000000000000000000001");
  EXPECT_EQ(Ulid(0, 0, 32).ToString(), "00000000000000000000000010");
  EXPECT_EQ(Ulid(0, 0, 31).ToString(), "0000000000000000000000000Z");
}

TEST(Ulid, ParseRefusesBadText) {
  EXPECT_EQ(Ulid::Parse("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ulid::Parse("01ARZ3NDEKTSV4RRFFQ69G5FA").status().code(),
            absl::StatusCode::kInvalidArgument);  // 25 characters
  EXPECT_EQ(Ulid::Parse("01ARZ3NDEKTSV4RRFFQ69G5FAVV").status().code(),
            absl::StatusCode::kInvalidArgument);  // 27
  for (char bad : {'I', 'L', 'O', 'U', 'i', '-', ' '}) {
    std::string text = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    text[10] = bad;
    absl::Status s = Ulid::Parse(text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(std::string(s.message()).find(text), std::string::npos) << s;
  }
  EXPECT_EQ(Ulid::Parse("80000000000000000000000000").status().code(),
            absl::StatusCode::kInvalidArgument);  // 129 bits
}

TEST(Ulid, TextSortsLikeValue) {
  UlidGenerator gen(42);
  std::vector<Ulid> ids;
  for (uint64_t ms : {5u, 1000u, 1000u, 999999u, 123456789u}) ids.push_back(gen.Next(ms));
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_LT(ids[i - 1], ids[i]);
    EXPECT_LT(ids[i - 1].ToString(), ids[i].ToString());
  }
}

TEST(Ulid, MonotonicWithinAMillisecondAndWhenTheClockGoesBack) {
  UlidGenerator gen(7);
  const Ulid a = gen.Next(1000);
  const Ulid b = gen.Next(1000);
  const Ulid c = gen.Next(999);  // the clock went back: still increasing
  EXPECT_EQ(b.high(), a.high());
  EXPECT_EQ(b.low(), a.low() + 1);
  EXPECT_EQ(c.low(), a.low() + 2);
  EXPECT_EQ(c.time_ms(), 1000u);
  const Ulid d = gen.Next(1001);
  EXPECT_EQ(d.time_ms(), 1001u);
  EXPECT_GT(d, c);
}

TEST(Ulid, SuccessorCarriesIntoTimeOnOverflow) {
  const Ulid top(1, 0xFFFF, ~uint64_t{0});
  const Ulid next = top.Successor();
  EXPECT_EQ(next.time_ms(), 2u);
  EXPECT_EQ(next.high() & 0xFFFF, 0u);
  EXPECT_EQ(next.low(), 0u);
  const Ulid mid(1, 0x0001, ~uint64_t{0});
  EXPECT_EQ(mid.Successor(), Ulid(1, 0x0002, 0));
}

TEST(Ulid, GenerateIsUniqueAcrossThreads) {
  std::vector<std::vector<Ulid>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&out] {
      for (int i = 0; i < 2000; ++i) out.push_back(Ulid::Generate());
    });
  }
  for (auto& t : threads) t.join();
  std::set<Ulid> all;
  for (const auto& out : per_thread) {
    for (size_t i = 1; i < out.size(); ++i) EXPECT_LT(out[i - 1], out[i]);
    all.insert(out.begin(), out.end());
  }
  EXPECT_EQ(all.size(), 8000u);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  EXPECT_LE(std::llabs(static_cast<int64_t>(Ulid::Generate().time_ms()) - now), 60000);
}

}  // namespace
}  // namespace sprout
