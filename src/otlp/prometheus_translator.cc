// The translation's walk: resources (job, instance, promoted attributes), scopes (scope labels),
// metrics (names, types, temporality errors, metadata), the label set of each point (sanitized
// attributes, collisions, overrides, external labels) and number points.
#include "otlp/prometheus_translator.h"

#include <algorithm>

namespace sprout::otlp {
namespace prom_internal {

Translator::Translator(const PromTranslationSettings& settings, PromSink* sink,
                       std::vector<std::string>* errors, int64_t* dropped_points)
    : settings_(settings), sink_(sink), errors_(errors), dropped_points_(dropped_points) {
  for (const auto& [name, value] : settings.external_labels) {
    OwnedLabel label{PromLabelName(name, settings.permissive_label_sanitization), value};
    if (label.name.empty() || label.value.empty()) continue;
    external_labels_.push_back(std::move(label));
  }
  SortedRefs(external_labels_, &external_refs_);
  target_info_name_ = settings.metric_namespace.empty()
                          ? std::string("target_info")
                          : settings.metric_namespace + "_target_info";
}

void Translator::Translate(const pb::metrics_service::ExportMetricsServiceRequest& request) {
  sink_->Begin(static_cast<size_t>(CountItems(request)) +
               static_cast<size_t>(request.resource_metrics_size()));
  for (const auto& resource_metrics : request.resource_metrics()) {
    TranslateResource(resource_metrics);
  }
  sink_->Finish();
}

void Translator::TranslateResource(const pb::metrics::ResourceMetrics& resource_metrics) {
  const KeyValues& resource_attributes = resource_metrics.resource().attributes();
  // job and instance; the first of duplicate keys counts. An empty text is no label.
  const AnyValue* service_name = nullptr;
  const AnyValue* service_namespace = nullptr;
  const AnyValue* instance_id = nullptr;
  for (const KeyValue& kv : resource_attributes) {
    if (kv.key() == kServiceName && service_name == nullptr) service_name = &kv.value();
    if (kv.key() == kServiceNamespace && service_namespace == nullptr) {
      service_namespace = &kv.value();
    }
    if (kv.key() == kServiceInstanceId && instance_id == nullptr) instance_id = &kv.value();
  }
  resource_labels_.clear();
  if (service_name != nullptr) {
    std::string job;
    AppendLabelValue(*service_name, &job);
    if (!job.empty()) {
      std::string prefix;
      if (service_namespace != nullptr) AppendLabelValue(*service_namespace, &prefix);
      if (!prefix.empty()) job = prefix + "/" + job;
      resource_labels_.push_back({"job", std::move(job)});
    }
  }
  if (instance_id != nullptr) {
    std::string instance;
    AppendLabelValue(*instance_id, &instance);
    if (!instance.empty()) resource_labels_.push_back({"instance", std::move(instance)});
  }
  SortedRefs(resource_labels_, &resource_refs_);

  promoted_.clear();
  if (settings_.resource_to_telemetry_conversion) {
    for (const KeyValue& kv : resource_attributes) {
      if (settings_.exclude_service_attributes && IsServiceAttribute(kv.key())) continue;
      promoted_.push_back(&kv);
    }
  }
  // Promoted attributes; of keys sharing a label name the smallest key wins (Prometheus's
  // translator walks them sorted by key and only fills a missing name): ordered by key
  // descending here, as SortedRefs keeps the last of equal names.
  promoted_labels_.clear();
  if (!settings_.resource_to_telemetry_conversion &&
      !settings_.promote_resource_attributes.empty()) {
    std::vector<const KeyValue*> wanted;
    for (const KeyValue& kv : resource_attributes) {
      const auto& list = settings_.promote_resource_attributes;
      if (std::find(list.begin(), list.end(), kv.key()) != list.end()) wanted.push_back(&kv);
    }
    std::stable_sort(wanted.begin(), wanted.end(),
                     [](const KeyValue* a, const KeyValue* b) { return a->key() > b->key(); });
    for (const KeyValue* kv : wanted) {
      OwnedLabel label;
      AppendLabelName(kv->key(), settings_.permissive_label_sanitization, &label.name);
      AppendLabelValue(kv->value(), &label.value);
      if (!label.name.empty() && !label.value.empty()) promoted_labels_.push_back(std::move(label));
    }
  }
  SortedRefs(promoted_labels_, &promoted_refs_);

  uint64_t latest_nanos = 0;
  for (const auto& scope_metrics : resource_metrics.scope_metrics()) {
    SetScope(scope_metrics);
    for (const auto& metric : scope_metrics.metrics()) {
      latest_nanos = std::max(latest_nanos, LatestTimestamp(metric));
      TranslateMetric(metric);
    }
  }
  if (settings_.target_info) AddTargetInfo(resource_attributes, latest_nanos);
}

// Labels every point of the scope gets over its attributes, in precedence order: scope labels
// (attributes first, so that otel_scope_name and friends win), then job and instance.
void Translator::SetScope(const pb::metrics::ScopeMetrics& scope_metrics) {
  overrides_.clear();
  if (settings_.scope_labels) {
    const auto& scope = scope_metrics.scope();
    for (const KeyValue& kv : scope.attributes()) {
      OwnedLabel label;
      AppendLabelName("otel_scope_" + kv.key(), settings_.permissive_label_sanitization,
                      &label.name);
      AppendLabelValue(kv.value(), &label.value);
      if (!label.value.empty()) overrides_.push_back(std::move(label));
    }
    if (!scope.name().empty()) overrides_.push_back({"otel_scope_name", scope.name()});
    if (!scope.version().empty()) overrides_.push_back({"otel_scope_version", scope.version()});
    if (!scope_metrics.schema_url().empty()) {
      overrides_.push_back({"otel_scope_schema_url", scope_metrics.schema_url()});
    }
  }
  overrides_.insert(overrides_.end(), resource_labels_.begin(), resource_labels_.end());
  SortedRefs(overrides_, &override_refs_);
}

void Translator::TranslateMetric(const pb::metrics::Metric& metric) {
  using pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE;
  using pb::metrics::Metric;
  const std::string name =
      PromMetricName(metric, settings_.metric_namespace, settings_.add_metric_suffixes);
  if (settings_.send_metadata) AddMetadata(metric, name);

  int points = 0;
  bool cumulative = true;
  switch (metric.data_case()) {
    case Metric::kGauge:
      points = metric.gauge().data_points_size();
      break;
    case Metric::kSum:
      points = metric.sum().data_points_size();
      cumulative = metric.sum().aggregation_temporality() == AGGREGATION_TEMPORALITY_CUMULATIVE;
      break;
    case Metric::kHistogram:
      points = metric.histogram().data_points_size();
      cumulative =
          metric.histogram().aggregation_temporality() == AGGREGATION_TEMPORALITY_CUMULATIVE;
      break;
    case Metric::kExponentialHistogram:
      points = metric.exponential_histogram().data_points_size();
      cumulative = metric.exponential_histogram().aggregation_temporality() ==
                   AGGREGATION_TEMPORALITY_CUMULATIVE;
      break;
    case Metric::kSummary:
      points = metric.summary().data_points_size();
      break;
    case Metric::DATA_NOT_SET:
      errors_->push_back("unsupported metric type");
      return;
  }
  if (!cumulative) {
    errors_->push_back("invalid temporality and type combination for metric " +
                       Quote(metric.name()));
    *dropped_points_ += points;
    return;
  }
  if (points == 0) {
    errors_->push_back("empty data points. " + metric.name() + " is dropped");
    return;
  }
  switch (metric.data_case()) {
    case Metric::kGauge:
      AddNumberPoints(metric.gauge().data_points(), name);
      break;
    case Metric::kSum:
      AddNumberPoints(metric.sum().data_points(), name);
      break;
    case Metric::kHistogram:
      AddHistogramPoints(metric.histogram().data_points(), name);
      break;
    case Metric::kExponentialHistogram:
      AddExponentialPoints(metric.exponential_histogram().data_points(), name);
      break;
    case Metric::kSummary:
      AddSummaryPoints(metric.summary().data_points(), name);
      break;
    case Metric::DATA_NOT_SET:
      break;
  }
}

void Translator::AddMetadata(const pb::metrics::Metric& metric, const std::string& family) {
  using pb::metrics::AGGREGATION_TEMPORALITY_CUMULATIVE;
  using pb::metrics::Metric;
  using Type = PromMetricType;
  if (!families_.insert(family).second) return;
  Type type = Type::kUnknown;
  switch (metric.data_case()) {
    case Metric::kGauge:
      type = Type::kGauge;
      break;
    case Metric::kSum:
      type = metric.sum().is_monotonic() ? Type::kCounter : Type::kGauge;
      break;
    case Metric::kHistogram:
      type = metric.histogram().aggregation_temporality() == AGGREGATION_TEMPORALITY_CUMULATIVE
                 ? Type::kHistogram
                 : Type::kGaugeHistogram;
      break;
    case Metric::kExponentialHistogram:
      type = metric.exponential_histogram().aggregation_temporality() ==
                     AGGREGATION_TEMPORALITY_CUMULATIVE
                 ? Type::kHistogram
                 : Type::kGaugeHistogram;
      break;
    case Metric::kSummary:
      type = Type::kSummary;
      break;
    case Metric::DATA_NOT_SET:
      break;
  }
  sink_->Metadata({type, family, metric.description(), metric.unit()});
}

// Views of `labels` sorted by name, one per name: of equal names the later (in precedence
// order) stays.
void Translator::SortedRefs(const std::vector<OwnedLabel>& labels, std::vector<LabelRef>* refs) {
  refs->clear();
  for (const OwnedLabel& label : labels) refs->push_back({label.name, label.value});
  StableSortSmall(refs->begin(), refs->end(), ByName);
  size_t kept = 0;
  for (size_t i = 0; i < refs->size(); ++i) {
    if (i + 1 < refs->size() && (*refs)[i + 1].name == (*refs)[i].name) continue;
    (*refs)[kept++] = (*refs)[i];
  }
  refs->resize(kept);
}

// out = the union of two label lists sorted by name; for a name in both, `second_wins` picks.
void Translator::MergeSorted(const std::vector<LabelRef>& first,
                             const std::vector<LabelRef>& second, bool second_wins,
                             std::vector<LabelRef>* out) {
  out->clear();
  size_t i = 0;
  size_t j = 0;
  while (i < first.size() && j < second.size()) {
    if (Less(first[i].name, second[j].name)) {
      out->push_back(first[i++]);
    } else if (Less(second[j].name, first[i].name)) {
      out->push_back(second[j++]);
    } else {
      out->push_back(second_wins ? second[j] : first[i]);
      ++i, ++j;
    }
  }
  out->insert(out->end(), first.begin() + static_cast<ptrdiff_t>(i), first.end());
  out->insert(out->end(), second.begin() + static_cast<ptrdiff_t>(j), second.end());
}

// Fills base_ (sorted by name, without __name__) from attrs_ and the given overrides (sorted
// refs): attributes sanitized, names shared by several keys joining the keys' differing values
// with ';' in key order; then the overrides replace; then external labels fill what is
// missing. Empty values are no label (Prometheus treats them so). Sorting by the sanitized
// name brings colliding keys together, so only they are ever ordered by key; the per-scope
// parts are sorted once, so the rest is two linear merges.
void Translator::BuildBaseLabels(const std::vector<LabelRef>& overrides, bool promoted) {
  attr_labels_.clear();
  // Points of one metric usually repeat the previous point's keys in the same order; comparing
  // with those is cheaper than sanitizing or a cache lookup.
  if (previous_keys_.size() < attrs_.size()) {
    previous_keys_.resize(attrs_.size());
    previous_names_.resize(attrs_.size());
  }
  for (size_t i = 0; i < attrs_.size(); ++i) {
    const KeyValue* kv = attrs_[i];
    const std::string_view key = kv->key();
    std::string_view name;
    if (Equal(key, previous_keys_[i]) && !previous_names_[i].empty()) {
      name = previous_names_[i];
    } else {
      name = LabelNameOf(key);
      previous_keys_[i] = key;
      previous_names_[i] = name;
    }
    if (name.empty()) continue;
    const std::string_view value = ValueText(kv->value());
    if (value.empty()) continue;
    attr_labels_.push_back({name, value, key});
  }
  StableSortSmall(
      attr_labels_.begin(), attr_labels_.end(),
      [](const AttributeLabel& a, const AttributeLabel& b) { return Less(a.name, b.name); });
  base_.clear();
  for (size_t i = 0; i < attr_labels_.size();) {
    size_t end = i + 1;
    while (end < attr_labels_.size() && Equal(attr_labels_[end].name, attr_labels_[i].name)) {
      ++end;
    }
    if (end == i + 1) {
      base_.push_back({attr_labels_[i].name, attr_labels_[i].value});
    } else {
      base_.push_back({attr_labels_[i].name, JoinCollision(i, end)});
    }
    i = end;
  }
  if (promoted && !promoted_refs_.empty()) {
    MergeSorted(base_, promoted_refs_, /*second_wins=*/false, &merged_labels_);
    base_.swap(merged_labels_);
  }
  if (!overrides.empty()) {
    MergeSorted(base_, overrides, /*second_wins=*/true, &merged_labels_);
    base_.swap(merged_labels_);
  }
  if (!external_refs_.empty()) {
    MergeSorted(base_, external_refs_, /*second_wins=*/false, &merged_labels_);
    base_.swap(merged_labels_);
  }
}

// The value of attr_labels_[begin, end), which share one label name: by original key, the
// last of equal keys (the resource attribute copied over the point's), differing values
// joined with ';'.
std::string_view Translator::JoinCollision(size_t begin, size_t end) {
  const auto first = attr_labels_.begin() + static_cast<ptrdiff_t>(begin);
  const auto last = attr_labels_.begin() + static_cast<ptrdiff_t>(end);
  StableSortSmall(first, last,
                  [](const AttributeLabel& a, const AttributeLabel& b) { return a.key < b.key; });
  std::string joined;
  std::vector<std::string_view> seen;
  for (auto it = first; it != last; ++it) {
    if (it + 1 != last && (it + 1)->key == it->key) continue;
    if (std::find(seen.begin(), seen.end(), it->value) != seen.end()) continue;
    if (!seen.empty()) joined.push_back(';');
    joined.append(it->value);
    seen.push_back(it->value);
  }
  return pool_.Copy(joined);
}

// The label name of an attribute key: the key itself when already valid, else its sanitized
// form, cached for the whole request because keys repeat from point to point (the cache keys
// are views into the request, which outlives the translation).
std::string_view Translator::LabelNameOf(std::string_view key) {
  const bool permissive = settings_.permissive_label_sanitization;
  if (IsCleanLabelName(key, permissive)) return key;
  auto [it, inserted] = label_names_.try_emplace(key);
  if (inserted) {
    scratch_.clear();
    AppendLabelName(key, permissive, &scratch_);
    it->second = names_pool_.Copy(scratch_);
  }
  return it->second;
}

void Translator::BuildPointLabels(const KeyValues& attributes) {
  pool_.Rewind();
  attrs_.clear();
  for (const KeyValue& kv : attributes) attrs_.push_back(&kv);
  attrs_.insert(attrs_.end(), promoted_.begin(), promoted_.end());
  BuildBaseLabels(override_refs_);
}

std::string_view Translator::ValueText(const AnyValue& value) {
  switch (value.value_case()) {
    case AnyValue::kStringValue:
      return value.string_value();
    case AnyValue::kBoolValue:
      return value.bool_value() ? "true" : "false";
    default:
      scratch_.clear();
      AppendLabelValue(value, &scratch_);
      return pool_.Copy(scratch_);
  }
}

void Translator::AddNumberPoints(
    const google::protobuf::RepeatedPtrField<pb::metrics::NumberDataPoint>& points,
    const std::string& name) {
  for (const auto& point : points) {
    BuildPointLabels(point.attributes());
    const PromSeriesRef series = Series(name);
    double value = point.value_case() == pb::metrics::NumberDataPoint::kAsInt
                       ? static_cast<double>(point.as_int())
                       : point.as_double();
    if (point.flags() & kNoRecordedValue) value = PromStaleNaN();
    AddSample(series, value, NanosToMillis(point.time_unix_nano()));
    for (const auto& exemplar : point.exemplars()) AddExemplar(series, exemplar);
  }
}

}  // namespace prom_internal

void TranslateMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request,
                      const PromTranslationSettings& settings, PromSink* sink,
                      std::vector<std::string>* errors, int64_t* dropped_points) {
  prom_internal::Translator(settings, sink, errors, dropped_points).Translate(request);
}

}  // namespace sprout::otlp
