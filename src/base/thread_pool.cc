#include "base/thread_pool.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace sprout {

absl::StatusOr<std::thread> StartThread(std::function<void()> body) {
  try {
    return std::thread(std::move(body));
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(e.what());
  }
}

absl::StatusOr<std::unique_ptr<ThreadPool>> ThreadPool::Create(int threads) {
  return Create(threads, StartThread);
}

absl::StatusOr<std::unique_ptr<ThreadPool>> ThreadPool::Create(int threads,
                                                               const ThreadStarter& start) {
  threads = std::max(threads, 1);
  std::unique_ptr<ThreadPool> pool(new ThreadPool());
  pool->workers_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    ThreadPool* raw = pool.get();
    absl::StatusOr<std::thread> thread = start([raw] { raw->Run(); });
    if (!thread.ok()) {
      // The destructor stops and joins the workers started so far.
      return absl::Status(thread.status().code(),
                          absl::StrCat("thread pool: cannot start thread ", i + 1, " of ", threads,
                                       ": ", thread.status().message()));
    }
    pool->workers_.push_back(std::move(*thread));
  }
  return pool;
}

ThreadPool::~ThreadPool() { Stop(); }

void ThreadPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void ThreadPool::Schedule(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::Run() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and everything queued has run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace sprout
