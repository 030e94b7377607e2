#include "cmd/all/store_exporters.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "config/decoder.h"
#include "metrics/store/store.h"
#include "otlp/consumer_error.h"
#include "traces/store/trace_store.h"

namespace sprout::cmd {

absl::StatusOr<std::string> TenantSelector::TenantOf(const otlp::Context& context) const {
  if (!multitenancy) return single_tenant;
  std::string tenant = context.tenant;
  if (tenant.empty()) {
    for (const auto& [key, value] : context.metadata) {
      if (absl::AsciiStrToLower(key) == "x-scope-orgid") tenant = value;
    }
  }
  if (tenant.empty()) return absl::UnauthenticatedError("no org id");
  return tenant;
}

TraceStoreConsumer::TraceStoreConsumer(traces::store::TraceStore* store, TenantSelector tenants,
                                       MetricsRegistry* registry)
    : store_(store), tenants_(std::move(tenants)), registry_(registry) {}

absl::Status TraceStoreConsumer::Consume(const otlp::Context& context,
                                         otlp::Batch<otlp::Signal::kTraces> batch) {
  absl::StatusOr<std::string> tenant_or = tenants_.TenantOf(context);
  if (!tenant_or.ok()) return tenant_or.status();
  const std::string& tenant = *tenant_or;
  // The received bytes while no processor changed the request: stored as they are, decoded
  // only if the metrics-generator asks (TraceStore::PushWire).
  absl::StatusOr<traces::live::PushResult> pushed;
  if (const std::optional<std::string_view> wire = batch.wire(); wire.has_value()) {
    pushed = store_->PushWire(
        tenant, *wire, [&batch]() -> const auto& { return batch.request(); });
  } else {
    if (absl::Status s = batch.decode_status(); !s.ok()) return otlp::MarkPermanent(s);
    pushed = store_->Push(tenant, batch.request());
  }
  if (!pushed.ok()) {
    if (absl::IsResourceExhausted(pushed.status()) && registry_ != nullptr) {
      // The ingestion rate limit: nothing of the request was stored.
      registry_
          ->GetCounter("tempo_discarded_spans_total",
                       "The total number of samples that were discarded.",
                       {{"reason", "rate_limited"}, {"tenant", tenant}})
          ->Add(static_cast<double>(batch.item_count()));
    }
    if (pushed.status().code() == absl::StatusCode::kInvalidArgument) {
      return otlp::MarkPermanent(pushed.status());
    }
    return pushed.status();
  }
  if (registry_ != nullptr) {
    registry_
        ->GetCounter("tempo_distributor_spans_received_total",
                     "The total number of spans received per tenant", {{"tenant", tenant}})
        ->Add(static_cast<double>(pushed->accepted_spans));
    for (const auto& [reason, count] : pushed->discarded_spans) {
      registry_
          ->GetCounter("tempo_discarded_spans_total",
                       "The total number of samples that were discarded.",
                       {{"reason", reason}, {"tenant", tenant}})
          ->Add(static_cast<double>(count));
    }
  }
  return absl::OkStatus();
}

MetricsStoreConsumer::MetricsStoreConsumer(metrics::MetricsStore* store, TenantSelector tenants,
                                           otlp::PromTranslationSettings translation)
    : store_(store), tenants_(std::move(tenants)), translation_(std::move(translation)) {}

absl::Status MetricsStoreConsumer::Consume(const otlp::Context& context,
                                           otlp::Batch<otlp::Signal::kMetrics> batch) {
  absl::StatusOr<std::string> tenant = tenants_.TenantOf(context);
  if (!tenant.ok()) return tenant.status();
  if (absl::Status s = batch.decode_status(); !s.ok()) return otlp::MarkPermanent(s);
  return store_->IngestOtlp(*tenant, batch.request(), translation_).ToStatus();
}

namespace {

// The entries take no keys (unknown keys are refused by the decoder).
struct StoreExporterConfig : collector::ComponentConfig {
  void Decode(config::Decoder&) override {}
};

const char* ItemName(otlp::Signal signal) {
  return signal == otlp::Signal::kTraces ? "spans" : "metric_points";
}

template <otlp::Signal S>
class StoreExporter : public collector::ConsumerComponent<S> {
 public:
  StoreExporter(const collector::CreateSettings& settings,
                std::shared_ptr<otlp::Consumer<S>> target)
      : target_(std::move(target)) {
    if (MetricsRegistry* m = settings.telemetry.metrics; m != nullptr) {
      const std::string item = ItemName(S);
      const MetricLabels labels = {{"exporter", settings.id.String()}};
      sent_ = m->GetCounter("otelcol_exporter_sent_" + item + "_total",
                            "Number of " + item + " successfully sent to destination.", labels);
      failed_ = m->GetCounter("otelcol_exporter_send_failed_" + item + "_total",
                              "Number of " + item + " in failed attempts to send to destination.",
                              labels);
    }
  }

  absl::Status Consume(const otlp::Context& context, otlp::Batch<S> batch) override {
    const int64_t items = batch.item_count();
    absl::Status s = target_->Consume(context, std::move(batch));
    if (Counter* c = s.ok() ? sent_ : failed_; c != nullptr) c->Add(static_cast<double>(items));
    return s;
  }

 private:
  const std::shared_ptr<otlp::Consumer<S>> target_;
  Counter* sent_ = nullptr;
  Counter* failed_ = nullptr;
};

class StoreExporterFactory : public collector::ExporterFactory {
 public:
  explicit StoreExporterFactory(StoreExporterTargets targets)
      : ExporterFactory(kStoreExporterType), targets_(std::move(targets)) {}

  std::unique_ptr<collector::ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<StoreExporterConfig>();
  }
  bool SupportsSignal(otlp::Signal signal) const override {
    return signal == otlp::Signal::kTraces || signal == otlp::Signal::kMetrics;
  }

  // The ID must be the store of the pipeline's signal, and that store must be there.
  absl::Status CheckPipelineUse(const collector::ComponentID& id,
                                otlp::Signal signal) const override {
    if (signal == otlp::Signal::kTraces) return Check(id, targets_.traces != nullptr, "traces");
    return Check(id, targets_.metrics != nullptr, "metrics");
  }

  absl::StatusOr<collector::ConsumerComponentPtr<otlp::Signal::kTraces>> CreateTraces(
      const collector::CreateSettings& settings, const collector::ComponentConfig&) const override {
    return Make<otlp::Signal::kTraces>(settings, targets_.traces, "traces");
  }
  absl::StatusOr<collector::ConsumerComponentPtr<otlp::Signal::kMetrics>> CreateMetrics(
      const collector::CreateSettings& settings, const collector::ComponentConfig&) const override {
    return Make<otlp::Signal::kMetrics>(settings, targets_.metrics, "metrics");
  }

 private:
  static absl::Status Check(const collector::ComponentID& id, bool available, const char* name) {
    if (id.name != name) {
      return absl::InvalidArgumentError(
          absl::StrCat("the ", kStoreExporterType, " exporter of ", name, " is \"",
                       kStoreExporterType, "/", name, "\" (valid ids: ", kTracesStoreExporter,
                       " for traces, ", kMetricsStoreExporter, " for metrics)"));
    }
    if (!available) {
      return absl::FailedPreconditionError(absl::StrCat(
          "\"", id.String(), "\" is not available: this command runs no ", name, " store"));
    }
    return absl::OkStatus();
  }

  template <otlp::Signal S>
  static absl::StatusOr<collector::ConsumerComponentPtr<S>> Make(
      const collector::CreateSettings& settings, const std::shared_ptr<otlp::Consumer<S>>& target,
      const char* name) {
    if (absl::Status s = Check(settings.id, target != nullptr, name); !s.ok()) return s;
    return std::make_shared<StoreExporter<S>>(settings, target);
  }

  const StoreExporterTargets targets_;
};

}  // namespace

std::unique_ptr<collector::ExporterFactory> NewStoreExporterFactory(StoreExporterTargets targets) {
  return std::make_unique<StoreExporterFactory>(std::move(targets));
}

}  // namespace sprout::cmd
