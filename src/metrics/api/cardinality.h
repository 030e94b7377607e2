// The cardinality endpoints of `sprout metrics` (issue 15 item 5), over Queryable's head-only
// calls (Cardinality, ActiveSeries, TsdbHeadStatus, TenantUserStats):
//   GET  [/prometheus]/api/v1/status/tsdb             Prometheus's TSDB status (headStats, the four
//                                                     top-`limit` lists; `limit` default 10)
//   GET|POST [/prometheus]/api/v1/cardinality/label_names   Mimir's (selector, limit 0..500
//                                                     default 20, count_method inmemory|active)
//   GET|POST [/prometheus]/api/v1/cardinality/label_values  Mimir's (label_names[] required, ...)
//   GET|POST [/prometheus]/api/v1/cardinality/active_series Mimir's (selector required)
//   GET  /api/v1/user_stats                           Mimir's tenant ingestion stats
// Prometheus's route answers with its envelope (bad_data); Mimir's routes answer their errors
// as Mimir does: 400 with the text as text/plain (Go's http.Error), and `cardinality analysis
// is disabled for the tenant: <id>` while limits.cardinality_analysis_enabled is false
// (Mimir's default).
#pragma once

#include <cstdint>
#include <functional>

#include "absl/time/time.h"
#include "metrics/api/queryable.h"
#include "net/http_router.h"

namespace sprout::metrics::api {

struct CardinalityApiOptions {
  bool enabled = false;  // limits.cardinality_analysis_enabled (Mimir's default false)
  // ingester.active_series_metrics_idle_timeout: a series is active while its newest sample is
  // at most this old (Mimir's default 20m).
  absl::Duration active_idle_timeout = absl::Minutes(20);
  std::function<int64_t()> now_ms;  // wall clock (tests set it)
};

net::HttpHandler TsdbStatusHandler(Queryable* q);
net::HttpHandler LabelNamesCardinalityHandler(Queryable* q, CardinalityApiOptions options);
net::HttpHandler LabelValuesCardinalityHandler(Queryable* q, CardinalityApiOptions options);
net::HttpHandler ActiveSeriesHandler(Queryable* q, CardinalityApiOptions options);
net::HttpHandler UserStatsHandler(Queryable* q);

}  // namespace sprout::metrics::api
