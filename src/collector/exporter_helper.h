// The Collector's exporter helper: `timeout`, `retry_on_failure` and `sending_queue`, shared
// by exporters that send requests to a backend.
//
// With the queue enabled (the default), Submit() returns at once: up to `num_consumers`
// requests are being sent at a time (asynchronously: a sender is a slot, not a thread), the rest
// wait in the queue. A failed attempt that is retryable waits out its backoff on a timer and is
// tried again. A full queue refuses new data with "sending queue is full" (retryable: receivers
// answer UNAVAILABLE, so clients resend). With the queue disabled, Submit() sends, retries and
// returns the final result to the caller.
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
#include <map>
#include <memory>
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
  using Done = std::function<void(absl::Status)>;
  struct Request {
    // One attempt, asynchronous: must call `done` exactly once, on any thread (possibly before
    // returning). Errors are classified per consumer_error.h.
    std::function<void(Done done)> send;
    int64_t items = 0;
  };
  struct Options {
    ComponentID exporter;
    Signal signal;
    QueueSettings queue;
    BackoffConfig retry;
    log::Logger logger;
    MetricsRegistry* metrics = nullptr;
    // Called when the shutdown deadline has passed with attempts still in flight, to make them
    // end now (e.g. cancel the network calls); they then complete with an error. Shutdown then
    // waits for them without a limit, so an attempt that starts after this call (a request the
    // exporter had not sent yet) must fail at once too, or shutdown can hang.
    std::function<void()> cancel_in_flight;
  };

  explicit ExportQueue(Options options);
  ~ExportQueue();

  // Starts the retry timer thread; ResourceExhausted when it cannot be started.
  absl::Status Start();
  absl::Status Submit(Request request);
  // The service is about to shut down by `deadline`: from then on nothing is retried, which
  // also bounds senders blocked in Submit() (queue disabled) while receivers stop.
  void SetShutdownDeadline(absl::Time deadline);
  void Shutdown(absl::Time deadline);

  // Requests waiting for a free sender (not counting those being sent or waiting to retry).
  int64_t size() const;

 private:
  struct Pending;
  void Attempt(std::shared_ptr<Pending> pending);
  void OnResult(std::shared_ptr<Pending> pending, absl::Status status);
  void Finish(std::shared_ptr<Pending> pending, absl::Status status);
  void TimerLoop();

  Options options_;
  Counter* sent_ = nullptr;
  Counter* send_failed_ = nullptr;
  Counter* enqueue_failed_ = nullptr;
  int size_callback_ = 0;
  int capacity_callback_ = 0;

  mutable std::mutex mu_;
  // Signalled only when someone waits: the timer thread (new retries, shutdown), Shutdown()
  // (a request finished while closed) and block_on_overflow submitters (room freed). Waking
  // nobody on the common path keeps a send free of context switches.
  std::condition_variable retry_cv_;
  std::condition_variable drain_cv_;
  std::condition_variable room_cv_;
  int64_t room_waiters_ = 0;
  std::deque<std::shared_ptr<Pending>> queue_;
  int64_t sending_ = 0;      // queued mode: senders busy (attempting or waiting to retry)
  int64_t outstanding_ = 0;  // requests accepted and not finished, in both modes
  std::multimap<absl::Time, std::shared_ptr<Pending>> retries_;
  bool closed_ = false;
  bool stop_timer_ = false;
  // Set once Shutdown has cancelled what was in flight: nothing starts after that.
  bool cancelled_ = false;
  absl::Time drain_deadline_ = absl::InfiniteFuture();
  std::thread timer_;
};

}  // namespace sprout::collector
