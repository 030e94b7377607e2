#include "collector/processor/memory_limiter/config.h"

#include "config/decoder.h"

namespace sprout::collector::memorylimiter {

void Config::Decode(config::Decoder& d) {
  d.Read("check_interval", &check_interval);
  d.Read("limit_mib", &limit_mib);
  d.Read("spike_limit_mib", &spike_limit_mib);
  d.Read("limit_percentage", &limit_percentage);
  d.Read("spike_limit_percentage", &spike_limit_percentage);
  d.Read("min_gc_interval_when_soft_limited", &min_gc_interval_when_soft_limited);
  d.Read("min_gc_interval_when_hard_limited", &min_gc_interval_when_hard_limited);
  d.Read("max_gc_interval_when_soft_limited", &max_gc_interval_when_soft_limited);
  d.Read("max_gc_interval_when_hard_limited", &max_gc_interval_when_hard_limited);
}

absl::Status Config::Validate() const {
  if (check_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("'check_interval' must be greater than zero");
  }
  if (min_gc_interval_when_soft_limited < min_gc_interval_when_hard_limited) {
    return absl::InvalidArgumentError(
        "'min_gc_interval_when_soft_limited' should be larger than "
        "'min_gc_interval_when_hard_limited'");
  }
  if (max_gc_interval_when_soft_limited > absl::ZeroDuration() &&
      max_gc_interval_when_soft_limited < min_gc_interval_when_soft_limited) {
    return absl::InvalidArgumentError(
        "'max_gc_interval_when_soft_limited' must be greater than or equal to "
        "'min_gc_interval_when_soft_limited' (or 0 to disable)");
  }
  if (max_gc_interval_when_hard_limited > absl::ZeroDuration() &&
      max_gc_interval_when_hard_limited < min_gc_interval_when_hard_limited) {
    return absl::InvalidArgumentError(
        "'max_gc_interval_when_hard_limited' must be greater than or equal to "
        "'min_gc_interval_when_hard_limited' (or 0 to disable)");
  }
  if (limit_mib == 0 && limit_percentage == 0) {
    return absl::InvalidArgumentError(
        "'limit_mib' or 'limit_percentage' must be greater than zero");
  }
  if (limit_percentage > 100 || spike_limit_percentage > 100) {
    return absl::InvalidArgumentError(
        "'limit_percentage' and 'spike_limit_percentage' must be greater than zero and less "
        "than or equal to hundred");
  }
  if (limit_mib > 0 && limit_mib <= spike_limit_mib) {
    return absl::InvalidArgumentError("'spike_limit_mib' must be smaller than 'limit_mib'");
  }
  if (limit_percentage > 0 && limit_percentage <= spike_limit_percentage) {
    return absl::InvalidArgumentError(
        "'spike_limit_percentage' must be smaller than 'limit_percentage'");
  }
  return absl::OkStatus();
}

}  // namespace sprout::collector::memorylimiter
