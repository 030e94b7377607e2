// The HTTP API of `sprout metrics`: the routes a Prometheus/Mimir client expects, registered on
// a net::Router. The Prometheus API is served both at `/api/v1/...` (Prometheus) and at
// `/prometheus/api/v1/...` (Mimir's prometheus_http_prefix).
//
// Always there:
//   GET /ready                        200 "ready" once SetReady(true), 503 "not ready" before
//   GET /metrics                      the process's own telemetry (Prometheus text format)
//   GET /config                       the effective configuration as YAML (Mimir's /config)
//   GET [/prometheus]/api/v1/status/buildinfo   Prometheus's fields plus Mimir's `application`
//                                     ("Grafana Mimir", so Grafana treats sprout as Mimir) and
//                                     `features` (ruler_config_api "false" until the ruler
//                                     exists: Grafana trusts it before offering rule editing)
//   GET [/prometheus]/api/v1/rules    {"groups":[]} (no ruler yet)
//   GET [/prometheus]/api/v1/alerts   {"alerts":[]}
//   GET|POST [/prometheus]/api/v1/format_query   the query prettified as Prometheus 2.42 does
//                                     (metrics/promql), or 400 bad_data `invalid parameter
//                                     "query": <line>:<col>: parse error: ...`
// With a Queryable (the TSDB):
//   GET|POST [/prometheus]/api/v1/labels, /api/v1/series; GET /api/v1/label/{name}/values,
//   GET /api/v1/metadata — parameters and errors as Prometheus (params.h), JSON envelope
//   (response.h);
//   GET|POST [/prometheus]/api/v1/query, /api/v1/query_range — PromQL through promql::Engine
//   over Queryable::PromQueryable, as Prometheus 2.42 answers them (query.h): limits, timeout,
//   cancellation when the client goes away.
//   GET [/prometheus]/api/v1/status/tsdb, GET|POST [/prometheus]/api/v1/cardinality/{label_names,
//   label_values,active_series}, GET /api/v1/user_stats — the cardinality endpoints over the
//   tenant's head (cardinality.h).
//
// Tenancy: the routes that read a tenant's data (rules, alerts, format_query, the Queryable ones)
// need `X-Scope-OrgID` when multi-tenancy is on (Mimir's `401 no org id`) and use the default
// tenant
// ("anonymous") when it is off, through the router's tenant check. /ready, /metrics, /config
// and buildinfo need no tenant.
//
// Requests are counted in `sprout_metrics_http_requests_total{method, route, status_code}`;
// `sprout_metrics_queries_running` is the number of PromQL queries in the engine
// (promql::Engine::running()).
//
// Ownership: MetricsApi keeps pointers to the registry and the Queryable, which must outlive
// every server using its routes. Thread-safety: handlers run concurrently; SetReady may be
// called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/metrics.h"
#include "metrics/api/cardinality.h"
#include "metrics/api/query.h"
#include "metrics/api/queryable.h"
#include "metrics/promql/engine.h"
#include "net/http_router.h"

namespace sprout::metrics::api {

struct BuildInfo {
  std::string version;
  std::string revision;
  std::string branch;
  std::string build_user;
  std::string build_date;
  std::string go_version;  // Prometheus's field; sprout reports its compiler here
};

struct MetricsApiOptions {
  net::TenantConfig tenants;     // multi-tenancy and the default tenant
  std::string effective_config;  // YAML served at /config
  BuildInfo build;
  MetricsRegistry* registry = nullptr;  // /metrics; required
  Queryable* queryable = nullptr;       // the read endpoints are registered only when set
  QueryApiOptions query;                // the PromQL engine and the per-query limits
  // The cardinality endpoints (cardinality.h): limits.cardinality_analysis_enabled and
  // ingester.active_series_metrics_idle_timeout; its clock is now_ms.
  CardinalityApiOptions cardinality;
  std::function<int64_t()> now_ms;  // wall clock in Unix ms (the default `time`); tests set it
  // `/ready`, `/metrics` and `/config` are registered (false: a command serving several APIs on
  // one router registers its own, for the whole process).
  bool serve_process_endpoints = true;
};

class MetricsApi {
 public:
  explicit MetricsApi(MetricsApiOptions options);
  ~MetricsApi();

  // Adds every route (and the tenant configuration) to `router`. Errors: a route registered
  // twice on the same router (InvalidArgument).
  absl::Status Register(net::Router* router);

  void SetReady(bool ready) { ready_->store(ready, std::memory_order_release); }
  bool ready() const { return ready_->load(std::memory_order_acquire); }

  // The buildinfo JSON (the whole answer, envelope included).
  std::string BuildInfoJson() const;

  // The engine the query routes run on (made from options.query.engine).
  promql::Engine& engine() { return *engine_; }
  // Queries running now whose client connection is watched (tests).
  size_t watched_queries() const { return watcher_->watched(); }

 private:
  MetricsApiOptions options_;
  std::shared_ptr<promql::Engine> engine_;
  std::shared_ptr<CancelWatcher> watcher_ = std::make_shared<CancelWatcher>();
  std::vector<int> callbacks_;  // registry gauge callbacks, removed by the destructor
  std::shared_ptr<std::atomic<bool>> ready_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace sprout::metrics::api
