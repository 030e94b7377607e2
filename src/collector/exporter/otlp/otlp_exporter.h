// The `otlp` exporter (alias `otlp_grpc`): sends each batch as an OTLP/gRPC Export request,
// through the exporter helper's queue and retry loop (collector/exporter_helper.h).
//
// The request already held by the batch is serialized directly into gRPC's buffer; nothing is
// converted. Downstream errors are classified as the Collector does: Canceled,
// DeadlineExceeded, Aborted, OutOfRange, Unavailable and DataLoss are retried; ResourceExhausted
// only when the server sent RetryInfo (whose delay is honoured); everything else is permanent
// and the data is dropped with an error log. A partial_success in the response is logged as a
// warning.
#pragma once

#include <memory>

#include "collector/factory.h"

namespace sprout::collector::otlpexporter {

// `otlp` (the name in the seed's config) and `otlp_grpc` (the Collector's newer name).
std::unique_ptr<ExporterFactory> NewFactory(const char* type = "otlp");

}  // namespace sprout::collector::otlpexporter
