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
    auto pool = ThreadPool::Create(2);
    ASSERT_TRUE(pool.ok()) << pool.status();
    // Two tasks that each wait for the other: they only finish if they run at the same time.
    for (int i = 0; i < 2; ++i) {
      (*pool)->Schedule([&] {
        both_running.arrive_and_wait();
        ++done;
      });
    }
    for (int i = 0; i < 100; ++i) (*pool)->Schedule([&] { ++done; });
  }
  EXPECT_EQ(done, 102);
}

// The third thread cannot be started: the two already running are joined (the process would
// otherwise end in std::terminate) and the error names the thread.
TEST(ThreadPoolTest, AFailedThreadStartJoinsTheStartedOnesAndReportsIt) {
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  ThreadPool::ThreadStarter start = [&](std::function<void()> body) -> absl::StatusOr<std::thread> {
    if (started == 2) return absl::ResourceExhaustedError("Resource temporarily unavailable");
    ++started;
    return std::thread([&finished, body = std::move(body)] {
      body();
      ++finished;
    });
  };
  auto pool = ThreadPool::Create(4, start);
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pool.status().message(),
            "thread pool: cannot start thread 3 of 4: Resource temporarily unavailable");
  EXPECT_EQ(finished, 2);  // both workers returned and were joined before Create returned
}

}  // namespace
}  // namespace sprout
