// Configuration of the `memory_limiter` processor (Collector: processor/memorylimiterprocessor);
// the validation texts are the Collector's. Every key and its default is listed in README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "collector/factory.h"

namespace sprout::collector::memorylimiter {

struct Config : ComponentConfig {
  absl::Duration check_interval = absl::ZeroDuration();
  uint32_t limit_mib = 0;
  uint32_t spike_limit_mib = 0;
  uint32_t limit_percentage = 0;
  uint32_t spike_limit_percentage = 0;
  absl::Duration min_gc_interval_when_soft_limited = absl::Seconds(10);
  absl::Duration min_gc_interval_when_hard_limited = absl::ZeroDuration();
  absl::Duration max_gc_interval_when_soft_limited = absl::ZeroDuration();
  absl::Duration max_gc_interval_when_hard_limited = absl::ZeroDuration();

  void Decode(config::Decoder& d) override;
  absl::Status Validate() const override;
};

}  // namespace sprout::collector::memorylimiter
