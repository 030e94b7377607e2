// A fixed set of threads running tasks from a bounded FIFO queue: where the HTTP server runs the
// handlers of routes that may block (RouteExecution::kWorker), so that a slow query never stalls
// the I/O threads, and a flood of requests is refused (TrySchedule returns false) instead of
// queueing without bound.
//
// Thread-safety: TrySchedule and Shutdown from any thread; tasks must not call Shutdown.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace sprout::net {

class WorkerPool {
 public:
  // Starts `threads` (≥ 1) threads; `max_queued` (≥ 1) tasks may wait for a thread. Fails
  // (ResourceExhausted, naming the reason) when a thread cannot be created; the threads already
  // started are stopped again.
  static absl::StatusOr<std::unique_ptr<WorkerPool>> Create(int threads, size_t max_queued);
  ~WorkerPool();  // Shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false (and `task` is destroyed unrun) when the queue is full or the pool is
  // shut down.
  bool TrySchedule(std::function<void()> task);
  // Accepts no more tasks, destroys the queued ones without running them, and waits for the
  // running ones to return. Idempotent.
  void Shutdown();

  int threads() const { return static_cast<int>(workers_.size()); }

 private:
  explicit WorkerPool(size_t max_queued) : max_queued_(max_queued) {}
  void Run();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::mutex join_mu_;
};

}  // namespace sprout::net
