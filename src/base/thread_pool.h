// A fixed set of worker threads running queued tasks in FIFO order.
//
// Create() starts every worker or none: when a thread cannot be started (the process is out of
// threads or memory), the workers already running are stopped and joined and the error is
// returned, instead of the std::terminate a half-built std::thread vector would cause.
//
// Thread-safety: Schedule() from any thread. The destructor runs the tasks still queued, then
// joins the workers; tasks must not Schedule() on a pool that is being destroyed.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace sprout {

// Starts a thread running `body`, or ResourceExhausted with the system's reason when the process
// cannot start one (std::thread would throw, and an exception escaping a Start() that returns a
// Status ends the process). Every long-lived thread of a component is started through this.
absl::StatusOr<std::thread> StartThread(std::function<void()> body);

class ThreadPool {
 public:
  // Starts a thread running `body`; the error when it cannot.
  using ThreadStarter = std::function<absl::StatusOr<std::thread>(std::function<void()> body)>;

  // `threads` workers (at least 1), or ResourceExhausted ("thread pool: cannot start thread 3
  // of 8: Resource temporarily unavailable") with every started worker joined.
  static absl::StatusOr<std::unique_ptr<ThreadPool>> Create(int threads);
  // The same with thread creation replaced (tests inject failures here).
  static absl::StatusOr<std::unique_ptr<ThreadPool>> Create(int threads,
                                                            const ThreadStarter& start);

  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> task);

 private:
  ThreadPool() = default;
  void Run();
  void Stop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace sprout
