#include "collector/service.h"

#include <algorithm>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/process_stats.h"
#include "base/status.h"
#include "collector/confighttp.h"
#include "collector/fanout.h"
#include "net/http_server.h"

namespace sprout::collector {
namespace {

template <Signal S>
absl::StatusOr<ConsumerComponentPtr<S>> CreateExporter(const ExporterFactory& factory,
                                                       const CreateSettings& settings,
                                                       const ComponentConfig& config) {
  if constexpr (S == Signal::kTraces) return factory.CreateTraces(settings, config);
  if constexpr (S == Signal::kMetrics) return factory.CreateMetrics(settings, config);
  if constexpr (S == Signal::kLogs) return factory.CreateLogs(settings, config);
}

template <Signal S>
absl::StatusOr<ConsumerComponentPtr<S>> CreateProcessor(const ProcessorFactory& factory,
                                                        const CreateSettings& settings,
                                                        const ComponentConfig& config,
                                                        std::shared_ptr<Consumer<S>> next) {
  if constexpr (S == Signal::kTraces) return factory.CreateTraces(settings, config, next);
  if constexpr (S == Signal::kMetrics) return factory.CreateMetrics(settings, config, next);
  if constexpr (S == Signal::kLogs) return factory.CreateLogs(settings, config, next);
}

std::string RandomInstanceID() {
  std::random_device rd;
  std::mt19937_64 rng(rd());
  const uint64_t a = rng(), b = rng();
  // A version-4 UUID, as the Collector generates for service.instance.id.
  return absl::StrFormat(
      "%08x-%04x-4%03x-%04x-%012x", static_cast<uint32_t>(a >> 32),
      static_cast<uint32_t>((a >> 16) & 0xffff), static_cast<uint32_t>(a & 0xfff),
      static_cast<uint32_t>(0x8000 | ((b >> 48) & 0x3fff)), b & 0xffffffffffffULL);
}

std::string SanitizeLabelName(const std::string& key) {
  std::string out = key;
  for (char& c : out) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      c = '_';
    }
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out = "_" + out;
  return out;
}

}  // namespace

Service::Service(ServiceConfig config, const ServiceSettings& settings)
    : config_(std::move(config)), settings_(settings) {
  // Resource attributes of the collector's own telemetry become labels of every series.
  std::map<std::string, std::string> resource = {{"service.name", "sprout"},
                                                 {"service.version", settings_.build_version},
                                                 {"service.instance.id", RandomInstanceID()}};
  for (const auto& [k, v] : config_.telemetry.resource) resource[k] = v;
  MetricLabels labels;
  for (const auto& [k, v] : resource) labels.emplace_back(SanitizeLabelName(k), v);
  metrics_ = std::make_unique<MetricsRegistry>(std::move(labels));
}

Service::~Service() { Shutdown(); }

TelemetrySettings Service::TelemetryFor(const ComponentID& id, Kind kind,
                                        const char* signal) const {
  log::Fields fields = {{"otelcol.component.id", id.String()},
                        {"otelcol.component.kind", KindName(kind)}};
  if (signal != nullptr) fields.emplace_back("otelcol.signal", signal);
  return TelemetrySettings{settings_.logger.With(std::move(fields)), metrics_.get(),
                           settings_.build_version};
}

template <Signal S>
absl::Status Service::BuildSignal(std::vector<std::shared_ptr<Consumer<S>>>* heads) {
  const char* signal = otlp::SignalName(S);
  std::map<ComponentID, ConsumerComponentPtr<S>> exporters;
  for (const PipelineConfig& pipeline : config_.pipelines) {
    if (pipeline.id.signal != S) continue;
    const std::string where =
        absl::StrCat("failed to build pipelines: pipeline \"", pipeline.id.String(), "\"");
    std::vector<std::shared_ptr<Consumer<S>>> pipeline_exporters;
    for (const ComponentID& id : pipeline.exporters) {
      auto it = exporters.find(id);
      if (it == exporters.end()) {
        const ComponentEntry* entry = config_.Find(Kind::kExporter, id);
        const auto& factory = static_cast<const ExporterFactory&>(*entry->factory);
        CreateSettings settings{id, TelemetryFor(id, Kind::kExporter, signal)};
        auto created = CreateExporter<S>(factory, settings, *entry->config);
        if (!created.ok()) {
          return Annotate(created.status(),
                          absl::StrCat(where, ": failed to create \"", id.String(),
                                       "\" exporter for data type \"", signal, "\""));
        }
        it = exporters.emplace(id, *created).first;
        exporters_.push_back(Built{id, Kind::kExporter, *created, signal});
      }
      pipeline_exporters.push_back(it->second);
    }
    std::shared_ptr<Consumer<S>> next = MakeFanOut<S>(std::move(pipeline_exporters));
    for (auto pid = pipeline.processors.rbegin(); pid != pipeline.processors.rend(); ++pid) {
      const ComponentEntry* entry = config_.Find(Kind::kProcessor, *pid);
      const auto& factory = static_cast<const ProcessorFactory&>(*entry->factory);
      CreateSettings settings{*pid, TelemetryFor(*pid, Kind::kProcessor, signal)};
      auto created = CreateProcessor<S>(factory, settings, *entry->config, next);
      if (!created.ok()) {
        return Annotate(created.status(),
                        absl::StrCat(where, ": failed to create \"", pid->String(),
                                     "\" processor for data type \"", signal, "\""));
      }
      processors_.push_back(Built{*pid, Kind::kProcessor, *created, signal});
      next = *created;
    }
    for (const ComponentID& id : pipeline.receivers) {
      for (size_t i = 0; i < config_.receivers.size(); ++i) {
        if (config_.receivers[i].id == id) heads[i].push_back(next);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Service::Build() {
  for (const ComponentID& id : config_.service_extensions) {
    const ComponentEntry* entry = config_.Find(Kind::kExtension, id);
    const auto& factory = static_cast<const ExtensionFactory&>(*entry->factory);
    CreateSettings settings{id, TelemetryFor(id, Kind::kExtension, nullptr)};
    auto created = factory.CreateExtension(settings, *entry->config);
    if (!created.ok()) {
      return Annotate(created.status(),
                      absl::StrCat("failed to build extensions: failed to create extension \"",
                                   id.String(), "\""));
    }
    extensions_.push_back(
        Built{id, Kind::kExtension, std::shared_ptr<Component>(std::move(*created))});
  }

  const size_t n = config_.receivers.size();
  std::vector<std::vector<std::shared_ptr<TracesConsumer>>> traces(n);
  std::vector<std::vector<std::shared_ptr<MetricsConsumer>>> metrics(n);
  std::vector<std::vector<std::shared_ptr<LogsConsumer>>> logs(n);
  RETURN_IF_ERROR(BuildSignal<Signal::kTraces>(traces.data()));
  RETURN_IF_ERROR(BuildSignal<Signal::kMetrics>(metrics.data()));
  RETURN_IF_ERROR(BuildSignal<Signal::kLogs>(logs.data()));

  for (size_t i = 0; i < n; ++i) {
    if (traces[i].empty() && metrics[i].empty() && logs[i].empty()) continue;  // unused
    const ComponentEntry& entry = config_.receivers[i];
    ReceiverConsumers next;
    if (!traces[i].empty()) next.traces = MakeFanOut<Signal::kTraces>(std::move(traces[i]));
    if (!metrics[i].empty()) next.metrics = MakeFanOut<Signal::kMetrics>(std::move(metrics[i]));
    if (!logs[i].empty()) next.logs = MakeFanOut<Signal::kLogs>(std::move(logs[i]));
    const auto& factory = static_cast<const ReceiverFactory&>(*entry.factory);
    CreateSettings settings{entry.id, TelemetryFor(entry.id, Kind::kReceiver, nullptr)};
    auto created = factory.CreateReceiver(settings, *entry.config, std::move(next));
    if (!created.ok()) {
      return Annotate(created.status(),
                      absl::StrCat("failed to build pipelines: failed to create \"",
                                   entry.id.String(), "\" receiver"));
    }
    receivers_.push_back(
        Built{entry.id, Kind::kReceiver, std::shared_ptr<Component>(std::move(*created))});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Service>> Service::Create(ServiceConfig config,
                                                         const ServiceSettings& settings) {
  std::unique_ptr<Service> service(new Service(std::move(config), settings));
  RETURN_IF_ERROR(service->Build());
  return service;
}

absl::Status Service::StartTelemetry() {
  start_time_ = absl::Now();
  metrics_->AddCounterCallback("otelcol_process_uptime_seconds_total", "Uptime of the process.", {},
                               [this] { return absl::ToDoubleSeconds(absl::Now() - start_time_); });
  metrics_->AddCounterCallback("otelcol_process_cpu_seconds_total",
                               "Total CPU user and system time in seconds.", {},
                               [] { return ProcessCpuSeconds(); });
  metrics_->AddGaugeCallback("otelcol_process_memory_rss_bytes",
                             "Total physical memory (resident set size).", {},
                             [] { return static_cast<double>(ProcessRssBytes()); });
  if (config_.telemetry.metrics_level == "none") return absl::OkStatus();
  // No address: the embedding command serves the registry itself (`sprout all` on its one
  // HTTP port).
  if (config_.telemetry.metrics_address.empty()) return absl::OkStatus();
  // The same protections as every other listener (confighttp's defaults: timeouts, connection
  // cap); the Collector's Prometheus endpoint has no settings for them either.
  HttpServerConfig http;
  http.endpoint = config_.telemetry.metrics_address;
  MetricsRegistry* registry = metrics_.get();
  net::Router router;
  net::RouteOptions route;
  route.execution = net::RouteExecution::kInline;
  route.gzip = true;  // as promhttp, when the scraper accepts it
  // Any method, as promhttp's handler.
  absl::Status routed = router.Handle(
      "", "/metrics",
      [registry](net::HttpRequest&, net::HttpResponse& response) {
        response.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        response.body = registry->RenderText();
      },
      route);
  if (!routed.ok()) return routed;
  auto server = net::HttpServer::Start(ToHttpServerOptions(http, 1), std::move(router));
  if (!server.ok()) {
    return Annotate(server.status(), "failed to create telemetry: failed to start metrics server");
  }
  telemetry_server_ = std::move(*server);
  return absl::OkStatus();
}

std::string Service::telemetry_address() const {
  if (telemetry_server_ == nullptr) return "";
  std::string host;
  int port = 0;
  (void)net::SplitHostPort(config_.telemetry.metrics_address, &host, &port);
  return absl::StrCat(host.empty() ? "0.0.0.0" : host, ":", telemetry_server_->port());
}

absl::Status Service::Start() {
  settings_.logger.Info("Starting sprout collector...", {{"Version", settings_.build_version}});
  RETURN_IF_ERROR(StartTelemetry());
  auto start_all = [this](std::vector<Built>& list) -> absl::Status {
    for (Built& b : list) {
      log::Fields fields = {{"otelcol.component.id", b.id.String()},
                            {"otelcol.component.kind", KindName(b.kind)}};
      if (b.signal != nullptr) fields.emplace_back("otelcol.signal", b.signal);
      settings_.logger.Info(absl::StrCat("Starting ", KindName(b.kind), "..."), fields);
      absl::Status status = b.component->Start(*this);
      if (!status.ok()) {
        return Annotate(
            status, absl::StrCat("failed to start ", KindName(b.kind), " \"", b.id.String(), "\""));
      }
      started_.push_back(b);
    }
    return absl::OkStatus();
  };
  absl::Status status = start_all(extensions_);
  if (status.ok()) status = start_all(exporters_);
  if (status.ok()) status = start_all(processors_);
  if (status.ok()) status = start_all(receivers_);
  if (!status.ok()) {
    Shutdown();
    return status;
  }
  for (Built& b : extensions_) {
    if (auto* watcher = dynamic_cast<PipelineWatcher*>(b.component.get())) watcher->Ready();
  }
  settings_.logger.Info("Everything is ready. Begin running and processing data.");
  return absl::OkStatus();
}

void Service::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  const absl::Time deadline = absl::Now() + settings_.shutdown_timeout;
  for (Built& b : extensions_) {
    if (auto* watcher = dynamic_cast<PipelineWatcher*>(b.component.get())) watcher->NotReady();
  }
  if (!started_.empty()) settings_.logger.Info("Starting shutdown...");
  for (Built& b : started_) b.component->PrepareShutdown(deadline);
  for (auto it = started_.rbegin(); it != started_.rend(); ++it) {
    absl::Status status = it->component->Shutdown(deadline);
    if (!status.ok()) {
      settings_.logger.Error(
          absl::StrCat("failed to shut down ", KindName(it->kind)),
          {{"otelcol.component.id", it->id.String()}, {"error", std::string(status.message())}});
    }
  }
  if (!started_.empty()) settings_.logger.Info("Shutdown complete.");
  started_.clear();
  if (telemetry_server_ != nullptr) telemetry_server_->Shutdown(absl::Seconds(1));
}

Component* Service::GetExtension(const ComponentID& id) const {
  for (const Built& b : extensions_) {
    if (b.id == id) return b.component.get();
  }
  return nullptr;
}

}  // namespace sprout::collector
