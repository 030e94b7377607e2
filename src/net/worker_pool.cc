#include "net/worker_pool.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace sprout::net {

absl::StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Create(int threads, size_t max_queued) {
  std::unique_ptr<WorkerPool> pool(new WorkerPool(std::max<size_t>(max_queued, 1)));
  const int n = std::max(threads, 1);
  pool->workers_.reserve(n);
  for (int i = 0; i < n; ++i) {
    try {
      pool->workers_.emplace_back([p = pool.get()] { p->Run(); });
    } catch (const std::system_error& e) {
      pool->Shutdown();
      return absl::ResourceExhaustedError(
          absl::StrCat("worker pool: cannot start thread ", i + 1, " of ", n, ": ", e.what()));
    }
  }
  return pool;
}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::TrySchedule(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || tasks_.size() >= max_queued_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::Shutdown() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped.swap(tasks_);
  }
  cv_.notify_all();
  dropped.clear();  // outside the lock: a task's captures may do work when destroyed
  std::lock_guard<std::mutex> lock(join_mu_);
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::Run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace sprout::net
