#include "collector/exporter/debug/debug_exporter.h"

#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "collector/exporter/debug/config.h"
#include "collector/exporter/debug/text.h"
#include "config/decoder.h"

namespace sprout::collector::debugexporter {
namespace {

// zap's sampler: per second, the first `initial` batches are written, then every
// `thereafter`-th (0: none).
class Sampler {
 public:
  Sampler(int64_t initial, int64_t thereafter) : initial_(initial), thereafter_(thereafter) {}
  bool Allow() {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    if (now - window_start_ >= absl::Seconds(1)) {
      window_start_ = now;
      count_ = 0;
    }
    ++count_;
    if (count_ <= initial_) return true;
    return thereafter_ > 0 && (count_ - initial_) % thereafter_ == 0;
  }

 private:
  std::mutex mu_;
  int64_t initial_, thereafter_;
  absl::Time window_start_ = absl::InfinitePast();
  int64_t count_ = 0;
};

// Where lines go when use_internal_logger is false: the same console shape, to the first
// output path (stdout, stderr or a file).
class LineWriter {
 public:
  explicit LineWriter(const std::string& path) {
    if (path == "stdout")
      file_ = stdout;
    else if (path == "stderr")
      file_ = stderr;
    else {
      file_ = std::fopen(path.c_str(), "a");
      owned_ = file_ != nullptr;
    }
  }
  ~LineWriter() {
    if (owned_) std::fclose(file_);
  }
  bool ok() const { return file_ != nullptr; }
  void Write(const std::string& msg, const log::Fields& fields) {
    const absl::Time now = absl::Now();
    std::string line = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone());
    absl::StrAppend(&line, "\tinfo\t", msg);
    if (!fields.empty()) {
      line += "\t";
      log::AppendFieldsJson(fields, {}, &line);
    }
    line += "\n";
    std::lock_guard<std::mutex> lock(mu_);
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  }

 private:
  std::mutex mu_;
  FILE* file_ = nullptr;
  bool owned_ = false;
};

template <Signal S>
log::Fields Summary(const otlp::Batch<S>& batch) {
  const auto& request = batch.request();
  if constexpr (S == Signal::kTraces) {
    return {{"resource spans", request.resource_spans_size()}, {"spans", batch.item_count()}};
  } else if constexpr (S == Signal::kMetrics) {
    return {{"resource metrics", request.resource_metrics_size()},
            {"metrics", otlp::CountMetrics(request)},
            {"data points", batch.item_count()}};
  } else {
    return {{"resource logs", request.resource_logs_size()}, {"log records", batch.item_count()}};
  }
}

template <Signal S>
class DebugExporter : public ConsumerComponent<S> {
 public:
  DebugExporter(const CreateSettings& settings, const Config& config)
      : settings_(settings),
        config_(config),
        sampler_(config.sampling_initial, config.sampling_thereafter) {
    log::Fields fields = {{"otelcol.component.id", settings.id.String()},
                          {"otelcol.component.kind", "exporter"},
                          {"otelcol.signal", otlp::SignalName(S)}};
    fields_ = std::move(fields);
  }

  absl::Status Start(Host&) override {
    if (!config_.use_internal_logger) {
      writer_ = std::make_unique<LineWriter>(
          config_.output_paths.empty() ? "stdout" : config_.output_paths[0]);
      if (!writer_->ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot open output path \"", config_.output_paths[0], "\""));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Consume(const Context&, otlp::Batch<S> batch) override {
    if (!sampler_.Allow()) return absl::OkStatus();
    static constexpr const char* kTitle =
        S == Signal::kTraces ? "Traces" : (S == Signal::kMetrics ? "Metrics" : "Logs");
    Emit(kTitle, Summary(batch));
    if (config_.verbosity == "normal") {
      Emit(Trimmed(NormalText(batch.request())), {});
    } else if (config_.verbosity == "detailed") {
      Emit(Trimmed(DetailedText(batch.request())), {});
    }
    return absl::OkStatus();
  }

 private:
  static std::string Trimmed(std::string text) {
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  void Emit(const std::string& message, const log::Fields& extra) {
    if (message.empty()) return;
    if (writer_ != nullptr) {
      log::Fields all = fields_;
      all.insert(all.end(), extra.begin(), extra.end());
      writer_->Write(message, all);
    } else {
      settings_.telemetry.logger.Info(message, extra);
    }
  }

  CreateSettings settings_;
  Config config_;
  Sampler sampler_;
  log::Fields fields_;
  std::unique_ptr<LineWriter> writer_;
};

class Factory : public ExporterFactory {
 public:
  Factory() : ExporterFactory("debug") {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<Config>();
  }
  bool SupportsSignal(Signal) const override { return true; }
  absl::StatusOr<ConsumerComponentPtr<Signal::kTraces>> CreateTraces(
      const CreateSettings& settings, const ComponentConfig& config) const override {
    return std::make_shared<DebugExporter<Signal::kTraces>>(settings,
                                                            static_cast<const Config&>(config));
  }
  absl::StatusOr<ConsumerComponentPtr<Signal::kMetrics>> CreateMetrics(
      const CreateSettings& settings, const ComponentConfig& config) const override {
    return std::make_shared<DebugExporter<Signal::kMetrics>>(settings,
                                                             static_cast<const Config&>(config));
  }
  absl::StatusOr<ConsumerComponentPtr<Signal::kLogs>> CreateLogs(
      const CreateSettings& settings, const ComponentConfig& config) const override {
    return std::make_shared<DebugExporter<Signal::kLogs>>(settings,
                                                          static_cast<const Config&>(config));
  }
};

}  // namespace

std::unique_ptr<ExporterFactory> NewFactory() { return std::make_unique<Factory>(); }

}  // namespace sprout::collector::debugexporter
