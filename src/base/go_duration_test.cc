#include "base/go_duration.h"

#include <gtest/gtest.h>

namespace sprout {
namespace {

TEST(GoDurationTest, ParsesGoSyntax) {
  EXPECT_EQ(*ParseGoDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(*ParseGoDuration("5s"), absl::Seconds(5));
  EXPECT_EQ(*ParseGoDuration("200ms"), absl::Milliseconds(200));
  EXPECT_EQ(*ParseGoDuration("1m30s"), absl::Seconds(90));
  EXPECT_EQ(*ParseGoDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(*ParseGoDuration("10us"), absl::Microseconds(10));
  EXPECT_EQ(*ParseGoDuration("10\xC2\xB5s"), absl::Microseconds(10));
  EXPECT_EQ(*ParseGoDuration("-2s"), absl::Seconds(-2));
  EXPECT_EQ(*ParseGoDuration("720h"), absl::Hours(720));
}

TEST(GoDurationTest, RejectsWithGoMessages) {
  EXPECT_EQ(ParseGoDuration("abc").status().message(), "time: invalid duration \"abc\"");
  EXPECT_EQ(ParseGoDuration("").status().message(), "time: invalid duration \"\"");
  EXPECT_EQ(ParseGoDuration("5").status().message(), "time: missing unit in duration \"5\"");
  EXPECT_EQ(ParseGoDuration("5x").status().message(),
            "time: unknown unit \"x\" in duration \"5x\"");
}

TEST(GoDurationTest, FormatsLikeGo) {
  EXPECT_EQ(FormatGoDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(12)), "12ns");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(1500)), "1.5\xC2\xB5s");
  EXPECT_EQ(FormatGoDuration(absl::Milliseconds(250)), "250ms");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(90)), "1m30s");
  EXPECT_EQ(FormatGoDuration(absl::Hours(1)), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(3) + absl::Nanoseconds(500000000)), "3.5s");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(-2)), "-2s");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(1234567891)), "1.234567891s");
}

}  // namespace
}  // namespace sprout
