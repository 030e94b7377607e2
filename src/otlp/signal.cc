#include "otlp/signal.h"

#include <string>

namespace sprout::otlp {

const char* SignalName(Signal signal) {
  switch (signal) {
    case Signal::kTraces:
      return "traces";
    case Signal::kMetrics:
      return "metrics";
    case Signal::kLogs:
      return "logs";
  }
  return "unknown";
}

int64_t CountItems(const pb::trace_service::ExportTraceServiceRequest& request) {
  int64_t n = 0;
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) n += ss.spans_size();
  }
  return n;
}

int64_t CountItems(const pb::metrics_service::ExportMetricsServiceRequest& request) {
  int64_t n = 0;
  for (const auto& rm : request.resource_metrics()) {
    for (const auto& sm : rm.scope_metrics()) {
      for (const auto& m : sm.metrics()) {
        switch (m.data_case()) {
          case pb::metrics::Metric::kGauge:
            n += m.gauge().data_points_size();
            break;
          case pb::metrics::Metric::kSum:
            n += m.sum().data_points_size();
            break;
          case pb::metrics::Metric::kHistogram:
            n += m.histogram().data_points_size();
            break;
          case pb::metrics::Metric::kExponentialHistogram:
            n += m.exponential_histogram().data_points_size();
            break;
          case pb::metrics::Metric::kSummary:
            n += m.summary().data_points_size();
            break;
          case pb::metrics::Metric::DATA_NOT_SET:
            break;
        }
      }
    }
  }
  return n;
}

int64_t CountItems(const pb::logs_service::ExportLogsServiceRequest& request) {
  int64_t n = 0;
  for (const auto& rl : request.resource_logs()) {
    for (const auto& sl : rl.scope_logs()) n += sl.log_records_size();
  }
  return n;
}

int64_t CountMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request) {
  int64_t n = 0;
  for (const auto& rm : request.resource_metrics()) {
    for (const auto& sm : rm.scope_metrics()) n += sm.metrics_size();
  }
  return n;
}

void SetPartialSuccess(pb::trace_service::ExportTraceServiceResponse* response, int64_t rejected,
                       std::string_view message) {
  response->mutable_partial_success()->set_rejected_spans(rejected);
  response->mutable_partial_success()->set_error_message(std::string(message));
}
void SetPartialSuccess(pb::metrics_service::ExportMetricsServiceResponse* response,
                       int64_t rejected, std::string_view message) {
  response->mutable_partial_success()->set_rejected_data_points(rejected);
  response->mutable_partial_success()->set_error_message(std::string(message));
}
void SetPartialSuccess(pb::logs_service::ExportLogsServiceResponse* response, int64_t rejected,
                       std::string_view message) {
  response->mutable_partial_success()->set_rejected_log_records(rejected);
  response->mutable_partial_success()->set_error_message(std::string(message));
}

}  // namespace sprout::otlp
