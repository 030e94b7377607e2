// The configuration of `sprout all` (sprout.yaml): one file, one section per role, every key
// optional.
//
//   data_dir: ./data                 # --data-dir wins; every store path defaults below it
//   http: {listen_address: localhost, port: 3200}   # the one HTTP API port of the process
//   multitenancy_enabled: false      # one switch for every role
//   self_monitoring: {enabled: true, interval: 15s}  # /metrics stored in the metrics store
//   collector: {...}                 # an otelcol config: the pipeline in front of the stores
//   traces: {...}                    # Tempo's keys (sprout traces' config)
//   metrics: {...}                   # Mimir's keys (sprout metrics' config)
//
// The file is loaded with src/config (files merged in order, `--set`, `${env:...}`), split into
// its sections, and each section is handed to its role's own decoder with the `sprout all`
// defaults applied before the user's keys (the seed's retention, the generator's processors,
// exemplars kept, every data path under data_dir). One process has one set of listeners, so
// the role sections' own listener and tenancy keys are refused with a message naming the
// top-level setting that replaces them. Every key, default and refusal: README.md.
//
// Thread-safety: pure functions; an AllConfig is a move-only value.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cmd/all/store_ids.h"
#include "collector/factory.h"
#include "collector/service_config.h"
#include "config/config.h"
#include "metrics/config/metrics_config.h"
#include "traces/config/traces_config.h"
#include "yaml-cpp/node/node.h"

namespace sprout::cmd {

// The tenant of every role when multi-tenancy is off: Tempo's name, so the traces, the
// generator's series and Grafana's header-less requests to either API meet in one tenant.
inline constexpr std::string_view kAllTenant = "single-tenant";

struct AllConfig {
  std::string data_dir = "./data";
  // http: the one HTTP port (Tempo API, Prometheus API, remote write, /ready, /metrics).
  std::string http_listen_address = "localhost";
  int http_port = 3200;
  bool multitenancy_enabled = false;
  // The tenant of every request when multitenancy_enabled is false.
  std::string tenant = std::string(kAllTenant);
  // self_monitoring: what /metrics shows, stored in the metrics store's `tenant` (with
  // multi-tenancy too) every interval, as a Prometheus scrape of job "sprout" would.
  bool self_monitoring_enabled = true;
  absl::Duration self_monitoring_interval = absl::Seconds(15);

  // The collector section, decoded against the factories of AllConfigOptions::factories (kept
  // alive here: the entries point at them). collector_yaml is the section that was decoded
  // (the built-in default when no file had one), for EffectiveYaml().
  bool collector_is_default = true;
  YAML::Node collector_yaml;
  std::shared_ptr<const collector::Factories> factories;
  collector::ServiceConfig collector;

  traces::TracesConfig traces;
  metrics::MetricsConfig metrics;

  // `host:port` of the HTTP API.
  std::string HttpEndpoint() const;
  // The whole effective configuration as YAML: the top-level settings, the collector section
  // (values of `headers` maps and of keys naming a password, secret, token or credentials
  // masked as "[REDACTED]") and the two stores' effective configs without the keys sprout all
  // refuses.
  std::string EffectiveYaml() const;
};

struct AllConfigOptions {
  std::vector<std::string> uris;           // --config values, in order (none: defaults only)
  std::vector<std::string> set_overrides;  // --set: `a.b.c=v` or `a::b::c=v`
  std::string data_dir_flag;               // --data-dir; "" = data_dir of the file, else ./data
  config::EnvLookup env = config::ProcessEnv();
  // The component types the collector section may use. Null: the built-in ones plus a
  // config-only `sprout` exporter type (for validation); `sprout all` passes the set with its
  // real store exporters, whose configs must be empty structs too.
  std::shared_ptr<const collector::Factories> factories;
};

struct AllConfigResult {
  AllConfig config;
  // The roles' warnings (Tempo/Mimir keys not implemented yet, prefixed with the section),
  // unset environment variables, and pipelines that never reach a store.
  std::vector<std::string> warnings;
};

// Loads and validates. Errors (InvalidArgument) list every problem, one per line, each naming
// its section: "configuration has invalid keys: x", "traces: 'ingester' has invalid keys: y",
// "'traces::server' is not read by sprout all: ...", "collector: service::pipelines::traces:
// references processor \"batch\" which is not configured".
absl::StatusOr<AllConfigResult> LoadAllConfig(const AllConfigOptions& options);

// BuiltinFactories() plus the config-only `sprout` exporter type (no constructors).
std::shared_ptr<const collector::Factories> ValidationFactories();

// What this build cannot run yet (both stores' CheckRunnable: the s3 backends).
absl::Status CheckRunnable(const AllConfig& config);

// `sprout validate --all-config F... [--set ...] [--data-dir D]`: warnings ("Warning: ...") and
// errors ("Error: invalid configuration: ...") on stderr; 0 when valid, else 1.
int RunValidateAll(const AllConfigOptions& options);

}  // namespace sprout::cmd
