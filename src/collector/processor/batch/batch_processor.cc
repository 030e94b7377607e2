#include "collector/processor/batch/batch_processor.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "base/clock.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "collector/processor/batch/config.h"
#include "config/decoder.h"
#include "otlp/consumer_error.h"
#include "otlp/split.h"

namespace sprout::collector::batchprocessor {
namespace {

template <Signal S>
class BatchProcessor : public ConsumerComponent<S> {
 public:
  BatchProcessor(const CreateSettings& settings, const Config& config,
                 std::shared_ptr<Consumer<S>> next, Clock* clock)
      : logger_(settings.telemetry.logger), config_(config), next_(std::move(next)), clock_(clock) {
    for (std::string& key : config_.metadata_keys) key = absl::AsciiStrToLower(key);
    default_shard_.deadline = clock_->Now() + config_.timeout;
    if (settings.telemetry.metrics != nullptr) {
      const MetricLabels labels = {{"processor", settings.id.String()}};
      size_trigger_ = settings.telemetry.metrics->GetCounter(
          "otelcol_processor_batch_batch_size_trigger_send_total",
          "Number of times the batch was sent due to a size trigger", labels);
      timeout_trigger_ = settings.telemetry.metrics->GetCounter(
          "otelcol_processor_batch_timeout_trigger_send_total",
          "Number of times the batch was sent due to a timeout trigger", labels);
    }
  }

  ~BatchProcessor() override { StopTimer(); }

  absl::Status Start(Host&) override {
    if (TimerEnabled()) {
      ASSIGN_OR_RETURN(timer_, StartThread([this] { TimerLoop(); }));
    }
    return absl::OkStatus();
  }

  absl::Status Shutdown(absl::Time) override {
    shut_down_.store(true);
    StopTimer();
    for (Shard* shard : AllShards()) {
      {
        std::lock_guard<std::mutex> lock(shard->mu);
        CutAllLocked(*shard, timeout_trigger_);
      }
      HandOn(*shard, /*until_empty=*/true);
    }
    return absl::OkStatus();
  }

  absl::Status Consume(const Context& context, otlp::Batch<S> batch) override {
    const int64_t items = batch.item_count();
    if (items == 0) return absl::OkStatus();
    ASSIGN_OR_RETURN(Shard * shard, ShardFor(context));
    bool cut = false;
    {
      std::lock_guard<std::mutex> lock(shard->mu);
      shard->pending.push_back(std::move(batch));
      shard->pending_items += items;
      // Without a timer (disabled, or stopped at shutdown) nothing may wait.
      if (!TimerEnabled() || shut_down_.load(std::memory_order_relaxed)) {
        cut = CutAllLocked(*shard, size_trigger_);
      } else {
        while (shard->pending_items >= config_.send_batch_size && shard->pending_items > 0) {
          shard->outbox.push_back(
              {TakeLocked(*shard, ChunkSize(shard->pending_items)), size_trigger_});
          cut = true;
        }
        if (cut) shard->deadline = clock_->Now() + config_.timeout;
      }
    }
    if (cut) HandOn(*shard, /*until_empty=*/false);
    return absl::OkStatus();
  }

 private:
  struct Outgoing {
    otlp::Batch<S> batch;
    Counter* trigger;  // counted when it is handed on
  };

  struct Shard {
    std::mutex mu;
    std::deque<otlp::Batch<S>> pending;
    int64_t pending_items = 0;
    absl::Time deadline;
    Context context;  // what the next consumer sees: only the metadata_keys values (immutable)
    // Batches cut from `pending`, in the order they were cut (under `mu`, with the cut), not yet
    // handed to the next consumer. One thread at a time (`sending`) hands them on, so they leave
    // in that order whichever thread cut them.
    std::deque<Outgoing> outbox;
    bool sending = false;
    std::condition_variable outbox_cv;  // the outbox shrank, or the sending thread finished
  };

  bool TimerEnabled() const {
    return config_.timeout != absl::ZeroDuration() && config_.send_batch_size != 0;
  }

  int64_t ChunkSize(int64_t pending) const {
    return config_.send_batch_max_size > 0 ? std::min<int64_t>(pending, config_.send_batch_max_size)
                                           : pending;
  }

  absl::StatusOr<Shard*> ShardFor(const Context& context) {
    if (config_.metadata_keys.empty()) return &default_shard_;
    std::vector<std::pair<std::string, std::string>> values;
    for (const std::string& key : config_.metadata_keys) {
      for (const auto& [k, v] : context.metadata) {
        if (absl::AsciiStrToLower(k) == key) values.emplace_back(key, v);
      }
    }
    std::lock_guard<std::mutex> lock(shards_mu_);
    auto it = shards_.find(values);
    if (it != shards_.end()) return it->second.get();
    if (config_.metadata_cardinality_limit != 0 &&
        shards_.size() >= config_.metadata_cardinality_limit) {
      return otlp::MarkPermanent(
          absl::UnknownError("too many batcher metadata-value combinations"));
    }
    auto shard = std::make_unique<Shard>();
    shard->context.metadata = values;
    shard->deadline = clock_->Now() + config_.timeout;
    Shard* raw = shard.get();
    shards_.emplace(std::move(values), std::move(shard));
    timer_cv_.notify_one();
    return raw;
  }

  std::vector<Shard*> AllShards() {
    std::vector<Shard*> all = {&default_shard_};
    std::lock_guard<std::mutex> lock(shards_mu_);
    for (auto& [key, shard] : shards_) all.push_back(shard.get());
    return all;
  }

  // Takes the first `n` pending items as one batch. Whole requests are concatenated as they
  // were encoded; a request straddling the cut is decoded and split.
  otlp::Batch<S> TakeLocked(Shard& shard, int64_t n) {
    std::string wire;
    int64_t taken = 0;
    // Fast path: one whole request needs no copy at all.
    if (shard.pending.front().item_count() == n) {
      otlp::Batch<S> only = std::move(shard.pending.front());
      shard.pending.pop_front();
      shard.pending_items -= n;
      return only;
    }
    size_t bytes = 0;
    {
      int64_t counted = 0;
      for (const auto& b : shard.pending) {
        if (counted >= n) break;
        if (auto w = b.wire()) bytes += w->size();  // changed requests: sized when encoded
        counted += b.item_count();
      }
    }
    wire.reserve(bytes);
    while (taken < n && !shard.pending.empty()) {
      otlp::Batch<S>& front = shard.pending.front();
      const int64_t items = front.item_count();
      if (items <= n - taken) {
        front.AppendWire(&wire);
        taken += items;
        shard.pending.pop_front();
        continue;
      }
      otlp::Batch<S> head;
      otlp::MoveFirstItems(front.mutable_request(), n - taken, head.mutable_request());
      head.AppendWire(&wire);
      taken = n;
    }
    shard.pending_items -= taken;
    return otlp::Batch<S>::FromTrustedWire(std::move(wire), taken);
  }

  // Cuts everything pending into the outbox; true when something was cut.
  bool CutAllLocked(Shard& shard, Counter* trigger) {
    bool cut = false;
    while (shard.pending_items > 0) {
      shard.outbox.push_back({TakeLocked(shard, ChunkSize(shard.pending_items)), trigger});
      cut = true;
    }
    shard.pending.clear();  // requests without items
    return cut;
  }

  // Hands the shard's outbox to the next consumer, oldest first. When another thread is already
  // doing that, it hands on what this one queued too: return at once, unless the outbox is over
  // its bound (then wait for room: the back-pressure a sender's own send used to give) or
  // `until_empty` (wait until everything queued has left, then take over what remains).
  void HandOn(Shard& shard, bool until_empty) {
    std::unique_lock<std::mutex> lock(shard.mu);
    while (shard.sending) {
      if (!until_empty && shard.outbox.size() <= max_queued_) return;
      shard.outbox_cv.wait(lock);
    }
    shard.sending = true;
    while (!shard.outbox.empty()) {
      Outgoing next = std::move(shard.outbox.front());
      shard.outbox.pop_front();
      shard.outbox_cv.notify_all();
      lock.unlock();
      if (next.trigger != nullptr) next.trigger->Increment();
      const absl::Status status = next_->Consume(shard.context, std::move(next.batch));
      if (!status.ok()) {
        logger_.Warn("Sender failed", {{"error", std::string(status.message())}});
      }
      lock.lock();
    }
    shard.sending = false;
    shard.outbox_cv.notify_all();
  }

  void TimerLoop() {
    std::unique_lock<std::mutex> lock(timer_mu_);
    while (!stopping_) {
      absl::Time next = absl::InfiniteFuture();
      const absl::Time now = clock_->Now();
      for (Shard* shard : AllShards()) {
        bool cut = false;
        {
          std::lock_guard<std::mutex> shard_lock(shard->mu);
          if (shard->deadline <= now) {
            cut = CutAllLocked(*shard, timeout_trigger_);
            shard->deadline = now + config_.timeout;
          }
          next = std::min(next, shard->deadline);
        }
        if (cut) {
          lock.unlock();
          HandOn(*shard, /*until_empty=*/false);
          lock.lock();
          if (stopping_) return;
        }
      }
      if (!stopping_) clock_->WaitUntil(timer_cv_, lock, next);
    }
  }

  void StopTimer() {
    {
      std::lock_guard<std::mutex> lock(timer_mu_);
      stopping_ = true;
    }
    timer_cv_.notify_all();
    if (timer_.joinable()) timer_.join();
  }

  log::Logger logger_;
  Config config_;
  std::shared_ptr<Consumer<S>> next_;
  Clock* clock_;
  // Cut batches a shard may hold while another thread hands them on before a thread that cut
  // one waits (the Collector's batcher channel holds NumCPU requests).
  const size_t max_queued_ = std::max<size_t>(2, std::thread::hardware_concurrency());
  Counter* size_trigger_ = nullptr;
  Counter* timeout_trigger_ = nullptr;

  std::atomic<bool> shut_down_{false};
  Shard default_shard_;
  std::mutex shards_mu_;
  std::map<std::vector<std::pair<std::string, std::string>>, std::unique_ptr<Shard>> shards_;

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool stopping_ = false;
  std::thread timer_;
};

class Factory : public AllSignalsProcessorFactory<Factory> {
 public:
  explicit Factory(Clock* clock) : AllSignalsProcessorFactory("batch"), clock_(clock) {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<Config>();
  }

  template <Signal S>
  ConsumerComponentPtr<S> Make(const CreateSettings& settings, const ComponentConfig& config,
                               std::shared_ptr<Consumer<S>> next) const {
    return std::make_shared<BatchProcessor<S>>(settings, static_cast<const Config&>(config),
                                               std::move(next), clock_);
  }

 private:
  Clock* clock_;
};

}  // namespace

std::unique_ptr<ProcessorFactory> NewFactory(Clock* clock) {
  return std::make_unique<Factory>(clock != nullptr ? clock : Clock::Real());
}

}  // namespace sprout::collector::batchprocessor
