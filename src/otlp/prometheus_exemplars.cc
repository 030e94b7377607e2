// Exemplars and target_info (collector.md §10.6): exemplar labels (trace and span IDs, filtered
// attributes within Prometheus's 128-rune limit), and one target_info series per resource.
#include "otlp/prometheus_translator.h"

namespace sprout::otlp::prom_internal {

// trace_id and span_id as hex, then the filtered attributes unless all the label text would
// pass 128 runes (Prometheus's exemplar label limit).
void Translator::AddExemplar(PromSeriesRef series, const pb::metrics::Exemplar& exemplar) {
  exemplar_labels_.clear();
  size_t runes = 0;
  // An all-zero ID is no ID (pcommon's IsEmpty), as an empty one.
  auto add_id = [&](std::string_view name, const std::string& id) {
    if (std::all_of(id.begin(), id.end(), [](char c) { return c == '\0'; })) return;
    scratch_.clear();
    AppendHex(id, &scratch_);
    exemplar_labels_.push_back({name, pool_.Copy(scratch_)});
    runes += name.size() + scratch_.size();
  };
  add_id("trace_id", exemplar.trace_id());
  add_id("span_id", exemplar.span_id());
  const size_t ids = exemplar_labels_.size();
  for (const KeyValue& kv : exemplar.filtered_attributes()) {
    const std::string_view value = ValueText(kv.value());
    if (value.empty()) continue;
    const std::string_view name = LabelNameOf(kv.key());
    if (name.empty()) continue;
    exemplar_labels_.push_back({name, value});
    runes += CountRunes(name) + CountRunes(value);
  }
  if (runes > kMaxExemplarRunes) exemplar_labels_.resize(ids);
  // Sorted, and of equal names the first (the IDs, then attribute order) stays.
  StableSortSmall(exemplar_labels_.begin(), exemplar_labels_.end(), ByName);
  size_t kept = 0;
  for (size_t i = 0; i < exemplar_labels_.size(); ++i) {
    if (kept > 0 && exemplar_labels_[kept - 1].name == exemplar_labels_[i].name) continue;
    exemplar_labels_[kept++] = exemplar_labels_[i];
  }
  exemplar_labels_.resize(kept);
  PromExemplar out;
  out.value = exemplar.value_case() == pb::metrics::Exemplar::kAsInt
                  ? static_cast<double>(exemplar.as_int())
                  : exemplar.as_double();
  out.timestamp_ms = NanosToMillis(exemplar.time_unix_nano());
  out.labels = exemplar_labels_;
  sink_->Exemplar(series, out);
}

// One target_info per resource with descriptive attributes, when job or instance exists
// to join on and some point gave a timestamp.
void Translator::AddTargetInfo(const KeyValues& resource_attributes, uint64_t latest_nanos) {
  if (latest_nanos == 0 || resource_labels_.empty()) return;
  pool_.Rewind();
  attrs_.clear();
  for (const KeyValue& kv : resource_attributes) {
    if (!IsServiceAttribute(kv.key())) attrs_.push_back(&kv);
  }
  if (attrs_.empty()) return;
  BuildBaseLabels(resource_refs_, /*promoted=*/false);
  AddSample(Series(target_info_name_), 1, NanosToMillis(latest_nanos));
}

}  // namespace sprout::otlp::prom_internal
