#include "cmd/metrics_role.h"

#include <algorithm>
#include <string>
#include <utility>

#include "metrics/config/runtime_config.h"
#include "metrics/store/http.h"
#include "net/http_message.h"

namespace sprout::cmd {

otlp::PromTranslationSettings MimirOtlpTranslation(const metrics::TenantLimits& l) {
  otlp::PromTranslationSettings t;
  t.add_metric_suffixes = l.otel_metric_suffixes_enabled;
  t.promote_resource_attributes = l.PromotedOtelResourceAttributes();
  t.scope_labels = false;
  t.send_metadata = true;
  return t;
}

otlp::PromTranslationSettings PrometheusOtlpTranslation() {
  otlp::PromTranslationSettings t;
  t.add_metric_suffixes = true;
  t.scope_labels = false;
  return t;
}

MetricsRole::MetricsRole(const metrics::MetricsConfig& config, MetricsRoleOptions options)
    : config_(config), options_(std::move(options)) {
  const log::Logger logger = options_.logger;
  metrics::RuntimeConfigOptions runtime_options;
  runtime_options.file = config_.runtime_config_file;
  runtime_options.period = config_.runtime_config_period;
  runtime_options.defaults = config_.DefaultLimits();
  runtime_options.registry = options_.registry;
  runtime_options.on_error = [logger](const absl::Status& error) {
    logger.Error("failed to reload the runtime configuration; the previous overrides stay",
                 {{"err", std::string(error.message())}});
  };
  runtime_options.on_reload =
      [logger, file = config_.runtime_config_file](const std::vector<std::string>& warnings) {
        logger.Info("runtime configuration loaded", {{"file", file}});
        for (const std::string& w : warnings) logger.Warn(w, {{"file", file}});
      };
  runtime_config_ = std::make_unique<metrics::RuntimeConfigManager>(std::move(runtime_options));
  metrics::MetricsStoreOptions store_options;
  store_options.config = config_;
  store_options.registry = options_.registry;
  store_options.runtime_config = runtime_config_.get();
  store_options.on_wal_damage = [logger](std::string_view tenant,
                                         const storage::LogDamage& damage) {
    logger.Warn("WAL damage repaired or skipped", {{"tenant", std::string(tenant)},
                                                   {"file", damage.file},
                                                   {"offset", std::to_string(damage.offset)},
                                                   {"reason", damage.reason}});
  };
  store_options.on_replay = [logger](std::string_view tenant,
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
  store_ = std::make_unique<metrics::MetricsStore>(store_options);

  metrics::api::MetricsApiOptions api_options;
  api_options.tenants = {config_.multitenancy_enabled, config_.DefaultTenant()};
  api_options.effective_config = config_.EffectiveYaml();
  api_options.build.version = options_.version;
  api_options.build.branch = "main";
  api_options.build.go_version = std::string("c++ ") + __VERSION__;
  api_options.registry = options_.registry;
  api_options.queryable = store_.get();
  api_options.query.engine.timeout = config_.querier_timeout;
  api_options.query.engine.max_concurrent = config_.querier_max_concurrent;
  api_options.query.engine.max_samples = config_.querier_max_samples;
  api_options.query.engine.lookback_delta_ms =
      absl::ToInt64Milliseconds(config_.querier_lookback_delta);
  api_options.query.max_fetched_series_per_query =
      static_cast<uint64_t>(config_.max_fetched_series_per_query);
  api_options.query.max_fetched_chunks_per_query =
      static_cast<uint64_t>(config_.max_fetched_chunks_per_query);
  api_options.query.max_query_lookback = config_.max_query_lookback;
  api_options.cardinality.enabled = config_.cardinality_analysis_enabled;
  api_options.query.for_tenant = [rc = runtime_config_.get()](std::string_view tenant,
                                                              metrics::api::QueryApiOptions* q) {
    const metrics::TenantLimits l = rc->LimitsFor(tenant);
    q->max_fetched_series_per_query =
        static_cast<uint64_t>(std::max<int64_t>(0, l.max_fetched_series_per_query));
    q->max_fetched_chunks_per_query =
        static_cast<uint64_t>(std::max<int64_t>(0, l.max_fetched_chunks_per_query));
    q->max_query_lookback = l.max_query_lookback;
  };
  api_options.serve_process_endpoints = options_.serve_process_endpoints;
  api_ = std::make_unique<metrics::api::MetricsApi>(api_options);
}

MetricsRole::~MetricsRole() = default;

absl::Status MetricsRole::Register(net::Router* router) {
  if (absl::Status s = api_->Register(router); !s.ok()) return s;
  // Mimir's /runtime_config: the overrides in force (each tenant's limits), or with mode=diff
  // only the values that differ from the `limits` block.
  if (absl::Status s = router->Handle(
          "GET", "/runtime_config",
          [rc = runtime_config_.get()](net::HttpRequest& request, net::HttpResponse& response) {
            response.SetHeader("Content-Type", "text/plain; charset=utf-8");
            if (rc->options().file.empty()) {
              response.body = "runtime config file doesn't exist";
              return;
            }
            absl::StatusOr<net::QueryParams> q = net::ParseQuery(request.query);
            const bool diff = q.ok() && q->Get("mode") == "diff";
            response.body = metrics::RuntimeConfigYaml(*rc->current(), rc->defaults(), diff);
          });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = metrics::RegisterStoreRoutes(store_.get(), options_.registry, router);
      !s.ok()) {
    return s;
  }
  if (options_.mimir_otlp_route) {
    metrics::OtlpRouteOptions mimir;
    mimir.path = "/otlp/v1/metrics";
    mimir.translation_for_tenant = [rc = runtime_config_.get()](std::string_view tenant) {
      return MimirOtlpTranslation(rc->LimitsFor(tenant));
    };
    if (absl::Status s = metrics::RegisterOtlpRoute(store_.get(), options_.registry, router, mimir);
        !s.ok()) {
      return s;
    }
  }
  metrics::OtlpRouteOptions prometheus;
  prometheus.path = "/api/v1/otlp/v1/metrics";
  prometheus.translation = PrometheusOtlpTranslation();
  return metrics::RegisterOtlpRoute(store_.get(), options_.registry, router, prometheus);
}

absl::Status MetricsRole::Start() {
  // As Mimir: a runtime configuration that cannot be loaded fails the start.
  if (absl::Status s = runtime_config_->Start(); !s.ok()) return s;
  if (absl::Status s = store_->Start(); !s.ok()) return s;
  for (const std::string& dir : store_->skipped_dirs()) {
    options_.logger.Warn("skipping a directory of the TSDB directory that is not a valid tenant ID",
                         {{"dir", dir}});
  }
  for (const std::string& note : store_->start_notes()) {
    options_.logger.Warn("an interrupted block cut was settled at start", {{"detail", note}});
  }
  return absl::OkStatus();
}

void MetricsRole::Close() {
  api_->SetReady(false);
  store_->Close();
  runtime_config_->Stop();
}

}  // namespace sprout::cmd
