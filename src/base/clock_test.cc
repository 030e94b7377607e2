#include "base/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace sprout {
namespace {

TEST(ManualClockTest, AdvanceWakesAWaiterOnceItsDeadlinePasses) {
  ManualClock clock;
  const absl::Time deadline = clock.Now() + absl::Seconds(10);
  std::mutex mu;
  std::condition_variable cv;
  bool woke = false;
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (clock.Now() < deadline) clock.WaitUntil(cv, lock, deadline);
    woke = true;
  });
  clock.Advance(absl::Seconds(4));  // not yet: the waiter goes back to waiting
  clock.Advance(absl::Seconds(6));
  waiter.join();  // hangs (and the test times out) if the last Advance was lost
  EXPECT_TRUE(woke);
  EXPECT_EQ(clock.Now(), deadline);
}

TEST(ManualClockTest, APassedDeadlineDoesNotWait) {
  ManualClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  clock.WaitUntil(cv, lock, clock.Now());  // returns at once
  EXPECT_TRUE(lock.owns_lock());
}

}  // namespace
}  // namespace sprout
