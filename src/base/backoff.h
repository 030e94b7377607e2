// Exponential backoff with jitter, with the Collector's `retry_on_failure` semantics.
//
// Not thread-safe: one instance per retry loop.
#pragma once

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace sprout {

struct BackoffConfig {
  bool enabled = true;
  absl::Duration initial_interval = absl::Seconds(5);
  double randomization_factor = 0.5;
  double multiplier = 1.5;
  absl::Duration max_interval = absl::Seconds(30);
  absl::Duration max_elapsed_time = absl::Minutes(5);  // zero: retry forever
};

class ExponentialBackoff {
 public:
  // The default seed is cheap (a per-thread generator seeded once): a backoff is created for
  // every exported request, and std::random_device costs a system call.
  explicit ExponentialBackoff(const BackoffConfig& config, uint64_t seed = NextSeed());

  static uint64_t NextSeed();

  // The wait before the next attempt: the current interval randomized by
  // ±randomization_factor; the interval then grows by `multiplier` up to `max_interval`.
  absl::Duration NextDelay();

 private:
  BackoffConfig config_;
  absl::Duration current_;
  std::mt19937_64 rng_;
};

}  // namespace sprout
