// Text renderings of OTLP data for the `debug` exporter, in the Collector's shapes:
// `normal` prints one line per resource, scope and item; `detailed` prints every field.
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "otlp/signal.h"

namespace sprout::collector::debugexporter {

std::string NormalText(const otlp::pb::trace_service::ExportTraceServiceRequest& request);
std::string NormalText(const otlp::pb::metrics_service::ExportMetricsServiceRequest& request);
std::string NormalText(const otlp::pb::logs_service::ExportLogsServiceRequest& request);

std::string DetailedText(const otlp::pb::trace_service::ExportTraceServiceRequest& request);
std::string DetailedText(const otlp::pb::metrics_service::ExportMetricsServiceRequest& request);
std::string DetailedText(const otlp::pb::logs_service::ExportLogsServiceRequest& request);

// Building blocks (exposed for tests).
// "Str(x)", "Int(5)", "Double(1.5)", "Bool(true)", "Bytes(base64)", "Map({...})",
// "Slice([...])", "Empty()".
std::string FormatValue(const otlp::pb::common::AnyValue& value);
// The value as the Collector's pcommon AsString: strings raw, doubles in the JSON number form
// (1e+21, 1e-7; NaN and infinities as "json: unsupported value: NaN"), maps and slices as JSON
// ("" when a NaN inside makes the encoding fail).
std::string ValueAsString(const otlp::pb::common::AnyValue& value);
// Go's time.Time.String() in UTC: "2023-09-07 16:57:12.045933 +0000 UTC".
std::string FormatTimestamp(uint64_t unix_nanos);

}  // namespace sprout::collector::debugexporter
