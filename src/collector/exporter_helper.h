// The Collector's exporter helper: `timeout`, `retry_on_failure` and `sending_queue`, shared
// by exporters that send requests to a backend.
//
// With the queue enabled (the default), Submit() only enqueues and returns at once; consumer
// threads send, retrying with exponential backoff while the error is retryable. A full queue
// refuses new data with "sending queue is full" (retryable: receivers answer UNAVAILABLE, so
// clients resend). With the queue disabled, Submit() sends and retries on the caller's thread
// and returns the final result.
//
// Shutdown(deadline) refuses new data, then lets the consumers drain everything queued
// (retrying as usual) until `deadline`; whatever is still unsent then is dropped and logged.
// So data that a receiver acknowledged is delivered as long as the backend accepts it within
// the shutdown timeout.
//
// Thread-safety: Submit() from any thread; Start()/Shutdown() once each.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/backoff.h"
#include "base/logging.h"
#include "base/metrics.h"
#include "collector/component.h"

namespace sprout::config {
class Decoder;
}

namespace sprout::collector {

struct QueueSettings {
  bool enabled = true;
  int64_t num_consumers = 10;
  int64_t queue_size = 1000;  // requests
  bool block_on_overflow = false;

  void Decode(config::Decoder& decoder);
  absl::Status Validate() const;
};

// Reads the `retry_on_failure` keys into a BackoffConfig.
void DecodeRetrySettings(config::Decoder& decoder, BackoffConfig* retry);
absl::Status ValidateRetrySettings(const BackoffConfig& retry);

class ExportQueue {
 public:
  struct Request {
    std::function<absl::Status()> send;  // one attempt; errors classified per consumer_error.h
    int64_t items = 0;
  };
  struct Options {
    ComponentID exporter;
    Signal signal;
    QueueSettings queue;
    BackoffConfig retry;
    log::Logger logger;
    MetricsRegistry* metrics = nullptr;
  };

  explicit ExportQueue(Options options);
  ~ExportQueue();

  void Start();
  absl::Status Submit(Request request);
  void Shutdown(absl::Time deadline);

  int64_t size() const;

 private:
  absl::Status SendWithRetry(Request& request);
  void ConsumerLoop();
  // Waits `delay`, or less when the drain deadline comes first; false when the deadline passed.
  bool WaitBeforeRetry(absl::Duration delay);

  Options options_;
  Counter* sent_ = nullptr;
  Counter* send_failed_ = nullptr;
  Counter* enqueue_failed_ = nullptr;
  int size_callback_ = 0;
  int capacity_callback_ = 0;

  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::condition_variable shutdown_cv_;
  std::deque<Request> queue_;
  bool closed_ = false;
  absl::Time drain_deadline_ = absl::InfiniteFuture();
  std::vector<std::thread> consumers_;
};

}  // namespace sprout::collector
