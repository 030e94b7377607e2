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

TEST(Crc32cTest, HardwareAndPortableAgreeOnEveryLengthAndAlignment) {
  std::string data(700, '\0');
  uint32_t x = 2463534242u;
  for (char& c : data) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  EXPECT_EQ(crc32c_internal::Portable("123456789", 0), 0xE3069283u);
  if (!crc32c_internal::HardwareAvailable()) GTEST_SKIP() << "no CRC-32C instruction";
  EXPECT_EQ(crc32c_internal::Hardware("123456789", 0), 0xE3069283u);
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t len = 0; len + offset <= 200; ++len) {
      const std::string_view d = std::string_view(data).substr(offset, len);
      ASSERT_EQ(crc32c_internal::Hardware(d, 0), crc32c_internal::Portable(d, 0))
          << offset << "+" << len;
      ASSERT_EQ(crc32c_internal::Hardware(d, 0x12345678u),
                crc32c_internal::Portable(d, 0x12345678u));
    }
  }
  EXPECT_EQ(crc32c_internal::Hardware(data, 7), crc32c_internal::Portable(data, 7));
}

}  // namespace
}  // namespace sprout
