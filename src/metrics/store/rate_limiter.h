// A token bucket as Mimir's per-tenant ingestion rate limiter uses it (golang.org/x/time/rate's
// AllowN): `rate` tokens per second accrue up to `burst`; a request of n items passes when n
// tokens are there and takes them; otherwise it takes nothing. A request larger than the burst
// never passes. The bucket starts full.
//
// Thread-safety: Allow may be called from any thread.
#pragma once

#include <algorithm>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace sprout::metrics {

class TokenBucket {
 public:
  TokenBucket(double rate_per_second, int64_t burst, int64_t now_ns)
      : rate_(rate_per_second),
        burst_(static_cast<double>(burst)),
        tokens_(burst_),
        last_ns_(now_ns) {}

  // New limits (a tenant's runtime overrides): the tokens there stay, up to the new burst.
  void SetLimits(double rate_per_second, int64_t burst) {
    absl::MutexLock lock(&mu_);
    rate_ = rate_per_second;
    burst_ = static_cast<double>(burst);
    tokens_ = std::min(tokens_, burst_);
  }

  // Takes n tokens at monotonic time now_ns when they are there.
  bool Allow(int64_t n, int64_t now_ns) {
    absl::MutexLock lock(&mu_);
    if (now_ns > last_ns_) {
      tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ns - last_ns_) / 1e9);
      last_ns_ = now_ns;
    }
    const double need = static_cast<double>(n);
    if (need > tokens_) return false;
    tokens_ -= need;
    return true;
  }

 private:
  absl::Mutex mu_;
  double rate_ ABSL_GUARDED_BY(mu_);
  double burst_ ABSL_GUARDED_BY(mu_);
  double tokens_ ABSL_GUARDED_BY(mu_);
  int64_t last_ns_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sprout::metrics
