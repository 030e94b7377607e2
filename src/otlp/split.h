// Moving items between export requests, for processors that cut batches to a size (batch's
// send_batch_max_size, and later the exporters' sizers).
//
// MoveFirstItems(from, n, to) moves the first `n` items (spans, data points, log records) of
// `from`, in order, into `to`: whole resources and scopes when they fit, otherwise a copy of the
// resource (or scope, or metric without its points) holding just the items that fit, as the
// Collector's split does. Containers left empty in `from` are removed. Metric splits copy
// name, description, unit, metadata, type, temporality and monotonicity.
//
// Not thread-safe on the same messages; no shared state.
#pragma once

#include <cstdint>

#include "otlp/signal.h"

namespace sprout::otlp {

void MoveFirstItems(pb::trace_service::ExportTraceServiceRequest* from, int64_t n,
                    pb::trace_service::ExportTraceServiceRequest* to);
void MoveFirstItems(pb::metrics_service::ExportMetricsServiceRequest* from, int64_t n,
                    pb::metrics_service::ExportMetricsServiceRequest* to);
void MoveFirstItems(pb::logs_service::ExportLogsServiceRequest* from, int64_t n,
                    pb::logs_service::ExportLogsServiceRequest* to);

// Data points of one metric (0 when it has no data).
int64_t MetricPointCount(const pb::metrics::Metric& metric);

}  // namespace sprout::otlp
