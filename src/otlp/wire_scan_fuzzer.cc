// Fuzzes the OTLP protobuf decoding path: ScanRequest must accept exactly what the protobuf
// parser accepts (apart from the Collector's ID-length rule, which only the scan applies), and
// count the same items. A scan that accepts bytes the parser rejects would let a receiver
// acknowledge data it can later not decode.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "otlp/signal.h"
#include "otlp/wire_scan.h"

namespace {

using namespace sprout::otlp;

template <typename Request>
void Check(Signal signal, const std::string& wire) {
  Request parsed;
  const bool parser_ok = parsed.ParseFromString(wire);
  auto scanned = ScanRequest(signal, wire);
  if (scanned.ok()) {
    if (!parser_ok) std::abort();                      // scan too lenient
    if (*scanned != CountItems(parsed)) std::abort();  // counts differ
    if (!ValidateIds(parsed).ok()) std::abort();
  } else if (parser_ok && ValidateIds(parsed).ok() &&
             scanned.status().message() != "invalid length for ID") {
    // (The scan checks every occurrence of an ID field, like the Collector; the parser keeps
    // only the last one, so a bad ID followed by a good one is rejected by the scan alone.)
    std::abort();  // scan too strict
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string wire(reinterpret_cast<const char*>(data), size);
  Check<pb::trace_service::ExportTraceServiceRequest>(Signal::kTraces, wire);
  Check<pb::metrics_service::ExportMetricsServiceRequest>(Signal::kMetrics, wire);
  Check<pb::logs_service::ExportLogsServiceRequest>(Signal::kLogs, wire);
  return 0;
}
