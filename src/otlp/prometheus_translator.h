// The translation's walk (prometheus.h): resources, scopes and metrics in request order, the label
// set of every data point, and the calls into the PromSink. The per-point label work reuses this
// object's buffers, so one Translator serves one request on one thread. Its members are defined
// in prometheus_translator.cc (walk, labels, number points), prometheus_histograms.cc and
// prometheus_exemplars.cc; small string and sorting helpers for the hot path are here.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/hash.h"
#include "otlp/prometheus_internal.h"

namespace sprout::otlp::prom_internal {

using LabelRef = PromLabel;

// An attribute's label before collisions are resolved.
struct AttributeLabel {
  std::string_view name;
  std::string_view value;
  std::string_view key;  // the attribute key it came from
};

struct OwnedLabel {
  std::string name;
  std::string value;
};

// Stable like std::stable_sort, without its temporary buffer: the ranges sorted per data point
// (its attributes, its labels) are short and often sorted already.
template <typename It, typename Compare>
void StableSortSmall(It first, It last, Compare less) {
  if (last - first > 64) {
    std::stable_sort(first, last, less);
    return;
  }
  for (It i = first; i != last; ++i) {
    auto value = std::move(*i);
    It j = i;
    for (; j != first && less(value, *(j - 1)); --j) *j = std::move(*(j - 1));
    *j = std::move(value);
  }
}

// Short-string helpers for the per-point hot path, where label names and values are mostly
// under 24 bytes and a call to memcmp or memcpy costs more than the work.

inline uint64_t Load8(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

inline uint32_t Load4(const char* p) {
  uint32_t word;
  std::memcpy(&word, p, 4);
  return word;
}

// The bytes of a 1..7-byte string folded into one word (overlapping loads, no loop).
inline uint64_t LoadUpTo7(const char* p, size_t n) {
  if (n >= 4) return (uint64_t{Load4(p)} << 32) | Load4(p + n - 4);
  return (uint64_t{static_cast<uint8_t>(p[0])} << 16) |
         (uint64_t{static_cast<uint8_t>(p[n >> 1])} << 8) | static_cast<uint8_t>(p[n - 1]);
}

inline bool Equal(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  if (n >= 8 && n <= 16) {
    return Load8(a.data()) == Load8(b.data()) && Load8(a.data() + n - 8) == Load8(b.data() + n - 8);
  }
  if (n > 0 && n < 8) return LoadUpTo7(a.data(), n) == LoadUpTo7(b.data(), n);
  return n == 0 || std::memcmp(a.data(), b.data(), n) == 0;
}

// Byte order, deciding on the first 8 bytes when it can.
inline bool Less(std::string_view a, std::string_view b) {
  if (a.size() >= 8 && b.size() >= 8) {
    const uint64_t x = __builtin_bswap64(Load8(a.data()));
    const uint64_t y = __builtin_bswap64(Load8(b.data()));
    if (x != y) return x < y;
  }
  return a < b;
}

inline bool ByName(const LabelRef& a, const LabelRef& b) { return Less(a.name, b.name); }

// Bump allocator for the text one data point's labels need (formatted numbers, sanitized names,
// joined values): views stay valid until Rewind(), which keeps the memory for the next point.
class TextPool {
 public:
  std::string_view Copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = Allocate(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  void Rewind() {
    chunk_ = 0;
    used_ = 0;
  }

 private:
  static constexpr size_t kChunkSize = 4096;
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t size;
  };

  char* Allocate(size_t n) {
    if (chunk_ >= chunks_.size() || chunks_[chunk_].size - used_ < n) {
      if (chunk_ < chunks_.size()) ++chunk_;  // the rest of this chunk is left unused
      used_ = 0;
      if (chunk_ >= chunks_.size() || chunks_[chunk_].size < n) {
        const size_t size = std::max(n, kChunkSize);
        chunks_.insert(chunks_.begin() + static_cast<ptrdiff_t>(chunk_),
                       Chunk{std::make_unique<char[]>(size), size});
      }
    }
    char* p = chunks_[chunk_].data.get() + used_;
    used_ += n;
    return p;
  }

  std::vector<Chunk> chunks_;
  size_t chunk_ = 0;
  size_t used_ = 0;
};

class Translator {
 public:
  Translator(const PromTranslationSettings& settings, PromSink* sink,
             std::vector<std::string>* errors, int64_t* dropped_points);

  void Translate(const pb::metrics_service::ExportMetricsServiceRequest& request);

 private:
  void TranslateResource(const pb::metrics::ResourceMetrics& resource_metrics);

  // Labels every point of the scope gets over its attributes, in precedence order: scope labels
  // (attributes first, so that otel_scope_name and friends win), then job and instance.
  void SetScope(const pb::metrics::ScopeMetrics& scope_metrics);

  static uint64_t LatestTimestamp(const pb::metrics::Metric& metric) {
    uint64_t latest = 0;
    auto scan = [&](const auto& points) {
      for (const auto& point : points) latest = std::max(latest, point.time_unix_nano());
    };
    switch (metric.data_case()) {
      case pb::metrics::Metric::kGauge:
        scan(metric.gauge().data_points());
        break;
      case pb::metrics::Metric::kSum:
        scan(metric.sum().data_points());
        break;
      case pb::metrics::Metric::kHistogram:
        scan(metric.histogram().data_points());
        break;
      case pb::metrics::Metric::kExponentialHistogram:
        scan(metric.exponential_histogram().data_points());
        break;
      case pb::metrics::Metric::kSummary:
        scan(metric.summary().data_points());
        break;
      case pb::metrics::Metric::DATA_NOT_SET:
        break;
    }
    return latest;
  }

  void TranslateMetric(const pb::metrics::Metric& metric);

  void AddMetadata(const pb::metrics::Metric& metric, const std::string& family);

  // --- labels ---

  // Views of `labels` sorted by name, one per name: of equal names the later (in precedence
  // order) stays.
  static void SortedRefs(const std::vector<OwnedLabel>& labels, std::vector<LabelRef>* refs);

  // out = the union of two label lists sorted by name; for a name in both, `second_wins` picks.
  static void MergeSorted(const std::vector<LabelRef>& first, const std::vector<LabelRef>& second,
                          bool second_wins, std::vector<LabelRef>* out);

  // Fills base_ (sorted by name, without __name__) from attrs_ and the given overrides (sorted
  // refs): attributes sanitized, names shared by several keys joining the keys' differing values
  // with ';' in key order; then the overrides replace; then external labels fill what is
  // missing. Empty values are no label (Prometheus treats them so). Sorting by the sanitized
  // name brings colliding keys together, so only they are ever ordered by key; the per-scope
  // parts are sorted once, so the rest is two linear merges.
  // `promoted`: promoted_refs_ fill missing names before the overrides (points, not target_info).
  void BuildBaseLabels(const std::vector<LabelRef>& overrides, bool promoted = true);

  // The value of attr_labels_[begin, end), which share one label name: by original key, the
  // last of equal keys (the resource attribute copied over the point's), differing values
  // joined with ';'.
  std::string_view JoinCollision(size_t begin, size_t end);

  // The label name of an attribute key: the key itself when already valid, else its sanitized
  // form, cached for the whole request because keys repeat from point to point (the cache keys
  // are views into the request, which outlives the translation).
  std::string_view LabelNameOf(std::string_view key);

  void BuildPointLabels(const KeyValues& attributes);

  std::string_view ValueText(const AnyValue& value);

  // The series with base_ plus __name__ and an optional reserved label (le, quantile), which
  // replace attributes of the same names.
  PromSeriesRef Series(std::string_view metric_name, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
    full_.clear();
    for (const LabelRef& label : base_) {
      if (label.name != kNameLabel && label.name != extra_name) full_.push_back(label);
    }
    auto insert_sorted = [&](LabelRef label) {
      if (label.value.empty()) return;
      full_.insert(std::lower_bound(full_.begin(), full_.end(), label, ByName), label);
    };
    insert_sorted({kNameLabel, metric_name});
    if (!extra_name.empty()) insert_sorted({extra_name, extra_value});
    return sink_->Series(full_, HashLabels(full_));
  }

  void AddSample(PromSeriesRef series, double value, int64_t timestamp_ms) {
    sink_->Sample(series, timestamp_ms, value);
  }

  // trace_id and span_id as hex, then the filtered attributes unless all the label text would
  // pass 128 runes (Prometheus's exemplar label limit).
  void AddExemplar(PromSeriesRef series, const pb::metrics::Exemplar& exemplar);

  // --- data points ---

  void AddNumberPoints(
      const google::protobuf::RepeatedPtrField<pb::metrics::NumberDataPoint>& points,
      const std::string& name);

  void AddHistogramPoints(
      const google::protobuf::RepeatedPtrField<pb::metrics::HistogramDataPoint>& points,
      const std::string& name);

  void AddSummaryPoints(
      const google::protobuf::RepeatedPtrField<pb::metrics::SummaryDataPoint>& points,
      const std::string& name);

  void AddExponentialPoints(
      const google::protobuf::RepeatedPtrField<pb::metrics::ExponentialHistogramDataPoint>& points,
      const std::string& name);

  // OTel bucket i covers (base^(i+offset), base^(i+offset+1)], Prometheus bucket j covers
  // (base^(j-1), base^j]: j = i + offset + 1. Downscaling by `scale_down` merges 2^scale_down
  // neighbours (index >> scale_down). Empty buckets are left out; a run of at most two empty
  // buckets between filled ones is written as zeros, a longer run starts a new span.
  void ConvertBuckets(const pb::metrics::ExponentialHistogramDataPoint::Buckets& buckets,
                      int32_t scale_down, std::vector<PromBucketSpan>* spans,
                      std::vector<int64_t>* deltas);

  // One target_info per resource with descriptive attributes, when job or instance exists
  // to join on and some point gave a timestamp.
  void AddTargetInfo(const KeyValues& resource_attributes, uint64_t latest_nanos);

  const PromTranslationSettings& settings_;
  PromSink* sink_;
  std::vector<std::string>* errors_;
  int64_t* dropped_points_;
  std::vector<OwnedLabel> external_labels_;  // sanitized, non-empty
  std::vector<LabelRef> external_refs_;      // sorted views of external_labels_
  std::string target_info_name_;

  // Per resource and scope.
  std::vector<OwnedLabel> resource_labels_;  // job, instance
  std::vector<LabelRef> resource_refs_;      // sorted views of resource_labels_
  std::vector<const KeyValue*> promoted_;    // resource attributes copied onto every point
  // promote_resource_attributes of this resource: labels that fill missing names only.
  std::vector<OwnedLabel> promoted_labels_;
  std::vector<LabelRef> promoted_refs_;  // sorted views of promoted_labels_
  std::vector<OwnedLabel> overrides_;    // scope labels, job, instance
  std::vector<LabelRef> override_refs_;  // sorted views of overrides_

  // Per data point, reused.
  std::vector<const KeyValue*> attrs_;
  std::vector<AttributeLabel> attr_labels_;
  std::vector<LabelRef> base_;
  std::vector<LabelRef> merged_labels_;
  std::vector<LabelRef> full_;
  std::vector<LabelRef> exemplar_labels_;
  std::vector<PromSeriesRef> bucket_series_;
  std::vector<PromBucketSpan> positive_spans_;
  std::vector<int64_t> positive_deltas_;
  std::vector<PromBucketSpan> negative_spans_;
  std::vector<int64_t> negative_deltas_;
  std::vector<std::pair<int64_t, uint64_t>> merged_;
  std::string scratch_;
  TextPool pool_;  // rewound for each data point

  absl::flat_hash_map<std::string_view, std::string_view> label_names_;  // see LabelNameOf
  std::vector<std::string_view> previous_keys_;   // the keys of the last point, by position
  std::vector<std::string_view> previous_names_;  // and their label names
  TextPool names_pool_;                           // never rewound

  absl::flat_hash_set<std::string> families_;
};

}  // namespace sprout::otlp::prom_internal
