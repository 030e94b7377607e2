#include "base/backoff.h"

#include <algorithm>

namespace sprout {

ExponentialBackoff::ExponentialBackoff(const BackoffConfig& config, uint64_t seed)
    : config_(config), current_(config.initial_interval), rng_(seed) {}

uint64_t ExponentialBackoff::NextSeed() {
  thread_local std::mt19937_64 seeds(std::random_device{}());
  return seeds();
}

absl::Duration ExponentialBackoff::NextDelay() {
  const double f = std::clamp(config_.randomization_factor, 0.0, 1.0);
  std::uniform_real_distribution<double> dist(1.0 - f, 1.0 + f);
  const absl::Duration delay = current_ * dist(rng_);
  const absl::Duration grown = current_ * config_.multiplier;
  current_ =
      config_.max_interval > absl::ZeroDuration() ? std::min(grown, config_.max_interval) : grown;
  return delay;
}

}  // namespace sprout
