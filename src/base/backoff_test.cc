#include "base/backoff.h"

#include <gtest/gtest.h>

namespace sprout {
namespace {

TEST(BackoffTest, GrowsByMultiplierUpToMaxWithJitter) {
  BackoffConfig config;
  config.initial_interval = absl::Seconds(1);
  config.multiplier = 2;
  config.max_interval = absl::Seconds(5);
  config.randomization_factor = 0.5;
  ExponentialBackoff backoff(config, 42);
  const double expected[] = {1, 2, 4, 5, 5};
  for (double e : expected) {
    const double got = absl::ToDoubleSeconds(backoff.NextDelay());
    EXPECT_GE(got, e * 0.5);
    EXPECT_LE(got, e * 1.5);
  }
}

TEST(BackoffTest, NoJitterIsExact) {
  BackoffConfig config;
  config.initial_interval = absl::Milliseconds(50);
  config.randomization_factor = 0;
  config.multiplier = 1.5;
  ExponentialBackoff backoff(config);
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(50));
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(75));
}

}  // namespace
}  // namespace sprout
