#include "collector/exporter/otlp/otlp_exporter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "collector/exporter/otlp/config.h"
#include "collector/exporter_helper.h"
#include "net/grpc_client.h"
#include "otlp/consumer_error.h"

namespace sprout::collector::otlpexporter {
namespace {

const char* Arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

template <Signal S>
class OtlpExporter : public ConsumerComponent<S> {
 public:
  OtlpExporter(const CreateSettings& settings, const Config& config)
      : settings_(settings), config_(config) {}

  absl::Status Start(Host&) override {
    ASSIGN_OR_RETURN(const Config::Target target, config_.ResolveTarget());
    net::GrpcClientOptions options;
    options.target = target.address;
    options.tls = target.tls;
    options.ca_file = config_.tls.ca_file;
    options.cert_file = config_.tls.cert_file;
    options.key_file = config_.tls.key_file;
    options.server_name_override = config_.tls.server_name_override;
    const std::string compression = absl::AsciiStrToLower(config_.compression);
    options.compression = compression == "none" ? "" : compression;
    options.user_agent =
        absl::StrCat("Sprout/", settings_.telemetry.build_version, " (linux/", Arch(), ")");
    options.balancer_name = config_.balancer_name;
    options.write_buffer_size = static_cast<int>(config_.write_buffer_size);
    options.read_buffer_size = static_cast<int>(config_.read_buffer_size);
    for (const auto& [k, v] : config_.headers) {
      options.headers.emplace_back(absl::AsciiStrToLower(k), v);
    }
    options.wait_for_ready = config_.wait_for_ready;
    // A receiver thread may wait for the result (no queue, or a full queue that blocks), and a
    // call without timeout could hold up a receiver's shutdown: then calls complete elsewhere.
    options.complete_on_caller_queue = config_.sending_queue.enabled &&
                                       !config_.sending_queue.block_on_overflow &&
                                       config_.timeout > absl::ZeroDuration();
    if (config_.keepalive.enabled) {
      options.keepalive_time = config_.keepalive.time;
      options.keepalive_timeout = config_.keepalive.timeout;
      options.keepalive_permit_without_stream = config_.keepalive.permit_without_stream;
    }
    ASSIGN_OR_RETURN(client_, net::GrpcClient::Create(options));
    queue_ = std::make_unique<ExportQueue>(
        ExportQueue::Options{settings_.id, S, config_.sending_queue, config_.retry_on_failure,
                             settings_.telemetry.logger, settings_.telemetry.metrics,
                             [client = client_.get()] { client->Close(); }});
    return queue_->Start();
  }

  absl::Status Consume(const Context&, otlp::Batch<S> batch) override {
    const int64_t items = batch.item_count();
    return queue_->Submit(ExportQueue::Request{
        [this, batch = std::move(batch)](ExportQueue::Done done) { Send(batch, std::move(done)); },
        items});
  }

  void PrepareShutdown(absl::Time deadline) override {
    if (queue_ != nullptr) queue_->SetShutdownDeadline(deadline);
  }

  absl::Status Shutdown(absl::Time deadline) override {
    if (queue_ != nullptr) queue_->Shutdown(deadline);
    return absl::OkStatus();
  }

 private:
  // One attempt. A batch that no component changed goes out as the bytes it arrived in.
  void Send(const otlp::Batch<S>& batch, ExportQueue::Done done) {
    auto on_result = [this, done = std::move(done)](net::GrpcCallResult result) {
      done(Classify(result));
    };
    if (auto wire = batch.wire(); wire.has_value()) {
      client_->CallSerializedAsync(otlp::SignalTraits<S>::kGrpcMethod, *wire, config_.timeout,
                                   std::move(on_result));
    } else {
      client_->CallAsync(otlp::SignalTraits<S>::kGrpcMethod, batch.request(), config_.timeout,
                         std::move(on_result));
    }
  }

  absl::Status Classify(const net::GrpcCallResult& result) {
    if (result.code == absl::StatusCode::kOk) {
      typename otlp::SignalTraits<S>::Response response;
      if (!result.response.empty() && response.ParseFromString(result.response) &&
          response.has_partial_success()) {
        settings_.telemetry.logger.Warn(
            "Partial success response",
            {{"message", response.partial_success().error_message()},
             {"dropped_" + std::string(otlp::SignalTraits<S>::kItemName), Rejected(response)}});
      }
      return absl::OkStatus();
    }
    absl::Status status(result.code,
                        absl::StrCat("rpc error: code = ", otlp::GrpcCodeName(result.code),
                                     " desc = ", result.message));
    if (!otlp::IsRetryableGrpcCode(result.code, result.retry_delay.has_value())) {
      return otlp::MarkPermanent(status);
    }
    if (result.retry_delay.has_value()) status = otlp::WithRetryDelay(status, *result.retry_delay);
    return status;
  }

  static int64_t Rejected(const typename otlp::SignalTraits<S>::Response& response) {
    if constexpr (S == Signal::kTraces) return response.partial_success().rejected_spans();
    if constexpr (S == Signal::kMetrics) return response.partial_success().rejected_data_points();
    if constexpr (S == Signal::kLogs) return response.partial_success().rejected_log_records();
  }

  CreateSettings settings_;
  Config config_;
  std::unique_ptr<net::GrpcClient> client_;
  std::unique_ptr<ExportQueue> queue_;
};

class Factory : public ExporterFactory {
 public:
  explicit Factory(const char* type) : ExporterFactory(type) {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<Config>();
  }
  bool SupportsSignal(Signal) const override { return true; }
  absl::StatusOr<ConsumerComponentPtr<Signal::kTraces>> CreateTraces(
      const CreateSettings& settings, const ComponentConfig& config) const override {
    return std::make_shared<OtlpExporter<Signal::kTraces>>(settings,
                                                           static_cast<const Config&>(config));
  }
  absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> CreateMetrics(
      const CreateSettings& settings, const ComponentConfig& config) const override {
    return std::make_shared<OtlpExporter<Signal::kMetrics>>(settings,
                                                            static_cast<const Config&>(config));
  }
  absl::StatusOr<ConsumerComponentPtr<Signal::kLogs>> CreateLogs(
      const CreateSettings& settings, const ComponentConfig& config) const override {
    return std::make_shared<OtlpExporter<Signal::kLogs>>(settings,
                                                         static_cast<const Config&>(config));
  }
};

}  // namespace

std::unique_ptr<ExporterFactory> NewFactory(const char* type) {
  return std::make_unique<Factory>(type);
}

}  // namespace sprout::collector::otlpexporter
