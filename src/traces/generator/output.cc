#include "traces/generator/output.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>

namespace sprout::traces::generator {

prometheus::WriteRequest SplitInitialSamples(prometheus::WriteRequest* request) {
  prometheus::WriteRequest older;
  int64_t newest = std::numeric_limits<int64_t>::min();
  for (const prometheus::TimeSeries& ts : request->timeseries()) {
    for (const prometheus::Sample& sample : ts.samples())
      newest = std::max(newest, sample.timestamp());
  }
  const auto is_older = [newest](const prometheus::TimeSeries& ts) {
    if (ts.samples_size() == 0 || ts.histograms_size() > 0) return false;
    for (const prometheus::Sample& sample : ts.samples()) {
      if (sample.timestamp() >= newest) return false;
    }
    return true;
  };
  if (std::none_of(request->timeseries().begin(), request->timeseries().end(), is_older)) {
    return older;
  }
  google::protobuf::RepeatedPtrField<prometheus::TimeSeries> kept;
  for (prometheus::TimeSeries& ts : *request->mutable_timeseries()) {
    (is_older(ts) ? older.add_timeseries() : kept.Add())->Swap(&ts);
  }
  request->mutable_timeseries()->Swap(&kept);
  return older;
}

prometheus::TimeSeries* WriteRequestSink::AddSeries(std::string_view name, const Labels& labels,
                                                    absl::Span<const Exemplar> exemplars,
                                                    std::string_view exemplar_label) {
  prometheus::TimeSeries* series = request_.add_timeseries();
  series->mutable_labels()->Reserve(static_cast<int>(labels.size()) + 1);
  // `__name__` at its place in byte order (before every lower-case name, after upper-case ones).
  bool name_added = false;
  auto add_name = [&] {
    prometheus::Label* l = series->add_labels();
    l->set_name("__name__");
    l->set_value(name.data(), name.size());
    name_added = true;
  };
  for (const Label& label : labels) {
    if (!name_added && std::string_view(label.name) > "__name__") add_name();
    prometheus::Label* l = series->add_labels();
    l->set_name(label.name);
    l->set_value(label.value);
  }
  if (!name_added) add_name();
  for (const Exemplar& e : exemplars) {
    prometheus::Exemplar* out = series->add_exemplars();
    prometheus::Label* l = out->add_labels();
    l->set_name(exemplar_label.data(), exemplar_label.size());
    l->set_value(e.trace_id);
    out->set_value(e.value);
    out->set_timestamp(absl::ToUnixMillis(e.time));
  }
  return series;
}

void WriteRequestSink::Append(std::string_view name, const Labels& labels, double value,
                              absl::Time time, absl::Span<const Exemplar> exemplars,
                              std::string_view exemplar_label) {
  prometheus::TimeSeries* series = AddSeries(name, labels, exemplars, exemplar_label);
  prometheus::Sample* sample = series->add_samples();
  sample->set_value(value);
  sample->set_timestamp(absl::ToUnixMillis(time));
}

void WriteRequestSink::AppendNativeHistogram(std::string_view name, const Labels& labels,
                                             const NativeHistogramSample& h, absl::Time time,
                                             absl::Span<const Exemplar> exemplars,
                                             std::string_view exemplar_label) {
  prometheus::TimeSeries* series = AddSeries(name, labels, exemplars, exemplar_label);
  prometheus::Histogram* out = series->add_histograms();
  out->set_count_int(h.count);
  out->set_sum(h.sum);
  out->set_schema(h.schema);
  out->set_zero_threshold(h.zero_threshold);
  out->set_zero_count_int(h.zero_count);
  for (const NativeHistogramSample::Span& s : h.negative_spans) {
    prometheus::BucketSpan* span = out->add_negative_spans();
    span->set_offset(s.offset);
    span->set_length(s.length);
  }
  for (int64_t d : h.negative_deltas) out->add_negative_deltas(d);
  for (const NativeHistogramSample::Span& s : h.positive_spans) {
    prometheus::BucketSpan* span = out->add_positive_spans();
    span->set_offset(s.offset);
    span->set_length(s.length);
  }
  for (int64_t d : h.positive_deltas) out->add_positive_deltas(d);
  // Tempo's appender leaves the counter-reset hint unknown: the receiver detects resets.
  out->set_reset_hint(prometheus::Histogram::UNKNOWN);
  out->set_timestamp(absl::ToUnixMillis(time));
}

prometheus::WriteRequest WriteRequestSink::Take() {
  prometheus::WriteRequest out;
  out.Swap(&request_);
  return out;
}

}  // namespace sprout::traces::generator
