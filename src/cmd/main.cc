// sprout: one binary for the collector and (later) the trace, metrics and log stores.
//
//   sprout collector --config otelcol.yaml [--config more.yaml] [--set key::path=value]
//   sprout validate  --config otelcol.yaml | --metrics-config mimir.yaml | --traces-config t.yaml
//                    | --all-config sprout.yaml [--data-dir DIR]
//   sprout metrics   [--config mimir.yaml] [--set key.path=value]
//   sprout traces    [--config tempo.yaml] [--set key.path=value]
//   sprout all       [--config sprout.yaml] [--set key.path=value] [--data-dir DIR]
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
#include "cmd/all/all_config.h"
#include "cmd/all/demo_cmd.h"
#include "cmd/all_cmd.h"
#include "cmd/metrics_role.h"
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

  cmd::MetricsRoleOptions role_options;
  role_options.registry = &registry;
  role_options.logger = logger;
  role_options.version = SPROUT_VERSION;
  cmd::MetricsRole role(config, role_options);
  net::Router router;
  if (absl::Status s = role.Register(&router); !s.ok()) {
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
  if (absl::Status s = role.Start(); !s.ok()) {
    std::fprintf(stderr, "Error: %s\n", std::string(s.message()).c_str());
    (*server)->Shutdown(absl::ZeroDuration());
    return 1;
  }
  const std::string host =
      config.http_listen_address.empty() ? "0.0.0.0" : config.http_listen_address;
  logger.Info("sprout metrics is ready",
              {{"address", host + ":" + std::to_string((*server)->port())},
               {"multitenancy_enabled", config.multitenancy_enabled ? "true" : "false"},
               {"tsdb_dir", config.tsdb_dir},
               {"replay", absl::FormatDuration(absl::Now() - replay_start)}});
  role.SetReady(true);  // after the ready line: whoever sees /ready 200 finds it logged
  const int sig = WaitForTerminationSignal();
  logger.Info("Received signal from OS", {{"signal", sig == SIGTERM ? "terminated" : "interrupt"}});
  role.SetReady(false);
  (*server)->Shutdown(shutdown_timeout);
  role.Close();
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
  std::vector<std::string> validate_all_configs;
  std::string validate_data_dir;
  validate_cmd->add_option("--all-config", validate_all_configs,
                           "A `sprout all` configuration file (sprout.yaml) to check instead.");
  validate_cmd->add_option("--data-dir", validate_data_dir,
                           "With --all-config: the data directory `sprout all` would use.");

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

  std::vector<std::string> all_configs;
  std::vector<std::string> all_sets;
  std::string all_data_dir;
  std::string all_shutdown_timeout = "30s";
  bool all_print_config = false;
  CLI::App* all_cmd = app.add_subcommand(
      "all",
      "Run the whole stack in one process: collector, trace store with its "
      "metrics-generator, metrics store, one HTTP port (see src/cmd/all/README.md)");
  all_cmd->add_option("--config", all_configs,
                      "A sprout.yaml (sections collector:, traces:, metrics:). Repeat to merge. "
                      "Without it: the seed's stack on ./data.");
  all_cmd->add_option("--set", all_sets, "Override a value after merging: a.b.c=v or a::b::c=v.");
  all_cmd->add_option("--data-dir", all_data_dir, "The data directory (default ./data).");
  all_cmd->add_flag("--print-config", all_print_config,
                    "Print the effective configuration (every default filled in) and exit.");
  all_cmd
      ->add_option("--shutdown-timeout", all_shutdown_timeout,
                   "How long a graceful shutdown may take (Go duration).")
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
    if (!validate_all_configs.empty()) {
      if (!validate_flags.configs.empty() || !validate_metrics_configs.empty() ||
          !validate_traces_configs.empty()) {
        std::fprintf(stderr,
                     "Error: use only one of --config, --metrics-config, --traces-config, "
                     "--all-config\n");
        return 1;
      }
      cmd::AllConfigOptions options;
      options.uris = validate_all_configs;
      options.set_overrides = validate_flags.sets;
      options.data_dir_flag = validate_data_dir;
      return cmd::RunValidateAll(options);
    }
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
      std::fprintf(stderr,
                   "Error: --config, --metrics-config, --traces-config or --all-config is "
                   "required\n");
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
  if (all_cmd->parsed()) {
    auto timeout = ParseGoDuration(all_shutdown_timeout);
    if (!timeout.ok()) {
      std::fprintf(stderr, "Error: --shutdown-timeout: %s\n",
                   std::string(timeout.status().message()).c_str());
      return 1;
    }
    cmd::AllConfigOptions options;
    options.uris = all_configs;
    options.set_overrides = all_sets;
    options.data_dir_flag = all_data_dir;
    if (all_print_config) return cmd::PrintAllConfig(options);
    return cmd::RunAll(options, *timeout);
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
