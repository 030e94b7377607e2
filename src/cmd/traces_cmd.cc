#include "cmd/traces_cmd.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "base/logging.h"
#include "base/metrics.h"
#include "base/process_stats.h"
#include "base/signals.h"
#include "cmd/all/store_exporters.h"
#include "cmd/process_metrics.h"
#include "cmd/traces_role.h"
#include "collector/component.h"
#include "collector/receiver/otlp/config.h"
#include "collector/receiver/otlp/otlp_receiver.h"
#include "config/config.h"
#include "net/http_server.h"
#include "traces/config/traces_config.h"
#include "traces/store/trace_store.h"

namespace sprout::cmd {
namespace {

absl::StatusOr<traces::TracesConfigResult> LoadTracesFlags(const std::vector<std::string>& configs,
                                                           const std::vector<std::string>& sets) {
  config::LoadOptions options;
  options.uris = configs;
  options.set_overrides = sets;
  return traces::LoadTracesConfig(options);
}

class NoHost : public collector::Host {
 public:
  collector::Component* GetExtension(const collector::ComponentID&) const override {
    return nullptr;
  }
};

void PrintError(const absl::Status& status, const char* prefix = "Error: ") {
  std::fprintf(stderr, "%s%s\n", prefix, std::string(status.message()).c_str());
}

}  // namespace

int RunValidateTraces(const std::vector<std::string>& configs,
                      const std::vector<std::string>& sets) {
  auto cfg = LoadTracesFlags(configs, sets);
  if (!cfg.ok()) {
    PrintError(cfg.status(), "Error: invalid configuration: ");
    return 1;
  }
  for (const std::string& warning : cfg->warnings) {
    std::fprintf(stderr, "Warning: %s\n", warning.c_str());
  }
  return 0;
}

int RunTraces(const std::vector<std::string>& configs, const std::vector<std::string>& sets,
              absl::Duration shutdown_timeout) {
  const log::Logger logger;
  auto cfg = LoadTracesFlags(configs, sets);
  if (!cfg.ok()) {
    PrintError(cfg.status(), "Error: invalid configuration: ");
    return 1;
  }
  for (const std::string& warning : cfg->warnings) logger.Warn(warning, {});
  const traces::TracesConfig& config = cfg->config;
  if (absl::Status runnable = traces::CheckRunnable(config); !runnable.ok()) {
    PrintError(runnable);
    return 1;
  }

  MetricsRegistry registry;
  RegisterProcessMetrics(registry, SPROUT_VERSION, "sprout traces");

  TracesRoleOptions role_options;
  role_options.registry = &registry;
  role_options.logger = logger;
  role_options.version = SPROUT_VERSION;
  auto role = TracesRole::Create(config, role_options);
  if (!role.ok()) {
    PrintError(role.status());
    return 1;
  }
  traces::store::TraceStore& store = (*role)->store();
  net::Router router;
  if (absl::Status s = (*role)->Register(&router); !s.ok()) {
    PrintError(s);
    return 1;
  }
  // /metrics: the process, the OTLP receiver (otelcol_receiver_*) and the role's figures, copied
  // from the store, the generator and the compactor at each scrape.
  net::RouteOptions metrics_route;
  metrics_route.gzip = true;
  TracesRole* traces_role = role->get();
  if (absl::Status s = router.Handle(
          "GET", "/metrics",
          [&registry, traces_role](net::HttpRequest&, net::HttpResponse& response) {
            traces_role->RefreshMetrics();
            response.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            response.body = registry.RenderText();
          },
          metrics_route);
      !s.ok()) {
    PrintError(s);
    return 1;
  }
  net::HttpServerOptions server_options;
  server_options.endpoint = config.HttpEndpoint();
  server_options.worker_threads =
      static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  auto server = net::HttpServer::Start(server_options, std::move(router));
  if (!server.ok()) {
    PrintError(server.status(), "Error: cannot start the HTTP server: ");
    return 1;
  }
  const absl::Time replay_start = absl::Now();
  if (absl::Status s = (*role)->Start(); !s.ok()) {
    PrintError(s);
    (*server)->Shutdown(absl::ZeroDuration());
    return 1;
  }

  // The OTLP receivers: the collector's otlp receiver, feeding the store.
  std::unique_ptr<collector::Component> receiver;
  if (config.otlp_grpc.enabled || config.otlp_http.enabled) {
    auto factory = collector::otlpreceiver::NewFactory();
    auto receiver_config = factory->CreateDefaultConfig();
    auto* otlp_config = static_cast<collector::otlpreceiver::Config*>(receiver_config.get());
    otlp_config->grpc.enabled = config.otlp_grpc.enabled;
    if (!config.otlp_grpc.endpoint.empty()) otlp_config->grpc.endpoint = config.otlp_grpc.endpoint;
    otlp_config->grpc.include_metadata = true;
    otlp_config->http.enabled = config.otlp_http.enabled;
    if (!config.otlp_http.endpoint.empty()) otlp_config->http.endpoint = config.otlp_http.endpoint;
    otlp_config->http.include_metadata = true;
    if (absl::Status s = receiver_config->Validate(); !s.ok()) {
      PrintError(s, "Error: invalid OTLP receiver configuration: ");
      (*server)->Shutdown(absl::ZeroDuration());
      (*role)->Stop(absl::Now());
      return 1;
    }
    collector::CreateSettings settings{*collector::ComponentID::Parse("otlp"), {}};
    settings.telemetry.logger = logger;
    settings.telemetry.metrics = &registry;
    settings.telemetry.build_version = SPROUT_VERSION;
    // The request's tenant (X-Scope-OrgID with multitenancy_enabled, else `single-tenant`),
    // answered after the push (and so the WAL append, synced per policy) returned.
    auto consumer = std::make_shared<TraceStoreConsumer>(
        &store,
        TenantSelector{config.multitenancy_enabled,
                       std::string(traces::TracesConfig::kSingleTenant)},
        &registry);
    auto created =
        factory->CreateReceiver(settings, *receiver_config, {consumer, nullptr, nullptr});
    NoHost host;
    absl::Status started = created.ok() ? (*created)->Start(host) : created.status();
    if (!started.ok()) {
      PrintError(started, "Error: cannot start the OTLP receivers: ");
      (*server)->Shutdown(absl::ZeroDuration());
      (*role)->Stop(absl::Now());
      return 1;
    }
    receiver = std::move(*created);
  }

  const std::string host =
      config.http_listen_address.empty() ? "0.0.0.0" : config.http_listen_address;
  logger.Info("sprout traces is ready",
              {{"address", host + ":" + std::to_string((*server)->port())},
               {"otlp_grpc", config.otlp_grpc.enabled ? config.otlp_grpc.endpoint : "off"},
               {"otlp_http", config.otlp_http.enabled ? config.otlp_http.endpoint : "off"},
               {"multitenancy_enabled", config.multitenancy_enabled ? "true" : "false"},
               {"wal_path", config.wal_path},
               {"blocks_path", config.LocalPath()},
               {"replay", absl::FormatDuration(absl::Now() - replay_start)}});
  (*role)->SetReady(true);  // after the ready line: whoever sees /ready 200 finds it logged
  const int sig = WaitForTerminationSignal();
  logger.Info("Received signal from OS", {{"signal", sig == SIGTERM ? "terminated" : "interrupt"}});
  (*role)->SetReady(false);
  const absl::Time deadline = absl::Now() + shutdown_timeout;
  if (receiver) {
    receiver->PrepareShutdown(deadline);
    if (absl::Status s = receiver->Shutdown(deadline); !s.ok()) {
      logger.Warn("OTLP receiver shutdown", {{"error", std::string(s.message())}});
    }
  }
  (*server)->Shutdown(std::max(absl::ZeroDuration(), deadline - absl::Now()));
  // The generator's last collection, delivered until remote_write_flush_deadline; then the
  // compactor and the store.
  (*role)->Stop(absl::Now() + config.metrics_generator.remote_write_flush_deadline);
  return 0;
}

}  // namespace sprout::cmd
