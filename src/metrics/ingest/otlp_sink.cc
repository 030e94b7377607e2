#include "metrics/ingest/otlp_sink.h"

#include <algorithm>
#include <bit>
#include <utility>

namespace sprout::metrics::ingest {

OtlpSink::OtlpSink(const Limits& limits, int64_t now_ms, WriteVisitor* visitor)
    : limits_(limits), now_ms_(now_ms), visitor_(visitor) {}

void OtlpSink::Begin(size_t points) {
  // Gauges and sums make one series and one sample per point; histograms make more and grow.
  series_.reserve(points);
  samples_.reserve(points);
  by_hash_.reserve(points);
}

size_t OtlpSink::AddLabels(otlp::PromLabels labels) {
  const size_t first = labels_.size();
  for (const otlp::PromLabel& l : labels) {
    labels_.push_back(LabelRef{text_.size(), static_cast<uint32_t>(l.name.size()),
                               static_cast<uint32_t>(l.value.size())});
    text_.append(l.name);
    text_.append(l.value);
  }
  return first;
}

bool OtlpSink::SameLabels(const SeriesEntry& series, otlp::PromLabels labels) const {
  if (series.label_count != labels.size()) return false;
  for (size_t i = 0; i < labels.size(); ++i) {
    const LabelRef& r = labels_[series.first_label + i];
    const std::string_view name(text_.data() + r.offset, r.name_size);
    const std::string_view value(text_.data() + r.offset + r.name_size, r.value_size);
    if (name != labels[i].name || value != labels[i].value) return false;
  }
  return true;
}

otlp::PromSeriesRef OtlpSink::Series(otlp::PromLabels labels, uint64_t hash) {
  auto [it, inserted] = by_hash_.try_emplace(hash, kNone);
  for (uint32_t i = it->second; i != kNone; i = series_[i].next_same_hash) {
    if (SameLabels(series_[i], labels)) return i;
  }
  const auto index = static_cast<uint32_t>(series_.size());
  series_.push_back(
      SeriesEntry{AddLabels(labels), static_cast<uint32_t>(labels.size()), it->second});
  it->second = index;
  return index;
}

void OtlpSink::Sample(otlp::PromSeriesRef series, int64_t timestamp_ms, double value) {
  samples_.push_back(SampleEntry{static_cast<uint32_t>(series),
                                 ingest::Sample{timestamp_ms, std::bit_cast<uint64_t>(value)}});
}

void OtlpSink::Histogram(otlp::PromSeriesRef series, const otlp::PromHistogram& in) {
  HistogramEntry& e = histograms_.emplace_back();
  e.series = static_cast<uint32_t>(series);
  e.histogram.timestamp_ms = in.timestamp_ms;
  e.histogram.is_float = false;
  chunkenc::Histogram& h = e.histogram.integer;
  h.reset_hint = chunkenc::CounterResetHint::kUnknown;  // remote write's UNKNOWN, as sent
  h.schema = in.schema;
  h.zero_threshold = in.zero_threshold;
  h.zero_count = in.zero_count;
  h.count = in.count;
  h.sum = in.sum;
  for (const otlp::PromBucketSpan& s : in.positive_spans) {
    h.positive_spans.push_back(chunkenc::BucketSpan{s.offset, s.length});
  }
  for (const otlp::PromBucketSpan& s : in.negative_spans) {
    h.negative_spans.push_back(chunkenc::BucketSpan{s.offset, s.length});
  }
  e.problem = IntegerBucketsFromDeltas(in.negative_deltas, in.positive_deltas, &h);
}

void OtlpSink::Exemplar(otlp::PromSeriesRef series, const otlp::PromExemplar& in) {
  exemplars_.push_back(ExemplarEntry{static_cast<uint32_t>(series), in.timestamp_ms,
                                     std::bit_cast<uint64_t>(in.value), AddLabels(in.labels),
                                     static_cast<uint32_t>(in.labels.size())});
}

void OtlpSink::Metadata(const otlp::PromMetadata& in) {
  metadata_.push_back(MetadataEntry{static_cast<int32_t>(in.type), std::string(in.family),
                                    std::string(in.help), std::string(in.unit)});
}

void OtlpSink::Finish() {
  if (finished_) return;
  finished_ = true;

  std::vector<Label> views;
  views.reserve(labels_.size());
  for (const LabelRef& r : labels_) {
    views.push_back(Label{std::string_view(text_.data() + r.offset, r.name_size),
                          std::string_view(text_.data() + r.offset + r.name_size, r.value_size)});
  }
  auto label_span = [&](size_t first, uint32_t count) {
    return std::span<const Label>(views.data() + first, count);
  };

  // Grouped by series, each series in time order (stable), as the remote-write sinks sort.
  auto by_series_time = [](const auto& a, const auto& b, int64_t ta, int64_t tb) {
    return a.series != b.series ? a.series < b.series : ta < tb;
  };
  std::stable_sort(samples_.begin(), samples_.end(), [&](const auto& a, const auto& b) {
    return by_series_time(a, b, a.sample.timestamp_ms, b.sample.timestamp_ms);
  });
  std::stable_sort(histograms_.begin(), histograms_.end(), [&](const auto& a, const auto& b) {
    return by_series_time(a, b, a.histogram.timestamp_ms, b.histogram.timestamp_ms);
  });
  std::stable_sort(exemplars_.begin(), exemplars_.end(), [&](const auto& a, const auto& b) {
    return by_series_time(a, b, a.timestamp_ms, b.timestamp_ms);
  });

  // Contiguous per-series arrays for the Series views.
  std::vector<ingest::Sample> samples;
  samples.reserve(samples_.size());
  for (const SampleEntry& e : samples_) samples.push_back(e.sample);
  std::vector<HistogramSample> histograms;
  histograms.reserve(histograms_.size());
  for (HistogramEntry& e : histograms_) histograms.push_back(std::move(e.histogram));
  std::vector<ingest::Exemplar> exemplars;  // the current series' kept exemplars

  size_t next_sample = 0, next_histogram = 0, next_exemplar = 0;
  for (uint32_t index = 0; index < series_.size(); ++index) {
    const SeriesEntry& entry = series_[index];
    const size_t sample_begin = next_sample, histogram_begin = next_histogram,
                 exemplar_begin = next_exemplar;
    while (next_sample < samples_.size() && samples_[next_sample].series == index) ++next_sample;
    while (next_histogram < histograms_.size() && histograms_[next_histogram].series == index) {
      ++next_histogram;
    }
    while (next_exemplar < exemplars_.size() && exemplars_[next_exemplar].series == index) {
      ++next_exemplar;
    }
    const auto n_samples = static_cast<int64_t>(next_sample - sample_begin);
    const auto n_histograms = static_cast<int64_t>(next_histogram - histogram_begin);
    const auto n_exemplars = static_cast<int64_t>(next_exemplar - exemplar_begin);
    auto refuse_series = [&](Problem problem) {
      ++result_.series_refused;
      RecordRefusal(&result_, problem, n_samples, n_histograms, n_exemplars, 0);
    };

    // In the order RemoteWriteDecoder checks a TimeSeries: labels, samples' timestamps, each
    // histogram's timestamp then layout, then exemplars (dropped one by one).
    const std::span<const Label> labels = label_span(entry.first_label, entry.label_count);
    std::string_view metric_name;
    if (Problem p = ValidateSeriesLabels(labels, limits_, &metric_name)) {
      refuse_series(std::move(p));
      continue;
    }
    Problem problem;
    for (size_t i = sample_begin; i < next_sample && !problem; ++i) {
      const int64_t t = samples[i].timestamp_ms;
      if (Refusal r = SampleTimeRefusal(t, now_ms_, limits_); r != Refusal::kCount) {
        problem = Problem{r, SampleTimeMessage(r, t, metric_name)};
      }
    }
    for (size_t i = histogram_begin; i < next_histogram && !problem; ++i) {
      const int64_t t = histograms[i].timestamp_ms;
      if (Refusal r = SampleTimeRefusal(t, now_ms_, limits_); r != Refusal::kCount) {
        problem = Problem{r, SampleTimeMessage(r, t, metric_name)};
      } else if (histograms_[i].problem != HistogramProblem::kNone) {
        problem =
            HistogramRefusal(histograms_[i].problem, histograms[i].integer.schema, t, metric_name);
      }
    }
    if (problem) {
      refuse_series(std::move(problem));
      continue;
    }
    exemplars.clear();
    for (size_t i = exemplar_begin; i < next_exemplar; ++i) {
      const ExemplarEntry& e = exemplars_[i];
      ingest::Exemplar x;
      x.labels = label_span(e.first_label, e.label_count);
      x.value_bits = e.value_bits;
      x.timestamp_ms = e.timestamp_ms;
      if (Refusal reason = ExemplarRefusal(x.labels, x.timestamp_ms); reason != Refusal::kCount) {
        ++result_.exemplars_refused[static_cast<size_t>(reason)];
        continue;
      }
      exemplars.push_back(x);
    }

    ingest::Series series;
    series.labels_ = labels;
    series.labels_decoded_ = true;
    series.samples_ = std::span<const ingest::Sample>(samples).subspan(sample_begin, n_samples);
    series.histograms_ =
        std::span<const HistogramSample>(histograms).subspan(histogram_begin, n_histograms);
    series.exemplars_ = exemplars;
    ++result_.series_accepted;
    result_.samples_accepted += n_samples;
    result_.histograms_accepted += n_histograms;
    result_.exemplars_accepted += static_cast<int64_t>(exemplars.size());
    visitor_->OnSeries(series);
  }

  for (MetadataEntry& e : metadata_) {
    MetricMetadata m;
    m.type = e.type;
    m.metric_family_name = e.family;
    m.help = e.help;
    m.unit = e.unit;
    if (Problem p = ValidateMetadata(&m, limits_)) {
      RecordRefusal(&result_, p, 0, 0, 0, 1);
      continue;
    }
    ++result_.metadata_accepted;
    visitor_->OnMetadata(m);
  }
}

}  // namespace sprout::metrics::ingest
