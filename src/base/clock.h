// Time for code that sleeps until deadlines, replaceable in tests.
//
// Clock::Real() is absl::Now() and a condition-variable wait. ManualClock stands still until a
// test calls Advance(), which wakes every thread waiting in WaitUntil() whose mutex it can take:
// timer-driven behaviour (a batch processor's timeout) becomes a step the test controls, with no
// sleeps and no dependence on how fast the machine is.
//
// Thread-safety: all methods may be called from any thread. A thread inside WaitUntil() must not
// destroy the condition variable or mutex it waits with while another thread calls Advance().
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sprout {

class Clock {
 public:
  virtual ~Clock() = default;

  virtual absl::Time Now() const = 0;

  // With `lock` held on entry and on return: waits on `cv` until it is notified, this clock
  // reaches `deadline` (absl::InfiniteFuture() waits for a notification only), or a spurious
  // wake-up. Callers re-check their condition in a loop, as with any condition variable.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         absl::Time deadline) = 0;

  // The process's clock; never destroyed.
  static Clock* Real();
};

class ManualClock : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch() + absl::Hours(24 * 365 * 50))
      : now_(start) {}

  absl::Time Now() const override;
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 absl::Time deadline) override;

  // Moves time forward and wakes the threads waiting in WaitUntil().
  void Advance(absl::Duration d);

 private:
  struct Waiter {
    std::condition_variable* cv;
    std::mutex* mu;
  };

  mutable std::mutex mu_;
  absl::Time now_;
  std::vector<Waiter> waiters_;
};

}  // namespace sprout
