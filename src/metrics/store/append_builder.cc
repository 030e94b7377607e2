#include "metrics/store/append_builder.h"

#include <utility>

#include "metrics/tsdb/head/raw_labels.h"

namespace sprout::metrics {

bool AppendBuilder::KnownLabelBytes(std::string_view label_bytes) {
  known_ = tsdb::kNoSeries;
  if (head_ != nullptr) {
    if (std::optional<uint32_t> id = head_->LookupRawLabels(label_bytes)) known_ = *id;
  }
  return known_ != tsdb::kNoSeries;
}

void AppendBuilder::OnSeries(const ingest::Series& series) {
  if (drop_histograms_ && !series.histograms().empty()) {
    histograms_ignored_ += static_cast<int64_t>(series.histograms().size());
    // Mimir's ingester ignores them; a series left with no float sample is not created.
    if (series.samples().empty()) {
      known_ = tsdb::kNoSeries;
      return;
    }
  }
  Entry e;
  e.raw_offset = raw_.size();
  raw_.append(series.label_bytes());
  e.raw_size = series.label_bytes().size();
  e.known_series = known_;
  if (known_ == tsdb::kNoSeries) {
    // Validated by the ingest path: sorted, unique, no empty value.
    label_scratch_.clear();
    for (const ingest::Label& l : series.labels()) {
      label_scratch_.push_back(tsdb::Label{l.name, l.value});
    }
    e.labels = tsdb::Labels::FromSorted(label_scratch_);
  }
  known_ = tsdb::kNoSeries;
  // Whether a zero goes before a sample with this start timestamp (see set_start_zeros); the
  // last start timestamp seen in the series' row of samples, so a repeated one adds no zero.
  int64_t last_start = 0;
  auto wants_zero = [&](int64_t start, int64_t t) {
    if (!start_zeros_ || start == 0 || start == last_start) return false;
    last_start = start;
    return start < t && start >= start_zero_min_ms_;
  };
  e.samples_offset = samples_.size();
  for (const ingest::Sample& s : series.samples()) {
    if (wants_zero(s.start_timestamp_ms, s.timestamp_ms)) {
      samples_.push_back(tsdb::FloatSample{s.start_timestamp_ms, 0.0, /*start_zero=*/true});
      ++start_zeros_added_;
    }
    samples_.push_back(tsdb::FloatSample{s.timestamp_ms, s.value()});
  }
  e.samples_size = samples_.size() - e.samples_offset;
  e.histograms_offset = histograms_.size();
  last_start = 0;
  for (const ingest::HistogramSample& h :
       drop_histograms_ ? std::span<const ingest::HistogramSample>() : series.histograms()) {
    if (wants_zero(h.start_timestamp_ms, h.timestamp_ms)) {
      // Prometheus's zero histogram: same kind, schema, zero threshold and custom bucket
      // boundaries, no observation, a counter reset by definition.
      tsdb::HistogramSample zero;
      zero.t = h.start_timestamp_ms;
      zero.start_zero = true;
      if (h.is_float) {
        chunkenc::FloatHistogram z;
        z.reset_hint = chunkenc::CounterResetHint::kCounterReset;
        z.schema = h.floating.schema;
        z.zero_threshold = h.floating.zero_threshold;
        z.custom_values = h.floating.custom_values;
        zero.h = std::move(z);
      } else {
        chunkenc::Histogram z;
        z.reset_hint = chunkenc::CounterResetHint::kCounterReset;
        z.schema = h.integer.schema;
        z.zero_threshold = h.integer.zero_threshold;
        z.custom_values = h.integer.custom_values;
        zero.h = std::move(z);
      }
      histograms_.push_back(std::move(zero));
      ++start_zeros_added_;
    }
    tsdb::HistogramSample out;
    out.t = h.timestamp_ms;
    if (h.is_float) {
      out.h = h.floating;
    } else {
      out.h = h.integer;
    }
    histograms_.push_back(std::move(out));
  }
  e.histograms_size = histograms_.size() - e.histograms_offset;
  e.exemplars_offset = exemplars_.size();
  for (const ingest::Exemplar& x : series.exemplars()) {
    tsdb::LabelsBuilder b;
    for (const ingest::Label& l : x.labels) b.Add(l.name, l.value);
    b.DropEmptyValues();
    exemplars_.push_back(tsdb::Exemplar{b.Build(), x.value(), x.timestamp_ms});
  }
  e.exemplars_size = series.exemplars().size();
  entries_.push_back(std::move(e));
}

void AppendBuilder::OnMetadata(const ingest::MetricMetadata& md) {
  tsdb::MetricMetadata m;
  m.metric_family = std::string(md.metric_family_name);
  m.type = md.type >= 0 && md.type <= 7 ? static_cast<tsdb::wal::MetricType>(md.type)
                                        : tsdb::wal::MetricType::kUnknown;
  m.unit = std::string(md.unit);
  m.help = std::string(md.help);
  metadata_.push_back(std::move(m));
}

tsdb::AppendRequest AppendBuilder::Build() {
  series_.clear();
  series_.reserve(entries_.size());
  for (const Entry& e : entries_) {
    tsdb::AppendSeries s;
    s.raw_labels = std::string_view(raw_).substr(e.raw_offset, e.raw_size);
    s.labels = e.labels;
    s.known_series = e.known_series;
    s.samples =
        std::span<const tsdb::FloatSample>(samples_).subspan(e.samples_offset, e.samples_size);
    s.histograms = std::span<const tsdb::HistogramSample>(histograms_)
                       .subspan(e.histograms_offset, e.histograms_size);
    s.exemplars =
        std::span<const tsdb::Exemplar>(exemplars_).subspan(e.exemplars_offset, e.exemplars_size);
    series_.push_back(s);
  }
  tsdb::AppendRequest r;
  r.series = series_;
  r.metadata = metadata_;
  if (head_ != nullptr) r.hints_head = head_->instance_id();
  // Only reached for label bytes vouched for by LookupRawLabels whose series the head then did
  // not find (Truncate removed it, or the head was reopened meanwhile): decode them again. They
  // are the labels of a series the head validated once, so they need no validation.
  r.decode_labels = [this](size_t i) {
    tsdb::LabelsOrError out;
    tsdb::LabelsBuilder b;
    if (!tsdb::AddRawLabels(series_[i].raw_labels, b)) {
      out.error = "malformed labels";
      return out;
    }
    b.DropEmptyValues().Sort();
    out.labels = b.Build();
    return out;
  };
  return r;
}

}  // namespace sprout::metrics
