#include "collector/exporter/prometheusremotewrite/prw_exporter.h"

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/go_duration.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "collector/exporter/prometheusremotewrite/config.h"
#include "collector/exporter_helper.h"
#include "collector/featuregate.h"
#include "otlp/consumer_error.h"
#include "otlp/prometheus.h"
#include "remotewrite/client.h"
#include "remotewrite/wal.h"
#include "remotewrite/wal_sender.h"

namespace sprout::collector::prwexporter {
namespace {

using remotewrite::EncodedRequest;
using remotewrite::SendOutcome;
using remotewrite::Wal;
using remotewrite::WalEntry;
using remotewrite::WalOptions;
using remotewrite::WalRequest;
using remotewrite::WalSender;
using remotewrite::WalSenderOptions;

// Encoded remote-write requests made from one batch.
struct Prepared {
  std::vector<EncodedRequest> bodies;
  int64_t series = 0;
  std::vector<std::string> errors;         // metrics that could not be translated
  std::vector<std::string> encode_errors;  // requests that could not be compressed (dropped)
};

class PrwExporter : public ConsumerComponent<Signal::kMetrics> {
 public:
  PrwExporter(const CreateSettings& settings, const Config& config, internal::TestHooks hooks)
      : settings_(settings), config_(config), hooks_(std::move(hooks)) {
    translation_.metric_namespace = config.metric_namespace;
    translation_.add_metric_suffixes = config.add_metric_suffixes;
    for (const auto& [k, v] : config.external_labels)
      translation_.external_labels.emplace_back(k, v);
    translation_.resource_to_telemetry_conversion = config.resource_to_telemetry;
    translation_.exclude_service_attributes = config.exclude_service_attributes;
    translation_.target_info = config.target_info;
    translation_.scope_labels = !config.disable_scope_info;
    translation_.send_metadata = config.send_metadata;
    const FeatureGates& gates = FeatureGates::Global();
    retry_on_429_ = gates.IsEnabled(kRetryOn429Gate);
    // Requests of one batch sent at once: num_consumers, or with EnableMultipleWorkers the
    // Collector's fixed 5; max_batch_request_parallelism overrides both.
    const bool multiple_workers = gates.IsEnabled(kEnableMultipleWorkersGate);
    int64_t concurrency = multiple_workers ? 5 : config.num_consumers;
    if (config.max_batch_request_parallelism > 0) {
      concurrency = config.max_batch_request_parallelism;
    }
    concurrency_ = static_cast<int>(std::clamp<int64_t>(concurrency, 1, Config::kMaxConsumers));
    if (!multiple_workers && config.num_consumers != 5) {
      settings.telemetry.logger.Warn(
          "`remote_write_queue.num_consumers` will be used to configure processing parallelism, "
          "rather than request parallelism in a future release. This may cause out-of-order "
          "issues unless you take action. Please migrate to using "
          "`max_batch_request_parallelism` to keep your existing behavior.");
    }
    // With the WAL: one sender per shard, each series always in the same shard.
    wal_senders_ =
        static_cast<int>(std::clamp<int64_t>(config.num_consumers, 1, Config::kMaxConsumers));
    if (MetricsRegistry* m = settings.telemetry.metrics) {
      const MetricLabels labels = {{"exporter", settings.id.String()}};
      const std::string prefix = "otelcol_exporter_prometheusremotewrite_";
      m->GetGauge(prefix + "consumers",
                  "Number of configured workers to use to fan out the outgoing requests.", labels)
          ->Set(config.wal_directory.empty() ? concurrency_ : wal_senders_);
      failed_translations_ =
          m->GetCounter(prefix + "failed_translations_total",
                        "Number of batches in which some metrics could not be translated.", labels);
      translated_series_ =
          m->GetCounter(prefix + "translated_time_series_total",
                        "Number of time series produced by the translation.", labels);
      sent_batches_ =
          m->GetCounter(prefix + "sent_batches_total",
                        "Number of remote-write requests sent, whatever the answer.", labels);
      written_samples_ = m->GetCounter(prefix + "written_samples_total",
                                       "Number of samples sent successfully.", labels);
      written_histograms_ = m->GetCounter(prefix + "written_histograms_total",
                                          "Number of native histograms sent successfully.", labels);
      written_exemplars_ = m->GetCounter(prefix + "written_exemplars_total",
                                         "Number of exemplars sent successfully.", labels);
      if (!config.wal_directory.empty()) {
        wal_writes_ = m->GetCounter(prefix + "wal_writes_total", "Number of WAL writes.", labels);
        wal_writes_failures_ = m->GetCounter(prefix + "wal_writes_failures_total",
                                             "Number of WAL writes that failed.", labels);
        wal_bytes_written_ = m->GetCounter(prefix + "wal_bytes_written_total",
                                           "Total number of bytes written to the WAL.", labels);
        wal_reads_ = m->GetCounter(prefix + "wal_reads_total", "Number of WAL reads.", labels);
        wal_reads_failures_ = m->GetCounter(prefix + "wal_reads_failures_total",
                                            "Number of WAL reads that failed.", labels);
        wal_bytes_read_ = m->GetCounter(prefix + "wal_bytes_read_total",
                                        "Total number of bytes read from the WAL.", labels);
        wal_repaired_bytes_ = m->GetCounter(
            prefix + "wal_repaired_bytes_total",
            "Bytes of the WAL skipped as damaged or cut off as an interrupted write.", labels);
        wal_repaired_records_ = m->GetCounter(
            prefix + "wal_repaired_records_total",
            "Records of the WAL lost to damage or cut off as interrupted writes (a lower bound).",
            labels);
      }
    }
  }

  // The service always shuts components down; this only covers one that was not (a test that
  // stopped early), so that its threads are not left running.
  ~PrwExporter() override {
    if (!shut_down_) (void)Shutdown(absl::Now());
  }

  absl::Status Start(Host&) override {
    remotewrite::ClientOptions options;
    options.endpoint = config_.endpoint;
    for (const auto& [k, v] : config_.headers) options.headers.emplace_back(k, v);
    options.timeout = config_.timeout;
    options.retry = config_.retry_on_failure;
    options.retry_on_429 = retry_on_429_;
    options.http.ca_file = config_.tls_ca_file;
    options.http.cert_file = config_.tls_cert_file;
    options.http.key_file = config_.tls_key_file;
    options.http.insecure_skip_verify = config_.tls_insecure_skip_verify;
    options.http.user_agent = absl::StrCat("sprout/", settings_.telemetry.build_version);
    options.http.max_idle_connections =
        config_.max_idle_conns > 0
            ? static_cast<int>(std::min<int64_t>(config_.max_idle_conns, 1 << 20))
            : (config_.wal_directory.empty() ? concurrency_ : wal_senders_);
    options.http.idle_connection_timeout = config_.idle_conn_timeout;
    options.http.proxy_url = config_.proxy_url;
    remotewrite::ClientHooks hooks;
    hooks.on_attempt = [this] { Count(sent_batches_); };
    const log::Logger& logger = settings_.telemetry.logger;
    hooks.on_refused = [&logger](const std::string& error) {
      logger.Error("Exporting failed. The error is not retryable. Dropping data.",
                   {{"error", absl::StrCat("Permanent error: ", error)}});
    };
    hooks.on_out_of_retries = [&logger](const std::string& error) {
      logger.Error("Exporting failed. Dropping data.",
                   {{"error", absl::StrCat("no more retries left: ", error)}});
    };
    hooks.on_retry = [&logger](const std::string& error, absl::Duration delay) {
      logger.Info("Exporting failed. Will retry the request after interval.",
                  {{"error", error}, {"interval", FormatGoDuration(delay)}});
    };
    ASSIGN_OR_RETURN(client_, remotewrite::Client::Create(std::move(options), std::move(hooks)));
    if (!config_.wal_directory.empty()) return StartWal();
    ASSIGN_OR_RETURN(senders_, ThreadPool::Create(concurrency_));
    ASSIGN_OR_RETURN(batch_worker_, ThreadPool::Create(1));
    QueueSettings queue;
    queue.enabled = config_.queue_enabled;
    queue.queue_size = config_.queue_size;
    queue.num_consumers = 1;  // one batch at a time: the samples of a series stay in order
    BackoffConfig no_retry;   // each HTTP request is retried on its own, below
    no_retry.enabled = false;
    queue_ = std::make_unique<ExportQueue>(ExportQueue::Options{
        settings_.id, Signal::kMetrics, queue, no_retry, settings_.telemetry.logger,
        settings_.telemetry.metrics, [this] { client_->Close(); }});
    return queue_->Start();
  }

  absl::Status Consume(const Context&, otlp::MetricsBatch batch) override {
    if (!config_.wal_directory.empty()) {
      if (wal_ == nullptr) return absl::UnavailableError("the exporter is shut down");
      return AppendToWal(batch);
    }
    const int64_t items = batch.item_count();
    return queue_->Submit(ExportQueue::Request{
        [this, batch = std::move(batch)](ExportQueue::Done done) {
          batch_worker_->Schedule([this, batch, done = std::move(done)] { done(Export(batch)); });
        },
        items});
  }

  void PrepareShutdown(absl::Time deadline) override {
    if (client_ != nullptr) client_->Stop(deadline);
    if (queue_ != nullptr) queue_->SetShutdownDeadline(deadline);
  }

  // Nothing outlives `deadline`: no request starts after it (Client::Send checks), none in
  // flight lasts past it (its timeout is cut to the deadline, and the client is closed there).
  absl::Status Shutdown(absl::Time deadline) override {
    if (shut_down_) return absl::OkStatus();
    shut_down_ = true;
    PrepareShutdown(deadline);
    if (queue_ != nullptr) queue_->Shutdown(deadline);
    batch_worker_.reset();
    if (wal_ != nullptr) {
      // The senders keep delivering what the log holds until the deadline; the rest stays in
      // the log for the next start.
      if (wal_sender_ != nullptr) wal_sender_->Drain(deadline);
      // Ends a call in flight now, and any a sender would start.
      if (client_ != nullptr) client_->Close();
      if (wal_sender_ != nullptr) {
        if (absl::Status committed = wal_sender_->Stop(); !committed.ok()) {
          settings_.telemetry.logger.Warn("Committing the WAL's cursor failed",
                                          {{"error", std::string(committed.message())}});
        }
        wal_sender_.reset();
      }
      if (wal_size_callback_ != 0) settings_.telemetry.metrics->RemoveCallback(wal_size_callback_);
      wal_size_callback_ = 0;
      wal_->Close();
      wal_.reset();  // releases the directory's lock
    }
    if (client_ != nullptr) client_->Close();
    senders_.reset();
    return absl::OkStatus();
  }

 private:
  // Translates and encodes one batch into requests of at most max_batch_size_bytes, the series
  // split into `shards` groups by SeriesShard (each request holds series of one shard). The
  // translation goes onto an arena; remotewrite::Encode writes each series once, straight into
  // its request.
  Prepared Prepare(const otlp::MetricsBatch& batch, int shards = 1) {
    google::protobuf::ArenaOptions arena_options;
    arena_options.start_block_size = 64 * 1024;
    arena_options.max_block_size = 1024 * 1024;
    google::protobuf::Arena arena(arena_options);
    auto* translated = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
    Prepared out;
    int64_t dropped = 0;
    otlp::TranslateMetrics(batch.request(), translation_, translated, &out.errors, &dropped);
    out.series = translated->timeseries_size();

    remotewrite::EncodeOptions options;
    options.max_bytes = static_cast<size_t>(config_.max_batch_size_bytes);
    options.shards = shards;
    options.compress = hooks_.compress;
    remotewrite::Encoded encoded = remotewrite::Encode(*translated, options);
    out.bodies = std::move(encoded.requests);
    out.encode_errors = std::move(encoded.errors);
    return out;
  }

  void ReportTranslation(const Prepared& prepared) {
    if (translated_series_ != nullptr)
      translated_series_->Add(static_cast<double>(prepared.series));
    if (prepared.errors.empty()) return;
    // Once per batch, as the Collector counts it.
    if (failed_translations_ != nullptr) failed_translations_->Increment();
    settings_.telemetry.logger.Debug(
        "failed to translate metrics, exporting remaining metrics",
        {{"error", absl::StrJoin(prepared.errors, "; ")}, {"translated", prepared.series}});
  }

  // The batch's result (§9.2): the metrics that could not be translated (or the requests that
  // could not be encoded) make a permanent error even though everything else was sent,
  // combined with the result of sending (or of writing to the WAL).
  static absl::Status Combine(const Prepared& prepared, absl::Status sent) {
    if (prepared.errors.empty() && prepared.encode_errors.empty()) return sent;
    std::vector<std::string> parts = prepared.errors;
    parts.insert(parts.end(), prepared.encode_errors.begin(), prepared.encode_errors.end());
    std::string message = absl::StrCat("Permanent error: ", absl::StrJoin(parts, "; "));
    if (!sent.ok()) absl::StrAppend(&message, "; ", sent.message());
    return otlp::MarkPermanent(
        absl::Status(sent.ok() ? absl::StatusCode::kUnknown : sent.code(), message));
  }

  // One batch, queue mode: the requests go out in parallel, each retried on its own.
  absl::Status Export(const otlp::MetricsBatch& batch) {
    Prepared prepared = Prepare(batch);
    ReportTranslation(prepared);
    const size_t n = prepared.bodies.size();
    std::vector<absl::Status> results(n);
    if (n == 1) {
      // The common case needs no other thread.
      results[0] = SendWithRetry(prepared.bodies[0].body, /*until_shutdown=*/false);
    }
    std::latch done(static_cast<std::ptrdiff_t>(n == 1 ? 0 : n));
    for (size_t i = 0; n > 1 && i < n; ++i) {
      senders_->Schedule([this, &prepared, &results, &done, i] {
        results[i] = SendWithRetry(prepared.bodies[i].body, /*until_shutdown=*/false);
        done.count_down();
      });
    }
    done.wait();
    absl::Status result;
    bool permanent = false;
    for (size_t i = 0; i < n; ++i) {
      absl::Status& status = results[i];
      if (status.ok()) {
        CountWritten(prepared.bodies[i]);
        continue;
      }
      permanent = permanent || otlp::IsPermanent(status);
      if (result.ok()) result = std::move(status);
    }
    return Combine(prepared, permanent ? otlp::MarkPermanent(result) : result);
  }

  void CountWritten(const EncodedRequest& body) {
    if (written_samples_ == nullptr) return;
    written_samples_->Add(static_cast<double>(body.samples));
    written_histograms_->Add(static_cast<double>(body.histograms));
    written_exemplars_->Add(static_cast<double>(body.exemplars));
  }

  static void Count(Counter* counter, double n = 1) {
    if (counter != nullptr) counter->Add(n);
  }

  // WAL mode: the batch is acknowledged once its requests are durable in the log.
  absl::Status AppendToWal(const otlp::MetricsBatch& batch) {
    // While the senders cannot read the log, it would only grow: refuse, retryably.
    if (absl::Status unusable = WalUnusable(); !unusable.ok()) return unusable;
    const absl::Time now = absl::Now();
    if (config_.wal_max_age > absl::ZeroDuration()) {
      if (std::optional<absl::Time> oldest = wal_sender_->OldestInFlight();
          oldest.has_value() && now - *oldest > config_.wal_max_age) {
        return Refuse(absl::UnavailableError(
            absl::StrCat("the WAL holds data not delivered for ", FormatGoDuration(now - *oldest),
                         ", longer than wal.max_age (", FormatGoDuration(config_.wal_max_age),
                         "); retry later")));
      }
    }
    Prepared prepared = Prepare(batch, wal_senders_);
    ReportTranslation(prepared);
    std::vector<WalRequest> requests;
    requests.reserve(prepared.bodies.size());
    uint64_t bytes = 0;
    for (const EncodedRequest& body : prepared.bodies) {
      requests.push_back(
          {static_cast<uint16_t>(body.shard), static_cast<uint16_t>(wal_senders_), body.body});
      bytes += body.body.size();
    }
    Count(wal_writes_, static_cast<double>(requests.size()));
    const uint64_t size_before = wal_->size_bytes();
    absl::Status status = wal_->Append(requests, now);
    if (status.ok()) {
      Count(wal_bytes_written_, static_cast<double>(bytes));
      EndRefusal(size_before);
    } else {
      Count(wal_writes_failures_, static_cast<double>(requests.size()));
      if (absl::IsInvalidArgument(status)) {
        // Can never fit (a batch larger than wal.max_size_bytes): retrying cannot help.
        status = otlp::MarkPermanent(
            absl::UnknownError(absl::StrCat("failed to write to the WAL: ", status.message())));
      } else if (absl::IsUnavailable(status)) {
        status = Refuse(std::move(status), size_before);  // full: wal.max_size_bytes
      } else {
        // A full disk or an I/O error: nothing was acknowledged, the client keeps the data and
        // retries (the log cuts what the failed append left before the next one).
        status = Refuse(
            absl::UnavailableError(absl::StrCat("failed to write to the WAL: ", status.message())));
      }
    }
    status = Combine(prepared, std::move(status));
    if (!status.ok() && otlp::IsPermanent(status)) {
      settings_.telemetry.logger.Error(
          "Exporting failed. Rejecting data.",
          {{"error", std::string(status.message())}, {"rejected_items", batch.item_count()}});
    }
    return status;
  }

  // A retryable refusal: logged when refusing starts (not for every batch while it lasts).
  // `full_at_bytes` is the WAL's size when the size bound refused a batch (0 for other reasons).
  absl::Status Refuse(absl::Status status, uint64_t full_at_bytes = 0) {
    std::lock_guard<std::mutex> lock(wal_error_mu_);
    if (full_at_bytes > 0) full_at_bytes_ = std::max(full_at_bytes_, full_at_bytes);
    if (refusing_) return status;
    refusing_ = true;
    settings_.telemetry.logger.Warn(
        "Refusing data: the WAL cannot take it now; clients are asked to retry.",
        {{"error", std::string(status.message())}});
    return status;
  }
  // A batch was written. A refusal for size ends only once delivery has freed room (the WAL is
  // smaller than when it was full): a small batch that fits in the last bytes left does not end
  // it, or the log would flap between the two messages while the backend is down.
  void EndRefusal(uint64_t size_before) {
    std::lock_guard<std::mutex> lock(wal_error_mu_);
    if (!refusing_) return;
    if (full_at_bytes_ > 0 && size_before >= full_at_bytes_) return;
    refusing_ = false;
    full_at_bytes_ = 0;
    settings_.telemetry.logger.Info("The WAL takes data again.");
  }

  absl::Status WalUnusable() {
    std::lock_guard<std::mutex> lock(wal_error_mu_);
    if (wal_error_.ok()) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(
        "the WAL is failing, refusing data until it recovers: ", wal_error_.message()));
  }

  void SetWalError(absl::Status status) {
    std::lock_guard<std::mutex> lock(wal_error_mu_);
    wal_error_ = std::move(status);
  }

  void ReportWalDamage(const storage::LogDamage& damage) {
    Count(wal_repaired_bytes_, static_cast<double>(damage.bytes));
    Count(wal_repaired_records_, static_cast<double>(damage.records));
    settings_.telemetry.logger.Warn("The WAL was damaged: data was skipped or cut off",
                                    {{"reason", damage.reason},
                                     {"file", damage.file},
                                     {"offset", damage.offset},
                                     {"bytes", damage.bytes},
                                     {"records", damage.records}});
  }

  // Opens the log and starts its senders.
  absl::Status StartWal() {
    WalOptions options;
    options.env = hooks_.env != nullptr ? hooks_.env : storage::Env::Default();
    options.directory = config_.wal_directory;
    options.max_size = static_cast<uint64_t>(config_.wal_max_size_bytes);
    options.on_damage = [this](const storage::LogDamage& d) { ReportWalDamage(d); };
    ASSIGN_OR_RETURN(wal_, Wal::Open(options));
    WalSenderOptions sender_options;
    sender_options.name = "prometheusremotewrite";
    sender_options.senders = wal_senders_;
    sender_options.max_in_flight = std::max<int64_t>(config_.wal_buffer_size, 1);
    sender_options.commit_interval = hooks_.wal_commit_interval;
    sender_options.truncate_interval = config_.wal_truncate_frequency;
    WalSender::Callbacks callbacks;
    callbacks.on_read = [this](const WalEntry& entry) {
      Count(wal_reads_);
      Count(wal_bytes_read_, static_cast<double>(entry.body().size()));
    };
    callbacks.on_read_failure = [this](const absl::Status& status, absl::Duration retry) {
      Count(wal_reads_failures_);
      SetWalError(status);
      settings_.telemetry.logger.Error(
          "Reading the WAL failed. Will retry after interval.",
          {{"error", std::string(status.message())}, {"interval", FormatGoDuration(retry)}});
    };
    callbacks.on_read_ok = [this] { SetWalError(absl::OkStatus()); };
    callbacks.on_commit_failure = [this](const absl::Status& status) {
      settings_.telemetry.logger.Warn(
          "Committing the WAL's cursor failed (what was delivered since may be sent again)",
          {{"error", std::string(status.message())}});
    };
    // A record is done once delivered or refused for good (4xx); retryable failures are
    // retried until shutdown, which leaves the record in the log for the next start.
    auto send = [this](const WalEntry& entry) {
      absl::Status status = SendWithRetry(entry.body(), /*until_shutdown=*/true);
      if (status.ok()) return SendOutcome::kDelivered;
      return otlp::IsPermanent(status) ? SendOutcome::kDropped : SendOutcome::kStopped;
    };
    wal_sender_ = std::make_unique<WalSender>(wal_.get(), sender_options, std::move(send),
                                              std::move(callbacks));
    if (MetricsRegistry* m = settings_.telemetry.metrics) {
      Wal* wal = wal_.get();
      wal_size_callback_ =
          m->AddGaugeCallback("otelcol_exporter_prometheusremotewrite_wal_size_bytes",
                              "Bytes of the WAL's segment files (bounded by wal.max_size_bytes).",
                              {{"exporter", settings_.id.String()}},
                              [wal] { return static_cast<double>(wal->size_bytes()); });
    }
    if (hooks_.on_wal_sender) hooks_.on_wal_sender(wal_sender_.get());
    return wal_sender_->Start();
  }

  // Sends one request until it is delivered, refused for good (permanent error) or shutdown
  // comes (a retryable error). Queue mode gives up after max_elapsed_time (permanent);
  // `until_shutdown` (WAL mode) retries retryable failures for as long as sprout runs.
  absl::Status SendWithRetry(std::string_view body, bool until_shutdown) {
    remotewrite::SendResult result = client_->Send(body, until_shutdown);
    return result.permanent ? otlp::MarkPermanent(std::move(result.status))
                            : std::move(result.status);
  }

  CreateSettings settings_;
  Config config_;
  internal::TestHooks hooks_;
  otlp::PromTranslationSettings translation_;
  bool retry_on_429_ = false;
  int concurrency_ = 1;  // requests of one batch sent at once
  std::unique_ptr<remotewrite::Client> client_;
  std::unique_ptr<ThreadPool> senders_;
  std::unique_ptr<ThreadPool> batch_worker_;
  std::unique_ptr<ExportQueue> queue_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<WalSender> wal_sender_;
  int wal_senders_ = 1;
  int wal_size_callback_ = 0;
  bool shut_down_ = false;  // Shutdown() ran (it runs once)

  std::mutex wal_error_mu_;
  absl::Status wal_error_;  // the senders' last read failed with this
  bool refusing_ = false;   // the last batch was refused by the WAL
  uint64_t full_at_bytes_ = 0;  // while refusing for size: the WAL's size when it was full

  Counter* failed_translations_ = nullptr;
  Counter* translated_series_ = nullptr;
  Counter* sent_batches_ = nullptr;
  Counter* written_samples_ = nullptr;
  Counter* written_histograms_ = nullptr;
  Counter* written_exemplars_ = nullptr;
  Counter* wal_writes_ = nullptr;
  Counter* wal_writes_failures_ = nullptr;
  Counter* wal_bytes_written_ = nullptr;
  Counter* wal_reads_ = nullptr;
  Counter* wal_reads_failures_ = nullptr;
  Counter* wal_bytes_read_ = nullptr;
  Counter* wal_repaired_bytes_ = nullptr;
  Counter* wal_repaired_records_ = nullptr;
};

class Factory : public ExporterFactory {
 public:
  explicit Factory(internal::TestHooks hooks)
      : ExporterFactory("prometheusremotewrite"), hooks_(std::move(hooks)) {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<Config>();
  }
  bool SupportsSignal(Signal signal) const override { return signal == Signal::kMetrics; }
  absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> CreateMetrics(
      const CreateSettings& settings, const ComponentConfig& config) const override {
    return std::make_shared<PrwExporter>(settings, static_cast<const Config&>(config), hooks_);
  }

 private:
  internal::TestHooks hooks_;
};

}  // namespace

std::unique_ptr<ExporterFactory> NewFactory() {
  return std::make_unique<Factory>(internal::TestHooks{});
}

namespace internal {
std::unique_ptr<ExporterFactory> NewFactoryForTest(TestHooks hooks) {
  return std::make_unique<Factory>(std::move(hooks));
}
}  // namespace internal

}  // namespace sprout::collector::prwexporter
