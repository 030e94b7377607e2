#include "collector/exporter_helper.h"

#include "absl/strings/str_cat.h"
#include "base/go_duration.h"
#include "collector/consumer_error.h"
#include "config/decoder.h"

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
  decoder.Raw("wait_for_result");
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
    case Signal::kTraces: return "spans";
    case Signal::kMetrics: return "metric_points";
    case Signal::kLogs: return "log_records";
  }
  return "items";
}
}  // namespace

ExportQueue::ExportQueue(Options options) : options_(std::move(options)) {
  if (options_.metrics != nullptr) {
    const std::string item = ItemName(options_.signal);
    const MetricLabels labels = {{"exporter", options_.exporter.String()}};
    sent_ = options_.metrics->GetCounter(
        "otelcol_exporter_sent_" + item + "_total",
        "Number of " + item + " successfully sent to destination.", labels);
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

void ExportQueue::Start() {
  if (!options_.queue.enabled) return;
  for (int64_t i = 0; i < options_.queue.num_consumers; ++i) {
    consumers_.emplace_back([this] { ConsumerLoop(); });
  }
}

int64_t ExportQueue::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size());
}

absl::Status ExportQueue::Submit(Request request) {
  if (!options_.queue.enabled) return SendWithRetry(request);
  std::unique_lock<std::mutex> lock(mu_);
  if (options_.queue.block_on_overflow) {
    not_full_.wait(lock, [this] {
      return closed_ || static_cast<int64_t>(queue_.size()) < options_.queue.queue_size;
    });
  }
  if (closed_ || static_cast<int64_t>(queue_.size()) >= options_.queue.queue_size) {
    const bool closed = closed_;
    lock.unlock();
    if (enqueue_failed_ != nullptr) enqueue_failed_->Add(static_cast<double>(request.items));
    options_.logger.Error("Exporting failed. Rejecting data.",
                          {{"error", closed ? "sending queue is closed" : "sending queue is full"},
                           {"rejected_items", request.items}});
    return absl::UnknownError(closed ? "sending queue is closed" : "sending queue is full");
  }
  queue_.push_back(std::move(request));
  not_empty_.notify_one();
  return absl::OkStatus();
}

void ExportQueue::ConsumerLoop() {
  while (true) {
    Request request;
    {
      std::unique_lock<std::mutex> lock(mu_);
      not_empty_.wait(lock, [this] { return closed_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closed and drained
      request = std::move(queue_.front());
      queue_.pop_front();
      not_full_.notify_one();
    }
    (void)SendWithRetry(request);
  }
}

bool ExportQueue::WaitBeforeRetry(absl::Duration delay) {
  std::unique_lock<std::mutex> lock(mu_);
  const absl::Time until = absl::Now() + delay;
  while (true) {
    const absl::Time now = absl::Now();
    if (now >= drain_deadline_) return false;
    if (now >= until) return true;
    const absl::Time wake = std::min(until, drain_deadline_);
    shutdown_cv_.wait_until(lock, absl::ToChronoTime(wake));
  }
}

absl::Status ExportQueue::SendWithRetry(Request& request) {
  ExponentialBackoff backoff(options_.retry);
  const absl::Time start = absl::Now();
  while (true) {
    absl::Status status = request.send();
    if (status.ok()) {
      if (sent_ != nullptr) sent_->Add(static_cast<double>(request.items));
      return status;
    }
    auto reject = [&](const std::string& message) {
      if (send_failed_ != nullptr) send_failed_->Add(static_cast<double>(request.items));
      options_.logger.Error("Exporting failed. Rejecting data.",
                            {{"error", message}, {"rejected_items", request.items}});
      return MarkPermanent(absl::Status(status.code(), message));
    };
    if (!options_.retry.enabled) return reject(std::string(status.message()));
    if (IsPermanent(status)) {
      return reject(absl::StrCat("not retryable error: ", status.message()));
    }
    absl::Duration delay = backoff.NextDelay();
    if (auto server_delay = RetryDelay(status); server_delay.has_value()) {
      delay = std::max(delay, *server_delay);
    }
    if (options_.retry.max_elapsed_time > absl::ZeroDuration() &&
        absl::Now() - start + delay > options_.retry.max_elapsed_time) {
      return reject(absl::StrCat("no more retries left: ", status.message()));
    }
    options_.logger.Info("Exporting failed. Will retry the request after interval.",
                         {{"error", std::string(status.message())},
                          {"interval", FormatGoDuration(delay)}});
    if (!WaitBeforeRetry(delay)) {
      return reject(absl::StrCat("shutdown timeout reached while retrying: ", status.message()));
    }
  }
}

void ExportQueue::Shutdown(absl::Time deadline) {
  std::vector<std::thread> consumers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ && consumers_.empty()) return;
    closed_ = true;
    drain_deadline_ = deadline;
    consumers.swap(consumers_);
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  shutdown_cv_.notify_all();
  // Consumers drain the queue; past the deadline, each pending retry gives up at once, so the
  // joins below finish within roughly one send timeout of the deadline.
  std::thread watchdog([this, deadline] {
    std::unique_lock<std::mutex> lock(mu_);
    shutdown_cv_.wait_until(lock, absl::ToChronoTime(deadline),
                            [this] { return queue_.empty(); });
    if (!queue_.empty() && absl::Now() >= deadline) {
      int64_t dropped = 0;
      for (const Request& r : queue_) dropped += r.items;
      queue_.clear();
      if (send_failed_ != nullptr) send_failed_->Add(static_cast<double>(dropped));
      options_.logger.Error("Dropping data because the shutdown timeout was reached.",
                            {{"dropped_items", dropped}});
    }
  });
  for (std::thread& t : consumers) t.join();
  shutdown_cv_.notify_all();
  watchdog.join();
}

}  // namespace sprout::collector
