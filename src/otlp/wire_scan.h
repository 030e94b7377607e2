// Validating scans of OTLP export requests in protobuf wire format.
//
// A scan walks the encoded request without building it: it checks everything the protobuf
// parser would (tags, wire types, lengths, nested messages up to the parser's recursion limit of
// 100, UTF-8 of string fields), checks trace and span ID lengths as the Collector does (16 and
// 8 bytes, or empty), and counts the items (spans, data points, log records). A request that
// scans cleanly is guaranteed to parse, so a receiver can acknowledge it and keep the bytes,
// decoding only if and when a component needs the message (see Batch).
//
// Scanning is several times cheaper than parsing: nothing is allocated or copied.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "otlp/signal.h"

namespace sprout::otlp {

// Items in the request, or InvalidArgument ("proto: cannot parse invalid wire-format data",
// "invalid length for ID", "string field contains invalid UTF-8").
absl::StatusOr<int64_t> ScanRequest(Signal signal, std::string_view wire);

// The same ID-length rule for requests that were decoded another way (OTLP/JSON).
absl::Status ValidateIds(const pb::trace_service::ExportTraceServiceRequest& request);
absl::Status ValidateIds(const pb::metrics_service::ExportMetricsServiceRequest& request);
absl::Status ValidateIds(const pb::logs_service::ExportLogsServiceRequest& request);

}  // namespace sprout::otlp
