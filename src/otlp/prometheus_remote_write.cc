// The remote-write sinks: the translation into PromTranslation's vectors or into a
// prometheus::WriteRequest (prometheus.h's first two TranslateMetrics overloads).
#include <cmath>
#include <span>

#include "otlp/prometheus_translator.h"

namespace sprout::otlp {
namespace prom_internal {
namespace {

// Remote-write sinks: series into PromTranslation's vectors, or into a WriteRequest (whose
// messages may live on an arena). Identical label sets are one series (found by hash, then
// compared); each series' samples, exemplars and histograms are sorted by time at Finish().
class VectorOutput {
 public:
  explicit VectorOutput(PromTranslation* out) : out_(out) {}
  void Reserve(size_t series) { out_->series.reserve(series); }
  size_t SeriesCount() const { return out_->series.size(); }
  prometheus::TimeSeries& Series(size_t i) { return out_->series[i]; }
  prometheus::TimeSeries& AddSeries() { return out_->series.emplace_back(); }
  prometheus::MetricMetadata& AddMetadata() { return out_->metadata.emplace_back(); }
  std::vector<prometheus::TimeSeries>& AllSeries() { return out_->series; }

 private:
  PromTranslation* out_;
};

class RequestOutput {
 public:
  explicit RequestOutput(prometheus::WriteRequest* out) : out_(out) {}
  void Reserve(size_t series) {
    out_->mutable_timeseries()->Reserve(static_cast<int>(
        std::min<size_t>(series + static_cast<size_t>(out_->timeseries_size()), INT32_MAX)));
  }
  size_t SeriesCount() const { return static_cast<size_t>(out_->timeseries_size()); }
  prometheus::TimeSeries& Series(size_t i) {
    return *out_->mutable_timeseries(static_cast<int>(i));
  }
  prometheus::TimeSeries& AddSeries() { return *out_->add_timeseries(); }
  prometheus::MetricMetadata& AddMetadata() { return *out_->add_metadata(); }
  google::protobuf::RepeatedPtrField<prometheus::TimeSeries>& AllSeries() {
    return *out_->mutable_timeseries();
  }

 private:
  prometheus::WriteRequest* out_;
};

template <typename Output>
class RemoteWriteSink final : public PromSink {
 public:
  explicit RemoteWriteSink(Output output) : output_(output), first_(output_.SeriesCount()) {}

  void Begin(size_t points) override {
    // Gauges and sums make one series per point at most; histograms make more and grow the
    // vector (moving a message is cheap).
    output_.Reserve(points);
    index_.reserve(points);
  }

  [[gnu::flatten]] PromSeriesRef Series(PromLabels labels, uint64_t hash) override {
    auto [it, inserted] = index_.try_emplace(hash, kNoSeries);
    for (uint32_t i = it->second; i != kNoSeries; i = next_same_hash_[i - first_]) {
      if (SameLabels(output_.Series(i), labels)) return i;
    }
    const auto index = static_cast<uint32_t>(output_.SeriesCount());
    prometheus::TimeSeries& series = output_.AddSeries();
    auto* out = series.mutable_labels();
    out->Reserve(static_cast<int>(labels.size()));
    for (const PromLabel& label : labels) {
      prometheus::Label* added = out->Add();
      added->set_name(label.name.data(), label.name.size());
      added->set_value(label.value.data(), label.value.size());
    }
    next_same_hash_.push_back(it->second);
    it->second = index;
    return index;
  }

  void Sample(PromSeriesRef series, int64_t timestamp_ms, double value) override {
    prometheus::Sample* sample = output_.Series(series).add_samples();
    sample->set_value(value);
    sample->set_timestamp(timestamp_ms);
  }

  void Histogram(PromSeriesRef series, const PromHistogram& h) override {
    prometheus::Histogram* out = output_.Series(series).add_histograms();
    out->set_schema(h.schema);
    out->set_zero_threshold(h.zero_threshold);
    out->set_reset_hint(prometheus::Histogram::UNKNOWN);
    out->set_timestamp(h.timestamp_ms);
    out->set_count_int(h.count);
    out->set_sum(h.sum);
    out->set_zero_count_int(h.zero_count);
    CopyBuckets(h.positive_spans, h.positive_deltas, out->mutable_positive_spans(),
                out->mutable_positive_deltas());
    CopyBuckets(h.negative_spans, h.negative_deltas, out->mutable_negative_spans(),
                out->mutable_negative_deltas());
  }

  void Exemplar(PromSeriesRef series, const PromExemplar& exemplar) override {
    prometheus::Exemplar* out = output_.Series(series).add_exemplars();
    out->set_value(exemplar.value);
    out->set_timestamp(exemplar.timestamp_ms);
    auto* labels = out->mutable_labels();
    for (const PromLabel& label : exemplar.labels) {
      prometheus::Label* added = labels->Add();
      added->set_name(label.name.data(), label.name.size());
      added->set_value(label.value.data(), label.value.size());
    }
  }

  void Metadata(const PromMetadata& m) override {
    prometheus::MetricMetadata& metadata = output_.AddMetadata();
    metadata.set_type(static_cast<prometheus::MetricMetadata::MetricType>(m.type));
    metadata.set_metric_family_name(m.family.data(), m.family.size());
    metadata.set_help(m.help.data(), m.help.size());
    metadata.set_unit(m.unit.data(), m.unit.size());
  }

  // Samples, exemplars and native histograms in time order (stable: equal times keep their
  // arrival order).
  void Finish() override {
    auto by_time = [](const auto* a, const auto* b) { return a->timestamp() < b->timestamp(); };
    auto sort = [&](auto* field) {
      if (field->size() < 2) return;
      if (!std::is_sorted(field->pointer_begin(), field->pointer_end(), by_time)) {
        std::stable_sort(field->pointer_begin(), field->pointer_end(), by_time);
      }
    };
    for (prometheus::TimeSeries& series : output_.AllSeries()) {
      sort(series.mutable_samples());
      sort(series.mutable_exemplars());
      sort(series.mutable_histograms());
    }
  }

 private:
  static constexpr uint32_t kNoSeries = ~uint32_t{0};

  static bool SameLabels(const prometheus::TimeSeries& series, PromLabels labels) {
    if (static_cast<size_t>(series.labels_size()) != labels.size()) return false;
    for (size_t i = 0; i < labels.size(); ++i) {
      const prometheus::Label& label = series.labels(static_cast<int>(i));
      if (!Equal(label.name(), labels[i].name) || !Equal(label.value(), labels[i].value)) {
        return false;
      }
    }
    return true;
  }

  static void CopyBuckets(std::span<const PromBucketSpan> spans, std::span<const int64_t> deltas,
                          google::protobuf::RepeatedPtrField<prometheus::BucketSpan>* out_spans,
                          google::protobuf::RepeatedField<int64_t>* out_deltas) {
    for (const PromBucketSpan& span : spans) {
      prometheus::BucketSpan* added = out_spans->Add();
      added->set_offset(span.offset);
      added->set_length(span.length);
    }
    out_deltas->Add(deltas.begin(), deltas.end());
  }

  Output output_;
  const size_t first_;  // series made before this translation are never merged with
  // Label-set hash → the newest series with it; next_same_hash_ chains older ones.
  absl::flat_hash_map<uint64_t, uint32_t> index_;
  std::vector<uint32_t> next_same_hash_;
};

}  // namespace
}  // namespace prom_internal

using prom_internal::RemoteWriteSink;
using prom_internal::RequestOutput;
using prom_internal::Translator;
using prom_internal::VectorOutput;

PromTranslation TranslateMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request,
                                 const PromTranslationSettings& settings) {
  PromTranslation result;
  RemoteWriteSink<VectorOutput> sink{VectorOutput(&result)};
  Translator(settings, &sink, &result.errors, &result.dropped_points).Translate(request);
  return result;
}

void TranslateMetrics(const pb::metrics_service::ExportMetricsServiceRequest& request,
                      const PromTranslationSettings& settings, prometheus::WriteRequest* out,
                      std::vector<std::string>* errors, int64_t* dropped_points) {
  RemoteWriteSink<RequestOutput> sink{RequestOutput(out)};
  Translator(settings, &sink, errors, dropped_points).Translate(request);
}

}  // namespace sprout::otlp
