// The span-metrics processor (Tempo's `modules/generator/processor/spanmetrics`, reference
// tempo.md §4.3): each span of a pushed ResourceSpans that passes the ingestion time-range slack
// and the filter policies becomes, under its label set (intrinsic dimensions, dimensions,
// dimension mappings):
//   traces_spanmetrics_calls_total   += multiplier                       (subprocessor count)
//   traces_spanmetrics_latency       observes the duration in seconds    (subprocessor latency)
//                                     with the span's trace ID (hex) as exemplar
//   traces_spanmetrics_size_total    += span protobuf bytes (no multiplier) (subprocessor size)
// and, with enable_target_info, traces_target_info{job, instance, <resource attributes>} = 1.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "traces/generator/filter_policy.h"
#include "traces/generator/registry.h"

namespace sprout::traces::generator {

struct DimensionMapping {
  std::string name;                        // the label (sanitized)
  std::vector<std::string> source_labels;  // attributes, looked up as dimensions are
  std::string join;                        // between the non-empty values found
};

struct IntrinsicDimensions {
  bool service = true;
  bool span_name = true;
  bool span_kind = true;
  bool status_code = true;
  bool status_message = false;
};

struct SpanMetricsConfig {
  IntrinsicDimensions intrinsic_dimensions;
  std::vector<std::string> dimensions;
  std::vector<DimensionMapping> dimension_mappings;
  std::vector<FilterPolicy> filter_policies;
  // The sampling-ratio attribute: a span attribute (then resource attribute) with a double value
  // r > 0 makes the span count 1/r (calls, size, latency observations); empty or absent: 1.
  std::string span_multiplier_key;
  // traces_target_info, and the `job` label (service.namespace/service.name) on every series.
  bool enable_target_info = false;
  // With enable_target_info: the `instance` label (service.instance.id) on the series and on
  // traces_target_info.
  bool enable_instance_label = true;
  // Resource attributes left out of traces_target_info.
  std::vector<std::string> target_info_excluded_dimensions;
  std::vector<double> histogram_buckets = DefaultSpanMetricsBuckets();
  // The latency histogram's shape (the tenant's generate_native_histograms).
  HistogramMode histogram_mode = HistogramMode::kClassic;
  // Subprocessors span-metrics-count / -latency / -size.
  bool count = true;
  bool latency = true;
  bool size = true;
  // metrics_ingestion_time_range_slack: a span whose end time is more than this before or after
  // `now` is skipped (and counted). Zero: no check.
  absl::Duration ingestion_time_range_slack = absl::Seconds(30);
};

// Prometheus' strutil.SanitizeLabelName as Tempo applies it to dimensions: every character (a
// UTF-8 sequence counts as one) outside [a-zA-Z0-9_] becomes `_`; a leading digit is kept.
std::string SanitizeLabelName(std::string_view name);

// Whether `s` is valid UTF-8 (Prometheus' label-value rule); a span with an invalid label value
// is skipped and counted, as Tempo does.
bool ValidUtf8(std::string_view s);

// StringifyAnyValue: traces/generator/stringify.h.

struct SpanMetricsStats {
  uint64_t spans_received = 0;
  uint64_t spans_outside_slack =
      0;                        // Tempo's spans discarded, reason outside_metrics_ingestion_slack
  uint64_t spans_filtered = 0;  // by filter_policies
  uint64_t spans_refused = 0;   // a series refused by max_active_series
  uint64_t spans_invalid_utf8 = 0;  // a label value not valid UTF-8 (span skipped)
};

class SpanMetricsProcessor {
 public:
  // InvalidArgument for a filter policy key that is neither scoped nor `name|status|kind`, a regex
  // that does not compile or is not a string, an empty dimension-mapping name, buckets not
  // strictly increasing, or a slack outside 0s..12h (Tempo's validation).
  static absl::StatusOr<std::unique_ptr<SpanMetricsProcessor>> Create(SpanMetricsConfig config,
                                                                      Registry* registry);

  void PushSpans(const opentelemetry::proto::trace::v1::ResourceSpans& resource_spans,
                 absl::Time now);

  SpanMetricsStats stats() const;

  // The label names in series order (intrinsics enabled, then dimensions, then mappings).
  const std::vector<std::string>& label_names() const { return label_names_; }

  struct CompiledPolicy;  // internal: a filter policy ready to match

 private:
  SpanMetricsProcessor(SpanMetricsConfig config, Registry* registry);

  SpanMetricsConfig config_;
  Registry* registry_;
  Counter* calls_ = nullptr;
  Histogram* latency_ = nullptr;
  Counter* size_ = nullptr;
  Gauge* target_info_ = nullptr;
  std::vector<std::string> label_names_;
  std::vector<std::string> dimension_labels_;  // sanitized, per dimensions[i]
  std::vector<std::string> mapping_labels_;    // sanitized, per dimension_mappings[i]
  std::vector<std::shared_ptr<CompiledPolicy>> policies_;
  mutable absl::Mutex mu_;
  SpanMetricsStats stats_ ABSL_GUARDED_BY(mu_);
};

// Compiled filter policies (Tempo's spanfilter.SpanFilter), as the span-metrics processor applies
// them; the service-graphs processor uses the same rules. Keep(resource, span): the span passes
// every policy (none: every span passes).
class SpanFilter {
 public:
  // The validation of SpanMetricsProcessor::Create for filter policies.
  static absl::StatusOr<SpanFilter> Create(const std::vector<FilterPolicy>& policies);
  SpanFilter() = default;

  bool Keep(const opentelemetry::proto::resource::v1::Resource& resource,
            const opentelemetry::proto::trace::v1::Span& span) const;
  bool empty() const { return policies_.empty(); }

 private:
  std::vector<std::shared_ptr<SpanMetricsProcessor::CompiledPolicy>> policies_;
};

}  // namespace sprout::traces::generator
