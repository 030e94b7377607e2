// sprout: one binary for the collector and (later) the trace, metrics and log stores.
//
//   sprout collector --config otelcol.yaml [--config more.yaml] [--set key::path=value]
//   sprout validate  --config otelcol.yaml
//   sprout components
//   sprout --version

#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "base/go_duration.h"
#include "base/logging.h"
#include "base/signals.h"
#include "collector/components.h"
#include "collector/featuregate.h"
#include "collector/service.h"
#include "collector/service_config.h"
#include "config/config.h"

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
  CLI::App* validate_cmd = app.add_subcommand("validate", "Check a collector config and exit");
  AddConfigFlags(validate_cmd, &validate_flags);

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
  if (validate_cmd->parsed()) return RunValidate(validate_flags);
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
