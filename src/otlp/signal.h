// The three OTLP signals and their export request types.
//
// SignalTraits<S> maps a signal to its request message and names, so that code handling all
// three signals (batches, consumers, exporters) is written once as a template.
#pragma once

#include <cstdint>
#include <string_view>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace sprout::otlp {

enum class Signal { kTraces, kMetrics, kLogs };

// "traces", "metrics", "logs" (the Collector's pipeline type names).
const char* SignalName(Signal signal);

namespace pb {
namespace common = ::opentelemetry::proto::common::v1;
namespace resource = ::opentelemetry::proto::resource::v1;
namespace trace = ::opentelemetry::proto::trace::v1;
namespace metrics = ::opentelemetry::proto::metrics::v1;
namespace logs = ::opentelemetry::proto::logs::v1;
namespace trace_service = ::opentelemetry::proto::collector::trace::v1;
namespace metrics_service = ::opentelemetry::proto::collector::metrics::v1;
namespace logs_service = ::opentelemetry::proto::collector::logs::v1;
}  // namespace pb

template <Signal S>
struct SignalTraits;

template <>
struct SignalTraits<Signal::kTraces> {
  using Request = pb::trace_service::ExportTraceServiceRequest;
  using Response = pb::trace_service::ExportTraceServiceResponse;
  static constexpr char kName[] = "traces";
  // Name of one item in the Collector's metric names and log fields.
  static constexpr char kItemName[] = "spans";
  static constexpr char kGrpcMethod[] =
      "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
};

template <>
struct SignalTraits<Signal::kMetrics> {
  using Request = pb::metrics_service::ExportMetricsServiceRequest;
  using Response = pb::metrics_service::ExportMetricsServiceResponse;
  static constexpr char kName[] = "metrics";
  static constexpr char kItemName[] = "metric_points";
  static constexpr char kGrpcMethod[] =
      "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
};

template <>
struct SignalTraits<Signal::kLogs> {
  using Request = pb::logs_service::ExportLogsServiceRequest;
  using Response = pb::logs_service::ExportLogsServiceResponse;
  static constexpr char kName[] = "logs";
  static constexpr char kItemName[] = "log_records";
  static constexpr char kGrpcMethod[] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
};

// Items as the Collector counts them: spans; data points (of every metric type); log records.
int64_t CountItems(const pb::trace_service::ExportTraceServiceRequest& request);
int64_t CountItems(const pb::metrics_service::ExportMetricsServiceRequest& request);
int64_t CountItems(const pb::logs_service::ExportLogsServiceRequest& request);

// Metrics also count whole metrics (the debug exporter prints both).
int64_t CountMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request);

// Sets the partial_success of a response (rejected count and message).
void SetPartialSuccess(pb::trace_service::ExportTraceServiceResponse* response, int64_t rejected,
                       std::string_view message);
void SetPartialSuccess(pb::metrics_service::ExportMetricsServiceResponse* response,
                       int64_t rejected, std::string_view message);
void SetPartialSuccess(pb::logs_service::ExportLogsServiceResponse* response, int64_t rejected,
                       std::string_view message);

}  // namespace sprout::otlp
