// The store's own HTTP routes, beside MetricsApi's (which serves the metadata read API over the
// store as a Queryable):
//
//   POST /api/v1/push                 remote write 1.0 (Mimir's path): 200 with an empty body
//   POST /api/v1/write                remote write 1.0 (Prometheus's path): 204, as Prometheus
//   POST [/prometheus]/api/v1/read    remote read, SAMPLES (snappy protobuf in and out)
//   GET|POST /ingester/flush          cuts the heads into blocks (`tenant=`, `wait=true`): 204;
//                                     no tenant header (MetricsStore::Flush)
//
// Errors are text bodies as Go's http.Error writes them (the message and a newline), with the
// status of MetricsStore::Push / RemoteRead. A body over distributor.max_recv_msg_size is not
// read: 400 with Mimir's err-mimir-distributor-max-write-message-size text (the size from
// Content-Length). Handlers run on the server's worker pool, never on the I/O thread. Tenants:
// the router's tenant check (X-Scope-OrgID with multi-tenancy; `401 no org id` without it).
//
// OTLP/HTTP metrics (RegisterOtlpRoute, otlp_http.cc), a route of its own so that a command can
// serve several paths with their own translation settings (issue 15: Mimir's /otlp/v1/metrics,
// Prometheus's /api/v1/otlp/v1/metrics):
//
//   POST /otlp/v1/metrics             an ExportMetricsServiceRequest, protobuf or OTLP/JSON,
//                                     Content-Encoding gzip, zstd (every codec of
//                                     net/compression.h) or none, read by otlp/http_export.h as
//                                     the collector's otlp receiver reads it, then
//                                     MetricsStore::IngestOtlp for the request's tenant
//
// Answers (OTLP/HTTP: bodies in the request's encoding, JSON or protobuf):
//  - 200 with an empty ExportMetricsServiceResponse: everything stored (an empty request too);
//  - 200 with `partial_success` {rejected_data_points, error_message} when the store refused
//    part of it for good (the translation's errors, e.g. delta temporality; series the
//    validation or the head refused, e.g. out of order): the rest is stored, the client must
//    not retry. rejected_data_points: the points the translation dropped plus the Prometheus
//    samples refused (a classic histogram point is several samples), at most the request's
//    points, and all of them when nothing was stored;
//  - 429 (RESOURCE_EXHAUSTED: the tenant's ingestion rate limit) and 503 (UNAVAILABLE: starting,
//    a WAL failure or a reopened head — the store's 500 and 503 alike, since OTLP clients retry
//    only 429, 502, 503 and 504): nothing stored, a google.rpc.Status with the store's text;
//  - 400 google.rpc.Status for an undecodable body or Content-Encoding, and for a body over
//    distributor.max_recv_msg_size as sent or once decompressed (Mimir's
//    err-mimir-distributor-max-write-message-size text, as the remote-write route);
//  - 415 text for a Content-Type other than application/json or application/x-protobuf.
//
// Requests are counted in `sprout_metrics_http_requests_total{method, route, status_code}` when
// a registry is given. `store` and `registry` must outlive every server using the routes.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "base/metrics.h"
#include "metrics/store/store.h"
#include "net/http_router.h"
#include "otlp/prometheus.h"

namespace sprout::metrics {

absl::Status RegisterStoreRoutes(MetricsStore* store, MetricsRegistry* registry,
                                 net::Router* router);

struct OtlpRouteOptions {
  std::string path = "/otlp/v1/metrics";
  // The OTLP → Prometheus naming (the registrar's: `sprout all` keeps the remote-write
  // exporter's defaults, unit and type suffixes on).
  otlp::PromTranslationSettings translation;
  // When set, the naming of each request's tenant (read per request, so that per-tenant limits
  // reloaded from runtime_config apply at once); `translation` is then unused.
  std::function<otlp::PromTranslationSettings(std::string_view tenant)> translation_for_tenant;
};

absl::Status RegisterOtlpRoute(MetricsStore* store, MetricsRegistry* registry, net::Router* router,
                               const OtlpRouteOptions& options = {});

}  // namespace sprout::metrics
