// sprout: one binary for the collector and (later) the trace, metrics and log stores.
//
//   sprout collector --config otelcol.yaml [--config more.yaml] [--set key::path=value]
//   sprout validate  --config otelcol.yaml | --metrics-config mimir.yaml | --traces-config t.yaml
//   sprout metrics   [--config mimir.yaml] [--set key.path=value]
//   sprout traces    [--config tempo.yaml] [--set key.path=value]
//   sprout demo      [--endpoint localhost:4317] [--duration 10m]
//   sprout components
//   sprout --version

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "base/go_duration.h"
#include "base/logging.h"
#include "base/metrics.h"
#include "base/process_stats.h"
#include "base/signals.h"
#include "cmd/all/demo_cmd.h"
#include "cmd/process_metrics.h"
#include "cmd/traces_cmd.h"
#include "collector/components.h"
#include "collector/featuregate.h"
#include "collector/service.h"
#include "collector/service_config.h"
#include "config/config.h"
#include "metrics/api/metrics_api.h"
#include "metrics/config/metrics_config.h"
#include "metrics/store/http.h"
#include "metrics/store/store.h"
#include "net/http_server.h"

namespace {

using namespace sprout;

// As Go programs do at start (and so the Go Collector): the soft limit on open files is raised
// to the hard one, so that the listeners' connection caps (4096 by default, per listener), not
// the usual soft limit of 1024, decide when connections are refused.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);
}

struct ConfigFlags {
  std::vector<std::string> configs;
  std::vector<std::string> sets;
  std::vector<std::string> feature_gates;
};

void AddConfigFlags(CLI::App* app, ConfigFlags* flags) {
  app->add_option("--config", flags->configs,
                  "Configuration source: a file path, file:<path>, env:<VAR> or yaml:<a::b: c>. "
                  "Repeat to merge several, later ones winning.")
      ->required();
  app->add_option("--set", flags->sets,
                  "Override a value after merging: key::path=value (value parsed as YAML).");
  app->add_option("--feature-gates", flags->feature_gates,
                  "Comma-separated feature gates to enable (+id or id) or disable (-id).");
}

absl::StatusOr<collector::ServiceConfig> LoadServiceConfig(const ConfigFlags& flags,
                                                           const collector::Factories& factories,
                                                           const log::Logger& logger) {
  for (const std::string& gates : flags.feature_gates) {
    absl::Status status = collector::FeatureGates::Global().Apply(gates);
    if (!status.ok()) return status;
  }
  config::LoadOptions options;
  options.uris = flags.configs;
  options.set_overrides = flags.sets;
  auto loaded = config::Load(options);
  if (!loaded.ok()) return loaded.status();
  for (const auto& warning : loaded->warnings) {
    logger.Warn(warning.message, {{"name", warning.name}});
  }
  return collector::DecodeServiceConfig(loaded->root, factories);
}

// `sprout metrics` and `sprout validate --metrics-config`: the Mimir-style configuration.
absl::StatusOr<metrics::MetricsConfigResult> LoadMetricsFlags(
    const std::vector<std::string>& configs, const std::vector<std::string>& sets) {
  config::LoadOptions options;
  options.uris = configs;
  options.set_overrides = sets;
  return metrics::LoadMetricsConfig(options);
}

int RunValidateMetrics(const std::vector<std::string>& configs,
                       const std::vector<std::string>& sets) {
  auto cfg = LoadMetricsFlags(configs, sets);
  if (!cfg.ok()) {
    std::fprintf(stderr, "Error: invalid configuration: %s\n",
                 std::string(cfg.status().message()).c_str());
    return 1;
  }
  for (const std::string& warning : cfg->warnings) {
    std::fprintf(stderr, "Warning: %s\n", warning.c_str());
  }
  return 0;
}

int RunMetrics(const std::vector<std::string>& configs, const std::vector<std::string>& sets,
               absl::Duration shutdown_timeout) {
  const log::Logger logger;
  auto cfg = LoadMetricsFlags(configs, sets);
  if (!cfg.ok()) {
    std::fprintf(stderr, "Error: invalid configuration: %s\n",
                 std::string(cfg.status().message()).c_str());
    return 1;
  }
  for (const std::string& warning : cfg->warnings) logger.Warn(warning, {});
  const metrics::MetricsConfig& config = cfg->config;
  if (absl::Status runnable = metrics::CheckRunnable(config); !runnable.ok()) {
    std::fprintf(stderr, "Error: %s\n", std::string(runnable.message()).c_str());
    return 1;
  }

  MetricsRegistry registry;
  cmd::RegisterProcessMetrics(registry, SPROUT_VERSION, "sprout metrics");

  metrics::MetricsStoreOptions store_options;
  store_options.config = config;
  store_options.registry = &registry;
  store_options.on_wal_damage = [&logger](std::string_view tenant,
                                          const storage::LogDamage& damage) {
    logger.Warn("WAL damage repaired or skipped", {{"tenant", std::string(tenant)},
                                                   {"file", damage.file},
                                                   {"offset", std::to_string(damage.offset)},
                                                   {"reason", damage.reason}});
  };
  store_options.on_replay = [&logger](std::string_view tenant,
                                      const metrics::tsdb::ReplayStats& stats) {
    logger.Info("WAL replayed", {{"tenant", std::string(tenant)},
                                 {"duration", absl::FormatDuration(stats.duration)},
                                 {"records", std::to_string(stats.records)},
                                 {"series", std::to_string(stats.series)},
                                 {"samples", std::to_string(stats.samples + stats.histograms)},
                                 {"exemplars", std::to_string(stats.exemplars)},
                                 {"damage_reports", std::to_string(stats.damage_reports)},
                                 {"corrupt_records", std::to_string(stats.corrupt_records)},
                                 {"skipped_entries",
                                  std::to_string(stats.unknown_series_samples +
                                                 stats.refused_samples + stats.ids_out_of_range)}});
  };
  metrics::MetricsStore store(store_options);

  metrics::api::MetricsApiOptions api_options;
  api_options.tenants = {config.multitenancy_enabled, config.DefaultTenant()};
  api_options.effective_config = config.EffectiveYaml();
  api_options.build.version = SPROUT_VERSION;
  api_options.build.branch = "main";
  api_options.build.go_version = std::string("c++ ") + __VERSION__;
  api_options.registry = &registry;
  api_options.queryable = &store;
  api_options.query.engine.timeout = config.querier_timeout;
  api_options.query.engine.max_concurrent = config.querier_max_concurrent;
  api_options.query.engine.max_samples = config.querier_max_samples;
  api_options.query.engine.lookback_delta_ms =
      absl::ToInt64Milliseconds(config.querier_lookback_delta);
  api_options.query.max_fetched_series_per_query =
      static_cast<uint64_t>(config.max_fetched_series_per_query);
  api_options.query.max_fetched_chunks_per_query =
      static_cast<uint64_t>(config.max_fetched_chunks_per_query);
  api_options.query.max_query_lookback = config.max_query_lookback;
  metrics::api::MetricsApi api(api_options);
  net::Router router;
  if (absl::Status s = api.Register(&router); !s.ok()) {
    std::fprintf(stderr, "Error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (absl::Status s = metrics::RegisterStoreRoutes(&store, &registry, &router); !s.ok()) {
    std::fprintf(stderr, "Error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  // The listeners' protections (timeouts, connection cap) with their defaults, as every
  // listener of sprout.
  net::HttpServerOptions server_options;
  server_options.endpoint = config.HttpEndpoint();
  server_options.max_request_body_size = config.max_recv_msg_size;
  // Queries run on the worker pool and may take up to querier.timeout: as many workers as
  // queries may evaluate at once, plus the usual one per CPU for pushes and the other reads.
  server_options.worker_threads =
      static_cast<int>(std::max(2u, std::thread::hardware_concurrency())) +
      config.querier_max_concurrent;
  auto server = net::HttpServer::Start(server_options, std::move(router));
  if (!server.ok()) {
    std::fprintf(stderr, "Error: cannot start the HTTP server: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  // /ready answers 503 while the tenants' WALs replay.
  const absl::Time replay_start = absl::Now();
  if (absl::Status s = store.Start(); !s.ok()) {
    std::fprintf(stderr, "Error: %s\n", std::string(s.message()).c_str());
    (*server)->Shutdown(absl::ZeroDuration());
    return 1;
  }
  for (const std::string& dir : store.skipped_dirs()) {
    logger.Warn("skipping a directory of the TSDB directory that is not a valid tenant ID",
                {{"dir", dir}});
  }
  for (const std::string& note : store.start_notes()) {
    logger.Warn("an interrupted block cut was settled at start", {{"detail", note}});
  }
  api.SetReady(true);
  const std::string host =
      config.http_listen_address.empty() ? "0.0.0.0" : config.http_listen_address;
  logger.Info("sprout metrics is ready",
              {{"address", host + ":" + std::to_string((*server)->port())},
               {"multitenancy_enabled", config.multitenancy_enabled ? "true" : "false"},
               {"tsdb_dir", config.tsdb_dir},
               {"replay", absl::FormatDuration(absl::Now() - replay_start)}});
  const int sig = WaitForTerminationSignal();
  logger.Info("Received signal from OS", {{"signal", sig == SIGTERM ? "terminated" : "interrupt"}});
  api.SetReady(false);
  (*server)->Shutdown(shutdown_timeout);
  store.Close();
  return 0;
}

int RunValidate(const ConfigFlags& flags) {
  const collector::Factories factories = collector::BuiltinFactories();
  auto cfg = LoadServiceConfig(flags, factories, log::Logger());
  if (!cfg.ok()) {
    std::fprintf(stderr, "Error: invalid configuration: %s\n",
                 std::string(cfg.status().message()).c_str());
    return 1;
  }
  return 0;
}

int RunCollector(const ConfigFlags& flags, absl::Duration shutdown_timeout) {
  const log::Logger logger;
  const collector::Factories factories = collector::BuiltinFactories();
  auto cfg = LoadServiceConfig(flags, factories, logger);
  if (!cfg.ok()) {
    std::fprintf(stderr, "Error: invalid configuration: %s\n",
                 std::string(cfg.status().message()).c_str());
    return 1;
  }
  log::SetLevel(cfg->telemetry.log_level);
  collector::ServiceSettings settings;
  settings.build_version = SPROUT_VERSION;
  settings.shutdown_timeout = shutdown_timeout;
  settings.logger = logger;
  auto service = collector::Service::Create(std::move(*cfg), settings);
  if (!service.ok()) {
    std::fprintf(stderr, "Error: %s\n", std::string(service.status().message()).c_str());
    return 1;
  }
  absl::Status started = (*service)->Start();
  if (!started.ok()) {
    std::fprintf(stderr, "Error: cannot start pipelines: %s\n",
                 std::string(started.message()).c_str());
    return 1;
  }
  const int sig = WaitForTerminationSignal();
  logger.Info("Received signal from OS", {{"signal", sig == SIGTERM ? "terminated" : "interrupt"}});
  (*service)->Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so that only the main thread receives SIGTERM/SIGINT.
  BlockTerminationSignals();
  RaiseOpenFileLimit();
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles (a debugging aid that
  // costs ~2% of the collector's CPU inside gRPC); sprout does not need it at run time.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  CLI::App app{"Sprout: an OpenTelemetry backend in one binary"};
  app.set_version_flag("--version", std::string("sprout version ") + SPROUT_VERSION);
  app.require_subcommand(1);

  ConfigFlags collector_flags;
  std::string shutdown_timeout = "30s";
  CLI::App* collector_cmd =
      app.add_subcommand("collector", "Run an OpenTelemetry Collector with the given config");
  AddConfigFlags(collector_cmd, &collector_flags);
  collector_cmd
      ->add_option("--shutdown-timeout", shutdown_timeout,
                   "How long queues may drain after SIGTERM (Go duration)")
      ->capture_default_str();

  ConfigFlags validate_flags;
  std::vector<std::string> validate_metrics_configs;
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "Check a collector or metrics (Mimir) config and exit");
  AddConfigFlags(validate_cmd, &validate_flags);
  validate_cmd->get_option("--config")->required(false);
  validate_cmd->add_option("--metrics-config", validate_metrics_configs,
                           "A `sprout metrics` (Mimir) configuration file to check instead.");
  std::vector<std::string> validate_traces_configs;
  validate_cmd->add_option("--traces-config", validate_traces_configs,
                           "A `sprout traces` (Tempo) configuration file to check instead.");

  std::vector<std::string> metrics_configs;
  std::vector<std::string> metrics_sets;
  std::string metrics_shutdown_timeout = "30s";
  CLI::App* metrics_cmd = app.add_subcommand(
      "metrics", "Run the metrics store (Prometheus/Mimir API) with a Mimir config");
  metrics_cmd->add_option("--config", metrics_configs,
                          "Mimir configuration: a file path, file:<path>, env:<VAR> or yaml:... "
                          "Without it: local defaults, data under ./data/metrics.");
  metrics_cmd->add_option("--set", metrics_sets,
                          "Override a value: key.path=value or key::path=value (YAML value).");
  metrics_cmd
      ->add_option("--shutdown-timeout", metrics_shutdown_timeout,
                   "How long requests in progress may finish after SIGTERM (Go duration)")
      ->capture_default_str();

  std::vector<std::string> traces_configs;
  std::vector<std::string> traces_sets;
  std::string traces_shutdown_timeout = "30s";
  CLI::App* traces_cmd = app.add_subcommand(
      "traces", "Run the trace store (Tempo API, OTLP receivers) with a Tempo config");
  traces_cmd->add_option("--config", traces_configs,
                         "Tempo configuration: a file path, file:<path>, env:<VAR> or yaml:... "
                         "Without it: local defaults, data under ./data/traces.");
  traces_cmd->add_option("--set", traces_sets,
                         "Override a value: key.path=value or key::path=value (YAML value).");
  traces_cmd
      ->add_option("--shutdown-timeout", traces_shutdown_timeout,
                   "How long requests in progress may finish after SIGTERM (Go duration)")
      ->capture_default_str();

  cmd::DemoFlags demo_flags;
  CLI::App* demo_cmd = cmd::AddDemoCommand(&app, &demo_flags);

  CLI::App* components_cmd = app.add_subcommand("components", "List the built-in components");

  CLI11_PARSE(app, argc, argv);

  if (collector_cmd->parsed()) {
    auto timeout = ParseGoDuration(shutdown_timeout);
    if (!timeout.ok()) {
      std::fprintf(stderr, "Error: --shutdown-timeout: %s\n",
                   std::string(timeout.status().message()).c_str());
      return 1;
    }
    return RunCollector(collector_flags, *timeout);
  }
  if (validate_cmd->parsed()) {
    if (!validate_traces_configs.empty()) {
      if (!validate_flags.configs.empty() || !validate_metrics_configs.empty()) {
        std::fprintf(stderr,
                     "Error: use only one of --config, --metrics-config, --traces-config\n");
        return 1;
      }
      return cmd::RunValidateTraces(validate_traces_configs, validate_flags.sets);
    }
    if (!validate_metrics_configs.empty()) {
      if (!validate_flags.configs.empty()) {
        std::fprintf(stderr, "Error: use either --config or --metrics-config\n");
        return 1;
      }
      return RunValidateMetrics(validate_metrics_configs, validate_flags.sets);
    }
    if (validate_flags.configs.empty()) {
      std::fprintf(stderr, "Error: --config, --metrics-config or --traces-config is required\n");
      return 1;
    }
    return RunValidate(validate_flags);
  }
  if (metrics_cmd->parsed()) {
    auto timeout = ParseGoDuration(metrics_shutdown_timeout);
    if (!timeout.ok()) {
      std::fprintf(stderr, "Error: --shutdown-timeout: %s\n",
                   std::string(timeout.status().message()).c_str());
      return 1;
    }
    return RunMetrics(metrics_configs, metrics_sets, *timeout);
  }
  if (traces_cmd->parsed()) {
    auto timeout = ParseGoDuration(traces_shutdown_timeout);
    if (!timeout.ok()) {
      std::fprintf(stderr, "Error: --shutdown-timeout: %s\n",
                   std::string(timeout.status().message()).c_str());
      return 1;
    }
    return cmd::RunTraces(traces_configs, traces_sets, *timeout);
  }
  if (demo_cmd->parsed()) return cmd::RunDemo(demo_flags);
  if (components_cmd->parsed()) {
    const collector::Factories factories = collector::BuiltinFactories();
    for (auto kind : {collector::Kind::kReceiver, collector::Kind::kProcessor,
                      collector::Kind::kExporter, collector::Kind::kExtension}) {
      std::printf("%s:\n", collector::KindSection(kind));
      for (const std::string& type : factories.Types(kind)) std::printf("  - %s\n", type.c_str());
    }
    return 0;
  }
  return 0;
}
