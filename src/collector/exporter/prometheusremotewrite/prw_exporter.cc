#include "collector/exporter/prometheusremotewrite/prw_exporter.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/go_duration.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "collector/consumer_error.h"
#include "collector/exporter/prometheusremotewrite/config.h"
#include "collector/exporter/prometheusremotewrite/wal.h"
#include "collector/exporter_helper.h"
#include "collector/featuregate.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "net/compression.h"
#include "net/http_client.h"
#include "otlp/prometheus.h"

namespace sprout::collector::prwexporter {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

bool IsProtocolHeader(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  return lower == "content-encoding" || lower == "content-type" ||
         lower == "x-prometheus-remote-write-version" || lower == "user-agent";
}

// Encoded remote-write requests made from one batch.
struct Prepared {
  std::vector<std::string> bodies;  // snappy-compressed WriteRequests
  int64_t series = 0;
  int64_t samples = 0;
  int64_t histograms = 0;
  int64_t exemplars = 0;
  std::vector<std::string> errors;  // metrics that could not be translated
};

class PrwExporter : public ConsumerComponent<Signal::kMetrics> {
 public:
  PrwExporter(const CreateSettings& settings, const Config& config)
      : settings_(settings), config_(config) {
    translation_.metric_namespace = config.metric_namespace;
    translation_.add_metric_suffixes = config.add_metric_suffixes;
    for (const auto& [k, v] : config.external_labels)
      translation_.external_labels.emplace_back(k, v);
    translation_.resource_to_telemetry_conversion = config.resource_to_telemetry;
    translation_.exclude_service_attributes = config.exclude_service_attributes;
    translation_.target_info = config.target_info;
    translation_.scope_labels = !config.disable_scope_info;
    translation_.send_metadata = config.send_metadata;
    headers_ = {{"Content-Encoding", "snappy"},
                {"Content-Type", "application/x-protobuf"},
                {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
    for (const auto& [k, v] : config.headers) {
      if (!IsProtocolHeader(k)) headers_.emplace_back(k, v);
    }
    retry_on_429_ = FeatureGates::Global().IsEnabled(kRetryOn429Gate);
    if (MetricsRegistry* m = settings.telemetry.metrics) {
      const MetricLabels labels = {{"exporter", settings.id.String()}};
      const std::string prefix = "otelcol_exporter_prometheusremotewrite_";
      failed_translations_ =
          m->GetCounter(prefix + "failed_translations_total",
                        "Number of metrics that could not be translated.", labels);
      translated_series_ =
          m->GetCounter(prefix + "translated_time_series_total",
                        "Number of time series produced by the translation.", labels);
      sent_batches_ = m->GetCounter(prefix + "sent_batches_total",
                                    "Number of remote-write requests sent successfully.", labels);
      written_samples_ = m->GetCounter(prefix + "written_samples_total",
                                       "Number of samples sent successfully.", labels);
      written_histograms_ = m->GetCounter(prefix + "written_histograms_total",
                                          "Number of native histograms sent successfully.", labels);
      written_exemplars_ = m->GetCounter(prefix + "written_exemplars_total",
                                         "Number of exemplars sent successfully.", labels);
    }
  }

  absl::Status Start(Host&) override {
    net::HttpClientOptions options;
    options.ca_file = config_.tls_ca_file;
    options.cert_file = config_.tls_cert_file;
    options.key_file = config_.tls_key_file;
    options.insecure_skip_verify = config_.tls_insecure_skip_verify;
    options.user_agent = absl::StrCat("sprout/", settings_.telemetry.build_version);
    options.max_idle_connections = static_cast<int>(std::max<int64_t>(config_.num_consumers, 1));
    ASSIGN_OR_RETURN(http_, net::HttpClient::Create(options));
    senders_ =
        std::make_unique<ThreadPool>(static_cast<int>(std::max<int64_t>(config_.num_consumers, 1)));
    if (!config_.wal_directory.empty()) {
      WalOptions wal_options;
      wal_options.directory = config_.wal_directory;
      ASSIGN_OR_RETURN(wal_, Wal::Open(wal_options));
      wal_reader_ = std::thread([this] { WalReaderLoop(); });
      return absl::OkStatus();
    }
    batch_worker_ = std::make_unique<ThreadPool>(1);
    QueueSettings queue;
    queue.enabled = config_.queue_enabled;
    queue.queue_size = config_.queue_size;
    queue.num_consumers = 1;  // one batch at a time: the samples of a series stay in order
    BackoffConfig no_retry;   // each HTTP request is retried on its own, below
    no_retry.enabled = false;
    queue_ = std::make_unique<ExportQueue>(ExportQueue::Options{
        settings_.id, Signal::kMetrics, queue, no_retry, settings_.telemetry.logger,
        settings_.telemetry.metrics, [this] { http_->CancelAll(); }});
    queue_->Start();
    return absl::OkStatus();
  }

  absl::Status Consume(const Context&, otlp::MetricsBatch batch) override {
    if (wal_ != nullptr) return AppendToWal(batch);
    const int64_t items = batch.item_count();
    return queue_->Submit(ExportQueue::Request{
        [this, batch = std::move(batch)](ExportQueue::Done done) {
          batch_worker_->Schedule([this, batch, done = std::move(done)] { done(Export(batch)); });
        },
        items});
  }

  void PrepareShutdown(absl::Time deadline) override {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      deadline_ = deadline;
    }
    stop_cv_.notify_all();
    if (queue_ != nullptr) queue_->SetShutdownDeadline(deadline);
  }

  absl::Status Shutdown(absl::Time deadline) override {
    PrepareShutdown(deadline);
    if (queue_ != nullptr) queue_->Shutdown(deadline);
    batch_worker_.reset();
    if (wal_ != nullptr) {
      // The reader keeps sending what the log holds until the deadline; the rest stays in the
      // log for the next start.
      {
        std::unique_lock<std::mutex> lock(stop_mu_);
        stop_cv_.wait_until(lock, absl::ToChronoTime(deadline),
                            [this] { return wal_->last_committed() >= wal_->last_appended(); });
        stopping_ = true;
      }
      stop_cv_.notify_all();
      if (absl::Now() >= deadline && http_ != nullptr) http_->CancelAll();
      wal_->Close();
      if (wal_reader_.joinable()) wal_reader_.join();
      (void)wal_->Truncate();
    }
    senders_.reset();
    return absl::OkStatus();
  }

 private:
  // Translates and encodes one batch into requests of at most max_batch_size_bytes.
  //
  // The translation goes onto an arena, and requests are encoded series by series: a
  // WriteRequest is the concatenation of its fields, so each series is written once, straight
  // into the request it falls into, and nothing is moved or copied between messages.
  Prepared Prepare(const otlp::MetricsBatch& batch) {
    google::protobuf::ArenaOptions arena_options;
    arena_options.start_block_size = 64 * 1024;
    arena_options.max_block_size = 1024 * 1024;
    google::protobuf::Arena arena(arena_options);
    auto* translated = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
    Prepared out;
    int64_t dropped = 0;
    otlp::TranslateMetrics(batch.request(), translation_, translated, &out.errors, &dropped);
    out.series = translated->timeseries_size();

    const size_t limit = static_cast<size_t>(config_.max_batch_size_bytes);
    std::string request;
    auto flush = [&] {
      if (request.empty()) return;
      auto compressed = net::Compress(net::Codec::kSnappy, request);
      out.bodies.push_back(compressed.ok() ? std::move(*compressed) : std::string());
      request.clear();
    };
    // Appends field `number` holding `message` to the request being built.
    auto append = [&](int number, const google::protobuf::MessageLite& message) {
      const size_t size = message.ByteSizeLong();
      if (!request.empty() && request.size() + size >= limit) flush();
      uint8_t header[16];
      uint8_t* p = google::protobuf::io::CodedOutputStream::WriteTagToArray(
          google::protobuf::internal::WireFormatLite::MakeTag(
              number, google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED),
          header);
      p = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(size),
                                                                        p);
      request.append(reinterpret_cast<const char*>(header), p - header);
      const size_t at = request.size();
      request.resize(at + size);
      message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(request.data() + at));
    };
    for (const prometheus::TimeSeries& series : translated->timeseries()) {
      out.samples += series.samples_size();
      out.histograms += series.histograms_size();
      out.exemplars += series.exemplars_size();
      append(1, series);
    }
    flush();
    // Metadata goes in requests of its own, as the Collector sends it.
    for (const prometheus::MetricMetadata& metadata : translated->metadata()) append(3, metadata);
    flush();
    return out;
  }

  void ReportTranslation(const Prepared& prepared) {
    if (translated_series_ != nullptr)
      translated_series_->Add(static_cast<double>(prepared.series));
    if (prepared.errors.empty()) return;
    if (failed_translations_ != nullptr) {
      failed_translations_->Add(static_cast<double>(prepared.errors.size()));
    }
    settings_.telemetry.logger.Error(
        "Exporting failed. Rejecting data.",
        {{"error", absl::StrCat("Permanent error: ", absl::StrJoin(prepared.errors, "; "))}});
  }

  // One batch, queue mode: the requests go out in parallel, each retried on its own.
  absl::Status Export(const otlp::MetricsBatch& batch) {
    Prepared prepared = Prepare(batch);
    ReportTranslation(prepared);
    const size_t n = prepared.bodies.size();
    std::vector<absl::Status> results(n);
    if (n == 1) {
      // The common case needs no other thread.
      results[0] = SendWithRetry(prepared.bodies[0]);
    }
    std::latch done(static_cast<std::ptrdiff_t>(n == 1 ? 0 : n));
    for (size_t i = 0; n > 1 && i < n; ++i) {
      senders_->Schedule([this, &prepared, &results, &done, i] {
        results[i] = SendWithRetry(prepared.bodies[i]);
        done.count_down();
      });
    }
    done.wait();
    absl::Status result;
    bool permanent = false;
    for (absl::Status& status : results) {
      if (status.ok()) continue;
      permanent = permanent || IsPermanent(status);
      if (result.ok()) result = std::move(status);
    }
    if (result.ok()) CountWritten(prepared);
    return permanent ? MarkPermanent(result) : result;
  }

  void CountWritten(const Prepared& prepared) {
    if (written_samples_ == nullptr) return;
    written_samples_->Add(static_cast<double>(prepared.samples));
    written_histograms_->Add(static_cast<double>(prepared.histograms));
    written_exemplars_->Add(static_cast<double>(prepared.exemplars));
  }

  // WAL mode: the batch is acknowledged once its requests are durable in the log.
  absl::Status AppendToWal(const otlp::MetricsBatch& batch) {
    Prepared prepared = Prepare(batch);
    ReportTranslation(prepared);
    for (const std::string& body : prepared.bodies) {
      auto index = wal_->Append(body);
      if (!index.ok()) {
        return MarkPermanent(absl::UnknownError(
            absl::StrCat("failed to write to the WAL: ", index.status().message())));
      }
    }
    return absl::OkStatus();
  }

  void WalReaderLoop() {
    absl::Time last_truncate = absl::Now();
    while (true) {
      auto next = wal_->Next(absl::Seconds(1));
      if (!next.ok()) {
        settings_.telemetry.logger.Error("Reading the WAL failed",
                                         {{"error", std::string(next.status().message())}});
        return;
      }
      if (next->has_value()) {
        absl::Status status = SendWithRetry((*next)->data);
        if (!status.ok() && Stopping()) return;  // left in the log for the next start
        // Delivered, or dropped for good (logged by SendWithRetry): either way done.
        (void)wal_->Commit((*next)->index);
        stop_cv_.notify_all();
      } else if (Stopping()) {
        return;
      }
      if (absl::Now() - last_truncate >= config_.wal_truncate_frequency) {
        (void)wal_->Truncate();
        last_truncate = absl::Now();
      }
    }
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(stop_mu_);
    return stopping_ || absl::Now() >= deadline_;
  }

  // Waits `delay`, or less when the shutdown deadline comes first; false past the deadline.
  bool WaitBeforeRetry(absl::Duration delay) {
    std::unique_lock<std::mutex> lock(stop_mu_);
    const absl::Time until = absl::Now() + delay;
    while (true) {
      const absl::Time now = absl::Now();
      if (now >= deadline_ || stopping_) return false;
      if (now >= until) return true;
      stop_cv_.wait_until(lock, absl::ToChronoTime(std::min(until, deadline_)));
    }
  }

  absl::Status SendWithRetry(const std::string& body) {
    ExponentialBackoff backoff(config_.retry_on_failure);
    const absl::Time start = absl::Now();
    while (true) {
      net::HttpClientResponse response =
          http_->Do("POST", config_.endpoint, headers_, body, config_.timeout);
      if (response.status >= 200 && response.status < 300) {
        if (sent_batches_ != nullptr) sent_batches_->Increment();
        return absl::OkStatus();
      }
      std::string error;
      bool retryable;
      if (response.status == 0) {
        error = absl::StrCat("Post \"", config_.endpoint, "\": ", response.error);
        retryable = true;
      } else {
        error = absl::StrCat("remote write returned HTTP status ", response.status, " ",
                             ReasonPhrase(response.status),
                             "; err = <nil>: ", response.body.substr(0, 256));
        retryable = response.status >= 500 || (response.status == 429 && retry_on_429_);
      }
      if (!retryable || !config_.retry_on_failure.enabled) {
        settings_.telemetry.logger.Error(
            "Exporting failed. The error is not retryable. Dropping data.",
            {{"error", absl::StrCat("Permanent error: ", error)}});
        return MarkPermanent(absl::UnknownError(error));
      }
      const absl::Duration delay = backoff.NextDelay();
      if (config_.retry_on_failure.max_elapsed_time > absl::ZeroDuration() &&
          absl::Now() - start + delay > config_.retry_on_failure.max_elapsed_time) {
        settings_.telemetry.logger.Error(
            "Exporting failed. Dropping data.",
            {{"error", absl::StrCat("no more retries left: ", error)}});
        return MarkPermanent(absl::UnknownError(absl::StrCat("no more retries left: ", error)));
      }
      settings_.telemetry.logger.Info("Exporting failed. Will retry the request after interval.",
                                      {{"error", error}, {"interval", FormatGoDuration(delay)}});
      if (!WaitBeforeRetry(delay)) {
        return absl::UnavailableError(absl::StrCat("shutting down before a retry: ", error));
      }
    }
  }

  CreateSettings settings_;
  Config config_;
  otlp::PromTranslationSettings translation_;
  std::vector<std::pair<std::string, std::string>> headers_;
  bool retry_on_429_ = false;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<ThreadPool> senders_;
  std::unique_ptr<ThreadPool> batch_worker_;
  std::unique_ptr<ExportQueue> queue_;
  std::unique_ptr<Wal> wal_;
  std::thread wal_reader_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  absl::Time deadline_ = absl::InfiniteFuture();
  bool stopping_ = false;

  Counter* failed_translations_ = nullptr;
  Counter* translated_series_ = nullptr;
  Counter* sent_batches_ = nullptr;
  Counter* written_samples_ = nullptr;
  Counter* written_histograms_ = nullptr;
  Counter* written_exemplars_ = nullptr;
};

class Factory : public ExporterFactory {
 public:
  Factory() : ExporterFactory("prometheusremotewrite") {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<Config>();
  }
  bool SupportsSignal(Signal signal) const override { return signal == Signal::kMetrics; }
  absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> CreateMetrics(
      const CreateSettings& settings, const ComponentConfig& config) const override {
    return std::make_shared<PrwExporter>(settings, static_cast<const Config&>(config));
  }
};

}  // namespace

std::unique_ptr<ExporterFactory> NewFactory() { return std::make_unique<Factory>(); }

}  // namespace sprout::collector::prwexporter
