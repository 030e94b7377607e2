#include "net/worker_pool.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "net/http_test_util.h"

namespace sprout::net {
namespace {

using test_util::Counter;
using test_util::Gate;

TEST(WorkerPoolTest, RunsTasksOnItsThreads) {
  auto pool = WorkerPool::Create(3, 100);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ((*pool)->threads(), 3);
  Counter done;
  std::mutex mu;
  std::set<std::thread::id> ids;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE((*pool)->TrySchedule([&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(std::this_thread::get_id());
      }
      done.Add();
    }));
  }
  ASSERT_TRUE(done.WaitFor(50));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
}

TEST(WorkerPoolTest, RefusesBeyondTheQueueBound) {
  auto pool = WorkerPool::Create(1, 2);
  ASSERT_TRUE(pool.ok());
  Gate gate;
  Counter started;
  ASSERT_TRUE((*pool)->TrySchedule([&] {
    started.Add();
    gate.Wait();
  }));
  ASSERT_TRUE(started.WaitFor(1));  // the only thread is busy: later tasks queue
  Counter ran;
  EXPECT_TRUE((*pool)->TrySchedule([&] { ran.Add(); }));
  EXPECT_TRUE((*pool)->TrySchedule([&] { ran.Add(); }));
  EXPECT_FALSE((*pool)->TrySchedule([&] { ran.Add(); }));  // queue full
  gate.Open();
  ASSERT_TRUE(ran.WaitFor(2));
  EXPECT_TRUE((*pool)->TrySchedule([&] { ran.Add(); }));  // room again
  ASSERT_TRUE(ran.WaitFor(3));
}

TEST(WorkerPoolTest, ShutdownDropsQueuedTasksAndWaitsForRunningOnes) {
  auto pool = WorkerPool::Create(1, 10);
  ASSERT_TRUE(pool.ok());
  Gate gate;
  Counter started;
  std::atomic<bool> finished{false};
  ASSERT_TRUE((*pool)->TrySchedule([&] {
    started.Add();
    gate.Wait();
    finished = true;
  }));
  ASSERT_TRUE(started.WaitFor(1));
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> weak = token;
  std::atomic<bool> queued_ran{false};
  ASSERT_TRUE((*pool)->TrySchedule([&, token] { queued_ran = true; }));
  token.reset();
  std::thread opener([&] {
    // Opens the gate only once Shutdown has dropped the queued task (its capture is gone).
    while (!weak.expired()) std::this_thread::yield();
    gate.Open();
  });
  (*pool)->Shutdown();
  opener.join();
  EXPECT_TRUE(finished.load());
  EXPECT_FALSE(queued_ran.load());
  EXPECT_FALSE((*pool)->TrySchedule([] {}));
  (*pool)->Shutdown();  // idempotent
}

}  // namespace
}  // namespace sprout::net
