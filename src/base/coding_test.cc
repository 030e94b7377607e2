#include "base/coding.h"

#include <gtest/gtest.h>

#include <string>

namespace sprout {
namespace {

TEST(CodingTest, WritesLeastSignificantByteFirst) {
  std::string buf(8, '\0');
  PutU16(buf.data(), 0x0102);
  EXPECT_EQ(buf.substr(0, 2), std::string("\x02\x01", 2));
  PutU32(buf.data(), 0x01020304);
  EXPECT_EQ(buf.substr(0, 4), std::string("\x04\x03\x02\x01", 4));
  PutU64(buf.data(), 0x0102030405060708);
  EXPECT_EQ(buf, std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
}

TEST(CodingTest, ReadsLeastSignificantByteFirst) {
  const std::string buf("\xff\xfe\x80\x01\x00\x7f\xaa\x55", 8);
  EXPECT_EQ(GetU16(buf.data()), 0xfeffu);
  EXPECT_EQ(GetU32(buf.data()), 0x0180feffu);
  EXPECT_EQ(GetU64(buf.data()), 0x55aa7f000180feffull);
}

TEST(CodingTest, RoundTripsAtUnalignedOffsets) {
  char buf[16] = {};
  PutU16(buf + 1, 0xbeef);
  EXPECT_EQ(GetU16(buf + 1), 0xbeef);
  PutU32(buf + 3, 0xdeadbeef);
  EXPECT_EQ(GetU32(buf + 3), 0xdeadbeefu);
  PutU64(buf + 5, 0xfedcba9876543210ull);
  EXPECT_EQ(GetU64(buf + 5), 0xfedcba9876543210ull);
}

}  // namespace
}  // namespace sprout
