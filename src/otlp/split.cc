#include "otlp/split.h"

#include <algorithm>
#include <type_traits>

namespace sprout::otlp {
namespace {

// Moves the first `n` elements of `from` to the end of `to`. Elements are copied (the two
// fields may live on different arenas), then removed from `from` in one pass.
template <typename T>
void MoveFront(google::protobuf::RepeatedPtrField<T>* from, int n,
               google::protobuf::RepeatedPtrField<T>* to) {
  if (n <= 0) return;
  to->Reserve(to->size() + n);
  for (int i = 0; i < n; ++i) *to->Add() = std::move(*from->Mutable(i));
  from->DeleteSubrange(0, n);
}

int64_t ScopeItems(const pb::trace::ScopeSpans& s) { return s.spans_size(); }
int64_t ScopeItems(const pb::logs::ScopeLogs& s) { return s.log_records_size(); }
int64_t ScopeItems(const pb::metrics::ScopeMetrics& s) {
  int64_t n = 0;
  for (const auto& m : s.metrics()) n += MetricPointCount(m);
  return n;
}

// Moves up to `n` points of `from` into the new metric `to` (metadata copied); returns how many.
template <typename Data>
int64_t MovePoints(Data* from, int64_t n, Data* to) {
  const int take = static_cast<int>(std::min<int64_t>(n, from->data_points_size()));
  MoveFront(from->mutable_data_points(), take, to->mutable_data_points());
  return take;
}

int64_t MoveMetricPoints(pb::metrics::Metric* from, int64_t n, pb::metrics::Metric* to) {
  to->set_name(from->name());
  to->set_description(from->description());
  to->set_unit(from->unit());
  *to->mutable_metadata() = from->metadata();
  switch (from->data_case()) {
    case pb::metrics::Metric::kGauge:
      return MovePoints(from->mutable_gauge(), n, to->mutable_gauge());
    case pb::metrics::Metric::kSum:
      to->mutable_sum()->set_aggregation_temporality(from->sum().aggregation_temporality());
      to->mutable_sum()->set_is_monotonic(from->sum().is_monotonic());
      return MovePoints(from->mutable_sum(), n, to->mutable_sum());
    case pb::metrics::Metric::kHistogram:
      to->mutable_histogram()->set_aggregation_temporality(
          from->histogram().aggregation_temporality());
      return MovePoints(from->mutable_histogram(), n, to->mutable_histogram());
    case pb::metrics::Metric::kExponentialHistogram:
      to->mutable_exponential_histogram()->set_aggregation_temporality(
          from->exponential_histogram().aggregation_temporality());
      return MovePoints(from->mutable_exponential_histogram(), n,
                        to->mutable_exponential_histogram());
    case pb::metrics::Metric::kSummary:
      return MovePoints(from->mutable_summary(), n, to->mutable_summary());
    case pb::metrics::Metric::DATA_NOT_SET:
      return 0;
  }
  return 0;
}

// Moves the first n items of a scope of spans or logs into `to` (scope copied).
template <typename Scope, typename Items>
int64_t MoveScopeItems(Scope* from, int64_t n, Scope* to, Items* (Scope::*items)()) {
  *to->mutable_scope() = from->scope();
  to->set_schema_url(from->schema_url());
  Items* src = (from->*items)();
  const int take = static_cast<int>(std::min<int64_t>(n, src->size()));
  MoveFront(src, take, (to->*items)());
  return take;
}

int64_t MoveScopeItems(pb::trace::ScopeSpans* from, int64_t n, pb::trace::ScopeSpans* to) {
  return MoveScopeItems(from, n, to, &pb::trace::ScopeSpans::mutable_spans);
}
int64_t MoveScopeItems(pb::logs::ScopeLogs* from, int64_t n, pb::logs::ScopeLogs* to) {
  return MoveScopeItems(from, n, to, &pb::logs::ScopeLogs::mutable_log_records);
}
int64_t MoveScopeItems(pb::metrics::ScopeMetrics* from, int64_t n, pb::metrics::ScopeMetrics* to) {
  *to->mutable_scope() = from->scope();
  to->set_schema_url(from->schema_url());
  int64_t moved = 0;
  int whole = 0;
  auto* metrics = from->mutable_metrics();
  // Whole metrics that fit (metrics without points travel with their neighbours).
  while (whole < metrics->size() && MetricPointCount(metrics->Get(whole)) <= n - moved) {
    moved += MetricPointCount(metrics->Get(whole));
    ++whole;
  }
  MoveFront(metrics, whole, to->mutable_metrics());
  if (moved < n && !metrics->empty()) {
    moved += MoveMetricPoints(metrics->Mutable(0), n - moved, to->add_metrics());
  }
  return moved;
}

// The shared resource → scope walk. `scopes` gets a resource's scope list.
template <typename Request, typename Resource, typename Scopes>
void MoveFirst(google::protobuf::RepeatedPtrField<Resource>* from, int64_t n,
               google::protobuf::RepeatedPtrField<Resource>* to, Scopes scopes) {
  int whole_resources = 0;
  int64_t moved = 0;
  while (whole_resources < from->size() && moved < n) {
    Resource* r = from->Mutable(whole_resources);
    int64_t items = 0;
    for (const auto& s : *scopes(r)) items += ScopeItems(s);
    if (items > n - moved) break;
    moved += items;
    ++whole_resources;
  }
  MoveFront(from, whole_resources, to);
  if (moved >= n || from->empty()) return;

  // The first remaining resource is split.
  Resource* r = from->Mutable(0);
  Resource* out = to->Add();
  *out->mutable_resource() = r->resource();
  out->set_schema_url(r->schema_url());
  auto* src_scopes = scopes(r);
  int whole_scopes = 0;
  while (whole_scopes < src_scopes->size() &&
         ScopeItems(src_scopes->Get(whole_scopes)) <= n - moved) {
    moved += ScopeItems(src_scopes->Get(whole_scopes));
    ++whole_scopes;
  }
  MoveFront(src_scopes, whole_scopes, scopes(out));
  if (moved < n && !src_scopes->empty()) {
    auto* first = src_scopes->Mutable(0);
    moved += MoveScopeItems(first, n - moved, scopes(out)->Add());
    // A metric whose points were all taken goes too.
    if constexpr (std::is_same_v<Resource, pb::metrics::ResourceMetrics>) {
      auto* metrics = first->mutable_metrics();
      if (!metrics->empty() && MetricPointCount(metrics->Get(0)) == 0) {
        metrics->DeleteSubrange(0, 1);
      }
    }
    if (ScopeItems(*first) == 0) {
      bool has_metrics = false;
      if constexpr (std::is_same_v<Resource, pb::metrics::ResourceMetrics>) {
        has_metrics = first->metrics_size() > 0;
      }
      if (!has_metrics) src_scopes->DeleteSubrange(0, 1);
    }
  }
  if (src_scopes->empty()) from->DeleteSubrange(0, 1);
}

}  // namespace

int64_t MetricPointCount(const pb::metrics::Metric& metric) {
  switch (metric.data_case()) {
    case pb::metrics::Metric::kGauge:
      return metric.gauge().data_points_size();
    case pb::metrics::Metric::kSum:
      return metric.sum().data_points_size();
    case pb::metrics::Metric::kHistogram:
      return metric.histogram().data_points_size();
    case pb::metrics::Metric::kExponentialHistogram:
      return metric.exponential_histogram().data_points_size();
    case pb::metrics::Metric::kSummary:
      return metric.summary().data_points_size();
    case pb::metrics::Metric::DATA_NOT_SET:
      return 0;
  }
  return 0;
}

void MoveFirstItems(pb::trace_service::ExportTraceServiceRequest* from, int64_t n,
                    pb::trace_service::ExportTraceServiceRequest* to) {
  MoveFirst<pb::trace_service::ExportTraceServiceRequest>(
      from->mutable_resource_spans(), n, to->mutable_resource_spans(),
      [](pb::trace::ResourceSpans* r) { return r->mutable_scope_spans(); });
}

void MoveFirstItems(pb::metrics_service::ExportMetricsServiceRequest* from, int64_t n,
                    pb::metrics_service::ExportMetricsServiceRequest* to) {
  MoveFirst<pb::metrics_service::ExportMetricsServiceRequest>(
      from->mutable_resource_metrics(), n, to->mutable_resource_metrics(),
      [](pb::metrics::ResourceMetrics* r) { return r->mutable_scope_metrics(); });
}

void MoveFirstItems(pb::logs_service::ExportLogsServiceRequest* from, int64_t n,
                    pb::logs_service::ExportLogsServiceRequest* to) {
  MoveFirst<pb::logs_service::ExportLogsServiceRequest>(
      from->mutable_resource_logs(), n, to->mutable_resource_logs(),
      [](pb::logs::ResourceLogs* r) { return r->mutable_scope_logs(); });
}

}  // namespace sprout::otlp
