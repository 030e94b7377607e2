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
// Requests are counted in `sprout_metrics_http_requests_total{method, route, status_code}` when
// a registry is given. `store` and `registry` must outlive every server using the routes.
#pragma once

#include "absl/status/status.h"
#include "base/metrics.h"
#include "metrics/store/store.h"
#include "net/http_router.h"

namespace sprout::metrics {

absl::Status RegisterStoreRoutes(MetricsStore* store, MetricsRegistry* registry,
                                 net::Router* router);

}  // namespace sprout::metrics
