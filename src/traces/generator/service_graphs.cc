#include "traces/generator/service_graphs.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "traces/generator/span_metrics.h"

namespace sprout::traces::generator {

namespace {

constexpr char kClient[] = "client";
constexpr char kServer[] = "server";
constexpr char kConnectionType[] = "connection_type";
constexpr char kVirtualNode[] = "virtual_node";
constexpr char kServiceName[] = "service.name";

using opentelemetry::proto::resource::v1::Resource;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::Span;

bool IsEdgeSpan(const Span& span) {
  switch (span.kind()) {
    case Span::SPAN_KIND_CLIENT:
    case Span::SPAN_KIND_PRODUCER:
    case Span::SPAN_KIND_SERVER:
    case Span::SPAN_KIND_CONSUMER:
      return true;
    default:
      return false;
  }
}

// Tempo's label builder: a later label of the same name replaces the earlier one, and an empty
// value removes the label (Prometheus' labels.Builder.Set(name, "") deletes).
void SetLabel(Labels* labels, std::string name, std::string value) {
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    if (it->name == name) {
      labels->erase(it);
      break;
    }
  }
  if (!value.empty()) labels->push_back(Label{std::move(name), std::move(value)});
}

const std::string& At(const std::vector<std::string>& v, size_t i) {
  static const std::string kEmpty;
  return i < v.size() ? v[i] : kEmpty;
}

void AddStats(ServiceGraphsStats* to, const ServiceGraphsStats& d) {
  to->edges_recorded += d.edges_recorded;
  to->virtual_node_edges += d.virtual_node_edges;
  to->edges_invalid_utf8 += d.edges_invalid_utf8;
  to->edges_refused += d.edges_refused;
  to->messaging_latency_skipped += d.messaging_latency_skipped;
  to->spans_filtered += d.spans_filtered;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceGraphsProcessor>> ServiceGraphsProcessor::Create(
    ServiceGraphConfig config, Registry* registry) {
  if (config.histogram_buckets.empty()) {
    return absl::InvalidArgumentError("service_graphs: histogram_buckets must not be empty");
  }
  for (size_t i = 1; i < config.histogram_buckets.size(); ++i) {
    if (!(config.histogram_buckets[i - 1] < config.histogram_buckets[i])) {
      return absl::InvalidArgumentError(
          "service_graphs: histogram_buckets must be in increasing order");
    }
  }
  auto filter = SpanFilter::Create(config.filter_policies);
  if (!filter.ok()) return filter.status();
  return std::unique_ptr<ServiceGraphsProcessor>(
      new ServiceGraphsProcessor(std::move(config), registry, std::move(*filter)));
}

ServiceGraphsProcessor::ServiceGraphsProcessor(ServiceGraphConfig config, Registry* registry,
                                               SpanFilter filter)
    : config_(std::move(config)), registry_(registry), store_(config_), filter_(std::move(filter)) {
  for (const std::string& d : config_.dimensions) {
    dimension_labels_.push_back(DimensionLabel{SanitizeLabelName(d),
                                               SanitizeLabelName(absl::StrCat("client_", d)),
                                               SanitizeLabelName(absl::StrCat("server_", d))});
  }
  // Families in Tempo's order of creation.
  if (config_.request) {
    request_total_ = registry_->NewCounter(kServiceGraphRequestTotal);
    request_failed_total_ = registry_->NewCounter(kServiceGraphRequestFailedTotal);
  }
  if (config_.latency) {
    server_seconds_ = registry_->NewHistogram(kServiceGraphRequestServerSeconds,
                                              config_.histogram_buckets, config_.histogram_mode);
    client_seconds_ = registry_->NewHistogram(kServiceGraphRequestClientSeconds,
                                              config_.histogram_buckets, config_.histogram_mode);
    if (config_.enable_messaging_system_latency_histogram) {
      messaging_system_seconds_ =
          registry_->NewHistogram(kServiceGraphRequestMessagingSystemSeconds,
                                  config_.histogram_buckets, config_.histogram_mode);
    }
  }
  if (config_.connection_info) {
    connection_info_ = registry_->NewGauge(kServiceGraphConnectionInfo);
  }
}

Labels ServiceGraphsProcessor::EdgeLabels(const Edge& e) const {
  Labels labels;
  labels.reserve(3 + 2 * dimension_labels_.size() + 1);
  SetLabel(&labels, kClient, e.client_service);
  SetLabel(&labels, kServer, e.server_service);
  SetLabel(&labels, kConnectionType, e.connection_type);
  for (size_t i = 0; i < dimension_labels_.size(); ++i) {
    const DimensionLabel& d = dimension_labels_[i];
    if (config_.enable_client_server_prefix) {
      SetLabel(&labels, d.client_label, At(e.client_dimensions, i));
      SetLabel(&labels, d.server_label, At(e.server_dimensions, i));
    } else {
      SetLabel(&labels, d.label, At(e.dimensions, i));
    }
  }
  // Tempo appends `virtual_node` to the dimensions; it is never prefixed.
  if (config_.enable_virtual_node_label) SetLabel(&labels, kVirtualNode, e.virtual_node);
  return labels;
}

void ServiceGraphsProcessor::Record(const Edge& e, absl::Time now, ServiceGraphsStats* delta) {
  const Labels labels = EdgeLabels(e);
  for (const Label& l : labels) {
    if (!ValidUtf8(l.value)) {
      ++delta->edges_invalid_utf8;
      return;
    }
  }
  const PreparedLabels prepared = registry_->Prepare(labels);
  const double mult = e.span_multiplier;
  bool ok = true;
  if (request_total_ != nullptr) {
    ok &= request_total_->Inc(prepared, mult, now);
    if (e.failed) ok &= request_failed_total_->Inc(prepared, mult, now);
  }
  if (server_seconds_ != nullptr) {
    ok &= server_seconds_->Observe(prepared, e.server_seconds, mult, now, e.trace_id);
    ok &= client_seconds_->Observe(prepared, e.client_seconds, mult, now, e.trace_id);
    if (messaging_system_seconds_ != nullptr && e.connection_type == kConnectionMessagingSystem) {
      // Tempo observes nothing when the producer ends at or after the consumer's start (clock
      // skew) and logs a warning.
      if (e.messaging_system_seconds == 0) {
        ++delta->messaging_latency_skipped;
      } else {
        ok &= messaging_system_seconds_->Observe(prepared, e.messaging_system_seconds, mult, now,
                                                 e.trace_id);
      }
    }
  }
  if (connection_info_ != nullptr) ok &= connection_info_->Set(prepared, 1, now);
  if (!ok) ++delta->edges_refused;
  ++delta->edges_recorded;
  if (e.connection_type == kConnectionVirtualNode) ++delta->virtual_node_edges;
}

void ServiceGraphsProcessor::PushSpans(const ResourceSpans& resource_spans, absl::Time now) {
  ServiceGraphsStats delta;
  std::vector<Edge> done;
  if (filter_.empty()) {
    done = store_.AddSpans(resource_spans, now);
  } else {
    // Tempo: a resource without service.name is skipped before filtering; only edge spans
    // (CLIENT, PRODUCER, SERVER, CONSUMER) are filtered; a refused one's side is recorded.
    const Resource& res = resource_spans.resource();
    bool has_service = false;
    for (const auto& kv : res.attributes()) has_service = has_service || kv.key() == kServiceName;
    if (!has_service) return;
    ResourceSpans kept;
    bool copy = false;
    for (const auto& ss : resource_spans.scope_spans()) {
      for (const Span& span : ss.spans()) {
        if (!IsEdgeSpan(span) || filter_.Keep(res, span)) continue;
        ++delta.spans_filtered;
        store_.AddDroppedSpan(span, now);
        copy = true;
      }
    }
    if (!copy) {
      done = store_.AddSpans(resource_spans, now);
    } else {
      *kept.mutable_resource() = res;
      for (const auto& ss : resource_spans.scope_spans()) {
        auto* out = kept.add_scope_spans();
        for (const Span& span : ss.spans()) {
          if (IsEdgeSpan(span) && !filter_.Keep(res, span)) continue;
          *out->add_spans() = span;
        }
      }
      done = store_.AddSpans(kept, now);
    }
  }
  if (done.empty() && delta.spans_filtered == 0) return;
  for (const Edge& e : done) Record(e, now, &delta);
  absl::MutexLock lock(&mu_);
  AddStats(&stats_, delta);
}

void ServiceGraphsProcessor::Expire(absl::Time now) {
  std::vector<Edge> late = store_.Expire(now);
  if (late.empty()) return;
  ServiceGraphsStats delta;
  for (const Edge& e : late) Record(e, now, &delta);
  absl::MutexLock lock(&mu_);
  AddStats(&stats_, delta);
}

ServiceGraphsStats ServiceGraphsProcessor::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace sprout::traces::generator
