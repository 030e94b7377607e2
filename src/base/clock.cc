#include "base/clock.h"

#include <algorithm>

namespace sprout {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 absl::Time deadline) override {
    if (deadline == absl::InfiniteFuture()) {
      cv.wait(lock);
      return;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return;
    cv.wait_for(lock, absl::ToChronoNanoseconds(left));
  }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock* clock = new RealClock();
  return clock;
}

absl::Time ManualClock::Now() const {
  std::lock_guard<std::mutex> guard(mu_);
  return now_;
}

void ManualClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                            absl::Time deadline) {
  {
    // The deadline check and the registration are one step under mu_: an Advance() either
    // happened before (and the check sees it) or finds this waiter and notifies it, which it
    // can only do once the wait below has released `lock`.
    std::lock_guard<std::mutex> guard(mu_);
    if (deadline <= now_) return;
    waiters_.push_back({&cv, lock.mutex()});
  }
  cv.wait(lock);
  std::lock_guard<std::mutex> guard(mu_);
  auto it = std::find_if(waiters_.begin(), waiters_.end(),
                         [&](const Waiter& w) { return w.cv == &cv && w.mu == lock.mutex(); });
  if (it != waiters_.end()) waiters_.erase(it);
}

void ManualClock::Advance(absl::Duration d) {
  std::vector<Waiter> waiters;
  {
    std::lock_guard<std::mutex> guard(mu_);
    now_ += d;
    waiters = waiters_;
  }
  for (const Waiter& waiter : waiters) {
    std::lock_guard<std::mutex> guard(*waiter.mu);
    waiter.cv->notify_all();
  }
}

}  // namespace sprout
