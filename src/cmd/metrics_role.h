// The metrics store as a role of a command: the MetricsStore on its configuration, the
// Prometheus/Mimir HTTP API over it and the store's own routes (remote write, OTLP, remote read,
// flush), with the logging of its start. `sprout metrics` runs one alone; `sprout all` runs one
// beside the trace store on a shared router and registry.
//
//   MetricsRole role(config, options);
//   role.Register(&router);     // before the HTTP server starts
//   role.Start();               // WAL replay (the API answers /ready 503 meanwhile)
//   role.SetReady(true);        // once the command has logged that it is ready
//   ...
//   role.SetReady(false); role.Close();
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "base/logging.h"
#include "base/metrics.h"
#include "metrics/api/metrics_api.h"
#include "metrics/config/metrics_config.h"
#include "metrics/store/store.h"
#include "net/http_router.h"
#include "otlp/prometheus.h"

namespace sprout::cmd {

struct MetricsRoleOptions {
  MetricsRegistry* registry = nullptr;  // required: the store's and the API's telemetry
  log::Logger logger;
  std::string version;  // buildinfo
  // false: /ready, /metrics and /config are the command's (several APIs on one router).
  bool serve_process_endpoints = true;
  // Mimir's OTLP path, /otlp/v1/metrics, named by the tenant's limits (MimirOtlpTranslation);
  // false: the command serves that path itself (`sprout all`, with the exporter's naming).
  bool mimir_otlp_route = true;
};

// The OTLP naming of Mimir's /otlp/v1/metrics for a tenant with limits `l`: unit and type
// suffixes only with otel_metric_suffixes_enabled (Mimir's default: off), the
// promote_otel_resource_attributes as labels, no otel_scope_* labels (Mimir's
// otel_promote_scope_metadata default), target_info and metric metadata kept.
otlp::PromTranslationSettings MimirOtlpTranslation(const metrics::TenantLimits& l);
// The OTLP naming of Prometheus 3's /api/v1/otlp/v1/metrics with its `otlp:` defaults
// (translation_strategy UnderscoreEscapingWithSuffixes: names and labels escaped to the classic
// charset, unit and type suffixes on; no promoted resource attributes; promote_scope_metadata
// off), target_info kept.
otlp::PromTranslationSettings PrometheusOtlpTranslation();

class MetricsRole {
 public:
  MetricsRole(const metrics::MetricsConfig& config, MetricsRoleOptions options);
  ~MetricsRole();

  // The API's and the store's routes. Errors: a route registered twice.
  absl::Status Register(net::Router* router);
  // Opens the tenants (WAL replay) and logs what start settled; the caller then logs its ready
  // line and calls SetReady(true) (so a client that sees /ready 200 finds the line logged).
  absl::Status Start();
  void SetReady(bool ready) { api_->SetReady(ready); }
  bool ready() const { return api_->ready(); }
  // Closes the store (its heads' WALs synced).
  void Close();

  metrics::MetricsStore& store() { return *store_; }
  const metrics::MetricsConfig& config() const { return config_; }

 private:
  const metrics::MetricsConfig config_;
  MetricsRoleOptions options_;
  std::unique_ptr<metrics::RuntimeConfigManager> runtime_config_;
  std::unique_ptr<metrics::MetricsStore> store_;
  std::unique_ptr<metrics::api::MetricsApi> api_;
};

}  // namespace sprout::cmd
