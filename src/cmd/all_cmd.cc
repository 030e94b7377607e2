#include "cmd/all_cmd.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/logging.h"
#include "base/metrics.h"
#include "base/signals.h"
#include "cmd/all/index_page.h"
#include "cmd/all/metrics_store_output.h"
#include "cmd/all/self_monitoring.h"
#include "cmd/all/store_exporters.h"
#include "cmd/metrics_role.h"
#include "cmd/process_metrics.h"
#include "cmd/traces_role.h"
#include "collector/components.h"
#include "collector/service.h"
#include "collector/service_config.h"
#include "metrics/store/http.h"
#include "net/http_server.h"
#include "yaml-cpp/yaml.h"

namespace sprout::cmd {
namespace {

void PrintError(const absl::Status& status, const char* prefix = "Error: ") {
  std::fprintf(stderr, "%s%s\n", prefix, std::string(status.message()).c_str());
}

// The OTLP receivers' endpoints of the collector section, for the log and the page.
void OtlpEndpoints(const YAML::Node& collector, std::string* grpc, std::string* http) {
  const YAML::Node otlp = collector["receivers"] ? collector["receivers"]["otlp"] : YAML::Node();
  if (!otlp || !otlp["protocols"]) return;
  const YAML::Node p = otlp["protocols"];
  if (p["grpc"]) {
    *grpc = p["grpc"]["endpoint"] ? p["grpc"]["endpoint"].as<std::string>() : "localhost:4317";
  }
  if (p["http"]) {
    *http = p["http"]["endpoint"] ? p["http"]["endpoint"].as<std::string>() : "localhost:4318";
  }
}

}  // namespace

int RunAll(const AllConfigOptions& options, absl::Duration shutdown_timeout) {
  const log::Logger logger;
  auto loaded = LoadAllConfig(options);
  if (!loaded.ok()) {
    PrintError(loaded.status(), "Error: invalid configuration: ");
    return 1;
  }
  for (const std::string& warning : loaded->warnings) logger.Warn(warning, {});
  const AllConfig& config = loaded->config;
  if (absl::Status runnable = CheckRunnable(config); !runnable.ok()) {
    PrintError(runnable);
    return 1;
  }

  // One registry for the process: its own metrics, both stores' and the generator's.
  MetricsRegistry registry;
  RegisterProcessMetrics(registry, SPROUT_VERSION, "sprout all");

  MetricsRoleOptions metrics_options;
  metrics_options.registry = &registry;
  metrics_options.logger = logger;
  metrics_options.version = SPROUT_VERSION;
  metrics_options.serve_process_endpoints = false;
  // /otlp/v1/metrics is served below with the exporter's naming (suffixes on), not Mimir's.
  metrics_options.mimir_otlp_route = false;
  MetricsRole metrics(config.metrics, metrics_options);

  // The generator's series go into the metrics store in-process, each tenant's into the same
  // tenant (one tenant for every role when multi-tenancy is off).
  MetricsStoreOutput generator_output(&metrics.store());
  registry.AddCounterCallback(
      "sprout_metrics_generator_initial_samples_refused_total",
      "Writes of new series' initial 0 samples the metrics store refused (after a restart it holds "
      "newer samples of those series); the rest of each collection was stored.",
      {}, [&generator_output] { return static_cast<double>(generator_output.initial_refused()); });
  TracesRoleOptions traces_options;
  traces_options.registry = &registry;
  traces_options.logger = logger;
  traces_options.version = SPROUT_VERSION;
  traces_options.serve_ready = false;
  traces_options.default_tenant = config.tenant;
  traces_options.generator_output = &generator_output;
  auto traces = TracesRole::Create(config.traces, traces_options);
  if (!traces.ok()) {
    PrintError(traces.status());
    return 1;
  }

  // The collector: the built-in components plus the stores as the `sprout` exporters.
  const TenantSelector tenants{config.multitenancy_enabled, config.tenant};
  auto factories = std::make_shared<collector::Factories>(collector::BuiltinFactories());
  factories->Register(NewStoreExporterFactory(
      {std::make_shared<TraceStoreConsumer>(&(*traces)->store(), tenants, &registry),
       std::make_shared<MetricsStoreConsumer>(&metrics.store(), tenants,
                                              StoreExporterTranslation())}));
  auto collector_config = collector::DecodeServiceConfig(config.collector_yaml, *factories);
  if (!collector_config.ok()) {
    PrintError(collector_config.status(), "Error: invalid configuration: collector: ");
    return 1;
  }
  collector_config->telemetry.metrics_address = "";  // its metrics are on /metrics below
  collector::ServiceSettings collector_settings;
  collector_settings.build_version = SPROUT_VERSION;
  collector_settings.shutdown_timeout = shutdown_timeout;
  collector_settings.logger = logger;
  auto pipeline = collector::Service::Create(std::move(*collector_config), collector_settings);
  if (!pipeline.ok()) {
    PrintError(pipeline.status());
    return 1;
  }
  collector::Service* service = pipeline->get();

  // One HTTP port: Tempo's API, the Prometheus/Mimir API and remote write, and the process's
  // own endpoints.
  net::Router router;
  if (absl::Status s = (*traces)->Register(&router); !s.ok()) {
    PrintError(s);
    return 1;
  }
  if (absl::Status s = metrics.Register(&router); !s.ok()) {
    PrintError(s);
    return 1;
  }
  // OTLP/HTTP metrics on the API port, named as the `sprout/metrics` exporter names them (the
  // remote-write exporter's translation: unit and type suffixes on).
  metrics::OtlpRouteOptions otlp_route;
  otlp_route.translation = StoreExporterTranslation();
  if (absl::Status s = metrics::RegisterOtlpRoute(&metrics.store(), &registry, &router, otlp_route);
      !s.ok()) {
    PrintError(s);
    return 1;
  }
  std::atomic<bool> pipeline_ready{false};
  TracesRole* traces_role = traces->get();
  const auto all_ready = [&] {
    return traces_role->ready() && metrics.ready() && pipeline_ready.load();
  };
  net::RouteOptions plain;
  plain.execution = net::RouteExecution::kInline;
  absl::Status routes = router.Handle("GET", "/ready", net::ReadinessHandler(all_ready), plain);
  if (routes.ok()) {
    routes = router.Handle(
        "GET", "/livez",
        [](net::HttpRequest&, net::HttpResponse& response) {
          response.SetHeader("Content-Type", "text/plain; charset=utf-8");
          response.body = "live";
        },
        plain);
  }
  if (routes.ok()) {
    net::RouteOptions metrics_route = plain;
    metrics_route.gzip = true;
    routes = router.Handle(
        "GET", "/metrics",
        [&registry, traces_role, service](net::HttpRequest&, net::HttpResponse& response) {
          traces_role->RefreshMetrics();
          response.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
          response.body = registry.RenderText() + service->metrics().RenderText();
        },
        metrics_route);
  }
  if (routes.ok()) {
    routes = router.Handle(
        "GET", "/config",
        [yaml = config.EffectiveYaml()](net::HttpRequest&, net::HttpResponse& response) {
          response.SetHeader("Content-Type", "text/plain; charset=utf-8");
          response.body = yaml;
        },
        plain);
  }
  IndexPageInfo page;
  page.version = SPROUT_VERSION;
  page.data_dir = config.data_dir;
  page.multitenancy_enabled = config.multitenancy_enabled;
  page.tenant = config.tenant;
  if (config.self_monitoring_enabled) {
    page.self_monitoring =
        absl::StrCat("every ", absl::FormatDuration(config.self_monitoring_interval));
  }
  OtlpEndpoints(config.collector_yaml, &page.otlp_grpc, &page.otlp_http);
  if (routes.ok()) {
    routes = router.Handle(
        "GET", "/",
        [page, &all_ready, traces_role, &metrics, &pipeline_ready](net::HttpRequest& request,
                                                                   net::HttpResponse& response) {
          IndexPageInfo info = page;
          const std::string host(request.Header("host"));
          info.http_base = "http://" + (host.empty() ? std::string("localhost:3200") : host);
          info.parts = {{"collector pipeline", pipeline_ready.load()},
                        {"trace store and metrics-generator", traces_role->ready()},
                        {"metrics store", metrics.ready()}};
          response.SetHeader("Content-Type", "text/html; charset=utf-8");
          response.body = RenderIndexPage(info);
        },
        plain);
  }
  if (!routes.ok()) {
    PrintError(routes);
    return 1;
  }

  net::HttpServerOptions server_options;
  server_options.endpoint = config.HttpEndpoint();
  server_options.max_request_body_size = config.metrics.max_recv_msg_size;
  server_options.worker_threads =
      static_cast<int>(std::max(2u, std::thread::hardware_concurrency())) +
      config.metrics.querier_max_concurrent;
  auto server = net::HttpServer::Start(server_options, std::move(router));
  if (!server.ok()) {
    PrintError(server.status(), "Error: cannot start the HTTP server: ");
    return 1;
  }

  // The stores first (WAL replay; /ready answers 503 meanwhile), then the pipeline in front.
  const absl::Time replay_start = absl::Now();
  if (absl::Status s = metrics.Start(); !s.ok()) {
    PrintError(s);
    (*server)->Shutdown(absl::ZeroDuration());
    return 1;
  }
  metrics.SetReady(true);  // the process's /ready waits for pipeline_ready too (below)
  if (absl::Status s = (*traces)->Start(); !s.ok()) {
    PrintError(s);
    (*server)->Shutdown(absl::ZeroDuration());
    metrics.Close();
    return 1;
  }
  (*traces)->SetReady(true);
  if (absl::Status s = service->Start(); !s.ok()) {
    PrintError(s, "Error: cannot start pipelines: ");
    (*server)->Shutdown(absl::ZeroDuration());
    (*traces)->Stop(absl::Now());
    metrics.Close();
    return 1;
  }

  // The process's own telemetry (/metrics) into its metrics store, at once and then every
  // interval, in the default tenant (also with multi-tenancy on).
  std::unique_ptr<SelfMonitor> self_monitor;
  if (config.self_monitoring_enabled) {
    SelfMonitorOptions self_options;
    self_options.store = &metrics.store();
    self_options.tenant = config.metrics.DefaultTenant();
    self_options.instance = config.HttpEndpoint();
    self_options.interval = config.self_monitoring_interval;
    self_options.registries = {&registry, &service->metrics()};
    self_options.refresh = [traces_role] { traces_role->RefreshMetrics(); };
    self_options.logger = logger;
    self_monitor = std::make_unique<SelfMonitor>(std::move(self_options));
    self_monitor->Start();
  }

  const std::string base = "http://" + config.HttpEndpoint();
  logger.Info("sprout all is ready",
              {{"http", base},
               {"otlp_grpc", page.otlp_grpc.empty() ? "off" : page.otlp_grpc},
               {"otlp_http", page.otlp_http.empty() ? "off" : page.otlp_http},
               {"data_dir", config.data_dir},
               {"multitenancy_enabled", config.multitenancy_enabled ? "true" : "false"},
               {"replay", absl::FormatDuration(absl::Now() - replay_start)}});
  std::fprintf(stderr,
               "\nsprout all is ready.\n"
               "  OTLP:              gRPC %s, HTTP http://%s\n"
               "  Grafana, Tempo:    %s\n"
               "  Grafana, Prometheus (type Mimir): %s/prometheus\n"
               "  Overview:          %s/\n"
               "  Demo data:         sprout demo --endpoint %s\n\n",
               page.otlp_grpc.empty() ? "off" : page.otlp_grpc.c_str(),
               page.otlp_http.empty() ? "off" : page.otlp_http.c_str(), base.c_str(), base.c_str(),
               base.c_str(), page.otlp_grpc.empty() ? "localhost:4317" : page.otlp_grpc.c_str());
  pipeline_ready.store(true);  // after the ready line: whoever sees /ready 200 finds it logged

  const int sig = WaitForTerminationSignal();
  logger.Info("Received signal from OS", {{"signal", sig == SIGTERM ? "terminated" : "interrupt"}});
  // Not ready; the pipeline first (receivers stop, what it holds reaches the stores), then the
  // HTTP port, then the trace store (the generator's last collection into the metrics store,
  // flush_all_on_shutdown), then the metrics store.
  if (self_monitor != nullptr) self_monitor->Stop();
  pipeline_ready.store(false);
  (*traces)->SetReady(false);
  metrics.SetReady(false);
  const absl::Time deadline = absl::Now() + shutdown_timeout;
  service->Shutdown();
  (*server)->Shutdown(std::max(absl::ZeroDuration(), deadline - absl::Now()));
  (*traces)->Stop(std::max(deadline, absl::Now() + absl::Seconds(1)));
  generator_output.Close(absl::Now());
  metrics.Close();
  return 0;
}

int PrintAllConfig(const AllConfigOptions& options) {
  auto loaded = LoadAllConfig(options);
  if (!loaded.ok()) {
    PrintError(loaded.status(), "Error: invalid configuration: ");
    return 1;
  }
  for (const std::string& warning : loaded->warnings) {
    std::fprintf(stderr, "Warning: %s\n", warning.c_str());
  }
  std::fputs(loaded->config.EffectiveYaml().c_str(), stdout);
  return 0;
}

}  // namespace sprout::cmd
