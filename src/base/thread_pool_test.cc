#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>

namespace sprout {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskConcurrently) {
  std::atomic<int> done{0};
  std::latch both_running(2);
  {
    ThreadPool pool(2);
    // Two tasks that each wait for the other: they only finish if they run at the same time.
    for (int i = 0; i < 2; ++i) {
      pool.Schedule([&] {
        both_running.arrive_and_wait();
        ++done;
      });
    }
    for (int i = 0; i < 100; ++i) pool.Schedule([&] { ++done; });
  }
  EXPECT_EQ(done, 102);
}

}  // namespace
}  // namespace sprout
