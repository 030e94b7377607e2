#include "collector/exporter_helper.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "base/go_duration.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "config/decoder.h"
#include "otlp/consumer_error.h"

namespace sprout::collector {

void QueueSettings::Decode(config::Decoder& decoder) {
  decoder.Read("enabled", &enabled);
  decoder.Read("num_consumers", &num_consumers);
  decoder.Read("queue_size", &queue_size);
  decoder.Read("block_on_overflow", &block_on_overflow);
  // Accepted with their defaults only: sizing by requests, no persistent storage.
  std::string sizer = "requests";
  decoder.Read("sizer", &sizer);
  if (sizer != "requests") {
    decoder.AddError("sizer", absl::StrCat("unsupported sizer \"", sizer,
                                           "\" (sprout sizes the queue in requests)"));
  }
  decoder.Refuse({"storage"}, "persistent queue storage is not supported yet");
  bool wait_for_result = false;
  decoder.Read("wait_for_result", &wait_for_result);
  if (wait_for_result) {
    decoder.AddError("wait_for_result",
                     "is not supported yet (disable the queue to return the send result)");
  }
}

absl::Status QueueSettings::Validate() const {
  if (!enabled) return absl::OkStatus();
  if (num_consumers <= 0) {
    return absl::InvalidArgumentError("`num_consumers` must be positive");
  }
  if (queue_size <= 0) return absl::InvalidArgumentError("`queue_size` must be positive");
  return absl::OkStatus();
}

void DecodeRetrySettings(config::Decoder& decoder, BackoffConfig* retry) {
  decoder.Read("enabled", &retry->enabled);
  decoder.Read("initial_interval", &retry->initial_interval);
  decoder.Read("randomization_factor", &retry->randomization_factor);
  decoder.Read("multiplier", &retry->multiplier);
  decoder.Read("max_interval", &retry->max_interval);
  decoder.Read("max_elapsed_time", &retry->max_elapsed_time);
}

absl::Status ValidateRetrySettings(const BackoffConfig& retry) {
  if (!retry.enabled) return absl::OkStatus();
  if (retry.initial_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("'initial_interval' must be non-negative");
  }
  if (retry.randomization_factor < 0 || retry.randomization_factor > 1) {
    return absl::InvalidArgumentError("'randomization_factor' must be within [0, 1]");
  }
  if (retry.multiplier <= 0) return absl::InvalidArgumentError("'multiplier' must be positive");
  if (retry.max_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("'max_interval' must be non-negative");
  }
  if (retry.max_elapsed_time < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("'max_elapsed_time' must be non-negative");
  }
  return absl::OkStatus();
}

namespace {
std::string ItemName(Signal signal) {
  switch (signal) {
    case Signal::kTraces:
      return "spans";
    case Signal::kMetrics:
      return "metric_points";
    case Signal::kLogs:
      return "log_records";
  }
  return "items";
}
}  // namespace

struct ExportQueue::Pending {
  Request request;
  ExponentialBackoff backoff;
  absl::Time first_attempt = absl::InfinitePast();
  // Queue disabled: where the final result goes (the caller waits for it).
  std::function<void(absl::Status)> on_final;
};

ExportQueue::ExportQueue(Options options) : options_(std::move(options)) {
  if (options_.metrics != nullptr) {
    const std::string item = ItemName(options_.signal);
    const MetricLabels labels = {{"exporter", options_.exporter.String()}};
    sent_ = options_.metrics->GetCounter("otelcol_exporter_sent_" + item + "_total",
                                         "Number of " + item + " successfully sent to destination.",
                                         labels);
    send_failed_ = options_.metrics->GetCounter(
        "otelcol_exporter_send_failed_" + item + "_total",
        "Number of " + item + " in failed attempts to send to destination.", labels);
    if (options_.queue.enabled) {
      enqueue_failed_ = options_.metrics->GetCounter(
          "otelcol_exporter_enqueue_failed_" + item + "_total",
          "Number of " + item + " failed to be added to the sending queue.", labels);
      MetricLabels queue_labels = labels;
      queue_labels.emplace_back("data_type", otlp::SignalName(options_.signal));
      size_callback_ = options_.metrics->AddGaugeCallback(
          "otelcol_exporter_queue_size", "Current size of the retry queue (in batches).",
          queue_labels, [this] { return static_cast<double>(size()); });
      const double capacity = static_cast<double>(options_.queue.queue_size);
      capacity_callback_ = options_.metrics->AddGaugeCallback(
          "otelcol_exporter_queue_capacity", "Fixed capacity of the retry queue (in batches).",
          queue_labels, [capacity] { return capacity; });
    }
  }
}

ExportQueue::~ExportQueue() {
  Shutdown(absl::Now());
  if (options_.metrics != nullptr) {
    if (size_callback_ != 0) options_.metrics->RemoveCallback(size_callback_);
    if (capacity_callback_ != 0) options_.metrics->RemoveCallback(capacity_callback_);
  }
}

absl::Status ExportQueue::Start() {
  ASSIGN_OR_RETURN(timer_, StartThread([this] { TimerLoop(); }));
  return absl::OkStatus();
}

int64_t ExportQueue::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size());
}

absl::Status ExportQueue::Submit(Request request) {
  auto pending = std::make_shared<Pending>(
      Pending{std::move(request), ExponentialBackoff(options_.retry), absl::InfinitePast(), {}});
  if (!options_.queue.enabled) {
    std::mutex done_mu;
    std::condition_variable done_cv;
    std::optional<absl::Status> result;
    pending->on_final = [&](absl::Status status) {
      std::lock_guard<std::mutex> lock(done_mu);
      result = std::move(status);
      done_cv.notify_one();
    };
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return absl::UnknownError("exporter is shut down");
      ++outstanding_;
    }
    Attempt(pending);
    std::unique_lock<std::mutex> lock(done_mu);
    done_cv.wait(lock, [&] { return result.has_value(); });
    return *result;
  }

  std::unique_lock<std::mutex> lock(mu_);
  if (options_.queue.block_on_overflow) {
    ++room_waiters_;
    room_cv_.wait(lock, [this] {
      return closed_ || static_cast<int64_t>(queue_.size()) < options_.queue.queue_size;
    });
    --room_waiters_;
  }
  if (!closed_ && sending_ < options_.queue.num_consumers && queue_.empty()) {
    // A sender is free: start at once on this thread (the send itself is asynchronous).
    ++sending_;
    ++outstanding_;
    lock.unlock();
    Attempt(std::move(pending));
    return absl::OkStatus();
  }
  if (closed_ || static_cast<int64_t>(queue_.size()) >= options_.queue.queue_size) {
    const char* reason = closed_ ? "sending queue is closed" : "sending queue is full";
    lock.unlock();
    if (enqueue_failed_ != nullptr)
      enqueue_failed_->Add(static_cast<double>(pending->request.items));
    options_.logger.Error("Exporting failed. Rejecting data.",
                          {{"error", reason}, {"rejected_items", pending->request.items}});
    return absl::UnknownError(reason);
  }
  ++outstanding_;
  queue_.push_back(std::move(pending));
  return absl::OkStatus();
}

void ExportQueue::Attempt(std::shared_ptr<Pending> pending) {
  bool cancelled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled = cancelled_;
  }
  if (cancelled) {
    // Past the deadline, after the in-flight attempts were cancelled: a new attempt could wait
    // on a silent backend forever (`timeout: 0`), so the data is given up instead.
    OnResult(std::move(pending),
             otlp::MarkPermanent(absl::CancelledError("shutdown timeout reached before sending")));
    return;
  }
  if (pending->first_attempt == absl::InfinitePast()) pending->first_attempt = absl::Now();
  Request& request = pending->request;
  request.send([this, pending = std::move(pending)](absl::Status status) mutable {
    OnResult(std::move(pending), std::move(status));
  });
}

void ExportQueue::OnResult(std::shared_ptr<Pending> pending, absl::Status status) {
  const int64_t items = pending->request.items;
  if (status.ok()) {
    if (sent_ != nullptr) sent_->Add(static_cast<double>(items));
    Finish(std::move(pending), std::move(status));
    return;
  }
  auto reject = [&](const std::string& message) {
    if (send_failed_ != nullptr) send_failed_->Add(static_cast<double>(items));
    options_.logger.Error("Exporting failed. Rejecting data.",
                          {{"error", message}, {"rejected_items", items}});
    Finish(std::move(pending), otlp::MarkPermanent(absl::Status(status.code(), message)));
  };
  if (!options_.retry.enabled) return reject(std::string(status.message()));
  if (otlp::IsPermanent(status))
    return reject(absl::StrCat("not retryable error: ", status.message()));
  absl::Duration delay = pending->backoff.NextDelay();
  if (auto server_delay = otlp::RetryDelay(status); server_delay.has_value()) {
    delay = std::max(delay, *server_delay);
  }
  const absl::Time now = absl::Now();
  if (options_.retry.max_elapsed_time > absl::ZeroDuration() &&
      now - pending->first_attempt + delay > options_.retry.max_elapsed_time) {
    return reject(absl::StrCat("no more retries left: ", status.message()));
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (now >= drain_deadline_) {
    lock.unlock();
    return reject(absl::StrCat("shutdown timeout reached while retrying: ", status.message()));
  }
  options_.logger.Info(
      "Exporting failed. Will retry the request after interval.",
      {{"error", std::string(status.message())}, {"interval", FormatGoDuration(delay)}});
  retries_.emplace(now + delay, std::move(pending));
  retry_cv_.notify_one();
}

void ExportQueue::Finish(std::shared_ptr<Pending> pending, absl::Status status) {
  if (pending->on_final) {
    auto on_final = std::move(pending->on_final);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --outstanding_;
      if (closed_) drain_cv_.notify_all();
    }
    on_final(std::move(status));
    return;
  }
  // The sender slot passes to the next queued request. Starting it from here could nest
  // deeply when sends complete inline, so after a few levels the timer thread takes over.
  static thread_local int depth = 0;
  std::shared_ptr<Pending> next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --outstanding_;
    if (!queue_.empty()) {
      next = std::move(queue_.front());
      queue_.pop_front();
      if (depth >= 8) {
        retries_.emplace(absl::InfinitePast(), std::move(next));
        retry_cv_.notify_one();
      }
      if (room_waiters_ > 0) room_cv_.notify_all();
    } else {
      --sending_;
    }
    if (closed_) drain_cv_.notify_all();
  }
  if (next != nullptr) {
    ++depth;
    Attempt(std::move(next));
    --depth;
  }
}

void ExportQueue::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stop_timer_ && retries_.empty()) return;
    if (retries_.empty()) {
      retry_cv_.wait(lock);
      continue;
    }
    const absl::Time now = absl::Now();
    auto first = retries_.begin();
    // Past the drain deadline a waiting retry is tried at once (one last time).
    if (first->first <= now || now >= drain_deadline_) {
      std::shared_ptr<Pending> pending = std::move(first->second);
      retries_.erase(first);
      lock.unlock();
      Attempt(std::move(pending));
      lock.lock();
      continue;
    }
    retry_cv_.wait_until(lock, absl::ToChronoTime(std::min(first->first, drain_deadline_)));
  }
}

void ExportQueue::SetShutdownDeadline(absl::Time deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  drain_deadline_ = std::min(drain_deadline_, deadline);
  retry_cv_.notify_all();
}

void ExportQueue::Shutdown(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_timer_) return;
  closed_ = true;
  drain_deadline_ = std::min(drain_deadline_, deadline);
  deadline = drain_deadline_;
  retry_cv_.notify_all();
  room_cv_.notify_all();
  // Everything queued is sent (and retried) until the deadline.
  drain_cv_.wait_until(lock, absl::ToChronoTime(deadline), [this] { return outstanding_ == 0; });
  if (!queue_.empty()) {
    int64_t dropped = 0;
    for (const auto& p : queue_) dropped += p->request.items;
    outstanding_ -= static_cast<int64_t>(queue_.size());
    queue_.clear();
    if (send_failed_ != nullptr) send_failed_->Add(static_cast<double>(dropped));
    options_.logger.Error("Dropping data because the shutdown timeout was reached.",
                          {{"dropped_items", dropped}});
  }
  // Attempts still in flight are made to end now; past the deadline nothing is retried.
  cancelled_ = true;
  if (outstanding_ > 0 && options_.cancel_in_flight) {
    lock.unlock();
    options_.cancel_in_flight();
    lock.lock();
  }
  drain_cv_.wait(lock, [this] { return outstanding_ == 0; });
  stop_timer_ = true;
  retry_cv_.notify_all();
  lock.unlock();
  if (timer_.joinable()) timer_.join();
}

}  // namespace sprout::collector
