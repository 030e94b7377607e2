#include "base/hex.h"

#include <gtest/gtest.h>

namespace sprout {
namespace {

TEST(HexTest, RoundTrips) {
  const std::string bytes("\x00\x01\xab\xff", 4);
  EXPECT_EQ(HexEncode(bytes), "0001abff");
  EXPECT_EQ(*HexDecode("0001ABff"), bytes);
}

TEST(HexTest, RejectsBadInput) {
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
  EXPECT_EQ(*HexDecode(""), "");
}

}  // namespace
}  // namespace sprout
