#include "collector/processor/memory_limiter/memory_limiter.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/go_duration.h"
#include "base/memory.h"
#include "base/process_stats.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "collector/processor/memory_limiter/config.h"
#include "config/decoder.h"

namespace sprout::collector::memorylimiter {
namespace {

constexpr int64_t kMiB = 1024 * 1024;

// The shared state of one configured limiter.
class Limiter {
 public:
  Limiter(const CreateSettings& settings, const Config& config)
      : logger_(settings.telemetry.logger), config_(config) {}
  ~Limiter() { Stop(); }

  absl::Status Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (users_++ > 0) return absl::OkStatus();
    if (config_.limit_mib > 0) {
      limit_ = int64_t{config_.limit_mib} * kMiB;
      spike_ = config_.spike_limit_mib > 0 ? int64_t{config_.spike_limit_mib} * kMiB : limit_ / 5;
    } else {
      auto total = TotalMemoryBytes();
      if (!total.ok()) {
        --users_;
        return total.status();
      }
      limit_ = static_cast<int64_t>(*total / 100 * config_.limit_percentage);
      spike_ = config_.spike_limit_percentage > 0
                   ? static_cast<int64_t>(*total / 100 * config_.spike_limit_percentage)
                   : limit_ / 5;
    }
    logger_.Info("Memory limiter configured",
                 {{"limit_mib", absl::StrCat(limit_ / kMiB)},
                  {"spike_limit_mib", absl::StrCat(spike_ / kMiB)},
                  {"check_interval", FormatGoDuration(config_.check_interval)},
                  {"measure", "rss"},
                  {"allocator", AllocatorName()}});
    stopping_ = false;
    Check();
    ASSIGN_OR_RETURN(ticker_, StartThread([this] { Loop(); }));
    return absl::OkStatus();
  }

  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (users_ == 0 || --users_ > 0) return;
    }
    Stop();
  }

  bool MustRefuse() const { return refusing_.load(std::memory_order_relaxed); }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(config_.check_interval));
      if (stopping_) break;
      lock.unlock();
      Check();
      lock.lock();
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

  void Check() {
    int64_t used = ProcessRssBytes();
    const int64_t soft = limit_ - spike_;
    if (used >= soft) {
      const bool hard = used >= limit_;
      PurgeAllocator();
      const int64_t after = ProcessRssBytes();
      if (hard) {
        logger_.Warn("Memory usage is above hard limit. Purged the allocator.",
                     {{"cur_mem_mib", absl::StrCat(used / kMiB)},
                      {"after_purge_mib", absl::StrCat(after / kMiB)}});
      }
      used = after;
    }
    const bool refuse = used >= soft;
    const bool was = refusing_.exchange(refuse, std::memory_order_relaxed);
    if (refuse && !was) {
      logger_.Warn("Memory usage is above soft limit. Refusing data.",
                   {{"cur_mem_mib", absl::StrCat(used / kMiB)}});
    } else if (!refuse && was) {
      logger_.Info("Memory usage back within limits. Resuming normal operation.",
                   {{"cur_mem_mib", absl::StrCat(used / kMiB)}});
    }
  }

  log::Logger logger_;
  const Config config_;
  int64_t limit_ = 0;
  int64_t spike_ = 0;
  std::atomic<bool> refusing_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  int users_ = 0;
  bool stopping_ = false;
  std::thread ticker_;
};

template <Signal S>
class MemoryLimiterProcessor : public ConsumerComponent<S> {
 public:
  MemoryLimiterProcessor(const CreateSettings& settings, std::shared_ptr<Limiter> limiter,
                         std::shared_ptr<Consumer<S>> next)
      : limiter_(std::move(limiter)), next_(std::move(next)) {
    if (settings.telemetry.metrics != nullptr) {
      refused_ = settings.telemetry.metrics->GetCounter(
          absl::StrCat("otelcol_processor_refused_", otlp::SignalTraits<S>::kItemName, "_total"),
          "Number of items refused by the memory limiter", {{"processor", settings.id.String()}});
    }
  }

  absl::Status Start(Host&) override {
    RETURN_IF_ERROR(limiter_->Start());
    started_ = true;
    return absl::OkStatus();
  }
  absl::Status Shutdown(absl::Time) override {
    if (started_) limiter_->Release();
    started_ = false;
    return absl::OkStatus();
  }

  absl::Status Consume(const Context& context, otlp::Batch<S> batch) override {
    if (limiter_->MustRefuse()) {
      if (refused_ != nullptr) refused_->Add(static_cast<double>(batch.item_count()));
      return absl::UnavailableError("data refused due to high memory usage");
    }
    return next_->Consume(context, std::move(batch));
  }

 private:
  std::shared_ptr<Limiter> limiter_;
  std::shared_ptr<Consumer<S>> next_;
  Counter* refused_ = nullptr;
  bool started_ = false;
};

class Factory : public AllSignalsProcessorFactory<Factory> {
 public:
  Factory() : AllSignalsProcessorFactory("memory_limiter") {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<Config>();
  }

 private:
  friend class AllSignalsProcessorFactory<Factory>;

  // The limiter of a configuration entry, shared by its pipelines. Keyed by the config object,
  // which the service keeps for its lifetime, so two services (tests) never share one.
  std::shared_ptr<Limiter> LimiterFor(const CreateSettings& settings,
                                      const ComponentConfig& config) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::weak_ptr<Limiter>& slot = limiters_[&config];
    std::shared_ptr<Limiter> limiter = slot.lock();
    if (limiter == nullptr) {
      limiter = std::make_shared<Limiter>(settings, static_cast<const Config&>(config));
      slot = limiter;
    }
    return limiter;
  }

  template <Signal S>
  ConsumerComponentPtr<S> Make(const CreateSettings& settings, const ComponentConfig& config,
                               std::shared_ptr<Consumer<S>> next) const {
    return std::make_shared<MemoryLimiterProcessor<S>>(settings, LimiterFor(settings, config),
                                                       std::move(next));
  }

  mutable std::mutex mu_;
  mutable std::map<const ComponentConfig*, std::weak_ptr<Limiter>> limiters_;
};

}  // namespace

std::unique_ptr<ProcessorFactory> NewFactory() { return std::make_unique<Factory>(); }

}  // namespace sprout::collector::memorylimiter
