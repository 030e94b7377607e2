#include "base/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace sprout {
namespace {

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  // RFC 3720 B.4: 32 bytes of zeros.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  // Incremental equals one shot, across the 8-byte stride.
  std::string data(1001, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + 7);
  EXPECT_EQ(Crc32c(data.substr(13), Crc32c(data.substr(0, 13))), Crc32c(data));
  EXPECT_EQ(MaskSnappyCrc(0x9a71bb4cu), 0x191c1fbbu);
}

}  // namespace
}  // namespace sprout
