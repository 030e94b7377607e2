// Fuzzes the OTLP/JSON codec: any input that parses must survive ToJson -> ParseJson unchanged,
// and its JSON text must be a fixed point (writing the re-parsed message gives the same text).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/status.pb.h"
#include "otlp/json.h"
#include "otlp/signal.h"

namespace {

template <typename M>
void RoundTrip(std::string_view input) {
  M first;
  if (!sprout::otlp::ParseJson(input, &first).ok()) return;
  const std::string json = sprout::otlp::ToJson(first);
  M second;
  const absl::Status status = sprout::otlp::ParseJson(json, &second);
  if (!status.ok()) {
    std::fprintf(stderr, "re-parse failed: %s\njson: %s\n", std::string(status.message()).c_str(),
                 json.c_str());
    std::abort();
  }
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (!differencer.Compare(first, second)) {
    std::fprintf(stderr, "round trip changed the message:\n%s\njson: %s\n", report.c_str(),
                 json.c_str());
    std::abort();
  }
  const std::string again = sprout::otlp::ToJson(second);
  if (again != json) {
    std::fprintf(stderr, "output is not stable:\n%s\n%s\n", json.c_str(), again.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  RoundTrip<sprout::otlp::pb::trace_service::ExportTraceServiceRequest>(input);
  RoundTrip<sprout::otlp::pb::metrics_service::ExportMetricsServiceRequest>(input);
  RoundTrip<sprout::otlp::pb::logs_service::ExportLogsServiceRequest>(input);
  // Not an export request, but the only message with Any and Duration in it.
  RoundTrip<google::rpc::Status>(input);
  return 0;
}
